"""Helpers for the scoring, review and override tests (no tests here): a published policy,
customers, and receivable facts written as the ledger keeps them — an invoice's
`open_amount`/`settled_on` follow from its allocations — plus a plain Python computation of
CreditFacts, one invoice at a time, to check the SQL against."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.core.services import policies
from custguard.customers import services as customer_services
from custguard.customers.models import Customer, CustomerGroup, Region
from custguard.ledger.models import Allocation, Invoice, Order, Payment
from custguard.policy import document_data, load_default_policy
from custguard.policy.credit import CreditFacts

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
_serial = itertools.count(1)
SYSTEM = Actor.system("tests")


def policy_data(**credit: Any) -> dict[str, Any]:
    """The default policy as data, with some `credit` settings changed."""
    data = copy.deepcopy(document_data(load_default_policy()))
    data["credit"].update(credit)
    return data


def publish_policy(**credit: Any) -> int:
    """Publish the default policy (with changed credit settings) now; its version number."""
    return policies.publish_source(SYSTEM, policy_data(**credit)).number


def new_customer(name: str = "", *, scale: str = "medium", manager: User | None = None,
                 region: str = "110000") -> Customer:
    return customer_services.create_customer(
        SYSTEM, region=Region.objects.get(pk=region), name=name or f"评分客户{next(_serial)}",
        kind="enterprise", scale_band=scale, account_manager=manager)


def new_group(name: str, parent: Customer, members: Sequence[Customer] = ()) -> CustomerGroup:
    return customer_services.create_group(SYSTEM, name=name, parent=parent, members=members)


def days_ago(n: int) -> dt.date:
    return clock.today() - dt.timedelta(days=n)


def _fact(customer: Customer, amount: Decimal) -> dict[str, Any]:
    return {"customer": customer, "source": "test", "external_id": f"f{next(_serial)}",
            "amount": amount, "recorded_at": clock.now(), "recorded_by": "tests"}


def add_invoice(customer: Customer, *, issued: dt.date, due: dt.date, amount: Decimal | str,
                payments: Sequence[tuple[dt.date, Decimal | str]] = ()) -> Invoice:
    """An invoice and the payments applied to it, stored the way the ledger stores them."""
    value = Decimal(amount)
    invoice = Invoice.objects.create(**_fact(customer, value), issued_on=issued, due_on=due,
                                     open_amount=value)
    for paid_on, paid in payments:
        pay(invoice, paid_on, Decimal(paid))
    return invoice


def pay(invoice: Invoice, on: dt.date, amount: Decimal) -> None:
    payment = Payment.objects.create(**_fact(invoice.customer, amount), received_on=on)
    Allocation.objects.create(invoice=invoice, payment=payment, amount=amount, applied_on=on)
    invoice.open_amount = (invoice.open_amount - amount).quantize(CENT)
    invoice.settled_on = on if invoice.open_amount == 0 else None
    invoice.save(update_fields=["open_amount", "settled_on"])


def add_credit_note(invoice: Invoice, *, issued: dt.date, amount: Decimal | str) -> Invoice:
    value = Decimal(amount)
    note = Invoice.objects.create(**_fact(invoice.customer, value),
                                  kind=Invoice.Kind.CREDIT_NOTE, issued_on=issued,
                                  corrects=invoice, open_amount=ZERO)
    applied = min(value, invoice.open_amount)
    if applied > 0:
        Allocation.objects.create(invoice=invoice, credit_note=note, amount=applied,
                                  applied_on=issued)
        invoice.open_amount -= applied
        invoice.settled_on = issued if invoice.open_amount == 0 else None
        invoice.save(update_fields=["open_amount", "settled_on"])
    return note


def add_order(customer: Customer, *, on: dt.date, amount: Decimal | str,
              cancelled_on: dt.date | None = None) -> Order:
    order = Order.objects.create(**_fact(customer, Decimal(amount)), ordered_on=on)
    if cancelled_on is not None:
        Order.objects.create(**_fact(customer, Decimal(amount)),
                             kind=Order.Kind.CANCELLATION, ordered_on=cancelled_on,
                             cancels=order)
    return order


def good_history(customer: Customer, *, monthly: str = "60000.00") -> None:
    """Three years of monthly orders, each invoiced on 30-day terms and paid on time."""
    for month in range(36):
        on = days_ago(30 * month + 5)
        add_order(customer, on=on, amount=monthly)
        if on + dt.timedelta(days=30) <= clock.today():
            add_invoice(customer, issued=on, due=on + dt.timedelta(days=30), amount=monthly,
                        payments=[(on + dt.timedelta(days=25), monthly)])
        else:
            add_invoice(customer, issued=on, due=on + dt.timedelta(days=30), amount=monthly)


# --- the reference computation ---------------------------------------------------------------


@dataclass
class _InvoiceAt:
    amount: Decimal
    issued: dt.date
    due: dt.date
    open: Decimal
    settled: dt.date | None


def _invoices_at(customer_id: int, as_of: dt.date) -> list[_InvoiceAt]:
    out = []
    for invoice in Invoice.objects.filter(customer_id=customer_id, kind=Invoice.Kind.INVOICE,
                                          issued_on__lte=as_of):
        applied = [a for a in invoice.allocations.all() if a.applied_on <= as_of]
        open_amount = invoice.amount - sum((a.amount for a in applied), ZERO)
        settled = max(a.applied_on for a in applied) if applied and open_amount == 0 else None
        assert invoice.due_on is not None
        out.append(_InvoiceAt(invoice.amount, invoice.issued_on, invoice.due_on, open_amount,
                              settled))
    return out


def naive_facts(customer_id: int, as_of: dt.date) -> CreditFacts:
    """CreditFacts by walking the customer's invoices and orders one by one."""
    start = as_of - dt.timedelta(days=365)
    invoices = _invoices_at(customer_id, as_of)

    def dpd(inv: _InvoiceAt) -> int:
        return max(0, ((inv.settled or as_of) - inv.due).days)

    due = [i for i in invoices if start < i.due <= as_of]
    outstanding = [i for i in invoices if i.due <= as_of and (
        i.due > start or i.settled is None or i.settled > start)]
    unpaid = [i for i in invoices if i.open > 0]
    credited = sum((n.amount for n in Invoice.objects.filter(
        customer_id=customer_id, kind=Invoice.Kind.CREDIT_NOTE, issued_on__gt=start,
        issued_on__lte=as_of)), ZERO)
    orders = list(Order.objects.filter(customer_id=customer_id, kind=Order.Kind.ORDER,
                                       ordered_on__lte=as_of))
    recent = [o for o in orders if o.ordered_on > start]
    cancelled = [o for o in recent if Order.objects.filter(cancels=o,
                                                           ordered_on__lte=as_of).exists()]
    return CreditFacts(
        as_of=as_of,
        invoices_due_12m=len(due),
        invoices_paid_on_time_12m=sum(1 for i in due if i.settled and i.settled <= i.due),
        max_days_past_due_12m=max((dpd(i) for i in outstanding), default=0),
        amount_days_past_due_12m=sum((i.amount * dpd(i) for i in due), ZERO),
        amount_due_12m=sum((i.amount for i in due), ZERO),
        open_receivable=sum((i.open for i in unpaid), ZERO),
        overdue_receivable=sum((i.open for i in unpaid if i.due < as_of), ZERO),
        amount_not_yet_due=sum((i.amount for i in invoices if i.due > as_of), ZERO),
        first_order_on=min((o.ordered_on for o in orders), default=None),
        order_amount_12m=sum((o.amount for o in recent), ZERO),
        order_months_12m=len({(o.ordered_on.year, o.ordered_on.month) for o in recent}),
        orders_12m=len(recent),
        cancelled_orders_12m=len(cancelled),
        sales_12m=sum((i.amount for i in invoices if i.issued > start), ZERO) - credited,
    )
