"""The set-based fact import writes what posting the same rows one by one through the ledger
services writes: the same facts, allocations, invoice balances, counters, due state, gate
reservations and scores, and refuses the same rows for the same reasons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from custguard.core.actors import Actor
from custguard.core.errors import DomainError
from custguard.core.models import User
from custguard.credit.models import CreditScore, Reservation
from custguard.credit.services import gate
from custguard.customers.models import Customer, CustomerGroup, GroupStanding, Standing
from custguard.ledger import services
from custguard.ledger.importing import import_facts
from custguard.ledger.models import Allocation, Invoice, Order, Payment
from custguard.ledger.services import AllocationRequest
from custguard.ledger.tests.conftest import days
from custguard.ledger.tests.factories import invoice, order, payment

pytestmark = pytest.mark.django_db

Rows = list[dict[str, str]]


def _post_row(actor: Actor, kind: str, customer: Customer, v: dict[str, Any]) -> None:
    """The oracle: one row through the services, as the import posted rows before it became
    set-based."""
    source = v.get("source") or "erp"
    if kind == "orders":
        services.post_order(actor, customer, source=source, external_id=v["external_id"],
                            ordered_on=v["ordered_on"], amount=v["amount"],
                            number=v.get("number", ""))
    elif kind == "invoices":
        reference = v.get("order_external_id", "")
        services.post_invoice(actor, customer, source=source, external_id=v["external_id"],
                              issued_on=v["issued_on"], due_on=v["due_on"],
                              amount=v["amount"], number=v.get("number", ""),
                              order_external_id=reference,
                              order_source=source if reference else "")
    else:
        allocations = None
        if v.get("invoice_external_id"):
            allocations = [AllocationRequest(source, v["invoice_external_id"],
                                             v.get("allocated_amount") or v["amount"])]
        services.post_payment(actor, customer, source=source, external_id=v["external_id"],
                              received_on=v["received_on"], amount=v["amount"],
                              number=v.get("number", ""), allocations=allocations)


def _one_by_one(actor: Actor, kind: str, rows: Rows) -> list[tuple[int, str]]:
    refused = []
    with services.posting(actor):
        for number, row in enumerate(rows, start=2):
            customer = Customer.objects.get(code=row["customer"])
            values = {k: (_day(v) if k.endswith("_on") else v) for k, v in row.items()}
            try:
                _post_row(actor, kind, customer, values)
            except DomainError as error:
                refused.append((number, error.message))
    return refused


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _imported(actor: Actor, kind: str, rows: Rows) -> list[tuple[int, str]]:
    columns = list(dict.fromkeys(name for row in rows for name in row))
    lines = [",".join(columns)] + [",".join(row.get(c, "") for c in columns) for row in rows]
    result = import_facts(actor, kind, ("\n".join(lines) + "\n").encode(), "f.csv",
                          source="erp", all_or_nothing=False)
    return [(p.row, p.message) for p in result.problems]


def _ledger() -> dict[str, Any]:
    def ident(fact: Any) -> str:
        return f"{fact.source}/{fact.external_id}"

    return {
        "orders": sorted((ident(o), o.customer.code, o.kind, o.amount, o.ordered_on, o.number)
                         for o in Order.objects.select_related("customer")),
        "invoices": sorted((ident(i), i.customer.code, i.amount, i.issued_on, i.due_on,
                            i.open_amount, i.settled_on, i.order_source,
                            i.order_external_id)
                           for i in Invoice.objects.select_related("customer")),
        "payments": sorted((ident(p), p.customer.code, p.amount, p.received_on,
                            p.unapplied_amount) for p in Payment.objects.all()),
        "allocations": sorted((ident(a.invoice), ident(a.payment), a.amount, a.applied_on)
                              for a in Allocation.objects.select_related("invoice",
                                                                         "payment")),
        "standings": sorted((s.customer.code, s.posted, s.reserved, s.overdue_amount,
                             s.oldest_open_due_on, s.score, s.grade, s.credit_limit,
                             s.payment_terms_days, s.prepay_only)
                            for s in Standing.objects.select_related("customer")),
        "groups": sorted((g.pk, g.posted, g.reserved, g.overdue_amount, g.oldest_open_due_on)
                         for g in GroupStanding.objects.all()),
        "reservations": sorted((r.source, r.external_id, r.status,
                                r.invoice.external_id if r.invoice else "")
                               for r in Reservation.objects.select_related("invoice")),
        "scores": sorted((s.customer_id, s.trigger, s.score, s.grade)
                         for s in CreditScore.objects.all()),
    }


def _both(base: Callable[[], None], kind: str, rows: Rows, actor: Actor) -> tuple[Any, Any]:
    outcomes = []
    for write in (_one_by_one, _imported):
        with transaction.atomic():
            base()
            refused = write(actor, kind, rows)
            outcomes.append((refused, _ledger()))
            transaction.set_rollback(True)
    return outcomes[0], outcomes[1]


@pytest.fixture
def world(policy: Any, finance: Actor, customer: Customer, other_customer: Customer,
          group: CustomerGroup, personas: dict[str, User]) -> dict[str, Any]:
    member = group.members.exclude(pk=group.parent_id).get()

    def base() -> None:
        erp = Actor.system("erp")
        for owner, ext, amount in ((customer, "SO-R", "300.00"),
                                   (other_customer, "SO-X", "50.00")):
            Standing.objects.filter(pk=owner.pk).update(
                credit_limit=Decimal("100000.00"), grade="A", prepay_only=False)
            answer = gate.check(erp, owner, amount, reserve=True, source="erp",
                                external_id=ext)
            assert answer.reservation is not None, answer.check.reasons
        invoice(finance, customer, "I-1", "100.00", issued=days(-60), due=days(-30))
        invoice(finance, customer, "I-2", "200.00", issued=days(-40), due=days(-10))
        invoice(finance, customer, "I-3", "150.00", issued=days(-5), due=days(25))
        invoice(finance, member, "I-4", "400.00", issued=days(-50), due=days(-20))
        invoice(finance, other_customer, "I-5", "80.00", issued=days(-20), due=days(10))
        order(finance, customer, "SO-1", "500.00", on=days(-3))
        payment(finance, customer, "P-0", "10.00", on=days(-2), to=[("I-1", "10.00")])

    return {"base": base, "actor": finance, "a": customer.code, "b": other_customer.code,
            "m": member.code}


def test_orders_as_one_by_one(world: dict[str, Any]) -> None:
    a, b = world["a"], world["b"]
    rows = [
        {"customer": a, "external_id": "SO-2", "ordered_on": str(days(-1)), "amount": "12.50",
         "number": "N2"},
        {"customer": b, "external_id": "SO-3", "ordered_on": str(days(0)), "amount": "99.00"},
        {"customer": a, "external_id": "SO-1", "ordered_on": str(days(-3)),
         "amount": "500.00"},  # stored before: a replay
        {"customer": a, "external_id": "SO-2", "ordered_on": str(days(-1)), "amount": "12.50",
         "number": "N2"},  # earlier in the file: a replay
        {"customer": a, "external_id": "SO-3", "ordered_on": str(days(0)),
         "amount": "99.00"},  # the same identity for another customer: refused
        {"customer": a, "external_id": "SO-4", "ordered_on": str(days(2)), "amount": "1.00"},
    ]
    (refused, one_by_one), (problems, imported) = _both(world["base"], "orders", rows,
                                                        world["actor"])
    assert [row for row, _m in refused] == [6, 7]
    assert problems == refused
    assert imported == one_by_one


def test_invoices_as_one_by_one(world: dict[str, Any]) -> None:
    a, b, m = world["a"], world["b"], world["m"]
    rows = [
        {"customer": a, "external_id": "I-10", "issued_on": str(days(-5)),
         "due_on": str(days(25)), "amount": "300.00", "order_external_id": "SO-R"},
        {"customer": m, "external_id": "I-11", "issued_on": str(days(-60)),
         "due_on": str(days(-30)), "amount": "500.00"},
        {"customer": a, "external_id": "I-1", "issued_on": str(days(-60)),
         "due_on": str(days(-30)), "amount": "100.00"},  # stored before: a replay
        {"customer": a, "external_id": "I-2", "issued_on": str(days(-40)),
         "due_on": str(days(-10)), "amount": "201.00"},  # other values: refused
        {"customer": b, "external_id": "I-12", "issued_on": str(days(-5)),
         "due_on": str(days(-6)), "amount": "5.00"},  # due before issued
        {"customer": b, "external_id": "I-13", "issued_on": str(days(1)),
         "due_on": str(days(30)), "amount": "5.00"},  # in the future
        {"customer": a, "external_id": "I-14", "issued_on": str(days(-1)),
         "due_on": str(days(29)), "amount": "50.00",
         "order_external_id": "SO-X"},  # another customer's reservation
        {"customer": b, "external_id": "I-15", "issued_on": str(days(-1)),
         "due_on": str(days(29)), "amount": "20.00", "order_external_id": "SO-none"},
    ]
    (refused, one_by_one), (problems, imported) = _both(world["base"], "invoices", rows,
                                                        world["actor"])
    assert [row for row, _m in refused] == [5, 6, 7, 8]
    assert problems == refused
    assert imported == one_by_one
    assert ("erp", "SO-R", "posted", "I-10") in imported["reservations"]


def test_payments_as_one_by_one(world: dict[str, Any]) -> None:
    a, b, m = world["a"], world["b"], world["m"]
    rows = [
        {"customer": a, "external_id": "P-1", "received_on": str(days(0)),
         "amount": "250.00"},  # oldest due first: settles I-1, part of I-2
        {"customer": a, "external_id": "P-2", "received_on": str(days(0)), "amount": "50.00",
         "invoice_external_id": "I-3", "allocated_amount": "30.00"},
        {"customer": a, "external_id": "P-3", "received_on": str(days(0)), "amount": "999.00",
         "invoice_external_id": "I-3"},  # more than is open
        {"customer": a, "external_id": "P-4", "received_on": str(days(0)), "amount": "5.00",
         "invoice_external_id": "I-5"},  # another customer's invoice
        {"customer": a, "external_id": "P-5", "received_on": str(days(0)), "amount": "5.00",
         "invoice_external_id": "I-3", "allocated_amount": "6.00"},  # above the payment
        {"customer": a, "external_id": "P-6", "received_on": str(days(0)),
         "amount": "1000.00"},  # what is left of I-2 and I-3, then unapplied
        {"customer": m, "external_id": "P-7", "received_on": str(days(-1)),
         "amount": "400.00"},  # settles the group member's invoice
        {"customer": a, "external_id": "P-0", "received_on": str(days(-2)), "amount": "10.00",
         "invoice_external_id": "I-1"},  # stored before: a replay
        {"customer": b, "external_id": "P-8", "received_on": str(days(0)), "amount": "30.00",
         "invoice_external_id": "I-5"},
        {"customer": b, "external_id": "P-9", "received_on": str(days(0)), "amount": "60.00",
         "invoice_external_id": "I-5"},  # only 50 left open by P-8
    ]
    (refused, one_by_one), (problems, imported) = _both(world["base"], "payments", rows,
                                                        world["actor"])
    assert [row for row, _m in refused] == [4, 5, 6, 11]
    assert problems == refused
    assert imported == one_by_one
    payments = {p[0]: p for p in imported["payments"]}
    assert payments["erp/P-6"][4] == Decimal("1000.00") - Decimal("40.00") - Decimal("120.00")
