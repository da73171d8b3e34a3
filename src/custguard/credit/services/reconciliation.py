"""Reconciliation of the credit counters: recompute every customer's and every group's `posted`
and `reserved` from the facts, compare them with the standing rows, report (and optionally
correct) every difference.

    posted   = invoices - credit notes - payments + reversals    (ledger facts)
    reserved = the sum of the customer's pending reservations    (credit.Reservation)
    a group's posted and reserved = the sums over its members

The counters are moved only by credit.services.exposure, in the transaction of the fact or the
reservation that moves them, so a difference means a bug or a change made outside the
application. Each comparison is one set-based SQL statement (derived tables aggregated with
GROUP BY, joined to the standing rows), never a query per customer; a single statement reads
one consistent snapshot of facts and counters, so concurrent gate traffic cannot show up as
drift.

Every drift found is recorded in the audit chain as action "credit.drift". The monitoring app
(alert rules and alerts) does not exist yet: until it does, that audit entry is the alert of
record — `custguard audit` and the audit log page show it, and `custguard gate reconcile`
exits with status 1 so a scheduler can raise the alarm. With `fix=True` the counters are set
back to the recomputed values in the same transaction, each correction audited as
"credit.drift_fix". A correction is applied as a delta (counter - difference) rather than an
absolute value, so a fact committed concurrently after the comparison is never lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused
from custguard.core.services import audit
from custguard.core.sql import column as _col
from custguard.core.sql import money as _money
from custguard.core.sql import table as _table
from custguard.core.transactions import atomic_with_retry
from custguard.credit.models import Reservation
from custguard.customers.models import Customer, CustomerGroup, GroupStanding, Standing
from custguard.ledger.models import Invoice, Payment

CENT = Decimal("0.01")
# Half a cent: SQLite keeps decimals as binary floats, so sums are compared with this slack.
HALF_CENT = "0.005"
Kind = Literal["customer", "group"]
FIELDS = ("posted", "reserved")


@dataclass(frozen=True)
class Drift:
    """One counter that does not match the facts."""

    kind: Kind
    object_id: int  # the customer's or the group's id
    label: str  # the customer's code, or the group's name
    field: str  # "posted" or "reserved"
    stored: Decimal
    recomputed: Decimal

    @property
    def difference(self) -> Decimal:
        """How far the stored counter is off: stored - recomputed."""
        return self.stored - self.recomputed


def _facts_sql() -> tuple[str, list[Any]]:
    """Per customer: recomputed posted and reserved, as derived tables (one GROUP BY each)
    joined to the customer table. Columns: customer_id, group_id, posted, reserved."""
    inv, pay, res, cus = Invoice, Payment, Reservation, Customer
    sql = f"""
        SELECT c.{_col(cus, "id")} AS customer_id, c.{_col(cus, "group")} AS group_id,
               COALESCE(i.total, 0) + COALESCE(p.total, 0) AS posted,
               COALESCE(r.total, 0) AS reserved
        FROM {_table(cus)} c
        LEFT JOIN (
            SELECT {_col(inv, "customer")} AS customer_id,
                   SUM(CASE WHEN {_col(inv, "kind")} = %s THEN {_col(inv, "amount")}
                            ELSE -{_col(inv, "amount")} END) AS total
            FROM {_table(inv)} GROUP BY {_col(inv, "customer")}
        ) i ON i.customer_id = c.{_col(cus, "id")}
        LEFT JOIN (
            SELECT {_col(pay, "customer")} AS customer_id,
                   SUM(CASE WHEN {_col(pay, "kind")} = %s THEN {_col(pay, "amount")}
                            ELSE -{_col(pay, "amount")} END) AS total
            FROM {_table(pay)} GROUP BY {_col(pay, "customer")}
        ) p ON p.customer_id = c.{_col(cus, "id")}
        LEFT JOIN (
            SELECT {_col(res, "customer")} AS customer_id, SUM({_col(res, "amount")}) AS total
            FROM {_table(res)} WHERE {_col(res, "status")} = %s
            GROUP BY {_col(res, "customer")}
        ) r ON r.customer_id = c.{_col(cus, "id")}
    """  # noqa: S608 - quoted identifiers of our own tables; values are parameters
    return sql, [Invoice.Kind.INVOICE, Payment.Kind.REVERSAL, Reservation.Status.PENDING]


def _differs(stored: str, recomputed: str) -> str:
    return f"ABS({stored} - {recomputed}) >= {HALF_CENT}"


def customer_drift_rows() -> list[tuple[Any, ...]]:
    """(customer id, stored posted, stored reserved, recomputed posted, recomputed reserved)
    of every standing row that differs from the facts — one statement."""
    facts, params = _facts_sql()
    s = "s"
    posted, reserved = f"{s}.{_col(Standing, 'posted')}", f"{s}.{_col(Standing, 'reserved')}"
    sql = f"""
        SELECT f.customer_id, {posted}, {reserved}, f.posted, f.reserved
        FROM {_table(Standing)} {s}
        JOIN ({facts}) f ON f.customer_id = {s}.{_col(Standing, "customer")}
        WHERE {_differs(posted, "f.posted")} OR {_differs(reserved, "f.reserved")}
        ORDER BY f.customer_id
    """  # noqa: S608 - quoted identifiers of our own tables; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def group_drift_rows() -> list[tuple[Any, ...]]:
    """(group id, stored posted, stored reserved, recomputed posted, recomputed reserved) of
    every group standing row that differs from the sums over its members — one statement."""
    facts, params = _facts_sql()
    g = "g"
    posted = f"{g}.{_col(GroupStanding, 'posted')}"
    reserved = f"{g}.{_col(GroupStanding, 'reserved')}"
    sql = f"""
        SELECT {g}.{_col(GroupStanding, "group")}, {posted}, {reserved},
               COALESCE(m.posted, 0), COALESCE(m.reserved, 0)
        FROM {_table(GroupStanding)} {g}
        LEFT JOIN (
            SELECT f.group_id, SUM(f.posted) AS posted, SUM(f.reserved) AS reserved
            FROM ({facts}) f WHERE f.group_id IS NOT NULL GROUP BY f.group_id
        ) m ON m.group_id = {g}.{_col(GroupStanding, "group")}
        WHERE {_differs(posted, "COALESCE(m.posted, 0)")}
           OR {_differs(reserved, "COALESCE(m.reserved, 0)")}
        ORDER BY {g}.{_col(GroupStanding, "group")}
    """  # noqa: S608 - quoted identifiers of our own tables; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _drifts(kind: Kind, rows: Iterable[tuple[Any, ...]], labels: dict[int, str]) -> list[Drift]:
    found = []
    for object_id, stored_posted, stored_reserved, posted, reserved in rows:
        pairs = {"posted": (_money(stored_posted), _money(posted)),
                 "reserved": (_money(stored_reserved), _money(reserved))}
        for field in FIELDS:
            stored, recomputed = pairs[field]
            if stored != recomputed:
                found.append(Drift(kind=kind, object_id=int(object_id),
                                   label=labels.get(int(object_id), str(object_id)),
                                   field=field, stored=stored, recomputed=recomputed))
    return found


def find_drift() -> list[Drift]:
    """Every counter that differs from the facts: customers first, then groups."""
    customer_rows = customer_drift_rows()
    group_rows = group_drift_rows()
    codes = dict(Customer.objects.filter(pk__in=[r[0] for r in customer_rows])
                 .values_list("pk", "code"))
    names = dict(CustomerGroup.objects.filter(pk__in=[r[0] for r in group_rows])
                 .values_list("pk", "name"))
    return _drifts("customer", customer_rows, codes) + _drifts("group", group_rows, names)


def _entry(drift: Drift, action: str, fixed: bool) -> audit.PendingEntry:
    customer = drift.kind == "customer"
    if action == "credit.drift":
        before = None
        after: dict[str, Any] = {
            "field": drift.field, "stored": drift.stored, "recomputed": drift.recomputed,
            "difference": drift.difference, "fixed": fixed}
    else:
        before = {drift.field: drift.stored}
        after = {drift.field: drift.recomputed}
    return audit.PendingEntry(
        action=action,
        object_type="customers.standing" if customer else "customers.groupstanding",
        object_id=drift.object_id, customer_id=drift.object_id if customer else None,
        before=before, after=after, reason="reconciliation")


def _correct(drifts: Sequence[Drift]) -> None:
    """Apply the corrections as deltas: group rows (ascending key), then customer rows
    (ascending key) — the lock order every counter change uses."""
    now = clock.now()
    for kind, model in (("group", GroupStanding), ("customer", Standing)):
        for drift in sorted((d for d in drifts if d.kind == kind),
                            key=lambda d: (d.object_id, d.field)):
            model.objects.filter(pk=drift.object_id).update(
                **{drift.field: F(drift.field) - drift.difference, "updated_at": now})


def reconcile(actor: Actor, fix: bool = False) -> list[Drift]:
    """Recompute every customer's and group's posted and reserved counters from the facts and
    compare them with the standing rows. Each drift is returned and recorded in the audit
    chain ("credit.drift" — the alert of record until the monitoring app exists); with
    `fix`, the counters are corrected in the same transaction ("credit.drift_fix")."""
    needed = "customers.change_standing" if fix else "customers.view_standing"
    if not actor.can(needed):
        raise PermissionRefused(_("your role may not reconcile the credit counters"))

    def run() -> list[Drift]:
        drifts = find_drift()
        if not drifts:
            return []
        entries = [_entry(d, "credit.drift", fixed=fix) for d in drifts]
        if fix:
            _correct(drifts)
            entries += [_entry(d, "credit.drift_fix", fixed=True) for d in drifts]
        audit.record_many(actor, entries)
        return drifts

    if fix:
        return atomic_with_retry(run)
    with transaction.atomic():
        return run()
