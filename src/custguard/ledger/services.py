"""Posting facts from the ERP: orders and cancellations, invoices and credit notes, payments and
reversals. Each post validates, stores the fact (idempotently by (source, external_id)),
applies payments and credit notes to invoices, moves the standing counters, refreshes the
receivable due state, rescores the customer, and writes the audit entry — in one transaction.

`posting()` groups many posts (a batch from the API or an import) into one transaction that
rescores each touched customer once at the end instead of after every fact; a single post is a
batch of one. At its end the apps above the ledger hear which invoices changed
(`ledger.hooks`: the rewards earn and take back points in the same transaction).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Model, Sum
from django.utils.translation import gettext as _

from custguard.core import clock, limits
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, DomainError, PermissionRefused, ValidationFailed
from custguard.core.services import audit
from custguard.credit.models import CreditScore
from custguard.credit.services import batch_scoring, exposure, gate, scoring
from custguard.customers.models import Customer
from custguard.ledger import hooks
from custguard.ledger.models import Allocation, Fact, Invoice, Order, Payment

log = logging.getLogger(__name__)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("99999999999999.99")
OLDEST_FIRST_READ = 20  # open invoices read (and locked) at a time by an oldest-first payment
F = TypeVar("F", bound=Fact)


@dataclass(frozen=True)
class Posted(Generic[F]):
    fact: F
    created: bool  # False: the same (source, external_id) was posted before; nothing changed


@dataclass
class _Batch:
    customers: set[int] = field(default_factory=set)
    invoices: set[int] = field(default_factory=set)  # for the apps above (ledger.hooks)


# The batch of the current thread (or task): a module global would let one thread's posts
# join another thread's batch and skip their own refresh.
_batch: ContextVar[_Batch | None] = ContextVar("ledger_posting_batch", default=None)


@contextlib.contextmanager
def posting(actor: Actor) -> Iterator[None]:
    """One transaction for many posts; each touched customer is refreshed and rescored once,
    when the block ends."""
    if _batch.get() is not None:  # already inside a batch: join it
        yield
        return
    with transaction.atomic(), _collecting(actor):
        yield


@contextlib.contextmanager
def _collecting(actor: Actor) -> Iterator[None]:
    """A batch inside the caller's transaction: collects the customers and invoices the posts
    touch, then refreshes them and tells the apps above (`ledger.hooks`)."""
    if _batch.get() is not None:
        yield
        return
    batch = _Batch()
    token = _batch.set(batch)
    try:
        with audit.deferred():
            yield
            _refresh(actor, sorted(batch.customers))
            hooks.invoices_changed(actor, sorted(batch.invoices))
    finally:
        _batch.reset(token)


def _touched(customer_id: int) -> None:
    batch = _batch.get()
    assert batch is not None, "a post runs inside posting()"
    batch.customers.add(customer_id)


def _invoice_changed(invoice_id: int) -> None:
    batch = _batch.get()
    assert batch is not None, "a post runs inside posting()"
    batch.invoices.add(invoice_id)


def _refresh(actor: Actor, customer_ids: Sequence[int]) -> None:
    """Due state and score of the customers whose facts changed."""
    if not customer_ids:
        return
    today = clock.today()
    for customer_id in customer_ids:
        exposure.refresh_due_state(customer_id, today)
    _rescored(lambda: scoring.rescore_customers(actor, customer_ids,
                                                trigger=CreditScore.Trigger.FACT))


def rescore_many(actor: Actor, customer_ids: Sequence[int]) -> None:
    """Rescore the customers a file import touched, with the set-based batch rescoring (the
    same decisions as one by one, at the cost of a few scans). Their due state is the
    caller's (`exposure.refresh_due_states`)."""
    if customer_ids:
        _rescored(lambda: batch_scoring.rescore_customers(actor, customer_ids,
                                                          trigger=CreditScore.Trigger.FACT))


def _rescored(rescore: Callable[[], object]) -> None:
    try:
        rescore()
    except ValidationFailed as error:
        if error.code != "no_policy":
            raise
        # Facts are kept even before a policy exists; the first rescoring will use them.
        log.warning("facts stored without rescoring: %s", error.message)


# --- validation -------------------------------------------------------------------------------


def _require(actor: Actor, perm: str) -> None:
    if not actor.can(perm):
        raise PermissionRefused(_("your role may not post this kind of fact"))


def clean_amount(value: object, field_name: str = "amount") -> Decimal:
    names = {"field": field_name}
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_("%(field)s must be a number") % names,
                               field=field_name) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationFailed(_("%(field)s must be greater than zero") % names,
                               field=field_name)
    if amount != amount.quantize(CENT):
        raise ValidationFailed(_("%(field)s must have at most two decimal places") % names,
                               field=field_name)
    if amount > MAX_AMOUNT:
        raise ValidationFailed(_("%(field)s is too large") % names, field=field_name)
    return amount.quantize(CENT)


def _clean_identity(source: str, external_id: str) -> tuple[str, str]:
    source, external_id = source.strip(), external_id.strip()
    if not source:
        raise ValidationFailed(_("source is required"), field="source")
    if len(source) > 50:
        raise ValidationFailed(_("source is longer than 50 characters"), field="source")
    if not external_id:
        raise ValidationFailed(_("external_id is required"), field="external_id")
    if len(external_id) > 100:
        raise ValidationFailed(_("external_id is longer than 100 characters"),
                               field="external_id")
    return source, external_id


def not_future(day: dt.date, field_name: str, today: dt.date | None = None) -> None:
    if day > (today or clock.today()):
        raise ValidationFailed(_("%(field)s %(day)s is in the future") % {
            "field": field_name, "day": day}, field=field_name)


def _not_before(day: dt.date, earliest: dt.date, field_name: str, message: str) -> None:
    """`message` is the whole sentence, with %(field)s, %(day)s and %(earliest)s (one format
    string per kind of earlier fact, so each translates as a whole)."""
    if day < earliest:
        raise ValidationFailed(message % {"field": field_name, "day": day,
                                          "earliest": earliest}, field=field_name)


def _same(existing: Fact, values: Mapping[str, Any], source: str, external_id: str) -> None:
    refuse_different({name: getattr(existing, name) for name in values}, values, source,
                     external_id)


def refuse_different(stored_values: Mapping[str, Any], values: Mapping[str, Any], source: str,
                     external_id: str) -> None:
    """A repeated post must be the same fact; the same identity with other values is refused
    (Conflict), naming the values that differ."""
    differ = [name for name, value in values.items() if stored_values[name] != value]
    if differ:
        stored = ", ".join(f"{name}={stored_values[name]}" for name in differ)
        raise Conflict(_("%(source)s/%(external_id)s was already posted with other values "
                         "(%(stored)s)") % {"source": source, "external_id": external_id,
                                            "stored": stored}, field="external_id")


def _post(model: type[F], actor: Actor, customer: Customer, values: Mapping[str, Any],
          source: str, external_id: str, create: Callable[[], F],
          taken: Callable[[], DomainError | None] | None = None) -> Posted[F]:
    """Store a fact once: a repeat returns the first one. Two identical posts racing: the
    loser's insert fails on the unique (source, external_id) and it returns the winner's.
    `values` are the fact's own values a repeat must match; `taken` names the refusal when
    another unique constraint (one cancellation per order, one reversal per payment) lost a
    race. The audit entries are appended last, after the refresh and rescoring have taken
    their row locks (see core.services.audit.deferred)."""
    with _collecting(actor):  # a single post is a batch of one, in the service's transaction
        return _post_once(model, actor, customer, values, source, external_id, create, taken)


def _post_once(model: type[F], actor: Actor, customer: Customer, values: Mapping[str, Any],
               source: str, external_id: str, create: Callable[[], F],
               taken: Callable[[], DomainError | None] | None) -> Posted[F]:
    expected = {"customer_id": customer.pk, **values}
    existing = model.objects.filter(source=source, external_id=external_id).first()
    if existing is not None:
        _same(existing, expected, source, external_id)
        return Posted(existing, created=False)
    try:
        with transaction.atomic():
            fact = create()
    except IntegrityError:
        existing = model.objects.filter(source=source, external_id=external_id).first()
        if existing is None:
            refusal = taken() if taken is not None else None
            if refusal is not None:
                raise refusal from None
            raise
        _same(existing, expected, source, external_id)
        return Posted(existing, created=False)
    _touched(customer.pk)
    return Posted(fact, created=True)


def _base(actor: Actor, customer: Customer, source: str, external_id: str, number: str,
          amount: Decimal) -> dict[str, Any]:
    return {"customer": customer, "source": source, "external_id": external_id,
            "number": _number(number), "amount": amount, "recorded_at": clock.now(),
            "recorded_by": actor.label[:150]}


def _number(number: str) -> str:
    return number.strip()[:64]


def _fact_values(fact: Model, names: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(fact, name) for name in names}


# --- orders -----------------------------------------------------------------------------------


def post_order(actor: Actor, customer: Customer, *, source: str, external_id: str,
               ordered_on: dt.date, amount: object, number: str = "") -> Posted[Order]:
    _require(actor, "ledger.add_order")
    source, external_id = _clean_identity(source, external_id)
    value = clean_amount(amount)
    not_future(ordered_on, "ordered_on")

    def create() -> Order:
        order = Order.objects.create(**_base(actor, customer, source, external_id, number,
                                             value), ordered_on=ordered_on)
        audit.record(actor, "ledger.order", order, customer_id=customer.pk,
                     after=_fact_values(order, ["source", "external_id", "number",
                                                "ordered_on", "amount"]))
        return order

    with transaction.atomic():
        return _post(Order, actor, customer,
                     {"kind": Order.Kind.ORDER, "amount": value, "ordered_on": ordered_on,
                      "number": _number(number)},
                     source, external_id, create)


def cancel_order(actor: Actor, customer: Customer, *, source: str, external_id: str,
                 order_source: str, order_external_id: str, cancelled_on: dt.date,
                 reason: str = "") -> Posted[Order]:
    """A cancellation is a new fact that refers to the order; any credit the gate reserved for
    the order is given back."""
    _require(actor, "ledger.add_order")
    reason = limits.bounded(reason, limits.CHANGE_REASON, "reason")
    source, external_id = _clean_identity(source, external_id)
    not_future(cancelled_on, "cancelled_on")
    order = Order.objects.filter(source=order_source.strip(),
                                 external_id=order_external_id.strip(),
                                 kind=Order.Kind.ORDER).first()
    if order is None or order.customer_id != customer.pk:
        raise ValidationFailed(_("order %(source)s/%(external_id)s of this customer does not "
                                 "exist") % {"source": order_source,
                                             "external_id": order_external_id},
                               field="order_external_id")
    _not_before(cancelled_on, order.ordered_on, "cancelled_on",
                _("%(field)s %(day)s is before the order date %(earliest)s"))

    def already() -> Conflict | None:
        if Order.objects.filter(cancels=order).exists():
            return Conflict(_("order %(source)s/%(external_id)s is already cancelled") % {
                "source": order.source, "external_id": order.external_id},
                field="order_external_id")
        return None

    replay = Order.objects.filter(source=source, external_id=external_id).first()
    if replay is None:
        refusal = already()
        if refusal is not None:
            raise refusal

    def create() -> Order:
        cancellation = Order.objects.create(
            **_base(actor, customer, source, external_id, "", order.amount),
            kind=Order.Kind.CANCELLATION, ordered_on=cancelled_on, cancels=order)
        audit.record(actor, "ledger.order_cancel", cancellation, customer_id=customer.pk,
                     after={"cancels": f"{order.source}/{order.external_id}",
                            "amount": order.amount, "cancelled_on": cancelled_on},
                     reason=reason)
        gate.cancelled(actor, order.source, order.external_id,
                       reason=reason or "order cancelled")
        return cancellation

    with transaction.atomic():
        return _post(Order, actor, customer,
                     {"kind": Order.Kind.CANCELLATION, "cancels_id": order.pk,
                      "ordered_on": cancelled_on},
                     source, external_id, create, taken=already)


# --- invoices and credit notes ----------------------------------------------------------------


def post_invoice(actor: Actor, customer: Customer, *, source: str, external_id: str,
                 issued_on: dt.date, due_on: dt.date, amount: object, number: str = "",
                 order_source: str = "", order_external_id: str = "") -> Posted[Invoice]:
    """An invoice raises posted receivables; if it is for an order the gate reserved credit
    for, that reservation turns into this posted exposure."""
    _require(actor, "ledger.add_invoice")
    source, external_id = _clean_identity(source, external_id)
    value = clean_amount(amount)
    not_future(issued_on, "issued_on")
    check_due_on(issued_on, due_on)
    order_source, order_external_id = order_source.strip(), order_external_id.strip()
    check_order_reference(order_source, order_external_id)
    if len(order_source) > 50:
        raise ValidationFailed(_("order_source is longer than 50 characters"),
                               field="order_source")
    if len(order_external_id) > 100:
        raise ValidationFailed(_("order_external_id is longer than 100 characters"),
                               field="order_external_id")

    def create() -> Invoice:
        invoice = Invoice.objects.create(
            **_base(actor, customer, source, external_id, number, value), issued_on=issued_on,
            due_on=due_on, open_amount=value, order_source=order_source,
            order_external_id=order_external_id)
        exposure.add_posted(customer.pk, value)
        if order_source:
            gate.convert(actor, order_source, order_external_id, invoice)
        audit.record(actor, "ledger.invoice", invoice, customer_id=customer.pk,
                     after=_fact_values(invoice, ["source", "external_id", "number",
                                                  "issued_on", "due_on", "amount",
                                                  "order_source", "order_external_id"]))
        return invoice

    with transaction.atomic():
        return _post(Invoice, actor, customer,
                     {"kind": Invoice.Kind.INVOICE, "amount": value, "issued_on": issued_on,
                      "due_on": due_on, "number": _number(number),
                      "order_source": order_source, "order_external_id": order_external_id},
                     source, external_id, create)


def check_due_on(issued_on: dt.date, due_on: dt.date) -> None:
    if due_on < issued_on:
        raise ValidationFailed(_("due_on %(due)s is before issued_on %(issued)s") % {
            "due": due_on, "issued": issued_on}, field="due_on")


def check_order_reference(order_source: str, order_external_id: str) -> None:
    if bool(order_source) != bool(order_external_id):
        raise ValidationFailed(_("give both order_source and order_external_id, or neither"),
                               field="order_external_id")


def no_such_invoice(source: str, external_id: str, field_name: str) -> ValidationFailed:
    return ValidationFailed(_("invoice %(source)s/%(external_id)s of this customer does not "
                              "exist") % {"source": source, "external_id": external_id},
                            field=field_name)


def not_enough_open(source: str, external_id: str, open_amount: Decimal,
                    field_name: str) -> ValidationFailed:
    return ValidationFailed(_("invoice %(source)s/%(external_id)s has only %(open)s open") % {
        "source": source, "external_id": external_id, "open": open_amount}, field=field_name)


def allocations_exceed_payment() -> ValidationFailed:
    return ValidationFailed(_("the allocations add up to more than the payment"),
                            field="allocations")


def _invoice_of(customer: Customer, source: str, external_id: str, field_name: str) -> Invoice:
    invoice = (Invoice.objects.select_for_update(no_key=True)
               .filter(source=source.strip(), external_id=external_id.strip(),
                       kind=Invoice.Kind.INVOICE).first())
    if invoice is None or invoice.customer_id != customer.pk:
        raise no_such_invoice(source, external_id, field_name)
    return invoice


def _apply(invoice: Invoice, amount: Decimal, on: dt.date, *, payment: Payment | None = None,
           credit_note: Invoice | None = None) -> Allocation:
    """Apply (or with a negative amount, un-apply) money to an invoice."""
    allocation = Allocation.objects.create(invoice=invoice, payment=payment,
                                           credit_note=credit_note, amount=amount,
                                           applied_on=on)
    invoice.open_amount = (invoice.open_amount - amount).quantize(CENT)
    invoice.settled_on = on if invoice.open_amount == 0 else None
    invoice.save(update_fields=["open_amount", "settled_on"])
    _invoice_changed(invoice.pk)
    return allocation


def post_credit_note(actor: Actor, customer: Customer, *, source: str, external_id: str,
                     issued_on: dt.date, amount: object, corrects_source: str,
                     corrects_external_id: str, number: str = "") -> Posted[Invoice]:
    """A credit note corrects an invoice: it lowers posted receivables and is applied to the
    invoice's open amount (what exceeds it stays a credit on the customer's account)."""
    _require(actor, "ledger.add_invoice")
    source, external_id = _clean_identity(source, external_id)
    value = clean_amount(amount)
    not_future(issued_on, "issued_on")
    corrected = Invoice.objects.filter(source=corrects_source.strip(),
                                       external_id=corrects_external_id.strip(),
                                       kind=Invoice.Kind.INVOICE).first()
    if corrected is None or corrected.customer_id != customer.pk:
        raise no_such_invoice(corrects_source, corrects_external_id, "corrects_external_id")
    _not_before(issued_on, corrected.issued_on, "issued_on",
                _("%(field)s %(day)s is before the invoice date %(earliest)s"))

    def create() -> Invoice:
        invoice = _invoice_of(customer, corrects_source, corrects_external_id,
                              "corrects_external_id")
        credited = invoice.credit_notes.aggregate(total=Sum("amount"))["total"] or ZERO
        if credited + value > invoice.amount:
            raise ValidationFailed(
                _("the credit notes would exceed the invoice: %(invoiced)s invoiced, "
                  "%(credited)s already credited, %(asked)s more asked") % {
                    "invoiced": invoice.amount, "credited": credited, "asked": value},
                field="amount")
        note = Invoice.objects.create(
            **_base(actor, customer, source, external_id, number, value),
            kind=Invoice.Kind.CREDIT_NOTE, issued_on=issued_on, corrects=invoice,
            open_amount=ZERO)
        applied = min(value, invoice.open_amount)
        if applied > 0:
            _apply(invoice, applied, issued_on, credit_note=note)
        _invoice_changed(invoice.pk)  # a paid invoice credited: what it earned changes
        exposure.add_posted(customer.pk, -value)
        audit.record(actor, "ledger.credit_note", note, customer_id=customer.pk,
                     after=_fact_values(note, ["source", "external_id", "number", "issued_on",
                                               "amount"])
                     | {"corrects": f"{invoice.source}/{invoice.external_id}",
                        "applied": applied})
        return note

    with transaction.atomic():
        return _post(Invoice, actor, customer,
                     {"kind": Invoice.Kind.CREDIT_NOTE, "amount": value,
                      "issued_on": issued_on, "corrects_id": corrected.pk,
                      "number": _number(number)},
                     source, external_id, create)


# --- payments and reversals -------------------------------------------------------------------


@dataclass(frozen=True)
class AllocationRequest:
    invoice_source: str
    invoice_external_id: str
    amount: object


def post_payment(actor: Actor, customer: Customer, *, source: str, external_id: str,
                 received_on: dt.date, amount: object, number: str = "",
                 allocations: Sequence[AllocationRequest] | None = None) -> Posted[Payment]:
    """A payment lowers posted receivables and is applied to invoices: as the ERP says
    (`allocations`), or oldest due first. What is not applied stays unapplied credit."""
    _require(actor, "ledger.add_payment")
    source, external_id = _clean_identity(source, external_id)
    value = clean_amount(amount)
    not_future(received_on, "received_on")
    requested = [(item, clean_amount(item.amount, f"allocations[{i}].amount"))
                 for i, item in enumerate(allocations or [])]
    if sum((a for _item, a in requested), ZERO) > value:
        raise allocations_exceed_payment()

    def create() -> Payment:
        payment = Payment.objects.create(
            **_base(actor, customer, source, external_id, number, value),
            received_on=received_on)
        left = value
        applied: list[dict[str, Any]] = []
        if allocations is not None:
            for index, (item, share) in enumerate(requested):
                invoice = _invoice_of(customer, item.invoice_source, item.invoice_external_id,
                                      f"allocations[{index}].invoice_external_id")
                if share > invoice.open_amount:
                    raise not_enough_open(invoice.source, invoice.external_id,
                                          invoice.open_amount, f"allocations[{index}].amount")
                _apply(invoice, share, received_on, payment=payment)
                applied.append({"invoice": f"{invoice.source}/{invoice.external_id}",
                                "amount": share})
                left -= share
        else:
            # Oldest due first, a few invoices at a time: each one read is either settled by
            # this payment (and drops out of the next read) or takes what is left, so only the
            # invoices the payment reaches are read and locked, however many are open.
            while left > 0:
                reached = list(Invoice.objects.select_for_update(no_key=True)
                               .filter(customer=customer, kind=Invoice.Kind.INVOICE,
                                       open_amount__gt=0)
                               .order_by("due_on", "issued_on", "pk")[:OLDEST_FIRST_READ])
                if not reached:
                    break
                for invoice in reached:
                    if left <= 0:
                        break
                    share = min(left, invoice.open_amount)
                    _apply(invoice, share, received_on, payment=payment)
                    applied.append({"invoice": f"{invoice.source}/{invoice.external_id}",
                                    "amount": share})
                    left -= share
        payment.unapplied_amount = left
        payment.save(update_fields=["unapplied_amount"])
        exposure.add_posted(customer.pk, -value)
        audit.record(actor, "ledger.payment", payment, customer_id=customer.pk,
                     after=_fact_values(payment, ["source", "external_id", "number",
                                                  "received_on", "amount"])
                     | {"allocations": applied, "unapplied": left})
        return payment

    with transaction.atomic():
        return _post(Payment, actor, customer,
                     {"kind": Payment.Kind.PAYMENT, "amount": value,
                      "received_on": received_on, "number": _number(number)},
                     source, external_id, create)


def reverse_payment(actor: Actor, customer: Customer, *, source: str, external_id: str,
                    payment_source: str, payment_external_id: str, reversed_on: dt.date,
                    reason: str = "") -> Posted[Payment]:
    """A payment that bounced: a reversal fact undoes its allocations and restores posted."""
    _require(actor, "ledger.add_payment")
    reason = limits.bounded(reason, limits.CHANGE_REASON, "reason")
    source, external_id = _clean_identity(source, external_id)
    not_future(reversed_on, "reversed_on")
    payment = Payment.objects.filter(source=payment_source.strip(),
                                     external_id=payment_external_id.strip(),
                                     kind=Payment.Kind.PAYMENT).first()
    if payment is None or payment.customer_id != customer.pk:
        raise ValidationFailed(_("payment %(source)s/%(external_id)s of this customer does "
                                 "not exist") % {"source": payment_source,
                                                 "external_id": payment_external_id},
                               field="payment_external_id")
    _not_before(reversed_on, payment.received_on, "reversed_on",
                _("%(field)s %(day)s is before the payment date %(earliest)s"))

    def already() -> Conflict | None:
        if Payment.objects.filter(reverses=payment).exists():
            return Conflict(_("payment %(source)s/%(external_id)s is already reversed") % {
                "source": payment.source, "external_id": payment.external_id},
                field="payment_external_id")
        return None

    replay = Payment.objects.filter(source=source, external_id=external_id).first()
    if replay is None:
        refusal = already()
        if refusal is not None:
            raise refusal

    def create() -> Payment:
        reversal = Payment.objects.create(
            **_base(actor, customer, source, external_id, "", payment.amount),
            kind=Payment.Kind.REVERSAL, received_on=reversed_on, reverses=payment)
        for allocation in payment.allocations.select_related("invoice").order_by("pk"):
            invoice = (Invoice.objects.select_for_update(no_key=True)
                       .get(pk=allocation.invoice_id))
            _apply(invoice, -allocation.amount, reversed_on, payment=reversal)
        exposure.add_posted(customer.pk, payment.amount)
        audit.record(actor, "ledger.payment_reverse", reversal, customer_id=customer.pk,
                     after={"reverses": f"{payment.source}/{payment.external_id}",
                            "amount": payment.amount, "reversed_on": reversed_on},
                     reason=reason)
        return reversal

    with transaction.atomic():
        return _post(Payment, actor, customer,
                     {"kind": Payment.Kind.REVERSAL, "reverses_id": payment.pk,
                      "received_on": reversed_on},
                     source, external_id, create, taken=already)
