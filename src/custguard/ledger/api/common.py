"""What the ledger's API modules share: permissions, finding the customer, output shapes."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from custguard.api.schemas import CustomerRef
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused
from custguard.customers.models import Customer
from custguard.customers.selectors import customer_in_scope, customer_key, customers_for
from custguard.ledger import selectors
from custguard.ledger.models import Allocation, Invoice, Order, Payment

CUSTOMER_HELP = "customer id, or its 9-digit code"
# One router for posting and reading: a path that takes both GET and POST (/orders) must be
# declared on the same router, or Django would only ever reach the first one.
router = Router(tags=["ledger"])


def require(actor: Actor, perm: str) -> None:
    if not actor.can(perm):
        raise PermissionRefused(_("your role may not do this"))


def get_customer(actor: Actor, value: int | str, field: str = "customer") -> Customer:
    """A customer the actor may see, by id or code; any other is not found (404)."""
    return customer_in_scope(actor, value, field)

def customers_by_key(actor: Actor, values: list[int | str]) -> dict[str, Customer]:
    """The customers of a batch the actor may see, keyed by str(value), in two queries."""
    keys = {str(value): customer_key(value) for value in values}
    codes = {str(k[1]) for k in keys.values() if k is not None and k[0] == "code"}
    ids = {int(k[1]) for k in keys.values() if k is not None and k[0] == "id"}
    scoped = customers_for(actor)
    by_key: dict[tuple[str, str | int], Customer] = {}
    if codes:
        by_key.update({("code", c.code): c for c in scoped.filter(code__in=codes)})
    if ids:
        by_key.update({("id", c.pk): c for c in scoped.filter(pk__in=ids)})
    return {text: by_key[key] for text, key in keys.items()
            if key is not None and key in by_key}


# --- output -----------------------------------------------------------------------------------


class FactRef(Schema):
    id: int
    source: str
    external_id: str
    number: str


class InvoiceAllocationOut(Schema):
    id: int
    amount: Decimal = Field(description="negative when a reversal took the payment back")
    applied_on: dt.date
    payment: FactRef | None
    credit_note: FactRef | None


class PaymentAllocationOut(Schema):
    id: int
    amount: Decimal
    applied_on: dt.date
    invoice: FactRef


class FactOut(Schema):
    id: int
    customer: CustomerRef
    kind: str
    source: str
    external_id: str
    number: str
    amount: Decimal
    recorded_at: dt.datetime
    recorded_by: str


class OrderOut(FactOut):
    ordered_on: dt.date = Field(description="the order date, or the day it was cancelled")
    cancels: FactRef | None = Field(description="the order a cancellation cancels")
    cancelled_by: FactRef | None = Field(description="the cancellation of an order")


class InvoiceOut(FactOut):
    issued_on: dt.date
    due_on: dt.date | None
    open_amount: Decimal
    settled_on: dt.date | None
    status: str | None = Field(description="open, overdue or settled; null for a credit note")
    days_past_due: int = Field(description="while open: days past due today; when settled: "
                                           "days it was paid late")
    order_source: str
    order_external_id: str
    corrects: FactRef | None = Field(description="the invoice a credit note corrects")
    allocations: list[InvoiceAllocationOut] = Field(
        description="payments and credit notes applied to an invoice; for a credit note, "
                    "what it applied")
    credit_notes: list[FactRef]


class PaymentOut(FactOut):
    received_on: dt.date = Field(description="the day received, or the day reversed")
    unapplied_amount: Decimal
    reverses: FactRef | None
    reversed_by: FactRef | None
    allocations: list[PaymentAllocationOut]


def ref(fact: Order | Invoice | Payment | None) -> dict[str, Any] | None:
    if fact is None:
        return None
    return {"id": fact.pk, "source": fact.source, "external_id": fact.external_id,
            "number": fact.number}


def _fact(fact: Order | Invoice | Payment) -> dict[str, Any]:
    customer = fact.customer
    return {"id": fact.pk, "customer": {"id": customer.pk, "code": customer.code,
                                        "name": customer.name},
            "kind": fact.kind, "source": fact.source, "external_id": fact.external_id,
            "number": fact.number, "amount": fact.amount, "recorded_at": fact.recorded_at,
            "recorded_by": fact.recorded_by}


def _related(fact: Any, name: str) -> Any:
    try:
        return getattr(fact, name)
    except (Order.DoesNotExist, Payment.DoesNotExist):
        return None


def order_out(order: Order) -> dict[str, Any]:
    return _fact(order) | {"ordered_on": order.ordered_on, "cancels": ref(order.cancels),
                           "cancelled_by": ref(_related(order, "cancellation"))}


def invoice_out(invoice: Invoice, today: dt.date | None = None) -> dict[str, Any]:
    today = today or clock.today()
    allocations = invoice.applied.all() if invoice.kind == Invoice.Kind.CREDIT_NOTE else (
        invoice.allocations.all())
    return _fact(invoice) | {
        "issued_on": invoice.issued_on, "due_on": invoice.due_on,
        "open_amount": invoice.open_amount, "settled_on": invoice.settled_on,
        "status": selectors.invoice_status(invoice, today),
        "days_past_due": selectors.days_past_due(invoice, today),
        "order_source": invoice.order_source, "order_external_id": invoice.order_external_id,
        "corrects": ref(invoice.corrects),
        "allocations": [{"id": a.pk, "amount": a.amount, "applied_on": a.applied_on,
                         "payment": ref(a.payment), "credit_note": ref(a.credit_note)}
                        for a in allocations],
        "credit_notes": [ref(note) for note in invoice.credit_notes.all()],
    }


def payment_out(payment: Payment) -> dict[str, Any]:
    return _fact(payment) | {
        "received_on": payment.received_on, "unapplied_amount": payment.unapplied_amount,
        "reverses": ref(payment.reverses), "reversed_by": ref(_related(payment, "reversal")),
        "allocations": [{"id": a.pk, "amount": a.amount, "applied_on": a.applied_on,
                         "invoice": ref(a.invoice)} for a in payment.allocations.all()],
    }


def orders_loaded(qs: QuerySet[Order]) -> QuerySet[Order]:
    return qs.select_related("customer", "cancels", "cancellation")


def invoices_loaded(qs: QuerySet[Invoice]) -> QuerySet[Invoice]:
    allocations = Allocation.objects.select_related("payment", "credit_note").order_by("pk")
    return qs.select_related("customer", "corrects").prefetch_related(
        Prefetch("allocations", queryset=allocations),
        Prefetch("applied", queryset=Allocation.objects.select_related(
            "invoice", "payment", "credit_note").order_by("pk")),
        Prefetch("credit_notes", queryset=Invoice.objects.order_by("issued_on", "pk")))


def payments_loaded(qs: QuerySet[Payment]) -> QuerySet[Payment]:
    return qs.select_related("customer", "reverses", "reversal").prefetch_related(
        Prefetch("allocations",
                 queryset=Allocation.objects.select_related("invoice").order_by("pk")))
