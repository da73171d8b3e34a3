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
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from django.db import transaction
from django.db.models import DecimalField, ExpressionWrapper, F, Min, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThanOrEqual

from custguard.core import clock
from custguard.core.transactions import MembershipMoved
from custguard.customers.models import Customer, GroupStanding, Standing

T = TypeVar("T")
ZERO = Decimal("0.00")
# SQLite keeps decimals as binary floats; amounts are whole cents, so a tenth of a cent of slack
# in the limit comparison can absorb float noise without ever admitting an extra cent.
SLACK = Decimal("0.001")
ATTEMPTS = 20
MONEY_FIELD = DecimalField(max_digits=20, decimal_places=4)


def group_of(customer_id: int) -> int | None:
    return Customer.objects.filter(pk=customer_id).values_list("group_id", flat=True).get()


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


def _room(amount: Decimal, factor: Decimal) -> Q:
    """Rows whose limit (plus tolerance) still has room for `amount`:
    credit_limit * factor >= posted + reserved + amount."""
    ceiling = ExpressionWrapper(F("credit_limit") * Value(factor) + Value(SLACK),
                                output_field=MONEY_FIELD)
    used = ExpressionWrapper(F("posted") + F("reserved") + Value(amount),
                             output_field=MONEY_FIELD)
    return Q(GreaterThanOrEqual(ceiling, used))


@dataclass(frozen=True)
class ReserveResult:
    ok: bool
    refused_by: str = ""  # "group" or "customer" when not ok


def try_reserve(customer_id: int, group_id: int | None, amount: Decimal, factor: Decimal,
                *, enforce_limits: bool = True) -> ReserveResult:
    """Add `amount` to the reserved counters of the group (when it has a unified limit, only if
    it fits) and of the customer (only if it fits), with one conditional UPDATE per row. Zero
    rows updated on either means nothing is changed. Must run inside a transaction; raises
    MembershipMoved when the customer is not (or no longer) in `group_id`."""
    now = clock.now()
    with transaction.atomic():
        if group_id is not None:
            rows = GroupStanding.objects.filter(pk=group_id)
            if enforce_limits:
                rows = rows.filter(Q(has_limit=False) | _room(amount, factor))
            if not rows.update(reserved=F("reserved") + amount, updated_at=now):
                return ReserveResult(False, "group")
        rows = Standing.objects.filter(pk=customer_id)
        if enforce_limits:
            rows = rows.filter(_room(amount, factor))
        if not rows.update(reserved=F("reserved") + amount, updated_at=now):
            transaction.set_rollback(True)
            return ReserveResult(False, "customer")
        _check_membership(customer_id, group_id)
    return ReserveResult(True)


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
