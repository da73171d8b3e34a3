"""Background jobs of the ledger. The scheduler runs `refresh_due_states` every night: invoices
fall due without any new fact, so each customer's (and group's) overdue amount and oldest unpaid
due date are recomputed from the open invoices and written where they changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal

from django.db import transaction
from django.db.models import Min, Q, Sum

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.scheduling import Job
from custguard.core.services import audit
from custguard.core.transactions import atomic_with_retry
from custguard.credit.services import exposure
from custguard.customers.models import Customer, GroupStanding, Standing
from custguard.ledger.models import Invoice

ZERO = Decimal("0.00")
CHUNK = 500
DueState = tuple[dt.date | None, Decimal]


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _computed(today: dt.date) -> dict[int, DueState]:
    """(oldest unpaid due date, amount past due) of every customer with an open invoice, in one
    GROUP BY over the open invoices."""
    rows = (Invoice.objects.filter(kind=Invoice.Kind.INVOICE, open_amount__gt=0)
            .values("customer_id").order_by()
            .annotate(oldest=Min("due_on"),
                      overdue=Sum("open_amount", filter=Q(due_on__lt=today))))
    return {row["customer_id"]: (row["oldest"], Decimal(row["overdue"] or ZERO).quantize(
        Decimal("0.01"))) for row in rows}


def _stale_customers(today: dt.date) -> list[int]:
    """Customers whose standing's due state differs from what their open invoices say: those
    with open invoices, and those whose standing still shows something owed."""
    computed = _computed(today)
    owing = Invoice.objects.filter(kind=Invoice.Kind.INVOICE, open_amount__gt=0).values(
        "customer_id")
    shown = Standing.objects.filter(
        Q(pk__in=owing) | ~Q(overdue_amount=0) | Q(oldest_open_due_on__isnull=False)
    ).values_list("pk", "oldest_open_due_on", "overdue_amount")
    stale = []
    for customer_id, oldest, overdue in shown.iterator(chunk_size=2000):
        if computed.get(customer_id, (None, ZERO)) != (oldest, Decimal(overdue).quantize(
                Decimal("0.01"))):
            stale.append(customer_id)
    return sorted(stale)


def _refresh_customer(customer_id: int, today: dt.date) -> None:
    """Recompute one customer's due state under its row locks (group row first, as every
    counter change does), so a fact posted meanwhile is never overwritten by an older read."""
    def work() -> None:
        group_id = Customer.objects.filter(pk=customer_id).values_list("group_id",
                                                                      flat=True).first()
        if group_id is not None:
            GroupStanding.objects.select_for_update().filter(pk=group_id).first()
        Standing.objects.select_for_update().filter(pk=customer_id).first()
        exposure.refresh_due_state(customer_id, today)

    atomic_with_retry(work)


def _stale_groups() -> list[int]:
    """Groups whose due state is not what their members' standing rows add up to."""
    members = {row["customer__group_id"]: (row["oldest"], Decimal(row["overdue"] or ZERO)
                                           .quantize(Decimal("0.01")))
               for row in Standing.objects.filter(customer__group__isnull=False)
               .values("customer__group_id").order_by()
               .annotate(oldest=Min("oldest_open_due_on"), overdue=Sum("overdue_amount"))}
    stale = []
    for group_id, oldest, overdue in GroupStanding.objects.values_list(
            "pk", "oldest_open_due_on", "overdue_amount").iterator(chunk_size=2000):
        if members.get(group_id, (None, ZERO)) != (oldest, Decimal(overdue).quantize(
                Decimal("0.01"))):
            stale.append(group_id)
    return sorted(stale)


def _refresh_group(group_id: int) -> None:
    def work() -> None:
        GroupStanding.objects.select_for_update().filter(pk=group_id).first()
        exposure.refresh_group_due_state(group_id)

    atomic_with_retry(work)


def refresh_due_states(actor: Actor, today: dt.date | None = None,
                       progress: Callable[[int], None] | None = None) -> int:
    """Bring every customer's and group's overdue amount and oldest unpaid due date up to
    `today` (default: the current day). Finds the rows to change with one GROUP BY over the
    open invoices (plus the standing rows that still show something owed), rewrites only those,
    each in its own short transaction with the same locks as a posting, and then any group that
    does not add up to its members. Running it twice, or while facts are posted, is harmless.

    Returns how many standing rows changed: the customers rewritten plus their groups and any
    group corrected on its own; when any did, one audit entry records the run. `progress(n)`
    is called as customers are done."""
    today = today or clock.today()
    customers = _stale_customers(today)
    groups: set[int] = set()  # the groups of the changed customers, refreshed with them
    for chunk in _chunks(customers, CHUNK):
        for customer_id in chunk:
            _refresh_customer(customer_id, today)
        groups.update(Customer.objects.filter(pk__in=chunk, group__isnull=False)
                      .values_list("group_id", flat=True))
        if progress:
            progress(len(chunk))
    # Any other group that does not add up to its members is corrected now.
    drifted = _stale_groups()
    for group_id in drifted:
        _refresh_group(group_id)
    groups.update(drifted)
    changed = len(customers) + len(groups)
    if changed:
        with transaction.atomic():
            audit.record(actor, "ledger.refresh_due_states", object_type="customers.standing",
                         object_id="*", after={"as_of": today, "customers": len(customers),
                                               "groups": len(groups)})
    return changed


def refresh_due_states_job(actor: Actor) -> str:
    """The scheduler's form of `refresh_due_states`: a function of the job's actor returning a
    one-line summary (see core.scheduling.Job)."""
    changed = refresh_due_states(actor)
    return f"due state refreshed: {changed} standing row(s) changed"


JOBS = [
    Job("ledger.refresh_due_states",
        "refresh every customer's and group's overdue amount as invoices fall due",
        refresh_due_states_job, at=dt.time(0, 20)),
]
