"""Points for paid invoices, kept in step with the ledger.

The ledger tells this module which invoices changed (`ledger.hooks`), in the transaction of the
change; for each one the invoice's state is compared with what it earned (`InvoiceEarning`):

- paid in full and not yet earning → it earns (`policy.points.earn`): a lot, pending for the
  holding period; or, while the customer's points are frozen or it is blacklisted, withheld;
- a credit note lowered what was paid → the same share of its points is taken back;
- reopened by a reversed payment → all its points are taken back; paid again, it earns again.

Taking back starts with the invoice's own lot, then the available lots that expire first; what
was already spent becomes debt (a negative balance) that the next points pay off first.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum

from custguard.conduct.models import BlacklistEntry, Penalty
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import ValidationFailed
from custguard.core.services import audit
from custguard.core.services.policies import policy_in_force
from custguard.customers.models import Standing
from custguard.ledger.models import Invoice
from custguard.policy import points as rules_of
from custguard.policy.codes import Measure
from custguard.policy.decisions import Reason
from custguard.policy.schema import PolicyDocument
from custguard.rewards.models import InvoiceEarning, PointsEntry, PointsLot
from custguard.rewards.services import accounts

log = logging.getLogger(__name__)
ZERO = Decimal("0.00")
CHUNK = 1000  # invoices read at a time (a parameter list every engine takes)
FREEZING = [Measure.POINTS_FREEZE.value, Measure.TERMINATION.value]


@dataclass(frozen=True)
class InvoiceState:
    pk: int
    customer_id: int
    basis: Decimal  # paid in full: amount net of credit notes; else 0
    issued_on: dt.date
    due_on: dt.date | None
    settled_on: dt.date | None
    order_key: str


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _states(ids: Sequence[int]) -> list[InvoiceState]:
    credited = dict(Invoice.objects.filter(corrects_id__in=ids)
                    .values("corrects_id").annotate(total=Sum("amount"))
                    .values_list("corrects_id", "total"))
    rows = (Invoice.objects.filter(pk__in=ids, kind=Invoice.Kind.INVOICE)
            .values_list("pk", "customer_id", "amount", "issued_on", "due_on", "settled_on",
                         "order_source", "order_external_id"))
    states = []
    for pk, customer_id, amount, issued_on, due_on, settled_on, source, external_id in rows:
        net = amount - credited.get(pk, ZERO)
        states.append(InvoiceState(
            pk=pk, customer_id=customer_id,
            basis=net if settled_on is not None and net > 0 else ZERO,
            issued_on=issued_on, due_on=due_on, settled_on=settled_on,
            order_key=f"{source}/{external_id}" if external_id else ""))
    return sorted(states, key=lambda state: (state.customer_id, state.pk))


class _Room:
    """What the caps have left: points already earned per order and per customer-month,
    read once for the invoices at hand and kept up to date as they earn."""

    def __init__(self, states: Sequence[InvoiceState]) -> None:
        keys = {state.order_key for state in states if state.order_key}
        self.by_order: dict[str, int] = defaultdict(int)
        for key, total in (InvoiceEarning.objects.filter(order_key__in=keys)
                           .values("order_key").annotate(total=Sum("points"))
                           .values_list("order_key", "total")):
            self.by_order[key] = total
        self.by_month: dict[tuple[int, int, int], int] = defaultdict(int)
        months = {(state.customer_id, state.settled_on.year, state.settled_on.month)
                  for state in states if state.settled_on is not None}
        customers = {customer for customer, _year, _month in months}
        if months:
            first = min(dt.date(year, month, 1) for _c, year, month in months)
            for customer_id, earned_on, points in (
                    InvoiceEarning.objects.filter(customer_id__in=customers,
                                                  earned_on__gte=first)
                    .values_list("customer_id", "earned_on", "points")):
                self.by_month[(customer_id, earned_on.year, earned_on.month)] += points

    def month(self, customer_id: int, day: dt.date) -> tuple[int, int, int]:
        return (customer_id, day.year, day.month)

    def moved(self, state: InvoiceState, points: int) -> None:
        if state.order_key:
            self.by_order[state.order_key] += points
        if state.settled_on is not None:
            self.by_month[self.month(state.customer_id, state.settled_on)] += points


def _withheld_by(customer_id: int) -> dict[str, list[int]]:
    """The measures that withhold a customer's points now (to tell, when they end, whether
    they were overturned)."""
    penalties = [pk for pk, measures in Penalty.objects.filter(
        customer_id=customer_id, status=Penalty.Status.ACTIVE).values_list("pk", "measures")
        if set(measures) & set(FREEZING)]
    entries = list(BlacklistEntry.objects.filter(
        customer_id=customer_id, status=BlacklistEntry.Status.ACTIVE)
        .values_list("pk", flat=True))
    return {"penalties": penalties, "blacklist": entries}


@dataclass
class _Pending:
    """An earning decided but not yet written (see _Earner.flush)."""

    entry: PointsEntry
    lot: PointsLot | None
    earning: InvoiceEarning
    created: bool  # a new InvoiceEarning row (else an existing one earning again)
    audit: dict[str, Any]


class _Earner:
    """Decides and writes the earnings of a chunk of invoices. Plain earnings (no debt to pay
    off) are written together by `flush` — entries, lots and earnings in bulk, the counters once
    per customer — which every other move (a take-back, paying off debt) runs first, so they
    always see the lots as they are."""

    def __init__(self, actor: Actor, version: int, policy: PolicyDocument,
                 states: Sequence[InvoiceState]) -> None:
        self.actor = actor
        self.version = version
        self.rules = policy.points
        # The customer's membership tier (on its standing row) gives the multiplier; without
        # one, or with one the policy no longer has, the entry tier's.
        self.membership = policy.membership
        self.today = clock.today()
        self.now = clock.now()
        self.room = _Room(states)
        self.earnings = {row.pk: row for row in InvoiceEarning.objects.select_for_update()
                         .filter(invoice_id__in=[state.pk for state in states])}
        self.pending: list[_Pending] = []
        self.changes: dict[int, accounts.Change] = defaultdict(accounts.Change)
        self.holdings = accounts.lock_many(state.customer_id for state in states)

    def run(self, state: InvoiceState) -> None:
        holding = self.holding(state.customer_id)
        earning = self.earnings.get(state.pk)
        if state.basis > 0 and (earning is None or (earning.basis == 0 and earning.points == 0
                                                    and not earning.withheld)):
            self._earn(state, earning, holding)
        elif earning is not None and state.basis < earning.basis:
            self.flush()
            self._take_back(state, earning, holding)

    def _earn(self, state: InvoiceState, earning: InvoiceEarning | None,
              holding: accounts.Holding) -> None:
        assert state.settled_on is not None
        room = self.room
        decision = rules_of.earn(self.rules, rules_of.PaidInvoice(
            paid=state.basis, issued_on=state.issued_on, due_on=state.due_on,
            settled_on=state.settled_on), rules_of.EarnContext(
            tier_multiplier=self.membership.multiplier(holding.tier),
            tier=(self.membership.tier(holding.tier) or self.membership.entry).code,
            earned_by_order=room.by_order[state.order_key] if state.order_key else 0,
            earned_this_month=room.by_month[room.month(state.customer_id, state.settled_on)],
            points_frozen=holding.points_frozen, blacklisted=holding.blacklisted))
        points = decision.outcome.points
        earned_on = state.settled_on
        withheld = decision.outcome.withheld
        created = earning is None
        if earning is None:
            earning = InvoiceEarning(invoice_id=state.pk)
        earning.customer_id = state.customer_id
        earning.order_key = state.order_key
        earning.basis, earning.points, earning.withheld = state.basis, points, withheld
        earning.withheld_by = _withheld_by(state.customer_id) if withheld else {}
        earning.lot, earning.earned_on, earning.policy_version = None, earned_on, self.version
        self.earnings[state.pk] = earning
        room.moved(state, points)
        if points == 0:  # capped to nothing: recorded, no entry
            self.flush()
            earning.save(force_insert=created)
            return
        kind = PointsEntry.Kind.WITHHOLD if withheld else PointsEntry.Kind.EARN
        row = PointsEntry(customer_id=state.customer_id, kind=kind,
                          points=0 if withheld else points, withheld=points if withheld else 0,
                          on=self.today, invoice_id=state.pk,
                          reasons=[reason.as_dict() for reason in decision.reasons],
                          policy_version=self.version, recorded_at=self.now,
                          recorded_by=self.actor.label[:150])
        change = self.changes[state.customer_id]
        lot = None
        if withheld:
            change.withheld += points
        else:
            lot = accounts.unsaved_lot(
                state.customer_id, points, earned_on=earned_on,
                available_on=rules_of.available_on(self.rules, earned_on),
                expires_on=rules_of.expires_on(self.rules, earned_on), today=self.today,
                invoice_id=state.pk)
            change.earned += points
            if lot.available:
                change.available += points
            else:
                change.pending += points
        self.pending.append(_Pending(row, lot, earning, created,
                                     {"invoice": state.pk, "basis": state.basis,
                                      "earned_on": earned_on}))
        holding.available += points if lot is not None and lot.available else 0
        holding.pending += points if lot is not None and not lot.available else 0
        holding.withheld += points if withheld else 0
        if lot is not None and lot.available and holding.debt > 0:
            self.flush()  # the new points pay off the debt: with the lots written

    def flush(self) -> None:
        """Write the earnings decided so far, and pay off debt with what became available."""
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        entries = PointsEntry.objects.bulk_create([item.entry for item in pending])
        lots = []
        for item, entry in zip(pending, entries, strict=True):
            if item.lot is not None:
                item.lot.entry = entry
                lots.append(item.lot)
        PointsLot.objects.bulk_create(lots)
        for item in pending:
            item.earning.lot = item.lot
        InvoiceEarning.objects.bulk_create([item.earning for item in pending if item.created])
        again = [item.earning for item in pending if not item.created]
        if again:
            InvoiceEarning.objects.bulk_update(again, ["customer_id", "order_key", "basis",
                                                       "points", "withheld", "withheld_by",
                                                       "lot", "earned_on", "policy_version"])
        changes, self.changes = self.changes, defaultdict(accounts.Change)
        accounts.apply_many(changes)
        self._audit(pending, entries)
        paying: dict[int, PointsEntry] = {}
        for item, entry in zip(pending, entries, strict=True):
            if (item.lot is not None and item.lot.available
                    and self.holdings[entry.customer_id].debt > 0):
                paying.setdefault(entry.customer_id, entry)
        for entry in paying.values():
            self._pay_off(entry)

    def _audit(self, pending: Sequence[_Pending], entries: Sequence[PointsEntry]) -> None:
        """One audit entry per customer and flush: each earning with its invoice, points,
        reasons and policy version (a post touches one customer: one entry, as before)."""
        by_customer: dict[int, list[tuple[_Pending, PointsEntry]]] = defaultdict(list)
        for item, entry in zip(pending, entries, strict=True):
            by_customer[entry.customer_id].append((item, entry))
        for customer_id, items in by_customer.items():
            first = items[0][1]
            kinds = sorted({entry.kind for _item, entry in items})
            audit.record(self.actor, f"rewards.points_{'_'.join(kinds)}", first,
                         customer_id=customer_id, after={
                             "points": sum(entry.points for _item, entry in items),
                             "withheld": sum(entry.withheld for _item, entry in items),
                             "policy_version": self.version, "on": self.today,
                             "earnings": [{"entry": entry.pk, **item.audit,
                                           "points": entry.points or entry.withheld,
                                           "reasons": [r["code"] for r in entry.reasons]}
                                          for item, entry in items]})

    def _pay_off(self, entry: PointsEntry) -> None:
        """Points that became available pay off the customer's debt first: the lots give them
        up and the debt falls by as much (the balance does not move)."""
        holding = self.holdings[entry.customer_id]
        settle = min(holding.debt, holding.available + holding.debt)
        if settle <= 0:
            return
        _taken, paid = accounts.take(entry, settle)
        accounts.apply(entry.customer_id, accounts.Change(debt=-paid))
        holding.debt -= paid

    def holding(self, customer_id: int) -> accounts.Holding:
        return self.holdings[customer_id]

    def _take_back(self, state: InvoiceState, earning: InvoiceEarning,
                   holding: accounts.Holding) -> None:
        points = rules_of.taken_back(earning.points, earning.basis, state.basis)
        reopened = state.settled_on is None
        reason = (Reason("POINTS_INVOICE_REOPENED") if reopened else
                  Reason("POINTS_CREDIT_NOTE", {"basis": earning.basis,
                                                "new_basis": state.basis}))
        change = accounts.Change()
        if points > 0:
            if earning.withheld:
                row = accounts.entry(self.actor, state.customer_id, PointsEntry.Kind.REVERSE, 0,
                                     withheld=-points, on=self.today, reasons=[reason],
                                     version=earning.policy_version, invoice_id=state.pk)
                change.withheld -= points
            else:
                row = accounts.entry(self.actor, state.customer_id, PointsEntry.Kind.REVERSE,
                                     -points, on=self.today, reasons=[reason],
                                     version=earning.policy_version, invoice_id=state.pk)
                lot = (PointsLot.objects.select_for_update().get(pk=earning.lot_id)
                       if earning.lot_id else None)
                change, _taken = accounts.take(row, points, first=lot, into_debt=True)
                change.earned -= points
            accounts.audited(self.actor, row, invoice=state.pk, basis=state.basis)
        earning.points -= points
        earning.basis = state.basis
        if reopened:
            earning.points, earning.lot, earning.withheld = 0, None, False
        earning.save(update_fields=["points", "basis", "lot", "withheld"])
        self.room.moved(state, -points)
        accounts.apply(holding.customer_id, change)
        holding.available += change.available
        holding.pending += change.pending
        holding.withheld += change.withheld
        holding.debt += change.debt


def invoices_changed(actor: Actor, invoice_ids: Sequence[int]) -> None:
    """Earn or take back the points of these invoices (`ledger.hooks`; inside the
    transaction of the change). Without a policy in force nothing is earned: the invoices
    earn when `custguard rewards earn --since` runs after one is published."""
    try:
        version, policy = policy_in_force()
    except ValidationFailed as error:
        if error.code != "no_policy":
            raise
        log.warning("points not earned for %d invoice(s): %s", len(invoice_ids), error.message)
        return
    ordered = sorted(set(invoice_ids))
    with audit.deferred():
        for chunk in _chunks(ordered):
            states = _states(chunk)
            earner = _Earner(actor, version, policy, states)
            for state in states:
                earner.run(state)
            earner.flush()


def earn_since(actor: Actor, since: dt.date, progress: Any = None) -> int:
    """Bring the earnings of every invoice settled on or after `since` (and every one that
    earned before and is open again) in step with the ledger: the back-fill after the first
    policy is published or after rewards are switched on. Returns the invoices looked at."""
    settled = Invoice.objects.filter(kind=Invoice.Kind.INVOICE, settled_on__gte=since)
    ids = sorted(set(settled.values_list("pk", flat=True))
                 | set(InvoiceEarning.objects.filter(points__gt=0)
                       .exclude(invoice__settled_on__isnull=False)
                       .values_list("invoice_id", flat=True)))
    for chunk in _chunks(ids):
        with transaction.atomic():
            invoices_changed(actor, chunk)
        if progress is not None:
            progress(len(chunk))
    return len(ids)


def _overturned(withheld_by: Mapping[str, Sequence[int]]) -> bool:
    """Were all the measures that withheld these points overturned (on appeal)?"""
    penalties = list(withheld_by.get("penalties", ()))
    entries = list(withheld_by.get("blacklist", ()))
    if not penalties and not entries:
        return False
    return (Penalty.objects.filter(pk__in=penalties).exclude(
        status=Penalty.Status.OVERTURNED).count() == 0
        and BlacklistEntry.objects.filter(pk__in=entries).exclude(
            status=BlacklistEntry.Status.OVERTURNED).count() == 0)


def effects_changed(actor: Actor, customer_id: int, before: Mapping[str, Any],
                    after: Mapping[str, Any]) -> None:
    """Conduct lifted a freeze or a blacklisting (`conduct.hooks`): once nothing withholds the
    customer's points any more, each withheld earning is released as a lot when the measures
    behind it were overturned (or the policy restores on lapse), else forfeited."""
    lifted = any(before.get(name) and not after.get(name, True)
                 for name in ("points_frozen", "blacklisted"))
    if not lifted:
        return
    standing = Standing.objects.values("points_frozen", "blacklisted").get(pk=customer_id)
    if standing["points_frozen"] or standing["blacklisted"]:
        return
    withheld = list(InvoiceEarning.objects.select_for_update()
                    .filter(customer_id=customer_id, withheld=True).order_by("pk"))
    if not withheld:
        return
    version, policy = policy_in_force()
    rules = policy.points
    today = clock.today()
    holding = accounts.lock(customer_id)
    for earning in withheld:
        restore = rules.restore_withheld_on_lapse or _overturned(earning.withheld_by)
        change = accounts.Change(withheld=-earning.points)
        if restore:
            reason = Reason("POINTS_RELEASED_OVERTURNED" if _overturned(earning.withheld_by)
                            else "POINTS_RELEASED_ON_LAPSE")
            row = accounts.entry(actor, customer_id, PointsEntry.Kind.RELEASE, earning.points,
                                 withheld=-earning.points, on=today, reasons=[reason],
                                 version=version, invoice_id=earning.invoice_id)
            earning.lot, lot_change = accounts.new_lot(
                row, earning.points, earned_on=today, today=today,
                available_on=rules_of.available_on(rules, today),
                expires_on=rules_of.expires_on(rules, today), invoice_id=earning.invoice_id)
            accounts.add(change, lot_change)
            change.earned += earning.points
            change = accounts.pay_off_debt(row, holding, change)
        else:
            row = accounts.entry(actor, customer_id, PointsEntry.Kind.FORFEIT, 0,
                                 withheld=-earning.points, on=today,
                                 reasons=[Reason("POINTS_FORFEITED_ON_LAPSE")],
                                 version=version, invoice_id=earning.invoice_id)
            earning.points = 0
        earning.withheld = False
        earning.save(update_fields=["withheld", "lot", "points"])
        accounts.audited(actor, row, invoice=earning.invoice_id)
        accounts.apply(customer_id, change)
        holding.debt += change.debt
