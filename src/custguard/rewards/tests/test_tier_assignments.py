"""Manual tiers: proposed with a reason and an expiry, approved by a second person (never the
proposer), winning over the rules until they expire; then the customer takes the tier its
facts qualify it for. Bad input is refused with the field named and nothing written."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.credit.tests.test_scoring_support import new_customer
from custguard.customers.models import Customer
from custguard.ledger.tests.conftest import TODAY
from custguard.rewards.models import Coupon, TierAssignment, TierChange, TierNotice, TierStatus
from custguard.rewards.services import tier_assignments, tier_evaluation
from custguard.rewards.tests.tiers import buy, grade, on, tier_of

pytestmark = pytest.mark.django_db
JOB = Actor.job("tests")


@pytest.fixture
def people(personas: dict[str, User]) -> dict[str, Actor]:
    return {role: Actor.for_user(personas[role])
            for role in ("account_manager", "sales_manager", "credit_manager", "auditor")}


@pytest.fixture
def member(regions: None, policy: object) -> Customer:
    customer = new_customer("手工会员客户")
    grade(customer, "A")
    buy(customer, 6, "100000.00")  # silver by the rules
    tier_evaluation.evaluate(JOB)
    return customer


def propose(people: dict[str, Actor], customer: Customer, **values: Any) -> TierAssignment:
    return tier_assignments.propose(people["account_manager"], customer, **{
        "tier": "DIAMOND", "expires_on": TODAY + dt.timedelta(days=30),
        "reason": "战略合作首年", **values})


def test_a_manual_tier_wins_until_it_expires(member: Customer,
                                             people: dict[str, Actor]) -> None:
    assignment = propose(people, member)
    assert tier_of(member) == ("SILVER", 0)  # nothing changes before the approval
    tier_assignments.approve(people["sales_manager"], assignment.pk, note="同意")
    assignment.refresh_from_db()
    assert assignment.status == TierAssignment.Status.ACTIVE
    assert tier_of(member) == ("DIAMOND", 10)
    change = TierChange.objects.filter(customer=member).first()
    assert change is not None and (change.kind, change.from_tier, change.to_tier) == (
        "manual", "SILVER", "DIAMOND")
    assert change.entitlements == [["TIER_DIAMOND_WELCOME",
                                    f"tier:{member.pk}:DIAMOND:20250630:TIER_DIAMOND_WELCOME"]]
    assert Coupon.objects.filter(customer=member,
                                 definition="TIER_DIAMOND_WELCOME").count() == 1
    assert TierNotice.objects.filter(change=change).exists()
    # The monthly evaluation leaves a manual tier alone.
    result = tier_evaluation.evaluate(JOB)
    assert result.manual == 1 and tier_of(member) == ("DIAMOND", 10)
    # Its last day passes: it expires and the rules decide at once.
    after = TODAY + dt.timedelta(days=31)
    with on(after):
        assert tier_assignments.expire_due(JOB, after) == 1
        assert tier_assignments.expire_due(JOB, after) == 0
    assignment.refresh_from_db()
    assert assignment.status == TierAssignment.Status.EXPIRED
    assert TierStatus.objects.get(pk=member.pk).assignment_id is None
    assert tier_of(member) == ("SILVER", 0)
    last = TierChange.objects.filter(customer=member).first()
    assert last is not None and (last.kind, last.from_tier, last.to_tier) == (
        "manual_end", "DIAMOND", "SILVER")
    assert AuditEntry.objects.filter(action="rewards.tier_assignment_expire",
                                     customer_id=member.pk).count() == 1


def test_the_proposer_may_not_approve_its_own_proposal(member: Customer,
                                                       people: dict[str, Actor]) -> None:
    assignment = tier_assignments.propose(people["sales_manager"], member, tier="GOLD",
                                          expires_on=TODAY + dt.timedelta(days=10),
                                          reason="测试")
    with pytest.raises(PermissionRefused):
        tier_assignments.approve(people["sales_manager"], assignment.pk)
    assignment.refresh_from_db()
    assert assignment.status == TierAssignment.Status.PROPOSED
    assert tier_of(member) == ("SILVER", 0)
    with pytest.raises(PermissionRefused):  # an account manager may propose, not approve
        tier_assignments.approve(people["account_manager"], assignment.pk)
    tier_assignments.approve(people["credit_manager"], assignment.pk)
    assert tier_of(member) == ("GOLD", 5)
    with pytest.raises(Conflict):  # decided once
        tier_assignments.reject(people["credit_manager"], assignment.pk, "晚了")


def test_a_rejection_needs_a_reason_and_changes_no_tier(member: Customer,
                                                        people: dict[str, Actor]) -> None:
    assignment = propose(people, member)
    with pytest.raises(ValidationFailed) as refused:
        tier_assignments.reject(people["sales_manager"], assignment.pk, " ")
    assert refused.value.field == "reason"
    tier_assignments.reject(people["sales_manager"], assignment.pk, "依据不足")
    assignment.refresh_from_db()
    assert assignment.status == TierAssignment.Status.REJECTED
    assert assignment.decision_note == "依据不足"
    assert tier_of(member) == ("SILVER", 0)
    propose(people, member)  # a new proposal may follow


@pytest.mark.parametrize(("values", "field"), [
    ({"tier": "PLATINUM"}, "tier"),
    ({"expires_on": TODAY}, "expires_on"),
    ({"expires_on": TODAY + dt.timedelta(days=367)}, "expires_on"),
    ({"expires_on": "next year"}, "expires_on"),
    ({"reason": ""}, "reason"),
    ({"reason": "x" * 2001}, "reason"),
])
def test_bad_input_is_refused_with_the_field_named(member: Customer, people: dict[str, Actor],
                                                   values: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        propose(people, member, **values)
    assert refused.value.field == field
    assert TierAssignment.objects.count() == 0


def test_one_proposal_waits_at_a_time_and_roles_are_checked(member: Customer,
                                                            people: dict[str, Actor]) -> None:
    propose(people, member)
    with pytest.raises(Conflict):
        propose(people, member, tier="GOLD")
    with pytest.raises(PermissionRefused):
        propose(people | {"account_manager": people["auditor"]}, member)
    assert TierAssignment.objects.count() == 1


def test_a_newer_manual_tier_ends_the_active_one(member: Customer,
                                                 people: dict[str, Actor]) -> None:
    first = propose(people, member)
    tier_assignments.approve(people["sales_manager"], first.pk)
    second = propose(people, member, tier="GOLD")
    tier_assignments.approve(people["sales_manager"], second.pk)
    first.refresh_from_db()
    assert first.status == TierAssignment.Status.ENDED
    assert TierStatus.objects.get(pk=member.pk).assignment_id == second.pk
    assert tier_of(member) == ("GOLD", 5)
