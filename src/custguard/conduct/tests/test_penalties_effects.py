"""What approved penalties do, at once, to the standing row and so to the order gate — points
deducted or frozen, the credit limit cut, prepayment only, orders blocked, service suspended —
and that lifting gives it back; fines from the customer's contract clause or the policy; a
rectification recorded, and an overdue one escalated so that the ladder runs again."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from custguard.conduct.models import BlacklistEntry, Fine, Penalty, ViolationCase
from custguard.conduct.services import clauses, penalties
from custguard.conduct.tests.cases_support import days_from_now, snapshot
from custguard.conduct.tests.support import (
    SYSTEM,
    active_penalty,
    confirmed_case,
    customer_on_credit,
)
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.credit.services import gate
from custguard.customers.models import Customer, Standing
from custguard.rewards.tests.helpers import give_points

pytestmark = pytest.mark.django_db

ERP = Actor.system("erp")


@pytest.fixture
def customer(regions: None, personas: dict[str, User]) -> Customer:
    return customer_on_credit(personas, limit="100000.00")


@pytest.fixture
def credit(personas: dict[str, User]) -> Actor:
    return Actor.for_user(personas["credit_manager"])


def answer(customer: Customer, amount: str = "1000") -> tuple[str, list[str]]:
    check = gate.check(ERP, customer, amount).check
    return check.outcome, [r["code"] for r in check.reasons]


def standing(customer: Customer) -> Standing:
    return Standing.objects.get(pk=customer.pk)


def _lift(credit: Actor, penalty: Penalty) -> None:
    penalties.lift(credit, penalty, reason="客户已整改，提前解除")


# --- points -----------------------------------------------------------------------------------


def test_a_points_deduction_takes_the_points_off_the_balance(
        customer: Customer, personas: dict[str, User]) -> None:
    give_points(customer, 2000)
    confirmed_case(personas, customer, violation_type="LATE_PAYMENT", days_ago=30)
    penalty = active_penalty(personas, customer, violation_type="LATE_RECONCILIATION",
                             days_ago=2)
    assert penalty.step_code == "REPEAT_MINOR_REMINDER"
    assert penalty.points_deduction == 500
    assert standing(customer).points_balance == 1500
    assert not standing(customer).points_frozen
    assert answer(customer)[0] == "allow"  # a reminder does not restrict ordering


def test_a_points_deduction_never_takes_the_balance_below_zero(
        customer: Customer, personas: dict[str, User]) -> None:
    give_points(customer, 200)
    confirmed_case(personas, customer, violation_type="LATE_PAYMENT", days_ago=30)
    penalty = active_penalty(personas, customer, violation_type="LATE_RECONCILIATION",
                             days_ago=2)
    assert (penalty.points_deduction, penalty.points_deducted) == (500, 200)
    assert standing(customer).points_balance == 0


def test_points_frozen_and_orders_blocked_until_lifted(customer: Customer,
                                                       personas: dict[str, User],
                                                       credit: Actor) -> None:
    first = active_penalty(personas, customer, violation_type="CROSS_REGION_SALES",
                           evidence=True, days_ago=20)
    _lift(credit, first)
    assert answer(customer)[0] == "allow"
    second = active_penalty(personas, customer, violation_type="PRICE_DISRUPTION",
                            evidence=True, days_ago=2)
    assert second.step_code == "REPEAT_MAJOR_SUSPEND"
    row = standing(customer)
    assert row.points_frozen and row.order_blocked and not row.service_suspended
    assert answer(customer) == ("deny", ["ORDER_BLOCKED"])
    _lift(credit, second)
    row = standing(customer)
    assert not row.points_frozen and not row.order_blocked
    assert answer(customer)[0] == "allow"


# --- credit ---------------------------------------------------------------------------------


def test_a_credit_limit_reduction_cuts_the_standing_limit_and_the_gate_sees_it(
        customer: Customer, personas: dict[str, User], credit: Actor) -> None:
    assert standing(customer).credit_limit == Decimal("100000.00")
    assert answer(customer, "60000")[0] == "allow"
    confirmed_case(personas, customer, violation_type="LATE_PAYMENT", days_ago=100)
    confirmed_case(personas, customer, violation_type="LATE_RECONCILIATION", days_ago=50)
    penalty = active_penalty(personas, customer, violation_type="LATE_PAYMENT", days_ago=2)
    assert penalty.step_code == "REPEAT_MINOR_RESTRICT"
    assert penalty.measures == ["WRITTEN_REMINDER", "FINE", "CREDIT_LIMIT_REDUCTION"]
    row = standing(customer)
    assert row.penalty_limit_percent == Decimal("50.00")
    assert row.credit_limit == Decimal("50000.00")
    assert answer(customer, "40000")[0] == "allow"
    outcome, reasons = answer(customer, "60000")
    assert outcome == "hold" and reasons == ["LIMIT_EXCEEDED"]
    assert AuditEntry.objects.filter(action="conduct.credit_terms",
                                     customer_id=customer.pk).exists()
    _lift(credit, penalty)
    row = standing(customer)
    assert row.penalty_limit_percent == Decimal("100.00")
    assert row.credit_limit == Decimal("100000.00")
    assert answer(customer, "60000")[0] == "allow"


def test_prepay_only_until_lifted(customer: Customer, personas: dict[str, User],
                                  credit: Actor) -> None:
    penalty = active_penalty(personas, customer, violation_type="CROSS_REGION_SALES",
                             evidence=True)
    assert penalty.measures == ["FINE", "PREPAY_ONLY"]
    assert standing(customer).penalty_prepay_only and standing(customer).prepay_only
    assert answer(customer) == ("prepay_required", ["PREPAY_ONLY"])
    _lift(credit, penalty)
    assert not standing(customer).prepay_only
    assert answer(customer)[0] == "allow"


def test_service_suspension_denies_and_proposes_a_blacklist_entry(
        customer: Customer, personas: dict[str, User], credit: Actor) -> None:
    penalty = active_penalty(personas, customer, violation_type="MALICIOUS_DEFAULT",
                             evidence=True)
    assert penalty.step_code == "SEVERE_SUSPEND"
    row = standing(customer)
    assert row.service_suspended and row.order_blocked and row.points_frozen
    outcome, reasons = answer(customer)
    assert outcome == "deny" and {"ORDER_BLOCKED", "SERVICE_SUSPENDED"} <= set(reasons)
    assert BlacklistEntry.objects.filter(customer=customer,
                                         status=BlacklistEntry.Status.PROPOSED).exists()
    assert not row.blacklisted  # proposed, not approved
    _lift(credit, penalty)
    row = standing(customer)
    assert not (row.service_suspended or row.order_blocked or row.points_frozen)
    assert answer(customer)[0] == "allow"


def test_a_lift_needs_a_reason_and_an_active_penalty(customer: Customer,
                                                     personas: dict[str, User],
                                                     credit: Actor) -> None:
    _case, proposed = confirmed_case(personas, customer, violation_type="LATE_PAYMENT")
    assert proposed is not None
    before = snapshot()
    with pytest.raises(ValidationFailed):
        penalties.lift(credit, proposed, reason=" ")
    with pytest.raises(Conflict):
        penalties.lift(credit, proposed, reason="未生效")
    assert snapshot() == before


# --- fines ------------------------------------------------------------------------------------


def test_the_fine_is_the_policys_without_a_contract_clause(customer: Customer,
                                                          personas: dict[str, User]) -> None:
    penalty = active_penalty(personas, customer, violation_type="CROSS_REGION_SALES",
                             evidence=True)
    fine = Fine.objects.get(penalty=penalty)
    assert fine.amount == Decimal("5000.00") == penalty.fine_amount
    assert fine.clause is None and fine.status == Fine.Status.DUE
    assert fine.due_on == clock.today() + dt.timedelta(days=15)


def test_the_fine_comes_from_the_customers_contract_clause(customer: Customer,
                                                           personas: dict[str, User]) -> None:
    start = clock.today() - dt.timedelta(days=30)
    any_violation = clauses.add(SYSTEM, customer, contract_number="HT-2025-01",
                                fine_amount="1000.00", valid_from=start)
    specific = clauses.add(SYSTEM, customer, contract_number="HT-2025-01",
                           violation_type="CROSS_REGION_SALES", fine_amount="8800.00",
                           valid_from=start)
    penalty = active_penalty(personas, customer, violation_type="CROSS_REGION_SALES",
                             evidence=True)
    assert penalty.fine_amount == Decimal("8800.00")  # the clause for the type first
    assert Fine.objects.get(penalty=penalty).clause == specific
    proposal = AuditEntry.objects.get(action="conduct.penalty_propose",
                                      object_id=str(penalty.pk))
    assert proposal.after["contract_clause"] == specific.pk
    other = customer_on_credit(personas, name="无合同客户")
    assert active_penalty(personas, other, violation_type="CROSS_REGION_SALES",
                          evidence=True).fine_amount == Decimal("5000.00")
    assert any_violation.violation_type == ""


def test_a_clause_for_any_violation_applies_when_none_names_the_type(
        customer: Customer, personas: dict[str, User]) -> None:
    clauses.add(SYSTEM, customer, contract_number="HT-2025-02", fine_amount="1200.00",
                valid_from=clock.today() - dt.timedelta(days=10))
    penalty = active_penalty(personas, customer, violation_type="CROSS_REGION_SALES",
                             evidence=True)
    assert penalty.fine_amount == Decimal("1200.00")


def test_an_ended_clause_no_longer_sets_the_fine(customer: Customer,
                                                 personas: dict[str, User]) -> None:
    clause = clauses.add(SYSTEM, customer, contract_number="HT-2024-09",
                         violation_type="CROSS_REGION_SALES", fine_amount="100.00",
                         valid_from=clock.today() - dt.timedelta(days=400),
                         valid_to=clock.today() - dt.timedelta(days=1))
    penalty = active_penalty(personas, customer, violation_type="CROSS_REGION_SALES",
                             evidence=True)
    assert penalty.fine_amount == Decimal("5000.00")
    assert Fine.objects.get(penalty=penalty).clause is None
    assert clause.valid_to is not None


def test_a_clause_of_no_fine_leaves_nothing_due(customer: Customer,
                                                personas: dict[str, User]) -> None:
    clauses.add(SYSTEM, customer, contract_number="HT-战略", fine_amount="0",
                valid_from=clock.today() - dt.timedelta(days=10))
    penalty = active_penalty(personas, customer, violation_type="CROSS_REGION_SALES",
                             evidence=True)
    assert penalty.fine_amount == Decimal("0.00")
    assert not Fine.objects.filter(penalty=penalty).exists()
    assert standing(customer).penalty_prepay_only  # the other measure holds all the same


# --- rectification and escalation -------------------------------------------------------------


def test_a_rectification_is_recorded_once(customer: Customer, personas: dict[str, User],
                                          credit: Actor) -> None:
    penalty = active_penalty(personas, customer, violation_type="CROSS_REGION_SALES",
                             evidence=True)
    assert penalty.rectification_due_on == clock.today() + dt.timedelta(days=30)
    am = Actor.for_user(personas["account_manager"])
    penalties.record_rectification(am, penalty, note="已收回窜货并书面说明")
    penalty.refresh_from_db()
    assert penalty.rectified_at is not None
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused:
        penalties.record_rectification(am, penalty, note="再次")
    assert refused.value.field == "note"
    with clock.frozen_at(days_from_now(40)), pytest.raises(ValidationFailed):
        penalties.escalate(credit, penalty)  # rectified: nothing to escalate
    assert snapshot() == before


def test_an_overdue_rectification_escalates_and_the_ladder_runs_again(
        customer: Customer, personas: dict[str, User], credit: Actor) -> None:
    penalty = active_penalty(personas, customer, violation_type="CROSS_REGION_SALES",
                             evidence=True, days_ago=5)
    assert penalty.step_code == "MAJOR_PREPAY"
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused:
        penalties.escalate(credit, penalty)  # not due yet
    assert refused.value.field == "penalty"
    assert snapshot() == before
    with clock.frozen_at(days_from_now(31)):
        proposed = penalties.escalate(credit, penalty)
        penalty.refresh_from_db()
        escalated = penalty.escalated_to
        assert escalated is not None
        assert escalated.violation_type == "RECTIFICATION_OVERDUE"
        assert escalated.status == ViolationCase.Status.CONFIRMED
        assert escalated.occurred_on == penalty.rectification_due_on
        # a second major violation within the year: the next rung
        assert proposed is not None and proposed.step_code == "REPEAT_MAJOR_SUSPEND"
        assert proposed.case == escalated and proposed.status == Penalty.Status.PROPOSED
        assert [r["code"] for r in proposed.reasons] == ["REPEAT_MAJOR_2_IN_365D"]
        again = snapshot()
        with pytest.raises(Conflict):
            penalties.escalate(credit, penalty)
        assert snapshot() == again
