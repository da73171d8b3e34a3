"""Appeals through the service: the window, one open appeal per decision, the reviewer who
decided refused, and each outcome's effect on the standing row, the gate, fines and points —
refused actions change nothing at all."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.utils import translation

from custguard.conduct.models import Appeal, BlacklistEntry, Fine, Penalty, ViolationCase
from custguard.conduct.services import appeals, blacklist, cases, penalties
from custguard.conduct.tests.appeals_support import (
    active_entry,
    block_penalty,
    gate_outcome,
    points_penalty,
    prepay_penalty,
    severe_penalty,
    snapshot,
)
from custguard.conduct.tests.support import confirmed_case, customer_on_credit
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.core.services.audit import verify_chain
from custguard.customers.models import Customer, Standing
from custguard.rewards.tests.helpers import give_points

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Messages are asserted in English, whatever the catalogs say."""
    with translation.override("en"):
        yield


@pytest.fixture
def customer(regions: None, personas: dict[str, User]) -> Customer:
    return customer_on_credit(personas)


def as_(people: dict[str, User], role: str) -> Actor:
    return Actor.for_user(people[role])


def later(days: int) -> dt.datetime:
    return clock.now() + dt.timedelta(days=days)


# --- filing -----------------------------------------------------------------------------------


def test_filing_sets_the_review_date_and_is_audited(customer: Customer,
                                                    personas: dict[str, User]) -> None:
    penalty = prepay_penalty(personas, customer)
    appeal = appeals.file(as_(personas, "customer_service"), penalty, grounds="客户称已整改")
    assert appeal.status == Appeal.Status.FILED and appeal.channel == Appeal.Channel.STAFF
    assert appeal.customer_id == customer.pk and appeal.penalty_id == penalty.pk
    assert appeal.review_due_on == clock.today() + dt.timedelta(days=10)  # review_sla_days
    entry = AuditEntry.objects.get(action="conduct.appeal_file")
    assert entry.object_id == str(appeal.pk) and entry.customer_id == customer.pk
    assert entry.after["penalty"] == penalty.pk and entry.after["grounds"] == "客户称已整改"
    assert entry.after["window_closes_on"] == (clock.today()
                                               + dt.timedelta(days=15)).isoformat()
    assert entry.actor_label == "customer_service"


def test_an_appeal_outside_its_window_is_refused_and_changes_nothing(
        customer: Customer, personas: dict[str, User]) -> None:
    penalty = prepay_penalty(personas, customer)
    closes = clock.today() + dt.timedelta(days=15)  # appeals.window_days from the notice
    before = snapshot()
    with clock.frozen_at(later(16)), pytest.raises(ValidationFailed) as refused:
        appeals.file(as_(personas, "customer_service"), penalty, grounds="逾期申诉")
    assert refused.value.field == "penalty"
    assert closes.isoformat() in refused.value.message
    assert snapshot() == before


def test_the_last_day_of_the_window_is_inside_it(customer: Customer,
                                                 personas: dict[str, User]) -> None:
    penalty = prepay_penalty(personas, customer)
    with clock.frozen_at(later(15)):
        appeal = appeals.file(as_(personas, "customer_service"), penalty, grounds="最后一天")
    assert appeal.status == Appeal.Status.FILED


def test_a_case_window_runs_from_the_later_notice(customer: Customer,
                                                  personas: dict[str, User]) -> None:
    """The penalty was approved 20 days after the case was confirmed: the customer may still
    appeal the violation itself until the notice's "appeal by" date."""
    case, penalty = confirmed_case(personas, customer, violation_type="RECTIFICATION_OVERDUE")
    assert penalty is not None
    case.refresh_from_db()
    assert appeals.window_closes_on(case) == clock.today() + dt.timedelta(days=15)
    with clock.frozen_at(later(20)):
        penalties.approve(as_(personas, "credit_manager"), penalty)
    with clock.frozen_at(later(30)):
        assert appeals.window_closes_on(case) == clock.today() + dt.timedelta(days=5)
        appeal = appeals.file(as_(personas, "customer_service"), case, grounds="违规不成立")
    assert appeal.case_id == case.pk


def test_only_decisions_made_and_made_known_can_be_appealed(
        customer: Customer, personas: dict[str, User]) -> None:
    case, proposed = confirmed_case(personas, customer, violation_type="RECTIFICATION_OVERDUE")
    assert proposed is not None and proposed.status == Penalty.Status.PROPOSED
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused:
        appeals.file(as_(personas, "customer_service"), proposed, grounds="尚未通知")
    assert refused.value.field == "penalty"
    assert snapshot() == before
    reported = cases.report(
        as_(personas, "account_manager"), customer, violation_type="LATE_PAYMENT",
        occurred_on=clock.today(), description="待查").case
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused:
        appeals.file(as_(personas, "customer_service"), reported, grounds="尚未确认")
    assert refused.value.field == "case"
    assert snapshot() == before


def test_a_second_open_appeal_against_the_same_decision_is_a_conflict(
        customer: Customer, personas: dict[str, User]) -> None:
    penalty = prepay_penalty(personas, customer)
    appeals.file(as_(personas, "customer_service"), penalty, grounds="第一次")
    before = snapshot()
    with pytest.raises(Conflict) as refused:
        appeals.file(as_(personas, "account_manager"), penalty, grounds="第二次")
    assert refused.value.field == "penalty"
    assert snapshot() == before


def test_grounds_and_channel_are_checked(customer: Customer,
                                         personas: dict[str, User]) -> None:
    penalty = prepay_penalty(personas, customer)
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused:
        appeals.file(as_(personas, "customer_service"), penalty, grounds="  ")
    assert refused.value.field == "grounds"
    with pytest.raises(ValidationFailed) as refused:
        appeals.file(as_(personas, "customer_service"), penalty, grounds="理由",
                     channel="fax")
    assert refused.value.field == "channel"
    with pytest.raises(PermissionRefused):
        appeals.file(as_(personas, "auditor"), penalty, grounds="审计员不能申诉")
    assert snapshot() == before


# --- the reviewer -----------------------------------------------------------------------------


def test_a_reviewer_who_decided_the_penalty_is_refused_and_nothing_changes(
        customer: Customer, personas: dict[str, User]) -> None:
    penalty = prepay_penalty(personas, customer)  # approved by the credit manager
    appeal = appeals.file(as_(personas, "customer_service"), penalty, grounds="不服")
    before = snapshot()
    credit = as_(personas, "credit_manager")
    for attempt in (lambda: appeals.start_review(credit, appeal),
                    lambda: appeals.decide(credit, appeal, outcome="overturned", note="自己撤"),
                    lambda: appeals.decide(credit, appeal, outcome="upheld", note="维持")):
        with pytest.raises(PermissionRefused) as refused:
            attempt()
        assert refused.value.field == "reviewer"
        assert "another person" in refused.value.message
    assert snapshot() == before
    assert not appeals.may_review(personas["credit_manager"], appeal)
    assert appeals.may_review(personas["sales_manager"], appeal)


def test_a_reviewer_who_confirmed_the_case_is_refused(customer: Customer,
                                                      personas: dict[str, User]) -> None:
    case, _penalty = confirmed_case(personas, customer)
    appeal = appeals.file(as_(personas, "customer_service"), case, grounds="不服")
    before = snapshot()
    with pytest.raises(PermissionRefused) as refused:
        appeals.decide(as_(personas, "credit_manager"), appeal, outcome="overturned", note="x")
    assert refused.value.field == "reviewer"
    assert snapshot() == before


def test_roles_without_the_review_permission_are_refused(customer: Customer,
                                                         personas: dict[str, User]) -> None:
    penalty = prepay_penalty(personas, customer)
    appeal = appeals.file(as_(personas, "customer_service"), penalty, grounds="不服")
    before = snapshot()
    for role in ("account_manager", "customer_service", "finance", "auditor"):
        with pytest.raises(PermissionRefused):
            appeals.decide(as_(personas, role), appeal, outcome="upheld", note="x")
    assert snapshot() == before


def test_review_then_decide_by_another_reviewer(customer: Customer,
                                                personas: dict[str, User]) -> None:
    penalty = prepay_penalty(personas, customer)
    appeal = appeals.file(as_(personas, "customer_service"), penalty, grounds="不服")
    appeal = appeals.start_review(as_(personas, "sales_manager"), appeal)
    assert appeal.status == Appeal.Status.UNDER_REVIEW
    assert appeal.reviewer == personas["sales_manager"] and appeal.review_started_at
    with pytest.raises(Conflict):  # already under review
        appeals.start_review(as_(personas, "admin"), appeal)
    decided = appeals.decide(as_(personas, "admin"), appeal, outcome="upheld", note="维持原处罚")
    assert decided.status == Appeal.Status.UPHELD and decided.reviewer == personas["admin"]
    entry = AuditEntry.objects.get(action="conduct.appeal_decide")
    assert entry.before == {"status": "under_review",
                            "reviewer": personas["sales_manager"].pk}
    assert entry.after["reviewer"] == personas["admin"].pk and entry.reason == "维持原处罚"


# --- outcomes ---------------------------------------------------------------------------------


def test_overturning_a_penalty_restores_the_gate_at_once_and_waives_the_fine(
        customer: Customer, personas: dict[str, User]) -> None:
    penalty = prepay_penalty(personas, customer)
    assert gate_outcome(customer) == "prepay_required"
    fine = Fine.objects.get(penalty=penalty)
    assert fine.status == Fine.Status.DUE and fine.amount == Decimal("5000.00")
    appeal = appeals.file(as_(personas, "customer_service"), penalty, grounds="冒用名义")
    decided = appeals.decide(as_(personas, "sales_manager"), appeal, outcome="overturned",
                             note="核实为冒用")
    assert decided.status == Appeal.Status.OVERTURNED
    assert gate_outcome(customer) == "allow"
    penalty.refresh_from_db()
    assert penalty.status == Penalty.Status.OVERTURNED and penalty.end_reason == "核实为冒用"
    fine.refresh_from_db()
    assert fine.status == Fine.Status.WAIVED
    assert Standing.objects.get(pk=customer.pk).penalty_prepay_only is False


def test_overturning_an_order_block_turns_deny_into_allow(customer: Customer,
                                                          personas: dict[str, User]) -> None:
    penalty = block_penalty(personas, customer)
    assert gate_outcome(customer) == "deny"
    appeal = appeals.file(as_(personas, "customer_service"), penalty, grounds="不服")
    appeals.decide(as_(personas, "admin"), appeal, outcome="overturned", note="证据不足")
    assert gate_outcome(customer) == "allow"
    standing = Standing.objects.get(pk=customer.pk)
    assert not standing.order_blocked and not standing.points_frozen


def test_overturning_a_points_deduction_gives_the_points_back(
        customer: Customer, personas: dict[str, User]) -> None:
    give_points(customer, 800)
    start = 800
    penalty = points_penalty(personas, customer)
    assert Standing.objects.get(pk=customer.pk).points_balance == start - 500
    appeal = appeals.file(as_(personas, "customer_service"), penalty, grounds="不服")
    appeals.decide(as_(personas, "sales_manager"), appeal, outcome="overturned", note="撤销")
    assert Standing.objects.get(pk=customer.pk).points_balance == start


def test_overturning_a_blacklist_entry(customer: Customer,
                                       personas: dict[str, User]) -> None:
    entry = active_entry(personas, customer)
    assert Standing.objects.get(pk=customer.pk).blacklisted
    assert gate_outcome(customer) == "deny"
    appeal = appeals.file(as_(personas, "customer_service"), entry, grounds="款项已结清")
    appeals.decide(as_(personas, "sales_manager"), appeal, outcome="overturned",
                   note="逾期系对方系统错误")
    entry.refresh_from_db()
    assert entry.status == BlacklistEntry.Status.OVERTURNED
    assert not Standing.objects.get(pk=customer.pk).blacklisted
    assert gate_outcome(customer) == "allow"
    assert AuditEntry.objects.filter(action="conduct.blacklist_overturn",
                                     object_id=str(entry.pk)).exists()


def test_the_blacklist_approver_may_not_review_its_appeal(
        customer: Customer, personas: dict[str, User]) -> None:
    entry = active_entry(personas, customer)
    appeal = appeals.file(as_(personas, "customer_service"), entry, grounds="不服")
    before = snapshot()
    with pytest.raises(PermissionRefused) as refused:
        appeals.decide(as_(personas, "credit_manager"), appeal, outcome="overturned",
                       note="x")
    assert refused.value.field == "reviewer"
    assert snapshot() == before


def test_overturning_a_case_overturns_its_penalties(customer: Customer,
                                                    personas: dict[str, User]) -> None:
    penalty = prepay_penalty(personas, customer)
    case = penalty.case
    penalty_appeal = appeals.file(as_(personas, "customer_service"), penalty, grounds="处罚过重")
    case_appeal = appeals.file(as_(personas, "customer_service"), case, grounds="违规不成立")
    assert gate_outcome(customer) == "prepay_required"
    scores = customer.scores.count()
    appeals.decide(as_(personas, "sales_manager"), case_appeal, outcome="overturned",
                   note="违规事实不成立")
    case.refresh_from_db()
    penalty.refresh_from_db()
    assert case.status == ViolationCase.Status.DISMISSED
    assert penalty.status == Penalty.Status.OVERTURNED
    assert Fine.objects.get(penalty=penalty).status == Fine.Status.WAIVED
    assert gate_outcome(customer) == "allow"
    assert customer.scores.count() == scores + 1  # rescored without the violation
    # The appeal against the penalty got what it asked for with the case's.
    penalty_appeal.refresh_from_db()
    assert penalty_appeal.status == Appeal.Status.OVERTURNED
    moot = AuditEntry.objects.get(action="conduct.appeal_decide",
                                  object_id=str(penalty_appeal.pk))
    assert moot.after == {"status": "overturned", "with_appeal": case_appeal.pk}
    actions = list(AuditEntry.objects.filter(customer_id=customer.pk, seq__gt=AuditEntry.objects
                                             .get(action="conduct.appeal_file",
                                                  object_id=str(case_appeal.pk)).seq)
                   .order_by("seq").values_list("action", flat=True))
    assert actions[:2] == ["conduct.case_overturn", "conduct.penalty_overturn"]
    assert "conduct.appeal_decide" in actions and "conduct.effects" in actions


def test_overturning_a_penalty_overturns_the_blacklist_entry_it_proposed(
        customer: Customer, personas: dict[str, User]) -> None:
    penalty = severe_penalty(personas, customer)
    entry = BlacklistEntry.objects.get(penalty=penalty)
    assert entry.status == BlacklistEntry.Status.PROPOSED
    appeal = appeals.file(as_(personas, "customer_service"), penalty, grounds="不服")
    appeals.decide(as_(personas, "sales_manager"), appeal, outcome="overturned", note="撤销")
    entry.refresh_from_db()
    assert entry.status == BlacklistEntry.Status.OVERTURNED
    assert gate_outcome(customer) == "allow"


def test_reduced_replaces_the_penalty_with_a_lighter_step(customer: Customer,
                                                          personas: dict[str, User]) -> None:
    penalty = prepay_penalty(personas, customer)
    assert [step.code for step in appeals.lighter_steps(penalty)] == [
        "FIRST_MINOR_WARNING", "REPEAT_MINOR_REMINDER", "REPEAT_MINOR_RESTRICT"]
    appeal = appeals.file(as_(personas, "customer_service"), penalty, grounds="处罚过重")
    decided = appeals.decide(as_(personas, "sales_manager"), appeal, outcome="reduced",
                             note="情节较轻", lighter_step="repeat_minor_restrict")
    assert decided.status == Appeal.Status.REDUCED
    lighter = decided.replacement
    assert lighter is not None and lighter.step_code == "REPEAT_MINOR_RESTRICT"
    assert lighter.status == Penalty.Status.ACTIVE and lighter.replaces_id == penalty.pk
    assert lighter.approved_by == personas["sales_manager"]
    penalty.refresh_from_db()
    assert penalty.status == Penalty.Status.OVERTURNED
    standing = Standing.objects.get(pk=customer.pk)
    assert standing.penalty_prepay_only is False
    assert standing.penalty_limit_percent == Decimal("50.00")
    assert gate_outcome(customer) == "allow"
    assert Fine.objects.get(penalty=penalty).status == Fine.Status.WAIVED
    assert Fine.objects.get(penalty=lighter).amount == Decimal("2000.00")
    entry = AuditEntry.objects.get(action="conduct.appeal_decide")
    assert entry.after["replacement"] == lighter.pk
    assert entry.after["lighter_step"] == "REPEAT_MINOR_RESTRICT"


@pytest.mark.parametrize(("step", "reason"), [
    ("REPEAT_MAJOR_SUSPEND", "is not lighter"),  # heavier
    ("MAJOR_PREPAY", "is not lighter"),  # the same
    ("NO_SUCH_STEP", "is not a step of the ladder"),
    ("", "choose the lighter step"),
])
def test_reduced_refuses_a_step_that_is_not_lighter(customer: Customer,
                                                    personas: dict[str, User], step: str,
                                                    reason: str) -> None:
    penalty = prepay_penalty(personas, customer)
    appeal = appeals.file(as_(personas, "customer_service"), penalty, grounds="处罚过重")
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused:
        appeals.decide(as_(personas, "sales_manager"), appeal, outcome="reduced", note="减轻",
                       lighter_step=step)
    assert refused.value.field == "lighter_step" and reason in refused.value.message
    assert snapshot() == before


def test_only_a_penalty_in_force_can_be_reduced(customer: Customer,
                                                personas: dict[str, User]) -> None:
    case, _penalty = confirmed_case(personas, customer)
    appeal = appeals.file(as_(personas, "customer_service"), case, grounds="不服")
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused:
        appeals.decide(as_(personas, "sales_manager"), appeal, outcome="reduced", note="减轻",
                       lighter_step="FIRST_MINOR_WARNING")
    assert refused.value.field == "outcome"
    with pytest.raises(ValidationFailed) as refused:
        appeals.decide(as_(personas, "sales_manager"), appeal, outcome="withdrawn", note="x")
    assert refused.value.field == "outcome"
    assert snapshot() == before


def test_upheld_changes_only_the_appeal(customer: Customer,
                                        personas: dict[str, User]) -> None:
    penalty = prepay_penalty(personas, customer)
    appeal = appeals.file(as_(personas, "customer_service"), penalty, grounds="不服")
    before = snapshot()
    appeals.decide(as_(personas, "sales_manager"), appeal, outcome="upheld", note="维持")
    after = snapshot()
    assert after["audit"] == before["audit"] + 1
    assert {key for key in after if after[key] != before[key]} == {"Appeal", "audit"}
    assert gate_outcome(customer) == "prepay_required"
    with pytest.raises(Conflict) as final:  # a decision reviewed on appeal is final
        appeals.file(as_(personas, "customer_service"), penalty, grounds="再次申诉")
    assert final.value.field == "penalty"


def test_withdrawn_leaves_the_decision_and_allows_a_new_appeal(
        customer: Customer, personas: dict[str, User]) -> None:
    penalty = prepay_penalty(personas, customer)
    appeal = appeals.file(as_(personas, "customer_service"), penalty, grounds="不服")
    withdrawn = appeals.withdraw(as_(personas, "customer_service"), appeal, note="客户撤回")
    assert withdrawn.status == Appeal.Status.WITHDRAWN and withdrawn.decided_at is not None
    penalty.refresh_from_db()
    assert penalty.status == Penalty.Status.ACTIVE
    assert gate_outcome(customer) == "prepay_required"
    with pytest.raises(Conflict):
        appeals.withdraw(as_(personas, "customer_service"), appeal, note="再撤")
    with pytest.raises(Conflict):
        appeals.decide(as_(personas, "sales_manager"), appeal, outcome="upheld", note="x")
    again = appeals.file(as_(personas, "customer_service"), penalty, grounds="重新申诉")
    assert again.status == Appeal.Status.FILED
    entry = AuditEntry.objects.get(action="conduct.appeal_withdraw")
    assert entry.reason == "客户撤回" and entry.after == {"status": "withdrawn"}


def test_a_replacement_penalty_is_final(customer: Customer,
                                        personas: dict[str, User]) -> None:
    penalty = prepay_penalty(personas, customer)
    appeal = appeals.file(as_(personas, "customer_service"), penalty, grounds="处罚过重")
    lighter = appeals.decide(as_(personas, "sales_manager"), appeal, outcome="reduced",
                             note="减轻", lighter_step="FIRST_MINOR_WARNING").replacement
    assert lighter is not None
    with pytest.raises(Conflict) as final:
        appeals.file(as_(personas, "customer_service"), lighter, grounds="还要申诉")
    assert final.value.field == "penalty"


# --- reads ------------------------------------------------------------------------------------


def test_overdue_appeals_with_a_frozen_clock(customer: Customer,
                                             personas: dict[str, User]) -> None:
    first = appeals.file(as_(personas, "customer_service"), prepay_penalty(personas, customer),
                         grounds="第一件")
    with clock.frozen_at(later(5)):
        second = appeals.file(as_(personas, "customer_service"), first.penalty.case,
                              grounds="第二件")
    assert appeals.overdue() == []
    with clock.frozen_at(later(10)):  # the first is due today: not overdue yet
        assert appeals.overdue() == []
    with clock.frozen_at(later(11)):
        assert appeals.overdue() == [first]
        assert appeals.is_overdue(first) and not appeals.is_overdue(second)
        assert list(appeals.overdue_appeals(appeals.appeals_for(personas["account_manager"]))) \
            == [first]
        assert not appeals.overdue_appeals(appeals.appeals_for(personas["account_manager_2"]))
        assert list(appeals.not_overdue(Appeal.objects.all())) == [second]
    with clock.frozen_at(later(16)):
        assert appeals.overdue() == [first, second]
        appeals.decide(as_(personas, "sales_manager"), first, outcome="upheld", note="维持")
        assert appeals.overdue() == [second]


def test_appeals_are_scoped_to_the_users_customers(customer: Customer,
                                                   personas: dict[str, User]) -> None:
    penalty = prepay_penalty(personas, customer)
    appeal = appeals.file(as_(personas, "customer_service"), penalty, grounds="不服")
    assert list(appeals.appeals_for(personas["account_manager"])) == [appeal]
    assert list(appeals.appeals_for(personas["auditor"])) == [appeal]
    assert not appeals.appeals_for(personas["account_manager_2"]).exists()
    assert appeals.target_for(personas["account_manager"], "penalty", penalty.pk) == penalty
    assert appeals.target_for(personas["account_manager_2"], "penalty", penalty.pk) is None
    assert appeals.target_for(personas["admin"], "nonsense", penalty.pk) is None
    assert appeals.target_for(personas["admin"], "penalty", "1; drop") is None


def test_every_step_is_in_the_audit_chain(customer: Customer,
                                          personas: dict[str, User]) -> None:
    penalty = prepay_penalty(personas, customer)
    appeal = appeals.file(as_(personas, "customer_service"), penalty, grounds="不服")
    appeals.start_review(as_(personas, "sales_manager"), appeal)
    appeals.decide(as_(personas, "sales_manager"), appeal, outcome="reduced", note="减轻",
                   lighter_step="FIRST_MINOR_WARNING")
    assert list(appeals.history(appeal).values_list("action", flat=True)) == [
        "conduct.appeal_file", "conduct.appeal_review", "conduct.appeal_decide"]
    actions = set(AuditEntry.objects.filter(customer_id=customer.pk)
                  .values_list("action", flat=True))
    assert {"conduct.penalty_overturn", "conduct.penalty_reduce", "conduct.penalty_activate",
            "conduct.effects"} <= actions
    assert verify_chain() is None


# --- decisions that ended while their appeal was open -----------------------------------------


def test_a_penalty_lifted_during_its_appeal_is_still_corrected(
        customer: Customer, personas: dict[str, User]) -> None:
    penalty = prepay_penalty(personas, customer)
    appeal = appeals.file(as_(personas, "customer_service"), penalty, grounds="不服")
    penalties.lift(as_(personas, "credit_manager"), penalty, reason="客户已整改")
    assert gate_outcome(customer) == "allow"
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused:  # no longer in force: nothing to reduce
        appeals.decide(as_(personas, "sales_manager"), appeal, outcome="reduced", note="减轻",
                       lighter_step="FIRST_MINOR_WARNING")
    assert refused.value.field == "outcome"
    assert snapshot() == before
    appeals.decide(as_(personas, "sales_manager"), appeal, outcome="overturned", note="撤销")
    penalty.refresh_from_db()
    assert penalty.status == Penalty.Status.OVERTURNED
    assert Fine.objects.get(penalty=penalty).status == Fine.Status.WAIVED


def test_a_blacklist_entry_expired_during_its_appeal_is_still_corrected(
        customer: Customer, personas: dict[str, User]) -> None:
    entry = active_entry(personas, customer)
    appeal = appeals.file(as_(personas, "customer_service"), entry, grounds="不服")
    assert entry.ends_on is not None
    with clock.frozen_at(later((entry.ends_on - clock.today()).days)):
        assert blacklist.expire_due(Actor.job("conduct.expire_blacklist")) == 1
        appeals.decide(as_(personas, "sales_manager"), appeal, outcome="overturned",
                       note="列入依据不成立")
    entry.refresh_from_db()
    assert entry.status == BlacklistEntry.Status.OVERTURNED
    assert not Standing.objects.get(pk=customer.pk).blacklisted
    overturn = AuditEntry.objects.get(action="conduct.blacklist_overturn")
    assert overturn.before == {"status": "expired"} and overturn.reason == "列入依据不成立"
    assert verify_chain() is None
