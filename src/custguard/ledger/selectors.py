"""Reads of the receivables: ageing buckets of open invoices, per customer or group, and the
facts scoped to what a user may see (the UI and the API both use these)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from django.db import models
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.customers.models import (
    Customer,
    CustomerGroup,
    GroupStanding,
    Standing,
    StandingFields,
)
from custguard.customers.selectors import customers_for, sees_all_customers
from custguard.ledger.models import Invoice, Order, Payment

ZERO = Decimal("0.00")
# (code, days past due from, to); to None is open-ended.
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("not_due", -10**6, 0),
    ("dpd_1_30", 1, 30),
    ("dpd_31_60", 31, 60),
    ("dpd_61_90", 61, 90),
    ("dpd_over_90", 91, None),
)


@dataclass(frozen=True)
class Ageing:
    not_due: Decimal
    dpd_1_30: Decimal
    dpd_31_60: Decimal
    dpd_61_90: Decimal
    dpd_over_90: Decimal

    @property
    def total(self) -> Decimal:
        return self.not_due + self.overdue

    @property
    def overdue(self) -> Decimal:
        return self.dpd_1_30 + self.dpd_31_60 + self.dpd_61_90 + self.dpd_over_90

    def as_list(self) -> list[tuple[str, Decimal]]:
        return [(code, getattr(self, code)) for code, _start, _end in BUCKETS]


def open_invoices(customer_ids: list[int] | None = None) -> QuerySet[Invoice]:
    qs = Invoice.objects.filter(kind=Invoice.Kind.INVOICE, open_amount__gt=0)
    return qs.filter(customer_id__in=customer_ids) if customer_ids is not None else qs


def _bucket_filter(today: dt.date, start: int, end: int | None) -> Q:
    """Invoices whose days past due (today - due_on) lie in [start, end]."""
    condition = Q(due_on__lte=today - dt.timedelta(days=start))
    if end is not None:
        condition &= Q(due_on__gte=today - dt.timedelta(days=end))
    return condition


def ageing(customer_ids: list[int] | None = None, today: dt.date | None = None) -> Ageing:
    """Open receivables by days past due, in one aggregate query."""
    today = today or clock.today()
    sums = open_invoices(customer_ids).aggregate(**{
        code: Sum("open_amount", filter=_bucket_filter(today, start, end))
        for code, start, end in BUCKETS})
    return Ageing(**{code: Decimal(sums[code] or ZERO).quantize(Decimal("0.01"))
                     for code, _start, _end in BUCKETS})


def ageing_by_customer(customer_ids: list[int] | None = None,
                       today: dt.date | None = None) -> dict[int, Ageing]:
    """Ageing of many customers, one GROUP BY query."""
    today = today or clock.today()
    rows = (open_invoices(customer_ids).values("customer_id").order_by()
            .annotate(**{code: Sum("open_amount", filter=_bucket_filter(today, start, end))
                         for code, start, end in BUCKETS}))
    return {row["customer_id"]: Ageing(**{
        code: Decimal(row[code] or ZERO).quantize(Decimal("0.01"))
        for code, _start, _end in BUCKETS}) for row in rows}


# --- scoped reads of the facts ----------------------------------------------------------------

FactModel = TypeVar("FactModel", Order, Invoice, Payment)


def facts_for(who: User | Actor, model: type[FactModel]) -> QuerySet[FactModel]:
    """The facts of the customers `who` may see (everyone's for most roles, an account manager's
    own customers' only), with their customer loaded."""
    qs = model.objects.select_related("customer")
    if sees_all_customers(who):
        return qs
    return qs.filter(customer__in=customers_for(who).values("pk"))


class InvoiceStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("invoice status", "Open")
    OVERDUE = "overdue", _("Overdue")
    SETTLED = "settled", _("Settled")


def with_status(qs: QuerySet[Invoice], status: str, today: dt.date | None = None,
                ) -> QuerySet[Invoice]:
    """Invoices by payment status: `open` (not fully paid, overdue or not), `overdue` (not
    fully paid and past due), `settled` (fully paid). Credit notes have no status."""
    today = today or clock.today()
    invoices = qs.filter(kind=Invoice.Kind.INVOICE)
    if status == InvoiceStatus.OPEN:
        return invoices.filter(open_amount__gt=0)
    if status == InvoiceStatus.OVERDUE:
        return invoices.filter(open_amount__gt=0, due_on__lt=today)
    if status == InvoiceStatus.SETTLED:
        return invoices.filter(open_amount=0)
    raise ValueError(f"unknown invoice status {status!r}")


def invoice_status(invoice: Invoice, today: dt.date | None = None) -> str | None:
    """`open`, `overdue` or `settled` (None for a credit note)."""
    if invoice.kind != Invoice.Kind.INVOICE:
        return None
    today = today or clock.today()
    if invoice.open_amount == 0:
        return InvoiceStatus.SETTLED.value
    if invoice.due_on is not None and invoice.due_on < today:
        return InvoiceStatus.OVERDUE.value
    return InvoiceStatus.OPEN.value


def days_past_due(invoice: Invoice, today: dt.date | None = None) -> int:
    """Days an invoice is (while open) or was (when it was settled) past its due date."""
    if invoice.kind != Invoice.Kind.INVOICE or invoice.due_on is None:
        return 0
    end = invoice.settled_on if invoice.open_amount == 0 and invoice.settled_on else (
        today or clock.today())
    return max(0, (end - invoice.due_on).days)


@dataclass(frozen=True)
class Receivables:
    """What a customer (or a group) owes: the standing's counters, read live where they depend
    on the day (overdue amount, days past due), and the ageing of its open invoices."""

    as_of: dt.date
    posted: Decimal
    reserved: Decimal
    overdue_amount: Decimal
    oldest_open_due_on: dt.date | None
    days_past_due: int
    open_invoices: int
    ageing: Ageing


def _receivables(row: StandingFields, customer_ids: list[int], today: dt.date) -> Receivables:
    buckets = ageing(customer_ids, today)
    counted = open_invoices(customer_ids).aggregate(count=Count("pk"), oldest=Min("due_on"))
    return Receivables(as_of=today, posted=row.posted, reserved=row.reserved,
                       overdue_amount=buckets.overdue, oldest_open_due_on=counted["oldest"],
                       days_past_due=max(0, (today - counted["oldest"]).days)
                       if counted["oldest"] else 0,
                       open_invoices=counted["count"], ageing=buckets)


def customer_receivables(customer: Customer, today: dt.date | None = None) -> Receivables:
    today = today or clock.today()
    standing = Standing.objects.get(pk=customer.pk)
    return _receivables(standing, [customer.pk], today)


def group_receivables(group: CustomerGroup, today: dt.date | None = None) -> Receivables:
    today = today or clock.today()
    standing = GroupStanding.objects.get(pk=group.pk)
    members = list(group.members.values_list("pk", flat=True))
    return _receivables(standing, members, today)
