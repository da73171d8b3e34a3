"""Posting facts: counters, allocation, credit notes, reversals, cancellations, idempotency and
refusals that change nothing."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.core.services.audit import verify_chain
from custguard.credit.models import CreditScore, Reservation
from custguard.credit.services import gate
from custguard.customers.models import Customer, CustomerGroup, Standing
from custguard.ledger import services
from custguard.ledger.models import Allocation, Invoice, Order, Payment
from custguard.ledger.services import AllocationRequest
from custguard.ledger.tests.conftest import TODAY, days
from custguard.ledger.tests.factories import (
    SOURCE,
    cancellation,
    credit_note,
    group_standing,
    inv,
    invoice,
    open_amount,
    order,
    payment,
    reversal,
    standing,
)
from custguard.ledger.tests.snapshot import state

pytestmark = pytest.mark.django_db

D = Decimal


def members(group: CustomerGroup) -> tuple[Customer, Customer]:
    parent = Customer.objects.get(pk=group.parent_id)
    member = group.members.exclude(pk=parent.pk).get()
    return parent, member


# --- invoices and the counters ------------------------------------------------------------


def test_an_invoice_raises_posted_and_its_due_state(finance: Actor, customer: Customer,
                                                    policy: Any) -> None:
    posted = invoice(finance, customer, "INV-1", "1200.50", issued=days(-10), due=days(20))
    assert posted.created
    row = standing(customer)
    assert row.posted == D("1200.50")
    assert row.overdue_amount == 0
    assert row.oldest_open_due_on == days(20)
    fact = posted.fact
    assert (fact.open_amount, fact.settled_on, fact.kind) == (D("1200.50"), None, "invoice")
    entry = AuditEntry.objects.get(action="ledger.invoice")
    assert entry.customer_id == customer.pk
    assert entry.after["amount"] == "1200.50"
    # the customer was rescored by the fact
    assert CreditScore.objects.filter(customer=customer, trigger="fact").exists()
    assert verify_chain() is None


def test_an_overdue_invoice_moves_overdue_and_oldest_due(finance: Actor, customer: Customer,
                                                         policy: Any) -> None:
    invoice(finance, customer, "INV-OLD", "300.00", issued=days(-60), due=days(-30))
    invoice(finance, customer, "INV-NEW", "700.00", issued=days(-5), due=days(25))
    row = standing(customer)
    assert row.posted == D("1000.00")
    assert row.overdue_amount == D("300.00")
    assert row.oldest_open_due_on == days(-30)
    assert row.days_past_due(TODAY) == 30


def test_the_group_counters_follow_its_members(finance: Actor, group: CustomerGroup,
                                               policy: Any) -> None:
    parent, member = members(group)
    invoice(finance, parent, "G-1", "100.00", issued=days(-40), due=days(-10))
    invoice(finance, member, "G-2", "250.00", issued=days(-70), due=days(-40))
    invoice(finance, member, "G-3", "50.00", issued=days(-1), due=days(29))
    totals = group_standing(parent)
    assert totals.posted == D("400.00")
    assert totals.overdue_amount == D("350.00")
    assert totals.oldest_open_due_on == days(-40)
    payment(finance, member, "G-P1", "250.00")
    totals = group_standing(parent)
    assert totals.posted == D("150.00")
    assert totals.overdue_amount == D("100.00")
    assert totals.oldest_open_due_on == days(-10)
    assert standing(member).oldest_open_due_on == days(29)


def test_facts_are_stored_before_any_policy_exists(finance: Actor, customer: Customer) -> None:
    invoice(finance, customer, "INV-1", "10.00", issued=days(-40), due=days(-10))
    row = standing(customer)
    assert (row.posted, row.overdue_amount) == (D("10.00"), D("10.00"))
    assert not CreditScore.objects.exists()


# --- payments ------------------------------------------------------------------------------


def test_a_payment_is_applied_oldest_due_first(finance: Actor, customer: Customer,
                                                policy: Any) -> None:
    invoice(finance, customer, "A", "100.00", issued=days(-50), due=days(-20))
    invoice(finance, customer, "B", "200.00", issued=days(-60), due=days(-10))
    invoice(finance, customer, "C", "300.00", issued=days(-5), due=days(25))
    posted = payment(finance, customer, "P1", "250.00", on=days(-1))
    assert (open_amount("A"), open_amount("B"), open_amount("C")) == (
        D("0.00"), D("50.00"), D("300.00"))
    assert inv("A").settled_on == days(-1)
    assert inv("B").settled_on is None
    assert posted.fact.unapplied_amount == 0
    assert list(posted.fact.allocations.order_by("pk").values_list("invoice__external_id",
                                                                   "amount")) == [
        ("A", D("100.00")), ("B", D("150.00"))]
    row = standing(customer)
    assert row.posted == D("350.00")
    assert row.overdue_amount == D("50.00")
    assert row.oldest_open_due_on == days(-10)


def test_a_payment_is_applied_as_the_erp_says(finance: Actor, customer: Customer,
                                               policy: Any) -> None:
    invoice(finance, customer, "A", "100.00", issued=days(-50), due=days(-20))
    invoice(finance, customer, "B", "200.00", issued=days(-5), due=days(25))
    posted = payment(finance, customer, "P1", "260.00", to=[("B", "200.00"), ("A", "40.00")])
    assert (open_amount("A"), open_amount("B")) == (D("60.00"), D("0.00"))
    assert inv("B").settled_on == TODAY
    assert posted.fact.unapplied_amount == D("20.00")
    assert standing(customer).posted == D("40.00")  # 300 invoiced - 260 paid


def test_an_empty_allocation_list_leaves_the_payment_unapplied(
        finance: Actor, customer: Customer, policy: Any) -> None:
    invoice(finance, customer, "A", "100.00")
    posted = payment(finance, customer, "P1", "30.00", to=[])
    assert posted.fact.unapplied_amount == D("30.00")
    assert open_amount("A") == D("100.00")
    assert standing(customer).posted == D("70.00")


def test_partial_payments_settle_on_the_last_one(finance: Actor, customer: Customer,
                                                 policy: Any) -> None:
    invoice(finance, customer, "A", "100.00", issued=days(-40), due=days(-10))
    payment(finance, customer, "P1", "30.00", on=days(-8))
    assert (open_amount("A"), inv("A").settled_on) == (D("70.00"), None)
    assert standing(customer).overdue_amount == D("70.00")
    payment(finance, customer, "P2", "70.00", on=days(-3))
    assert (open_amount("A"), inv("A").settled_on) == (D("0.00"), days(-3))
    row = standing(customer)
    assert (row.posted, row.overdue_amount, row.oldest_open_due_on) == (D("0.00"), D("0.00"),
                                                                        None)


def test_an_overpayment_stays_unapplied_credit(finance: Actor, customer: Customer,
                                               policy: Any) -> None:
    invoice(finance, customer, "A", "100.00")
    posted = payment(finance, customer, "P1", "150.00")
    assert posted.fact.unapplied_amount == D("50.00")
    assert standing(customer).posted == D("-50.00")


# --- credit notes ----------------------------------------------------------------------------


def test_a_credit_note_is_applied_to_the_invoice_it_corrects(
        finance: Actor, customer: Customer, policy: Any) -> None:
    invoice(finance, customer, "A", "100.00", issued=days(-40), due=days(-10))
    note = credit_note(finance, customer, "CN-1", "A", "40.00")
    assert note.fact.kind == "credit_note" and note.fact.corrects == inv("A")
    assert open_amount("A") == D("60.00")
    assert Allocation.objects.get(credit_note=note.fact).amount == D("40.00")
    row = standing(customer)
    assert (row.posted, row.overdue_amount) == (D("60.00"), D("60.00"))
    credit_note(finance, customer, "CN-2", "A", "60.00")
    assert (open_amount("A"), inv("A").settled_on) == (D("0.00"), TODAY)
    assert standing(customer).posted == D("0.00")


def test_a_credit_note_beyond_what_is_open_leaves_credit(finance: Actor, customer: Customer,
                                                         policy: Any) -> None:
    invoice(finance, customer, "A", "100.00")
    payment(finance, customer, "P1", "80.00")
    credit_note(finance, customer, "CN-1", "A", "50.00")
    assert open_amount("A") == D("0.00")
    assert Allocation.objects.filter(credit_note__isnull=False).get().amount == D("20.00")
    assert standing(customer).posted == D("-30.00")


def test_credit_notes_cannot_exceed_the_invoice(finance: Actor, customer: Customer,
                                                policy: Any) -> None:
    invoice(finance, customer, "A", "100.00")
    credit_note(finance, customer, "CN-1", "A", "70.00")
    before = state()
    with pytest.raises(ValidationFailed) as refused:
        credit_note(finance, customer, "CN-2", "A", "30.01")
    assert refused.value.field == "amount"
    assert state() == before


# --- reversals -------------------------------------------------------------------------------


def test_a_reversal_restores_open_amounts_and_posted(finance: Actor, customer: Customer,
                                                     policy: Any) -> None:
    invoice(finance, customer, "A", "100.00", issued=days(-40), due=days(-10))
    invoice(finance, customer, "B", "100.00", issued=days(-20), due=days(10))
    payment(finance, customer, "P1", "150.00", on=days(-2))
    assert standing(customer).overdue_amount == 0
    posted = reversal(finance, customer, "R1", "P1", on=days(-1))
    assert posted.created and posted.fact.kind == "reversal"
    assert posted.fact.reverses == Payment.objects.get(external_id="P1")
    assert (open_amount("A"), open_amount("B")) == (D("100.00"), D("100.00"))
    assert inv("A").settled_on is None
    row = standing(customer)
    assert row.posted == D("200.00")
    assert row.overdue_amount == D("100.00")
    assert row.oldest_open_due_on == days(-10)
    assert sorted(Allocation.objects.filter(payment=posted.fact).values_list(
        "amount", flat=True)) == [D("-100.00"), D("-50.00")]
    # replaying the reversal changes nothing; a second reversal of the payment is refused
    before = state()
    assert not reversal(finance, customer, "R1", "P1", on=days(-1)).created
    with pytest.raises(Conflict) as refused:
        reversal(finance, customer, "R2", "P1")
    assert refused.value.field == "payment_external_id"
    assert state() == before


# --- orders and the gate ---------------------------------------------------------------------


def _reserve(customer: Customer, ext: str, amount: str) -> Reservation:
    """Give the customer room and a grade, then reserve through the gate as the ERP would."""
    Standing.objects.filter(pk=customer.pk).update(credit_limit=D("100000.00"), grade="A",
                                                   prepay_only=False)
    answer = gate.check(Actor.system("erp"), customer, amount, reserve=True, source=SOURCE,
                        external_id=ext)
    assert answer.check.outcome == "allow", answer.check.reasons
    assert answer.reservation is not None
    return answer.reservation


def test_a_cancellation_releases_the_gate_reservation(finance: Actor, customer: Customer,
                                                      policy: Any) -> None:
    order(finance, customer, "SO-1", "5000.00")
    reservation = _reserve(customer, "SO-1", "5000.00")
    assert standing(customer).reserved == D("5000.00")
    posted = cancellation(finance, customer, "SO-1-X", "SO-1")
    assert posted.created and posted.fact.cancels == Order.objects.get(external_id="SO-1")
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.VOIDED
    assert standing(customer).reserved == D("0.00")
    assert AuditEntry.objects.filter(action="gate.release").count() == 1
    # a replay changes nothing; a second cancellation of the order is refused
    before = state()
    assert not cancellation(finance, customer, "SO-1-X", "SO-1").created
    with pytest.raises(Conflict) as refused:
        cancellation(finance, customer, "SO-1-Y", "SO-1")
    assert refused.value.field == "order_external_id"
    assert state() == before


def test_an_invoice_for_a_reserved_order_turns_it_into_posted(
        finance: Actor, customer: Customer, policy: Any) -> None:
    order(finance, customer, "SO-2", "800.00")
    reservation = _reserve(customer, "SO-2", "800.00")
    invoice(finance, customer, "INV-2", "800.00", due=days(30), order_source=SOURCE,
            order_external_id="SO-2")
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.POSTED
    assert reservation.invoice == inv("INV-2")
    row = standing(customer)
    assert (row.reserved, row.posted) == (D("0.00"), D("800.00"))


def test_a_cancellation_may_not_reuse_the_orders_own_identity(
        finance: Actor, customer: Customer, policy: Any) -> None:
    order(finance, customer, "SO-3", "100.00")
    before = state()
    with pytest.raises(Conflict) as refused:
        cancellation(finance, customer, "SO-3", "SO-3")
    assert refused.value.field == "external_id"
    assert state() == before


# --- idempotency ---------------------------------------------------------------------------


POSTS = {
    "order": lambda a, c: order(a, c, "SO-9", "99.00"),
    "invoice": lambda a, c: invoice(a, c, "INV-9", "99.00", due=days(30)),
    "payment": lambda a, c: payment(a, c, "PAY-9", "40.00"),
    "credit_note": lambda a, c: credit_note(a, c, "CN-9", "INV-0", "10.00"),
}


@pytest.mark.parametrize("kind", sorted(POSTS))
def test_the_same_fact_posted_twice_is_stored_once(kind: str, finance: Actor,
                                                   customer: Customer, policy: Any) -> None:
    invoice(finance, customer, "INV-0", "100.00", due=days(10))
    first = POSTS[kind](finance, customer)
    assert first.created
    before = state()
    again = POSTS[kind](finance, customer)
    assert not again.created
    assert again.fact.pk == first.fact.pk
    assert state() == before  # no fact, counter, score or audit entry added


def test_the_same_identity_with_other_values_is_a_conflict(
        finance: Actor, customer: Customer, other_customer: Customer, policy: Any) -> None:
    invoice(finance, customer, "INV-1", "100.00", due=days(10))
    before = state()
    for change in ({"amount": "100.01"}, {"due": days(11)}, {"issued": days(-1)}):
        args: dict[str, Any] = {"due": days(10)} | change
        amount = args.pop("amount", "100.00")
        with pytest.raises(Conflict) as refused:
            invoice(finance, customer, "INV-1", amount, **args)
        assert refused.value.field == "external_id"
    with pytest.raises(Conflict):
        invoice(finance, other_customer, "INV-1", "100.00", due=days(10))
    assert state() == before


def test_replays_inside_a_batch_are_fine(finance: Actor, customer: Customer,
                                         policy: Any) -> None:
    with services.posting(finance):
        first = invoice(finance, customer, "INV-1", "100.00", due=days(10))
        second = invoice(finance, customer, "INV-1", "100.00", due=days(10))
    assert first.created and not second.created
    assert Invoice.objects.count() == 1
    assert standing(customer).posted == D("100.00")


def test_a_batch_with_one_bad_fact_writes_nothing(finance: Actor, customer: Customer,
                                                  policy: Any) -> None:
    before = state()
    with pytest.raises(ValidationFailed) as refused, services.posting(finance):
        invoice(finance, customer, "INV-1", "100.00", due=days(10))
        payment(finance, customer, "PAY-1", "50.00")
        invoice(finance, customer, "INV-2", "100.00", issued=days(-1), due=days(-2))
    assert refused.value.field == "due_on"
    assert state() == before


def test_a_batch_rescores_each_customer_once(finance: Actor, customer: Customer,
                                             group: CustomerGroup, policy: Any) -> None:
    parent, member = members(group)
    with services.posting(finance):
        for n in range(3):
            invoice(finance, customer, f"A-{n}", "10.00", issued=days(-40), due=days(-10))
            invoice(finance, member, f"B-{n}", "10.00")
    assert CreditScore.objects.filter(customer=customer).count() == 1
    assert CreditScore.objects.filter(customer=member).count() == 1
    assert standing(customer).overdue_amount == D("30.00")
    assert group_standing(member).posted == D("30.00")


def test_a_batch_belongs_to_the_thread_that_opened_it(finance: Actor) -> None:
    seen: list[object] = []
    with transaction.atomic(), services.posting(finance):
        assert services._batch.get() is not None
        thread = threading.Thread(target=lambda: seen.append(services._batch.get()))
        thread.start()
        thread.join()
    assert seen == [None]
    assert services._batch.get() is None


# --- refusals ------------------------------------------------------------------------------


BAD = [
    ("negative amount", lambda a, c: invoice(a, c, "X", "-5.00"), "amount"),
    ("zero amount", lambda a, c: payment(a, c, "X", "0"), "amount"),
    ("three decimals", lambda a, c: order(a, c, "X", "10.005"), "amount"),
    ("not a number", lambda a, c: order(a, c, "X", "ten"), "amount"),
    ("due before issue", lambda a, c: invoice(a, c, "X", "5.00", issued=days(-1),
                                              due=days(-2)), "due_on"),
    ("future invoice", lambda a, c: invoice(a, c, "X", "5.00", issued=days(1)), "issued_on"),
    ("future order", lambda a, c: order(a, c, "X", "5.00", on=days(1)), "ordered_on"),
    ("future payment", lambda a, c: payment(a, c, "X", "5.00", on=days(1)), "received_on"),
    ("unknown invoice in allocation",
     lambda a, c: payment(a, c, "X", "5.00", to=[("NOPE", "5.00")]),
     "allocations[0].invoice_external_id"),
    ("allocation above the open amount",
     lambda a, c: payment(a, c, "X", "500.00", to=[("INV-0", "100.00"), ("INV-0", "0.01")]),
     "allocations[1].amount"),
    ("allocations above the payment",
     lambda a, c: payment(a, c, "X", "5.00", to=[("INV-0", "5.01")]), "allocations"),
    ("allocation with three decimals",
     lambda a, c: payment(a, c, "X", "5.00", to=[("INV-0", "1.001")]), "allocations[0].amount"),
    ("no external id", lambda a, c: services.post_order(
        a, c, source="erp", external_id="  ", ordered_on=TODAY, amount="1"), "external_id"),
    ("no source", lambda a, c: services.post_order(
        a, c, source="", external_id="X", ordered_on=TODAY, amount="1"), "source"),
    ("unknown order", lambda a, c: cancellation(a, c, "X", "NOPE"), "order_external_id"),
    ("unknown payment", lambda a, c: reversal(a, c, "X", "NOPE"), "payment_external_id"),
    ("unknown corrected invoice", lambda a, c: credit_note(a, c, "X", "NOPE", "1.00"),
     "corrects_external_id"),
    ("credit note before its invoice", lambda a, c: credit_note(a, c, "X", "INV-0", "1.00",
                                                                on=days(-30)), "issued_on"),
    ("order of another customer", lambda a, c: cancellation(a, c, "X", "SO-OTHER"),
     "order_external_id"),
    ("invoice of another customer", lambda a, c: payment(a, c, "X", "1.00",
                                                         to=[("INV-OTHER", "1.00")]),
     "allocations[0].invoice_external_id"),
    ("only half an order reference", lambda a, c: services.post_invoice(
        a, c, source="erp", external_id="X", issued_on=TODAY, due_on=TODAY, amount="1",
        order_external_id="SO-1"), "order_external_id"),
]


@pytest.mark.parametrize(("label", "post", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
        label: str, post: Any, field: str, finance: Actor, customer: Customer,
        other_customer: Customer, policy: Any) -> None:
    invoice(finance, customer, "INV-0", "100.00", issued=days(-3), due=days(27))
    order(finance, other_customer, "SO-OTHER", "10.00")
    invoice(finance, other_customer, "INV-OTHER", "10.00")
    before = state()
    with pytest.raises(ValidationFailed) as refused:
        post(finance, customer)
    assert refused.value.field == field, refused.value.message
    assert refused.value.message
    assert state() == before


@pytest.mark.parametrize("role", ["account_manager", "auditor", "customer_service",
                                  "credit_manager"])
def test_roles_without_the_permission_may_not_post(role: str, personas: dict[str, User],
                                                   customer: Customer) -> None:
    actor = Actor.for_user(personas[role])
    before = state()
    for post in (lambda: order(actor, customer, "X"), lambda: invoice(actor, customer, "X"),
                 lambda: payment(actor, customer, "X", "1.00")):
        with pytest.raises(PermissionRefused):
            post()
    assert state() == before


def test_the_erp_may_post(personas: dict[str, User], customer: Customer) -> None:
    erp = Actor.for_user(personas["erp_integration"])
    assert invoice(erp, customer, "X").created
    assert payment(erp, customer, "Y", "1.00").created
    assert order(erp, customer, "Z").created


def test_allocation_request_amounts_are_checked_before_anything_is_written(
        finance: Actor, customer: Customer) -> None:
    before = state()
    with pytest.raises(ValidationFailed) as refused:
        services.post_payment(finance, customer, source="erp", external_id="P", received_on=TODAY,
                              amount="10.00",
                              allocations=[AllocationRequest("erp", "A", "-1")])
    assert refused.value.field == "allocations[0].amount"
    assert state() == before
