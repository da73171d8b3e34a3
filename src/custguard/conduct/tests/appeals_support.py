"""Set-up shared by the appeals tests: decisions of every kind the customer can appeal, the
order gate's answer, and a snapshot of everything an appeal may touch (to prove that a refused
one changed nothing)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from custguard.conduct import models as conduct
from custguard.conduct.models import BlacklistEntry, Penalty, ViolationCase
from custguard.conduct.services import blacklist
from custguard.conduct.tests.support import active_penalty, confirmed_case
from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.credit.models import CreditScore
from custguard.credit.services import gate
from custguard.customers.models import Customer, Standing
from custguard.policy.decisions import Reason

ERP = Actor.system("erp")


def gate_outcome(customer: Customer, amount: str = "1000.00") -> str:
    """What the order gate answers for an order of `amount` now."""
    return str(gate.check(ERP, customer, amount).check.outcome)


def prepay_penalty(people: dict[str, User], customer: Customer) -> Penalty:
    """A major violation's MAJOR_PREPAY (fine + prepayment only), approved by the credit
    manager and in force."""
    penalty = active_penalty(people, customer, violation_type="RECTIFICATION_OVERDUE")
    assert penalty.step_code == "MAJOR_PREPAY" and penalty.status == Penalty.Status.ACTIVE
    return penalty


def points_penalty(people: dict[str, User], customer: Customer) -> Penalty:
    """A second minor violation's REPEAT_MINOR_REMINDER (500 points deducted), in force."""
    confirmed_case(people, customer, violation_type="LATE_PAYMENT", days_ago=5)
    penalty = active_penalty(people, customer, violation_type="LATE_RECONCILIATION")
    assert penalty.step_code == "REPEAT_MINOR_REMINDER"
    return penalty


def block_penalty(people: dict[str, User], customer: Customer) -> Penalty:
    """A second major violation's REPEAT_MAJOR_SUSPEND (orders blocked), in force; the first
    one's proposal is left unapproved."""
    confirmed_case(people, customer, violation_type="RECTIFICATION_OVERDUE", days_ago=5)
    penalty = active_penalty(people, customer, violation_type="STAFF_MISCONDUCT",
                             evidence=True)
    assert penalty.step_code == "REPEAT_MAJOR_SUSPEND"
    return penalty


def severe_penalty(people: dict[str, User], customer: Customer) -> Penalty:
    """A severe violation's SEVERE_SUSPEND, which proposes a blacklist entry."""
    penalty = active_penalty(people, customer, violation_type="MALICIOUS_DEFAULT",
                             evidence=True)
    assert penalty.step_code == "SEVERE_SUSPEND"
    return penalty


def active_entry(people: dict[str, User], customer: Customer) -> BlacklistEntry:
    """A blacklist entry the daily job proposed and the credit manager approved."""
    entry, created = blacklist.propose(
        Actor.job("conduct.propose_blacklist"), customer, criterion="OVERDUE_GT_90D",
        reasons=[Reason("OVERDUE_GT_90D", {"overdue_amount": Decimal("60000.00"),
                                           "days_past_due_gt": 90})],
        duration_days=365)
    assert created
    return blacklist.approve(Actor.for_user(people["credit_manager"]), entry, note="属实")


def case_with_penalty(people: dict[str, User],
                      customer: Customer) -> tuple[ViolationCase, Penalty]:
    penalty = prepay_penalty(people, customer)
    return penalty.case, penalty


def snapshot() -> dict[str, Any]:
    """Every row an appeal may touch, and the audit chain's length."""
    tables = [conduct.ViolationCase, conduct.Penalty, conduct.Fine, conduct.Notice,
              conduct.BlacklistEntry, conduct.RecoveryPlan, conduct.Appeal, Standing,
              CreditScore]
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in tables} | {
        "audit": AuditEntry.objects.count()}
