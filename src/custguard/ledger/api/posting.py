"""Posting facts over the API: orders, order cancellations, invoices, credit notes, payments and
payment reversals, one at a time or in batches of up to 1000.

Posting a fact whose (source, external_id) was posted before answers 200 with the first result
and `"created": false`; the first time it answers 201 and `"created": true`. A batch is one
transaction: if any item is refused, nothing is written and the answer is a 422 whose `errors`
name every refused item and field (`items[3].due_on`)."""

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Schema, Status

from custguard.api.schemas import InputSchema, Money
from custguard.core import limits
from custguard.core.actors import Actor, actor_from_request
from custguard.core.errors import DomainError, PermissionRefused, ValidationFailed
from custguard.core.transactions import atomic_with_retry
from custguard.customers.models import Customer
from custguard.ledger import services
from custguard.ledger.api.common import (
    CUSTOMER_HELP,
    InvoiceOut,
    OrderOut,
    PaymentOut,
    customers_by_key,
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
from custguard.ledger.services import AllocationRequest, Posted

MAX_BATCH = 1000
MAX_ERRORS = 200
AMOUNT_HELP = "greater than zero, at most two decimal places (send it as a string: \"1280.00\")"
SOURCE_HELP = "the system the fact comes from; (source, external_id) identifies the fact"
DEFAULT_SOURCE_HELP = "source of the referenced fact (default: this fact's source)"


class FactIn(InputSchema):
    customer: int | str = Field(description=CUSTOMER_HELP, examples=["110000001"])
    source: str = Field(min_length=1, max_length=50, description=SOURCE_HELP,
                        examples=["erp"])
    external_id: str = Field(min_length=1, max_length=100,
                             description="the fact's id in its source system")


class OrderIn(FactIn):
    number: str = Field("", max_length=64, description="the order number people use")
    ordered_on: dt.date
    amount: Money = Field(description=AMOUNT_HELP, examples=["1280.00"])


class OrderCancellationIn(FactIn):
    order_source: str | None = Field(None, max_length=50, description=DEFAULT_SOURCE_HELP)
    order_external_id: str = Field(min_length=1, max_length=100,
                                   description="external_id of the cancelled order")
    cancelled_on: dt.date
    reason: str = Field("", max_length=limits.CHANGE_REASON)


class InvoiceIn(FactIn):
    number: str = Field("", max_length=64, description="the invoice number (发票号)")
    issued_on: dt.date
    due_on: dt.date
    amount: Money = Field(description=AMOUNT_HELP, examples=["1280.00"])
    order_source: str | None = Field(
        None, max_length=50, description="source of the order invoiced (default: this "
                                         "invoice's source when order_external_id is given)")
    order_external_id: str = Field(
        "", max_length=100, description="the order invoiced; its gate reservation, if any, "
                                        "becomes posted exposure")


class CreditNoteIn(FactIn):
    number: str = Field("", max_length=64)
    issued_on: dt.date
    amount: Money = Field(description=AMOUNT_HELP, examples=["100.00"])
    corrects_source: str | None = Field(None, max_length=50, description=DEFAULT_SOURCE_HELP)
    corrects_external_id: str = Field(min_length=1, max_length=100,
                                      description="external_id of the invoice corrected")


class AllocationIn(InputSchema):
    invoice_source: str | None = Field(None, max_length=50,
                                       description="default: the payment's source")
    invoice_external_id: str = Field(min_length=1, max_length=100)
    amount: Money = Field(description=AMOUNT_HELP)


class PaymentIn(FactIn):
    number: str = Field("", max_length=64)
    received_on: dt.date
    amount: Money = Field(description=AMOUNT_HELP, examples=["1280.00"])
    allocations: list[AllocationIn] | None = Field(
        None, description="the invoices the payment pays, as the ERP applied it; omitted: "
                          "oldest due first; []: nothing applied (credit on account)")


class PaymentReversalIn(FactIn):
    payment_source: str | None = Field(None, max_length=50, description=DEFAULT_SOURCE_HELP)
    payment_external_id: str = Field(min_length=1, max_length=100,
                                     description="external_id of the payment reversed")
    reversed_on: dt.date
    reason: str = Field("", max_length=limits.CHANGE_REASON)


def _batch_of(item: type[Schema]) -> Any:
    return Field(min_length=1, max_length=MAX_BATCH,
                 description=f"1 to {MAX_BATCH} {item.__name__} items, posted all or nothing")


class OrderBatchIn(InputSchema):
    items: list[OrderIn] = _batch_of(OrderIn)


class OrderCancellationBatchIn(InputSchema):
    items: list[OrderCancellationIn] = _batch_of(OrderCancellationIn)


class InvoiceBatchIn(InputSchema):
    items: list[InvoiceIn] = _batch_of(InvoiceIn)


class CreditNoteBatchIn(InputSchema):
    items: list[CreditNoteIn] = _batch_of(CreditNoteIn)


class PaymentBatchIn(InputSchema):
    items: list[PaymentIn] = _batch_of(PaymentIn)


class PaymentReversalBatchIn(InputSchema):
    items: list[PaymentReversalIn] = _batch_of(PaymentReversalIn)


CREATED_HELP = "false: this (source, external_id) was posted before; this is the first result"


class OrderPosted(OrderOut):
    created: bool = Field(description=CREATED_HELP)


class InvoicePosted(InvoiceOut):
    created: bool = Field(description=CREATED_HELP)


class PaymentPosted(PaymentOut):
    created: bool = Field(description=CREATED_HELP)


class BatchCounts(Schema):
    created: int = Field(description="items stored by this request")
    replayed: int = Field(description="items posted before (or earlier in this batch)")


class OrderBatchOut(BatchCounts):
    results: list[OrderPosted]


class InvoiceBatchOut(BatchCounts):
    results: list[InvoicePosted]


class PaymentBatchOut(BatchCounts):
    results: list[PaymentPosted]


# --- the services, one per kind ------------------------------------------------------------


def _order(actor: Actor, customer: Customer, item: OrderIn) -> Posted[Order]:
    return services.post_order(actor, customer, source=item.source,
                               external_id=item.external_id, ordered_on=item.ordered_on,
                               amount=item.amount, number=item.number)


def _cancellation(actor: Actor, customer: Customer,
                  item: OrderCancellationIn) -> Posted[Order]:
    return services.cancel_order(actor, customer, source=item.source,
                                 external_id=item.external_id,
                                 order_source=item.order_source or item.source,
                                 order_external_id=item.order_external_id,
                                 cancelled_on=item.cancelled_on, reason=item.reason)


def _invoice(actor: Actor, customer: Customer, item: InvoiceIn) -> Posted[Invoice]:
    order_source = item.order_source or (item.source if item.order_external_id else "")
    return services.post_invoice(actor, customer, source=item.source,
                                 external_id=item.external_id, issued_on=item.issued_on,
                                 due_on=item.due_on, amount=item.amount, number=item.number,
                                 order_source=order_source,
                                 order_external_id=item.order_external_id)


def _credit_note(actor: Actor, customer: Customer, item: CreditNoteIn) -> Posted[Invoice]:
    return services.post_credit_note(actor, customer, source=item.source,
                                     external_id=item.external_id, issued_on=item.issued_on,
                                     amount=item.amount,
                                     corrects_source=item.corrects_source or item.source,
                                     corrects_external_id=item.corrects_external_id,
                                     number=item.number)


def _payment(actor: Actor, customer: Customer, item: PaymentIn) -> Posted[Payment]:
    allocations = None if item.allocations is None else [
        AllocationRequest(invoice_source=a.invoice_source or item.source,
                          invoice_external_id=a.invoice_external_id, amount=a.amount)
        for a in item.allocations]
    return services.post_payment(actor, customer, source=item.source,
                                 external_id=item.external_id, received_on=item.received_on,
                                 amount=item.amount, number=item.number,
                                 allocations=allocations)


def _reversal(actor: Actor, customer: Customer, item: PaymentReversalIn) -> Posted[Payment]:
    return services.reverse_payment(actor, customer, source=item.source,
                                    external_id=item.external_id,
                                    payment_source=item.payment_source or item.source,
                                    payment_external_id=item.payment_external_id,
                                    reversed_on=item.reversed_on, reason=item.reason)


# --- one, and many -------------------------------------------------------------------------


Post = Callable[[Actor, Customer, Any], Posted[Any]]
Load = Callable[[QuerySet[Any]], QuerySet[Any]]
Render = Callable[[Any], dict[str, Any]]


def _rendered(posted: Sequence[Posted[Any]], load: Load, render: Render,
              ) -> list[dict[str, Any]]:
    """The facts as the API shows them, loaded again in one go (allocations included)."""
    if not posted:
        return []
    model = type(posted[0].fact)
    facts = {f.pk: f for f in load(model.objects.filter(pk__in={p.fact.pk for p in posted}))}
    return [render(facts[p.fact.pk]) | {"created": p.created} for p in posted]


def _one(request: HttpRequest, payload: FactIn, perm: str, post: Post, load: Load,
         render: Render) -> Status[dict[str, Any]]:
    actor = actor_from_request(request)
    require(actor, perm)
    customer = get_customer(actor, payload.customer)
    # A deadlock or serialization failure (PostgreSQL) runs the post again: it is idempotent.
    posted = atomic_with_retry(lambda: post(actor, customer, payload))
    [body] = _rendered([posted], load, render)
    return Status(201 if posted.created else 200, body)


class _Refused(Exception):
    """Some items were refused: leave the batch's transaction so it rolls back."""

    def __init__(self, errors: dict[str, list[str]], refused: int) -> None:
        super().__init__("refused")
        self.errors, self.refused = errors, refused


def _item_errors(index: int, error: DomainError) -> dict[str, list[str]]:
    prefix = f"items[{index}]"
    if not error.errors:
        return {prefix: [error.message]}
    return {f"{prefix}.{name}": list(reasons) for name, reasons in error.errors.items()}


def _many(request: HttpRequest, items: Sequence[FactIn], perm: str, post: Post, load: Load,
          render: Render) -> Status[dict[str, Any]]:
    actor = actor_from_request(request)
    require(actor, perm)
    customers = customers_by_key(actor, [item.customer for item in items])

    def attempt() -> list[Posted[Any]]:
        posted: list[Posted[Any]] = []
        errors: dict[str, list[str]] = {}
        refused = 0
        with services.posting(actor):
            for index, item in enumerate(items):
                customer = customers.get(str(item.customer))
                if customer is None:
                    refused += 1
                    errors[f"items[{index}].customer"] = [
                        _("customer %(customer)s not found") % {"customer": item.customer}]
                    continue
                try:
                    posted.append(post(actor, customer, item))
                except PermissionRefused:
                    raise
                except DomainError as error:
                    refused += 1
                    for name, reasons in _item_errors(index, error).items():
                        errors.setdefault(name, []).extend(reasons)
                if len(errors) >= MAX_ERRORS:
                    break
            if errors:
                raise _Refused(errors, refused)
        return posted

    try:
        # Two batches that touch the same customers in another order can deadlock on
        # PostgreSQL; the loser's whole batch is rolled back and run again.
        posted = atomic_with_retry(attempt)
    except _Refused as refusal:
        raise ValidationFailed(
            _("%(refused)s of the %(total)s items were refused (the first ones are listed); "
              "nothing was written") % {"refused": refusal.refused, "total": len(items)},
            errors=refusal.errors) from None
    results = _rendered(posted, load, render)
    created = sum(1 for p in posted if p.created)
    return Status(201 if created else 200, {"created": created,
                                            "replayed": len(posted) - created,
                                            "results": results})


RESPONSES_ONE = "201: stored now; 200: posted before, nothing changed"


@router.post("/orders", response={200: OrderPosted, 201: OrderPosted},
             summary="Post an order", description=RESPONSES_ONE)
def post_order(request: HttpRequest, payload: OrderIn) -> Any:
    return _one(request, payload, "ledger.add_order", _order, orders_loaded, order_out)


@router.post("/orders/batch", response={200: OrderBatchOut, 201: OrderBatchOut},
             summary="Post orders in one all-or-nothing batch")
def post_orders(request: HttpRequest, payload: OrderBatchIn) -> Any:
    return _many(request, payload.items, "ledger.add_order", _order, orders_loaded, order_out)


@router.post("/order-cancellations", response={200: OrderPosted, 201: OrderPosted},
             summary="Post an order cancellation (releases the order's gate reservation)",
             description=RESPONSES_ONE)
def post_cancellation(request: HttpRequest, payload: OrderCancellationIn) -> Any:
    return _one(request, payload, "ledger.add_order", _cancellation, orders_loaded, order_out)


@router.post("/order-cancellations/batch",
             response={200: OrderBatchOut, 201: OrderBatchOut},
             summary="Post order cancellations in one all-or-nothing batch")
def post_cancellations(request: HttpRequest, payload: OrderCancellationBatchIn) -> Any:
    return _many(request, payload.items, "ledger.add_order", _cancellation, orders_loaded,
                 order_out)


@router.post("/invoices", response={200: InvoicePosted, 201: InvoicePosted},
             summary="Post an invoice", description=RESPONSES_ONE)
def post_invoice(request: HttpRequest, payload: InvoiceIn) -> Any:
    return _one(request, payload, "ledger.add_invoice", _invoice, invoices_loaded, invoice_out)


@router.post("/invoices/batch", response={200: InvoiceBatchOut, 201: InvoiceBatchOut},
             summary="Post invoices in one all-or-nothing batch")
def post_invoices(request: HttpRequest, payload: InvoiceBatchIn) -> Any:
    return _many(request, payload.items, "ledger.add_invoice", _invoice, invoices_loaded,
                 invoice_out)


@router.post("/credit-notes", response={200: InvoicePosted, 201: InvoicePosted},
             summary="Post a credit note correcting an invoice", description=RESPONSES_ONE)
def post_credit_note(request: HttpRequest, payload: CreditNoteIn) -> Any:
    return _one(request, payload, "ledger.add_invoice", _credit_note, invoices_loaded,
                invoice_out)


@router.post("/credit-notes/batch", response={200: InvoiceBatchOut, 201: InvoiceBatchOut},
             summary="Post credit notes in one all-or-nothing batch")
def post_credit_notes(request: HttpRequest, payload: CreditNoteBatchIn) -> Any:
    return _many(request, payload.items, "ledger.add_invoice", _credit_note, invoices_loaded,
                 invoice_out)


@router.post("/payments", response={200: PaymentPosted, 201: PaymentPosted},
             summary="Post a payment (allocated as given, or oldest due first)",
             description=RESPONSES_ONE)
def post_payment(request: HttpRequest, payload: PaymentIn) -> Any:
    return _one(request, payload, "ledger.add_payment", _payment, payments_loaded, payment_out)


@router.post("/payments/batch", response={200: PaymentBatchOut, 201: PaymentBatchOut},
             summary="Post payments in one all-or-nothing batch")
def post_payments(request: HttpRequest, payload: PaymentBatchIn) -> Any:
    return _many(request, payload.items, "ledger.add_payment", _payment, payments_loaded,
                 payment_out)


@router.post("/payment-reversals", response={200: PaymentPosted, 201: PaymentPosted},
             summary="Post a payment reversal (a bounced payment)", description=RESPONSES_ONE)
def post_reversal(request: HttpRequest, payload: PaymentReversalIn) -> Any:
    return _one(request, payload, "ledger.add_payment", _reversal, payments_loaded,
                payment_out)


@router.post("/payment-reversals/batch",
             response={200: PaymentBatchOut, 201: PaymentBatchOut},
             summary="Post payment reversals in one all-or-nothing batch")
def post_reversals(request: HttpRequest, payload: PaymentReversalBatchIn) -> Any:
    return _many(request, payload.items, "ledger.add_payment", _reversal, payments_loaded,
                 payment_out)
