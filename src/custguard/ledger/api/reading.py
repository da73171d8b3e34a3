"""Reading the facts over the API — orders, invoices (with what is open and what was applied),
payments — scoped to the caller's customers, and a customer's receivables with its ageing."""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Schema
from ninja.pagination import paginate

from custguard.api.pagination import Pages
from custguard.api.schemas import CustomerRef, QueryFilter
from custguard.core import clock
from custguard.core.actors import actor_from_request
from custguard.core.errors import NotFound, ValidationFailed
from custguard.ledger import selectors
from custguard.ledger.api.common import (
    CUSTOMER_HELP,
    InvoiceOut,
    OrderOut,
    PaymentOut,
    customer_key,
    get_customer,
    invoice_out,
    invoices_loaded,
    order_out,
    orders_loaded,
    payment_out,
    payments_loaded,
    require,
    router,
)
from custguard.ledger.models import Invoice, Order, Payment

OrderKind = Literal[tuple(Order.Kind.values)]  # type: ignore[valid-type]
InvoiceKind = Literal[tuple(Invoice.Kind.values)]  # type: ignore[valid-type]
PaymentKind = Literal[tuple(Payment.Kind.values)]  # type: ignore[valid-type]
InvoiceStatus = Literal[tuple(selectors.InvoiceStatus.values)]  # type: ignore[valid-type]
PAGE_SIZE = 50


def _customer_filter(qs: QuerySet[Any], value: str | None) -> QuerySet[Any]:
    if not value:
        return qs
    key = customer_key(value)
    if key is None:
        raise ValidationFailed(_("customer must be a customer id or a 9-digit code"),
                               field="customer")
    return qs.filter(**{f"customer__{key[0]}": key[1]})


class _FactFilter(QueryFilter):
    customer: str | None = Field(None, description=CUSTOMER_HELP)
    source: str | None = None
    external_id: str | None = None
    date_from: dt.date | None = Field(None, description="the fact's date, from (inclusive)")
    date_to: dt.date | None = Field(None, description="the fact's date, to (inclusive)")

    def _common(self, qs: QuerySet[Any], date_field: str) -> QuerySet[Any]:
        qs = _customer_filter(qs, self.customer)
        if self.source:
            qs = qs.filter(source=self.source)
        if self.external_id:
            qs = qs.filter(external_id=self.external_id)
        if self.date_from:
            qs = qs.filter(**{f"{date_field}__gte": self.date_from})
        if self.date_to:
            qs = qs.filter(**{f"{date_field}__lte": self.date_to})
        return qs


class OrderFilter(_FactFilter):
    kind: OrderKind | None = None
    open: bool | None = Field(None, description="true: orders not cancelled and not invoiced")

    def apply(self, qs: QuerySet[Order]) -> QuerySet[Order]:
        qs = self._common(qs, "ordered_on")
        if self.kind:
            qs = qs.filter(kind=self.kind)
        if self.open is not None:
            invoiced = Invoice.objects.filter(order_source=OuterRef("source"),
                                              order_external_id=OuterRef("external_id"))
            still_open = Q(kind=Order.Kind.ORDER, cancellation__isnull=True) & ~Q(
                Exists(invoiced))
            qs = qs.filter(still_open) if self.open else qs.exclude(still_open)
        return qs


class InvoiceFilter(_FactFilter):
    kind: InvoiceKind | None = None
    status: InvoiceStatus | None = Field(
        None, description="open: not fully paid (overdue or not); overdue: not fully paid and "
                          "past due; settled: fully paid")
    due_from: dt.date | None = None
    due_to: dt.date | None = None

    def apply(self, qs: QuerySet[Invoice]) -> QuerySet[Invoice]:
        qs = self._common(qs, "issued_on")
        if self.kind:
            qs = qs.filter(kind=self.kind)
        if self.status:
            qs = selectors.with_status(qs, self.status)
        if self.due_from:
            qs = qs.filter(due_on__gte=self.due_from)
        if self.due_to:
            qs = qs.filter(due_on__lte=self.due_to)
        return qs


class PaymentFilter(_FactFilter):
    kind: PaymentKind | None = None
    unapplied: bool | None = Field(None, description="true: payments with money not applied")

    def apply(self, qs: QuerySet[Payment]) -> QuerySet[Payment]:
        qs = self._common(qs, "received_on")
        if self.kind:
            qs = qs.filter(kind=self.kind)
        if self.unapplied is not None:
            qs = (qs.filter(unapplied_amount__gt=0) if self.unapplied
                  else qs.filter(unapplied_amount=0))
        return qs


class _OutList:
    """A lazily sliced queryset rendered row by row (for the paginator)."""

    def __init__(self, qs: QuerySet[Any], render: Callable[[Any], dict[str, Any]]) -> None:
        self.qs, self.render = qs, render

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        return [self.render(fact) for fact in self.qs[item]]


ORDER_ORDERINGS = ["-ordered_on", "ordered_on", "-amount", "amount", "-recorded_at",
                   "recorded_at"]
INVOICE_ORDERINGS = ["-issued_on", "issued_on", "due_on", "-due_on", "-amount", "amount",
                     "-open_amount", "open_amount", "-recorded_at", "recorded_at"]
PAYMENT_ORDERINGS = ["-received_on", "received_on", "-amount", "amount", "-recorded_at",
                     "recorded_at"]
# Enums in the OpenAPI, so a client knows the values (an unknown one is a 422 naming it).
OrderOrdering = Literal[tuple(ORDER_ORDERINGS)]  # type: ignore[valid-type]
InvoiceOrdering = Literal[tuple(INVOICE_ORDERINGS)]  # type: ignore[valid-type]
PaymentOrdering = Literal[tuple(PAYMENT_ORDERINGS)]  # type: ignore[valid-type]


@router.get("/orders", response=list[OrderOut], summary="List orders and cancellations")
@paginate(Pages, page_size=PAGE_SIZE)
def list_orders(request: HttpRequest, filters: Query[OrderFilter],
                ordering: OrderOrdering = "-ordered_on") -> Any:
    actor = actor_from_request(request)
    require(actor, "ledger.view_order")
    qs = filters.apply(orders_loaded(selectors.facts_for(actor, Order)))
    return _OutList(qs.order_by(ordering, "-pk"), order_out)


@router.get("/orders/{order_id}", response=OrderOut, summary="Get an order")
def get_order(request: HttpRequest, order_id: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "ledger.view_order")
    order = orders_loaded(selectors.facts_for(actor, Order)).filter(pk=order_id).first()
    if order is None:
        raise NotFound(_("order %(id)s not found") % {"id": order_id})
    return order_out(order)


@router.get("/invoices", response=list[InvoiceOut],
            summary="List invoices and credit notes")
@paginate(Pages, page_size=PAGE_SIZE)
def list_invoices(request: HttpRequest, filters: Query[InvoiceFilter],
                  ordering: InvoiceOrdering = "-issued_on") -> Any:
    actor = actor_from_request(request)
    require(actor, "ledger.view_invoice")
    qs = filters.apply(invoices_loaded(selectors.facts_for(actor, Invoice)))
    today = clock.today()
    return _OutList(qs.order_by(ordering, "-pk"),
                    lambda invoice: invoice_out(invoice, today))


@router.get("/invoices/{invoice_id}", response=InvoiceOut,
            summary="Get an invoice with its allocations and credit notes")
def get_invoice(request: HttpRequest, invoice_id: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "ledger.view_invoice")
    invoice = invoices_loaded(selectors.facts_for(actor, Invoice)).filter(pk=invoice_id).first()
    if invoice is None:
        raise NotFound(_("invoice %(id)s not found") % {"id": invoice_id})
    return invoice_out(invoice)


@router.get("/payments", response=list[PaymentOut], summary="List payments and reversals")
@paginate(Pages, page_size=PAGE_SIZE)
def list_payments(request: HttpRequest, filters: Query[PaymentFilter],
                  ordering: PaymentOrdering = "-received_on") -> Any:
    actor = actor_from_request(request)
    require(actor, "ledger.view_payment")
    qs = filters.apply(payments_loaded(selectors.facts_for(actor, Payment)))
    return _OutList(qs.order_by(ordering, "-pk"), payment_out)


@router.get("/payments/{payment_id}", response=PaymentOut,
            summary="Get a payment with its allocations")
def get_payment(request: HttpRequest, payment_id: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "ledger.view_payment")
    payment = payments_loaded(selectors.facts_for(actor, Payment)).filter(pk=payment_id).first()
    if payment is None:
        raise NotFound(_("payment %(id)s not found") % {"id": payment_id})
    return payment_out(payment)


# --- receivables ------------------------------------------------------------------------------


class AgeingOut(Schema):
    not_due: Decimal
    dpd_1_30: Decimal
    dpd_31_60: Decimal
    dpd_61_90: Decimal
    dpd_over_90: Decimal
    total: Decimal = Field(description="all open invoices")
    overdue: Decimal = Field(description="open invoices past due")


class ReceivablesFigures(Schema):
    posted: Decimal = Field(description="posted receivables: invoices - credit notes - "
                                        "payments")
    reserved: Decimal = Field(description="open orders: credit the gate reserved, not yet "
                                          "invoiced")
    overdue_amount: Decimal
    oldest_open_due_on: dt.date | None = Field(description="due date of the oldest unpaid "
                                                           "invoice")
    days_past_due: int = Field(description="days past due of the oldest unpaid invoice")
    open_invoices: int
    ageing: AgeingOut


class GroupRef(Schema):
    id: int
    name: str


class GroupReceivablesOut(ReceivablesFigures):
    group: GroupRef


class ReceivablesOut(ReceivablesFigures):
    customer: CustomerRef
    as_of: dt.date
    group: GroupReceivablesOut | None


def _figures(receivables: selectors.Receivables) -> dict[str, Any]:
    ageing = receivables.ageing
    return {
        "posted": receivables.posted, "reserved": receivables.reserved,
        "overdue_amount": receivables.overdue_amount,
        "oldest_open_due_on": receivables.oldest_open_due_on,
        "days_past_due": receivables.days_past_due,
        "open_invoices": receivables.open_invoices,
        "ageing": dict(ageing.as_list()) | {"total": ageing.total, "overdue": ageing.overdue},
    }


@router.get("/customers/{id_or_code}/receivables", response=ReceivablesOut,
            summary="A customer's receivables: posted, open orders, overdue, ageing (and its "
                    "group's)")
def customer_receivables(request: HttpRequest, id_or_code: str) -> Any:
    actor = actor_from_request(request)
    require(actor, "ledger.view_invoice")
    customer = get_customer(actor, id_or_code, field="id_or_code")
    today = clock.today()
    body = _figures(selectors.customer_receivables(customer, today)) | {
        "customer": {"id": customer.pk, "code": customer.code, "name": customer.name},
        "as_of": today, "group": None}
    group = customer.group
    if group is not None:
        body["group"] = _figures(selectors.group_receivables(group, today)) | {
            "group": {"id": group.pk, "name": group.name}}
    return body
