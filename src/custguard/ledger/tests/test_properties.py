"""Property test: after any sequence of invoices, payments (oldest first or as the ERP says),
credit notes and reversals, the books agree with a naive recomputation.

A small pure-Python model replays the same sequence with the same rules (oldest due first,
credit notes limited to the invoice, a refused post changes nothing), and the test checks that
the service refuses exactly what the model refuses, and that every invoice's open amount, every
customer's and the group's posted receivables, overdue amount and oldest unpaid due date, and
the ageing buckets equal both the model's figures and a naive recomputation from the stored
facts — today, and again after time has passed and the nightly job has run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import DomainError
from custguard.customers.models import Customer, CustomerGroup, GroupStanding, Standing
from custguard.ledger.models import Allocation, Invoice, Payment
from custguard.ledger.selectors import BUCKETS, ageing
from custguard.ledger.tasks import refresh_due_states
from custguard.ledger.tests.conftest import NOW, TODAY, days
from custguard.ledger.tests.factories import credit_note, invoice, payment, reversal

pytestmark = pytest.mark.django_db

D = Decimal
ZERO = D("0.00")
CENT = D("0.01")


@dataclass
class ModelInvoice:
    ext: str
    customer: int
    amount: Decimal
    issued: dt.date
    due: dt.date
    seq: int
    open: Decimal
    credited: Decimal = ZERO


@dataclass
class ModelPayment:
    ext: str
    customer: int
    amount: Decimal
    allocations: list[tuple[str, Decimal]] = field(default_factory=list)
    reversed: bool = False


@dataclass
class Books:
    """The pure-Python model of the ledger."""

    invoices: dict[str, ModelInvoice] = field(default_factory=dict)
    payments: dict[str, ModelPayment] = field(default_factory=dict)
    posted: dict[int, Decimal] = field(default_factory=dict)

    def of(self, customer: int) -> list[ModelInvoice]:
        return [i for i in self.invoices.values() if i.customer == customer]

    def add(self, customer: int, delta: Decimal) -> None:
        self.posted[customer] = self.posted.get(customer, ZERO) + delta


def cents(value: int) -> Decimal:
    return (D(value) / 100).quantize(CENT)


WHO = st.sampled_from([0, 0, 1, 2])  # the group's parent most often, so histories grow
INVOICE = st.tuples(st.just("invoice"), WHO, st.integers(1, 500_00), st.integers(-200, 0),
                    st.integers(0, 90))
PAYMENT = st.tuples(st.just("payment"), WHO, st.integers(1, 600_00), st.integers(-120, 0),
                    st.none())
operation = st.one_of(
    INVOICE, INVOICE, INVOICE, PAYMENT, PAYMENT,
    st.tuples(st.just("allocated"), WHO, st.integers(1, 300_00), st.integers(-120, 0),
              st.integers(0, 50)),
    st.tuples(st.just("credit_note"), WHO, st.integers(1, 300_00), st.none(),
              st.integers(0, 50)),
    st.tuples(st.just("reversal"), WHO, st.none(), st.none(), st.integers(0, 50)),
)


def _bucket(dpd: int) -> str:
    for code, start, end in BUCKETS:
        if dpd >= start and (end is None or dpd <= end):
            return code
    raise AssertionError(dpd)


def _naive_ageing(invoices: list[ModelInvoice], today: dt.date) -> dict[str, Decimal]:
    buckets = {code: ZERO for code, _s, _e in BUCKETS}
    for item in invoices:
        if item.open > 0:
            buckets[_bucket((today - item.due).days)] += item.open
    return buckets


def _check(books: Books, customers: list[Customer], group: CustomerGroup,
           today: dt.date) -> None:
    # every invoice: model == database == amount - its allocations
    for item in books.invoices.values():
        stored = Invoice.objects.get(source="erp", external_id=item.ext)
        allocated = Allocation.objects.filter(invoice=stored).aggregate(
            s=Sum("amount"))["s"] or ZERO
        assert stored.open_amount == item.open == stored.amount - allocated, item
        assert (stored.settled_on is None) == (item.open > 0)
    for paid in books.payments.values():
        received = Payment.objects.get(source="erp", external_id=paid.ext)
        applied = sum((share for _ext, share in paid.allocations), ZERO)
        assert received.unapplied_amount == paid.amount - applied
    group_ids = [c.pk for c in customers if c.group_id == group.pk]
    for customer in customers:
        row = Standing.objects.get(pk=customer.pk)
        own = books.of(customer.pk)
        # posted: the model's, and the facts' naive sum
        facts = D(sum(i.amount for i in Invoice.objects.filter(customer=customer,
                                                                 kind="invoice")))
        facts -= D(sum(i.amount for i in Invoice.objects.filter(customer=customer,
                                                                  kind="credit_note")))
        facts -= D(sum(p.amount for p in Payment.objects.filter(customer=customer,
                                                                  kind="payment")))
        facts += D(sum(p.amount for p in Payment.objects.filter(customer=customer,
                                                                  kind="reversal")))
        assert row.posted == books.posted.get(customer.pk, ZERO) == facts
        unpaid = [i for i in own if i.open > 0]
        assert row.oldest_open_due_on == min((i.due for i in unpaid), default=None)
        assert row.overdue_amount == sum((i.open for i in unpaid if i.due < today), ZERO)
        naive = _naive_ageing(own, today)
        assert ageing([customer.pk], today).as_list() == list(naive.items())
    totals = GroupStanding.objects.get(pk=group.pk)
    members = [i for i in books.invoices.values() if i.customer in group_ids]
    assert totals.posted == sum((books.posted.get(c, ZERO) for c in group_ids), ZERO)
    assert totals.overdue_amount == sum((i.open for i in members
                                         if i.open > 0 and i.due < today), ZERO)
    assert totals.oldest_open_due_on == min((i.due for i in members if i.open > 0),
                                            default=None)
    assert ageing(group_ids, today).as_list() == list(_naive_ageing(members, today).items())


def _check_open_amounts(books: Books) -> None:
    """After every operation: each invoice's open amount and each customer's posted."""
    stored = dict(Invoice.objects.filter(kind="invoice").values_list("external_id",
                                                                     "open_amount"))
    assert stored == {ext: item.open for ext, item in books.invoices.items()}
    posted = dict(Standing.objects.filter(pk__in=list(books.posted)).values_list("pk",
                                                                                 "posted"))
    assert posted == books.posted


def _apply(books: Books, actor: Actor, customers: list[Customer], n: int,
           op: tuple[Any, ...]) -> None:
    """Post one operation and replay it on the model; both must refuse, or both accept."""
    kind, who, amount_cents, offset, extra = op
    customer = customers[who]
    own = books.of(customer.pk)
    ext = f"{kind[:3].upper()}-{n}"
    refused: bool
    if kind == "invoice":
        issued = days(offset)
        due = issued + dt.timedelta(days=extra)
        amount = cents(amount_cents)
        invoice(actor, customer, ext, str(amount), issued=issued, due=due)
        books.invoices[ext] = ModelInvoice(ext, customer.pk, amount, issued, due, n, amount)
        books.add(customer.pk, amount)
        return
    if kind in ("payment", "allocated"):
        amount = cents(amount_cents)
        target = own[extra % len(own)] if kind == "allocated" and own else None
        refused = target is not None and amount > target.open
        try:
            payment(actor, customer, ext, str(amount), on=days(offset),
                    to=[(target.ext, str(amount))] if target is not None else None)
        except DomainError:
            assert refused, op
            return
        assert not refused, op
        made = ModelPayment(ext, customer.pk, amount)
        if target is not None:
            target.open -= amount
            made.allocations.append((target.ext, amount))
        else:
            left = amount
            for item in sorted(own, key=lambda i: (i.due, i.issued, i.seq)):
                if left <= 0:
                    break
                if item.open > 0:
                    share = min(left, item.open)
                    item.open -= share
                    left -= share
                    made.allocations.append((item.ext, share))
        books.payments[ext] = made
        books.add(customer.pk, -amount)
        return
    if kind == "credit_note":
        if not own:
            return
        target = own[extra % len(own)]
        amount = cents(amount_cents)
        refused = target.credited + amount > target.amount
        try:
            credit_note(actor, customer, ext, target.ext, str(amount))
        except DomainError:
            assert refused, op
            return
        assert not refused, op
        target.credited += amount
        target.open -= min(amount, target.open)
        books.add(customer.pk, -amount)
        return
    if kind == "reversal":
        candidates = [p for p in books.payments.values()
                      if p.customer == customer.pk and not p.reversed]
        if not candidates:
            return
        paid = candidates[extra % len(candidates)]
        reversal(actor, customer, ext, paid.ext)
        paid.reversed = True
        for invoice_ext, share in paid.allocations:
            books.invoices[invoice_ext].open += share
        books.add(customer.pk, paid.amount)
        return
    raise AssertionError(kind)


@pytest.mark.budget(9, why="60 generated histories of up to 30 posts each, every one "
                        "checked after each post, today and after the nightly job")
@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(operations=st.lists(operation, min_size=3, max_size=30), later=st.integers(1, 150))
# Issued first is not due first: the payment must go to the later-issued invoice.
@example(operations=[("invoice", 0, 100_00, -100, 90), ("invoice", 0, 100_00, -50, 10),
                     ("payment", 0, 150_00, 0, None), ("reversal", 0, None, None, 0)],
         later=45)
def test_the_books_agree_with_a_naive_recomputation(
        operations: list[tuple[Any, ...]], later: int, finance: Actor, customer: Customer,
        other_customer: Customer, group: CustomerGroup) -> None:
    member = group.members.exclude(pk=group.parent_id).get()
    parent = Customer.objects.get(pk=group.parent_id)
    customers = [parent, member, customer]
    with transaction.atomic():
        books = Books()
        for n, op in enumerate(operations):
            _apply(books, finance, customers, n, op)
            _check_open_amounts(books)
        _check(books, customers, group, TODAY)
        # time passes: invoices fall due; the nightly job catches the counters up
        with clock.frozen_at(NOW + dt.timedelta(days=later)):
            refresh_due_states(Actor.job("nightly"))
            _check(books, customers, group, TODAY + dt.timedelta(days=later))
        transaction.set_rollback(True)
