"""The points ledger's own moves, shared by every points service: lock a customer's points,
write an entry, create a lot, take points from lots and give them back, and keep the counters.

Every change of a customer's points runs with its standing row locked (the order gate and the
fact postings lock the same row), so two changes of one customer are one after the other.
The counters hold:

    standing.points_balance = remaining of the available lots − account.debt
    account.pending         = remaining of the lots not yet available
    account.withheld        = points of the withheld invoice earnings

and `reconcile()` recomputes them from the lots to prove it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Sum

from custguard.core import clock, sql
from custguard.core.actors import Actor
from custguard.core.services import audit
from custguard.customers.models import Standing
from custguard.policy.decisions import Reason
from custguard.rewards.models import InvoiceEarning, LotUse, PointsAccount, PointsEntry, PointsLot


@dataclass
class Change:
    """What one entry does to the counters."""

    available: int = 0
    pending: int = 0
    withheld: int = 0
    debt: int = 0
    earned: int = 0
    spent: int = 0
    expired: int = 0


@dataclass
class Holding:
    """A customer's points as read under its lock."""

    customer_id: int
    available: int
    pending: int
    withheld: int
    debt: int
    points_frozen: bool
    blacklisted: bool
    tier: str = ""  # the membership tier on the standing row (earning reads its multiplier)


def lock(customer_id: int) -> Holding:
    """Lock the customer's standing row (creating its points account on first use) and read
    its points. Must run inside the transaction of the change."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("rewards.accounts.lock() must run inside a transaction")
    standing = (Standing.objects.select_for_update()
                .values("points_balance", "points_frozen", "blacklisted", "tier")
                .get(pk=customer_id))
    account = PointsAccount.objects.filter(pk=customer_id).values(
        "pending", "withheld", "debt").first()
    if account is None:  # first use; the standing lock keeps a second creator waiting
        PointsAccount.objects.create(customer_id=customer_id, updated_at=clock.now())
        account = {"pending": 0, "withheld": 0, "debt": 0}
    return Holding(customer_id=customer_id, available=standing["points_balance"],
                   pending=account["pending"], withheld=account["withheld"],
                   debt=account["debt"], points_frozen=standing["points_frozen"],
                   blacklisted=standing["blacklisted"], tier=standing["tier"])


def lock_many(customer_ids: Iterable[int]) -> dict[int, Holding]:
    """`lock` for many customers at once, in key order (as every writer locks them)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("rewards.accounts.lock_many() must run inside a transaction")
    ids = sorted(set(customer_ids))
    standings = list(Standing.objects.select_for_update().filter(pk__in=ids).order_by("pk")
                     .values_list("pk", "points_balance", "points_frozen", "blacklisted",
                                  "tier"))
    found = {pk: (pending, withheld, debt) for pk, pending, withheld, debt in
             PointsAccount.objects.filter(pk__in=ids).values_list("pk", "pending", "withheld",
                                                                  "debt")}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        now = clock.now()
        PointsAccount.objects.bulk_create([PointsAccount(customer_id=pk, updated_at=now)
                                           for pk in missing])
    return {pk: Holding(pk, balance, *found.get(pk, (0, 0, 0)), frozen, blacklisted, tier)
            for pk, balance, frozen, blacklisted, tier in standings}


def apply_many(changes: Mapping[int, Change]) -> None:
    """`apply` for many customers: one statement for the balances, one for the accounts."""
    moved = sorted((pk, change) for pk, change in changes.items() if change != Change())
    if not moved:
        return
    with connection.cursor() as cursor:
        balances = [(change.available, pk) for pk, change in moved if change.available]
        if balances:
            column = sql.column(Standing, "points_balance")
            cursor.executemany(
                f"UPDATE {sql.table(Standing)} SET {column} = {column} + %s "  # noqa: S608
                f"WHERE {sql.column(Standing, 'customer_id')} = %s", balances)
        names = ["pending", "withheld", "debt", "earned_total", "spent_total", "expired_total"]
        attrs = ["pending", "withheld", "debt", "earned", "spent", "expired"]
        sets = ", ".join(f"{sql.column(PointsAccount, n)} = {sql.column(PointsAccount, n)} + %s"
                         for n in names)
        cursor.executemany(
            f"UPDATE {sql.table(PointsAccount)} SET {sets}, "  # noqa: S608
            f"{sql.column(PointsAccount, 'updated_at')} = %s "
            f"WHERE {sql.column(PointsAccount, 'customer_id')} = %s",
            [(*(getattr(change, a) for a in attrs),
              connection.ops.adapt_datetimefield_value(clock.now()), pk)
             for pk, change in moved])


def apply(customer_id: int, change: Change) -> None:
    """Move the counters by `change` (the customer is locked)."""
    if change.available:
        Standing.objects.filter(pk=customer_id).update(
            points_balance=F("points_balance") + change.available)
    moves = {name: F(name) + value for name, value in (
        ("pending", change.pending), ("withheld", change.withheld), ("debt", change.debt),
        ("earned_total", change.earned), ("spent_total", change.spent),
        ("expired_total", change.expired)) if value}
    PointsAccount.objects.filter(pk=customer_id).update(**moves, updated_at=clock.now())


def entry(actor: Actor, customer_id: int, kind: str, points: int, *, on: dt.date,
          withheld: int = 0, reasons: Iterable[Reason] = (), version: int | None = None,
          note: str = "", source: str = "", external_id: str = "", **links: Any) -> PointsEntry:
    return PointsEntry.objects.create(
        customer_id=customer_id, kind=kind, points=points, withheld=withheld, on=on,
        reasons=[reason.as_dict() for reason in reasons], policy_version=version, note=note,
        source=source, external_id=external_id, recorded_at=clock.now(),
        recorded_by=actor.label[:150], **links)


def audited(actor: Actor, row: PointsEntry, **after: Any) -> None:
    """The audit entry of a points entry: what moved, why and by which policy."""
    audit.record(actor, f"rewards.points_{row.kind}", row, customer_id=row.customer_id,
                 after={"points": row.points, "withheld": row.withheld, "on": row.on,
                        "reasons": [reason["code"] for reason in row.reasons],
                        "policy_version": row.policy_version, **after},
                 reason=row.note)


def new_lot(row: PointsEntry, points: int, *, earned_on: dt.date, available_on: dt.date,
            expires_on: dt.date, today: dt.date,
            invoice_id: int | None = None) -> tuple[PointsLot, Change]:
    """A lot of `points` from entry `row`, and its effect on the counters (before any debt is
    paid off with it: see `pay_off_debt`)."""
    lot = unsaved_lot(row.customer_id, points, earned_on=earned_on,
                      available_on=available_on, expires_on=expires_on, today=today,
                      invoice_id=invoice_id)
    lot.entry = row
    lot.save(force_insert=True)
    return lot, Change(available=points) if lot.available else Change(pending=points)


def unsaved_lot(customer_id: int, points: int, *, earned_on: dt.date, available_on: dt.date,
                expires_on: dt.date, today: dt.date,
                invoice_id: int | None = None) -> PointsLot:
    """A lot not yet written (its entry is set by the caller): available once its holding is
    over, never available before it was earned nor expiring before it is available."""
    available_on = max(available_on, earned_on)
    return PointsLot(customer_id=customer_id, invoice_id=invoice_id, points=points,
                     remaining=points, earned_on=earned_on, available_on=available_on,
                     expires_on=max(expires_on, available_on),
                     available=available_on <= today)


def _open_lots(customer_id: int, *, available: bool) -> list[PointsLot]:
    return list(PointsLot.objects.select_for_update()
                .filter(customer_id=customer_id, available=available, remaining__gt=0)
                .order_by("expires_on", "pk"))


def _use(row: PointsEntry, lot: PointsLot, points: int) -> None:
    lot.remaining -= points
    PointsLot.objects.filter(pk=lot.pk).update(remaining=F("remaining") - points)
    LotUse.objects.create(entry=row, lot=lot, points=points)


def take(row: PointsEntry, points: int, *, first: PointsLot | None = None,
         into_debt: bool = False) -> tuple[Change, int]:
    """Take `points` from the customer's lots for entry `row`: from `first` if given (a
    take-back starts with the invoice's own lot), then from the available lots that expire
    first. With `into_debt`, what the lots cannot cover becomes debt (the balance goes
    negative); without, less is taken. Returns the change of the counters and the points
    taken."""
    change = Change()
    left = points
    if first is not None and first.remaining > 0:
        share = min(left, first.remaining)
        _use(row, first, share)
        if first.available:
            change.available -= share
        else:
            change.pending -= share
        left -= share
    for lot in _open_lots(row.customer_id, available=True) if left > 0 else ():
        if left <= 0:
            break
        if first is not None and lot.pk == first.pk:
            continue
        share = min(left, lot.remaining)
        _use(row, lot, share)
        change.available -= share
        left -= share
    if left > 0 and into_debt:
        change.available -= left
        change.debt += left
        left = 0
    return change, points - left


def give_back(row: PointsEntry, taken_by: PointsEntry, today: dt.date) -> tuple[Change, int]:
    """Return to their lots the points entry `taken_by` took (a lot that has expired since gets
    them too, and the next expiry run ends them). Returns the counters' change and the points
    given back."""
    change = Change()
    given = 0
    uses = list(LotUse.objects.filter(entry=taken_by).select_related("lot").order_by("pk"))
    for use in uses:
        lot = PointsLot.objects.select_for_update().get(pk=use.lot_id)
        if lot.remaining + use.points > lot.points:  # already given back
            continue
        PointsLot.objects.filter(pk=lot.pk).update(remaining=F("remaining") + use.points)
        LotUse.objects.create(entry=row, lot=lot, points=-use.points)
        if lot.available:
            change.available += use.points
        else:
            change.pending += use.points
        given += use.points
    return change, given


def given(row: PointsEntry, points: int) -> None:
    """Set a give-back entry's points to what `give_back` actually returned."""
    row.points = points
    PointsEntry.objects.filter(pk=row.pk).update(points=points)


def pay_off_debt(row: PointsEntry, holding: Holding, change: Change) -> Change:
    """Points that just became available pay off the customer's debt first: the lots give
    them up and the debt falls by as much (the balance is unchanged by it)."""
    debt = holding.debt + change.debt
    if debt <= 0 or change.available <= 0:
        return change
    settling = min(debt, change.available)
    taken, paid = take(row, settling)
    change.debt -= paid
    # The lots gave up `paid` points that the balance had already counted against the debt.
    change.available += taken.available + paid
    return change


def add(target: Change, other: Change) -> Change:
    for name in target.__dataclass_fields__:
        setattr(target, name, getattr(target, name) + getattr(other, name))
    return target


@dataclass
class Drift:
    customer_id: int
    counter: str
    stored: int
    recomputed: int


@dataclass
class Reconciliation:
    accounts: int = 0
    drifts: list[Drift] = field(default_factory=list)


def reconcile(customer_ids: Sequence[int] | None = None) -> Reconciliation:
    """Recompute the counters from the lots and the withheld earnings and list every
    difference (nothing is changed)."""
    accounts = PointsAccount.objects.all()
    if customer_ids is not None:
        accounts = accounts.filter(pk__in=customer_ids)
    lots = PointsLot.objects.filter(remaining__gt=0)
    withheld = InvoiceEarning.objects.filter(withheld=True)
    if customer_ids is not None:
        lots = lots.filter(customer_id__in=customer_ids)
        withheld = withheld.filter(customer_id__in=customer_ids)
    available = dict(lots.filter(available=True).values("customer_id")
                     .annotate(total=Sum("remaining")).values_list("customer_id", "total"))
    pending = dict(lots.filter(available=False).values("customer_id")
                   .annotate(total=Sum("remaining")).values_list("customer_id", "total"))
    held = dict(withheld.values("customer_id").annotate(total=Sum("points"))
                .values_list("customer_id", "total"))
    result = Reconciliation()
    rows = accounts.values_list("pk", "pending", "withheld", "debt",
                                "customer__standing__points_balance")
    for customer_id, stored_pending, stored_withheld, debt, balance in rows.iterator():
        result.accounts += 1
        expected = {"points_balance": available.get(customer_id, 0) - debt,
                    "pending": pending.get(customer_id, 0),
                    "withheld": held.get(customer_id, 0)}
        stored = {"points_balance": balance, "pending": stored_pending,
                  "withheld": stored_withheld}
        for name, value in expected.items():
            if stored[name] != value:
                result.drifts.append(Drift(customer_id, name, stored[name], value))
    return result
