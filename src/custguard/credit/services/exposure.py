"""The credit counters on the standing rows — the only code that moves `posted`, `reserved`
and the receivable due state of customers and groups.

Every change runs inside the caller's transaction and touches the group's row before the
customer's row (the same order everywhere, so two writers never deadlock). A group's counters
are the sums of its members'. A membership change (customers.services) locks the group rows and
then the customer's row and moves the member's counters across; a counter change that finds,
after taking its row locks, that the customer is no longer in the group it read, rolls back its
savepoint and starts again, so a group never keeps a departed member's exposure.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from django.db import connection, transaction
from django.db.models import DecimalField, F, Min, Q, Sum, Value
from django.db.models.functions import Coalesce

from custguard.core import clock, sql
from custguard.core.money import CENT
from custguard.core.transactions import MembershipMoved
from custguard.customers.models import (
    Customer,
    CustomerStatus,
    GroupStanding,
    Standing,
    days_past_due,
)

T = TypeVar("T")
ZERO = Decimal("0.00")
# SQLite keeps decimals as binary floats; amounts are whole cents, so a tenth of a cent of slack
# in the limit comparison can absorb float noise without ever admitting an extra cent.
SLACK = Decimal("0.001")
ATTEMPTS = 20
MONEY_FIELD = DecimalField(max_digits=20, decimal_places=4)


def group_of(customer_id: int) -> int | None:
    with sql.prepared_cursor() as cursor:
        cursor.execute(_statements().group_of, [customer_id])
        found = cursor.fetchone()
    if found is None:
        raise Customer.DoesNotExist(f"no customer {customer_id}")
    return found[0]


def _check_membership(customer_id: int, group_id: int | None) -> None:
    if group_of(customer_id) != group_id:
        raise MembershipMoved


def _with_membership(customer_id: int, change: Callable[[int | None], T]) -> T:
    """Run `change(group_id)` in a savepoint; start again if the customer moved group."""
    for _attempt in range(ATTEMPTS):
        group_id = group_of(customer_id)
        try:
            with transaction.atomic():
                result = change(group_id)
                _check_membership(customer_id, group_id)
                return result
        except MembershipMoved:
            continue
    raise MembershipMoved


def add_posted(customer_id: int, delta: Decimal) -> None:
    """Posted receivables moved by `delta` (an invoice +, a payment or credit note -)."""
    now = clock.now()

    def change(group_id: int | None) -> None:
        if group_id is not None:
            GroupStanding.objects.filter(pk=group_id).update(posted=F("posted") + delta,
                                                             updated_at=now)
        Standing.objects.filter(pk=customer_id).update(posted=F("posted") + delta,
                                                       updated_at=now)

    _with_membership(customer_id, change)


# --- many customers at once (a file import) ---------------------------------------------------

MANY_CHUNK = 500  # customers per statement (their keys are parameters: under SQLite's 999)


def _chunked(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), MANY_CHUNK):
        yield ids[start:start + MANY_CHUNK]


def _groups_of(ids: Sequence[int]) -> dict[int, int | None]:
    found: dict[int, int | None] = {}
    for chunk in _chunked(ids):
        found.update(Customer.objects.filter(pk__in=chunk).values_list("pk", "group_id"))
    return found


def lock_members(customer_ids: Sequence[int]) -> dict[int, int | None]:
    """Lock the standing rows of many customers and of their groups, groups first and each in
    key order (the order every counter change takes), and return each customer's group.
    Raises MembershipMoved when a customer changed group between the read and the locks; the
    caller's transaction then runs again (core.transactions.atomic_with_retry)."""
    ids = sorted(set(customer_ids))
    groups = _groups_of(ids)
    group_ids = sorted({g for g in groups.values() if g is not None})
    for chunk in _chunked(group_ids):
        list(GroupStanding.objects.select_for_update().filter(pk__in=chunk).order_by("pk")
             .values_list("pk", flat=True))
    for chunk in _chunked(ids):
        list(Standing.objects.select_for_update().filter(pk__in=chunk).order_by("pk")
             .values_list("pk", flat=True))
    if _groups_of(ids) != groups:
        raise MembershipMoved
    return groups


def add_posted_many(deltas: Mapping[int, Decimal]) -> None:
    """Posted receivables of many customers moved (customer id → delta): what `add_posted`
    does for each, with one statement per group and one batch of statements for the
    customers."""
    if not deltas:
        return
    groups = lock_members(list(deltas))
    now = connection.ops.adapt_datetimefield_value(clock.now())
    by_group: dict[int, Decimal] = {}
    for customer_id, group_id in groups.items():
        if group_id is not None:
            by_group[group_id] = by_group.get(group_id, ZERO) + deltas[customer_id]
    s, g = Standing, GroupStanding
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {sql.table(g)} SET {sql.column(g, 'posted')} = "  # noqa: S608
            f"{sql.column(g, 'posted')} + CAST(%s AS NUMERIC), {sql.column(g, 'updated_at')} "
            f"= %s WHERE {sql.column(g, 'group')} = %s",
            [(delta, now, group_id) for group_id, delta in sorted(by_group.items())])
        cursor.executemany(
            f"UPDATE {sql.table(s)} SET {sql.column(s, 'posted')} = "  # noqa: S608
            f"{sql.column(s, 'posted')} + CAST(%s AS NUMERIC), {sql.column(s, 'updated_at')} "
            f"= %s WHERE {sql.column(s, 'customer')} = %s",
            [(delta, now, customer_id) for customer_id, delta in sorted(deltas.items())])


def refresh_due_states(customer_ids: Sequence[int], today: dt.date | None = None) -> None:
    """`refresh_due_state` for many customers: one aggregate over their open invoices per few
    hundred customers, then their groups'."""
    from custguard.ledger.models import Invoice

    ids = sorted(set(customer_ids))
    if not ids:
        return
    day = today or clock.today()
    groups = lock_members(ids)
    now = connection.ops.adapt_datetimefield_value(clock.now())
    s = Standing
    update = (f"UPDATE {sql.table(s)} SET {sql.column(s, 'oldest_open_due_on')} = %s, "  # noqa: S608
              f"{sql.column(s, 'overdue_amount')} = CAST(%s AS NUMERIC), "
              f"{sql.column(s, 'updated_at')} = %s WHERE {sql.column(s, 'customer')} = %s")
    for chunk in _chunked(ids):
        states = {row["customer_id"]: row for row in Invoice.objects.filter(
            customer_id__in=chunk, kind=Invoice.Kind.INVOICE, open_amount__gt=0)
            .values("customer_id").order_by().annotate(
                oldest=Min("due_on"),
                overdue=Coalesce(Sum("open_amount", filter=Q(due_on__lt=day)), Value(ZERO),
                                 output_field=MONEY_FIELD))}
        params = []
        for customer_id in chunk:
            state = states.get(customer_id)
            params.append((None, ZERO, now, customer_id) if state is None else (
                state["oldest"], Decimal(state["overdue"]).quantize(CENT), now, customer_id))
        with connection.cursor() as cursor:
            cursor.executemany(update, params)
    for group_id in sorted({g for g in groups.values() if g is not None}):
        refresh_group_due_state(group_id)


@dataclass(frozen=True)
class Counters:
    credit_limit: Decimal
    posted: Decimal
    reserved: Decimal


@dataclass(frozen=True)
class Snapshot:
    """What the order gate decides from: the customer's standing row and its group's."""

    customer_id: int
    grade: str
    closed: bool
    blacklisted: bool
    order_blocked: bool
    service_suspended: bool
    prepay_only: bool
    penalty_prepay_only: bool
    oldest_open_due_on: dt.date | None
    customer: Counters
    group_id: int | None
    group: Counters | None  # None when the customer is in no group or the group has no limit
    priority_allocation: bool = False  # its class puts it first for scarce goods

    def days_past_due(self, today: dt.date) -> int:
        return days_past_due(self.oldest_open_due_on, today)


@dataclass(frozen=True)
class _Statements:
    snapshot_columns: str
    snapshot_from: str
    snapshot: str
    group_of: str
    reserve_group: str
    reserve_customer_in_group: str  # two more parameters: the customer key, the group key
    reserve_customer_alone: str  # one more parameter: the customer key
    unreserve_group: str


@functools.cache
def _statements() -> _Statements:
    """The gate's statements, spelled once per process. Identifiers are our own tables' quoted
    names; every value is a parameter."""
    s, c, g = Standing, Customer, GroupStanding
    sc, cc, gc = (functools.partial(sql.column, model) for model in (s, c, g))

    def counters(alias: str) -> str:
        return ", ".join(f"{alias}.{sc(name)}" for name in ("credit_limit", "posted", "reserved"))

    def reserve(model: type, key: str, unlimited: str) -> str:
        col = functools.partial(sql.column, model)
        limit, posted, reserved = col("credit_limit"), col("posted"), col("reserved")
        # The first parameter after the key is 1 when the limits are not enforced.
        return " ".join([
            f"UPDATE {sql.table(model)} SET {reserved} = {reserved} + CAST(%s AS NUMERIC),",  # noqa: S608
            f"{col('updated_at')} = %s WHERE {col(key)} = %s AND (%s = 1 OR {unlimited}",
            f"{limit} * CAST(%s AS NUMERIC) + CAST(%s AS NUMERIC) >=",
            f"{posted} + {reserved} + CAST(%s AS NUMERIC))"])

    snapshot_columns = " ".join([
        f"s.{sc('grade')}, c.{cc('status')}, s.{sc('blacklisted')},",
        f"s.{sc('order_blocked')}, s.{sc('service_suspended')}, s.{sc('prepay_only')},",
        f"s.{sc('penalty_prepay_only')}, s.{sc('oldest_open_due_on')}, {counters('s')},",
        f"c.{cc('group')}, g.{gc('has_limit')}, {counters('g')},",
        f"s.{sc('priority_allocation')}"])
    snapshot_from = " ".join([
        f"FROM {sql.table(s)} s JOIN {sql.table(c)} c ON c.{cc('id')} = s.{sc('customer')}",
        f"LEFT JOIN {sql.table(g)} g ON g.{gc('group')} = c.{cc('group')}"])
    return _Statements(
        snapshot_columns=snapshot_columns, snapshot_from=snapshot_from,
        snapshot=f"SELECT {snapshot_columns} {snapshot_from} WHERE s.{sc('customer')} = %s",
        group_of=" ".join([f"SELECT {cc('group')} FROM {sql.table(c)}",  # noqa: S608
                           f"WHERE {cc('id')} = %s"]),
        reserve_group=reserve(g, "group", f"NOT {gc('has_limit')} OR"),
        # The customer's row moves only while the customer is still in the group whose row
        # was locked just before: the membership check is part of the same statement.
        reserve_customer_in_group=(
            f"{reserve(s, 'customer', '')} AND EXISTS (SELECT 1 FROM {sql.table(c)} "  # noqa: S608
            f"WHERE {cc('id')} = %s AND {cc('group')} = %s)"),
        reserve_customer_alone=(
            f"{reserve(s, 'customer', '')} AND EXISTS (SELECT 1 FROM {sql.table(c)} "  # noqa: S608
            f"WHERE {cc('id')} = %s AND {cc('group')} IS NULL)"),
        unreserve_group=" ".join([
            f"UPDATE {sql.table(g)} SET {gc('reserved')} = {gc('reserved')} - ",  # noqa: S608
            f"CAST(%s AS NUMERIC) WHERE {gc('group')} = %s"]),
    )


SNAPSHOT_COLUMNS = 17


def snapshot_select(columns: str, joins: str) -> str:
    """The snapshot's SELECT … FROM, without a WHERE, with more `columns` after its own and
    more `joins` after its own: the customer's table is `c`, its standing `s`, its group's
    standing `g`. The order gate reads everything it needs in one statement this way;
    `snapshot_of` reads the first SNAPSHOT_COLUMNS values of a row."""
    statements = _statements()
    return (f"SELECT {statements.snapshot_columns}, {columns} "
            f"{statements.snapshot_from} {joins}")


def snapshot(customer_id: int) -> Snapshot:
    """The customer's and its group's standing, in one statement."""
    with sql.prepared_cursor() as cursor:
        cursor.execute(_statements().snapshot, [customer_id])
        row = cursor.fetchone()
    if row is None:
        raise Standing.DoesNotExist(f"no standing for customer {customer_id}")
    return snapshot_of(customer_id, row)


def snapshot_of(customer_id: int, row: Sequence[object]) -> Snapshot:
    """The Snapshot in the first SNAPSHOT_COLUMNS values of a row of `snapshot_select()`."""
    (grade, status, blacklisted, blocked, suspended, prepay, penalty_prepay, oldest,
     limit, posted, reserved, group_id, has_limit, g_limit, g_posted,
     g_reserved, priority) = row[:SNAPSHOT_COLUMNS]
    group = (Counters(sql.money(g_limit), sql.money(g_posted), sql.money(g_reserved))
             if group_id is not None and has_limit else None)
    return Snapshot(
        customer_id=customer_id, grade=grade, closed=status == CustomerStatus.CLOSED,
        blacklisted=bool(blacklisted), order_blocked=bool(blocked),
        service_suspended=bool(suspended), prepay_only=bool(prepay),
        penalty_prepay_only=bool(penalty_prepay), oldest_open_due_on=sql.date_value(oldest),
        customer=Counters(sql.money(limit), sql.money(posted), sql.money(reserved)),
        group_id=group_id, group=group, priority_allocation=bool(priority))


@dataclass(frozen=True)
class ReserveResult:
    ok: bool
    refused_by: str = ""  # "group" or "customer" when not ok


def try_reserve(customer_id: int, group_id: int | None, amount: Decimal, factor: Decimal,
                *, enforce_limits: bool = True) -> ReserveResult:
    """Add `amount` to the reserved counters of the group (when it has a unified limit, only if
    it fits) and of the customer (only if it fits and the customer is still in `group_id`),
    with one conditional UPDATE per row: credit_limit * factor >= posted + reserved + amount.
    When either refuses, nothing is left changed: a group row already moved is moved back
    while this transaction still holds its lock (no savepoint: two statements fewer on the
    gate's path). Must run inside a transaction; raises MembershipMoved when the customer is
    not (or no longer) in `group_id`."""
    if not connection.in_atomic_block:
        raise RuntimeError("try_reserve must run inside a transaction")
    statements = _statements()
    now = connection.ops.adapt_datetimefield_value(clock.now())

    def params(key: int) -> list[object]:
        # With `enforce_limits` off the first condition is true and the room is not looked at.
        return [amount, now, key, 0 if enforce_limits else 1, factor, SLACK, amount]

    with sql.prepared_cursor() as cursor:
        if group_id is not None:
            cursor.execute(statements.reserve_group, params(group_id))
            if cursor.rowcount != 1:
                return ReserveResult(False, "group")
            cursor.execute(statements.reserve_customer_in_group,
                           [*params(customer_id), customer_id, group_id])
        else:
            cursor.execute(statements.reserve_customer_alone,
                           [*params(customer_id), customer_id])
        if cursor.rowcount == 1:
            return ReserveResult(True)
        if group_id is not None:
            cursor.execute(statements.unreserve_group, [amount, group_id])
    _check_membership(customer_id, group_id)
    return ReserveResult(False, "customer")


def release_reserved(customer_id: int, amount: Decimal) -> None:
    """An open order's reservation ended (invoiced, cancelled, expired): give it back."""
    add_reserved(customer_id, -amount)


def add_reserved(customer_id: int, delta: Decimal) -> None:
    now = clock.now()

    def change(group_id: int | None) -> None:
        if group_id is not None:
            GroupStanding.objects.filter(pk=group_id).update(reserved=F("reserved") + delta,
                                                             updated_at=now)
        Standing.objects.filter(pk=customer_id).update(reserved=F("reserved") + delta,
                                                       updated_at=now)

    _with_membership(customer_id, change)


def due_state(customer_id: int, today: dt.date) -> tuple[dt.date | None, Decimal]:
    """(due date of the oldest unpaid invoice, amount past due) from the open invoices."""
    from custguard.ledger.models import Invoice

    open_invoices = Invoice.objects.filter(customer_id=customer_id,
                                           kind=Invoice.Kind.INVOICE, open_amount__gt=0)
    values = open_invoices.aggregate(
        oldest=Min("due_on"),
        overdue=Coalesce(Sum("open_amount", filter=Q(due_on__lt=today)), Value(ZERO),
                         output_field=MONEY_FIELD))
    return values["oldest"], Decimal(values["overdue"]).quantize(Decimal("0.01"))


def refresh_due_state(customer_id: int, today: dt.date | None = None) -> None:
    """Recompute the customer's (and its group's) oldest unpaid due date and overdue amount,
    after a fact that changes them and every night as invoices fall due."""
    day = today or clock.today()
    now = clock.now()

    def change(group_id: int | None) -> None:
        if group_id is not None:
            GroupStanding.objects.select_for_update().filter(pk=group_id).first()
        # Read the invoices only once the customer's row is locked: a concurrent payment's
        # refresh then waits for this one (or this one sees its result), never overwrites it.
        Standing.objects.select_for_update().filter(pk=customer_id).first()
        oldest, overdue = due_state(customer_id, day)
        Standing.objects.filter(pk=customer_id).update(
            oldest_open_due_on=oldest, overdue_amount=overdue, updated_at=now)
        if group_id is not None:
            refresh_group_due_state(group_id)

    _with_membership(customer_id, change)


def refresh_group_due_state(group_id: int) -> None:
    members = Standing.objects.filter(customer__group_id=group_id).aggregate(
        oldest=Min("oldest_open_due_on"),
        overdue=Coalesce(Sum("overdue_amount"), Value(ZERO), output_field=MONEY_FIELD))
    GroupStanding.objects.filter(pk=group_id).update(
        oldest_open_due_on=members["oldest"],
        overdue_amount=Decimal(members["overdue"]).quantize(Decimal("0.01")),
        updated_at=clock.now())


def move_member(customer_id: int, old_group_id: int | None, new_group_id: int | None) -> None:
    """Carry a customer's counters from its old group to its new one. Called by the
    membership services inside their transaction, after the customer's group was changed."""
    now = clock.now()
    groups = sorted(g for g in (old_group_id, new_group_id) if g is not None)
    for group_id in groups:  # ascending key, then the customer's row
        GroupStanding.objects.select_for_update().filter(pk=group_id).first()
    standing = Standing.objects.select_for_update().get(pk=customer_id)
    if old_group_id is not None:
        GroupStanding.objects.filter(pk=old_group_id).update(
            posted=F("posted") - standing.posted, reserved=F("reserved") - standing.reserved,
            updated_at=now)
        refresh_group_due_state(old_group_id)
    if new_group_id is not None:
        GroupStanding.objects.filter(pk=new_group_id).update(
            posted=F("posted") + standing.posted, reserved=F("reserved") + standing.reserved,
            updated_at=now)
        refresh_group_due_state(new_group_id)
