"""Manual overrides: the two-person rule above the threshold, activation and its effect on the
standing row, supersession, reject / revoke / expire restoring the computed terms (exactly
once), group limits checked by the gate together with a member's own limit, and bad input
refused with the field named and nothing changed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.credit.models import CreditOverride, CreditScore
from custguard.credit.services import exposure, gate, overrides, scoring
from custguard.credit.tests.test_scoring_support import (
    SYSTEM,
    days_ago,
    good_history,
    new_customer,
    new_group,
    publish_policy,
)
from custguard.customers.models import Customer, GroupStanding, Standing

pytestmark = pytest.mark.django_db
D = Decimal


def in_days(n: int) -> dt.date:
    return clock.today() + dt.timedelta(days=n)


@pytest.fixture
def people(regions: None, make_user: Any, personas: dict[str, User]) -> dict[str, Actor]:
    publish_policy()
    second = make_user("credit_manager", username="credit_manager_2")
    return {"credit": Actor.for_user(personas["credit_manager"]),
            "credit2": Actor.for_user(second),
            "admin": Actor.for_user(personas["admin"]),
            "sales": Actor.for_user(personas["sales_manager"]),
            "auditor": Actor.for_user(personas["auditor"])}


@pytest.fixture
def scored(people: dict[str, Actor]) -> Customer:
    """A customer with a good record, scored: grade A or better, a computed limit."""
    customer = new_customer("授信客户", scale="medium")
    good_history(customer)
    scoring.rescore(SYSTEM, [customer.pk])
    return customer


def standing_terms(customer: Customer) -> dict[str, Any]:
    return dict(Standing.objects.filter(pk=customer.pk).values(
        "credit_limit", "payment_terms_days", "prepay_only", "limit_overridden",
        "terms_overridden").get())


def computed_terms(customer: Customer) -> dict[str, Any]:
    latest = scoring.latest_score(customer.pk)
    assert latest is not None
    return {"credit_limit": latest.credit_limit, "payment_terms_days": latest.payment_terms_days,
            "prepay_only": latest.prepay_only, "limit_overridden": False,
            "terms_overridden": False}


def state() -> dict[str, Any]:
    return {
        "overrides": list(CreditOverride.objects.order_by("pk").values()),
        "standings": list(Standing.objects.order_by("pk").values()),
        "groups": list(GroupStanding.objects.order_by("pk").values()),
        "scores": CreditScore.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def actions_since(seq: int) -> list[str]:
    return list(AuditEntry.objects.filter(seq__gt=seq).order_by("seq")
                .values_list("action", flat=True))


def last_seq() -> int:
    return AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def test_at_or_below_the_threshold_it_is_in_force_at_once(people: dict[str, Actor],
                                                         scored: Customer) -> None:
    seq = last_seq()
    override = overrides.request_override(
        people["credit"], customer=scored, credit_limit="500000.00", payment_terms_days=40,
        reason="大客户季节性备货", expires_on=in_days(90))
    assert override.status == "active" and not override.needs_approval
    assert override.requested_by == people["credit"].user and override.decided_by is None
    assert standing_terms(scored) == {"credit_limit": D("500000.00"), "payment_terms_days": 40,
                                      "prepay_only": False, "limit_overridden": True,
                                      "terms_overridden": True}
    assert actions_since(seq) == ["credit.override_request", "credit.override_apply"]
    request, apply = AuditEntry.objects.filter(seq__gt=seq).order_by("seq")
    assert request.after["credit_limit"] == "500000.00" and request.reason == "大客户季节性备货"
    assert request.after["customer"] == scored.code and request.customer_id == scored.pk
    assert apply.object_type == "customers.standing"
    assert apply.after["credit_limit"] == "500000.00" and apply.after["override"] == override.pk
    # Rescoring keeps it.
    scoring.rescore(SYSTEM, [scored.pk])
    assert standing_terms(scored)["credit_limit"] == D("500000.00")


def test_above_the_threshold_a_second_person_approves(people: dict[str, Actor],
                                                      scored: Customer) -> None:
    before = standing_terms(scored)
    override = overrides.request_override(
        people["credit"], customer=scored, credit_limit="2500000.00", reason="战略合作",
        expires_on=in_days(180))
    assert override.status == "pending" and override.needs_approval
    assert standing_terms(scored) == before  # nothing in force yet

    unchanged = state()
    with pytest.raises(PermissionRefused) as error:
        overrides.approve_override(people["credit"], override)
    assert error.value.field == "override"
    with pytest.raises(PermissionRefused):
        overrides.approve_override(people["sales"], override)
    with pytest.raises(PermissionRefused):
        overrides.approve_override(people["auditor"], override)
    with pytest.raises(PermissionRefused):
        overrides.approve_override(Actor.job("nightly"), override)  # not a person
    assert state() == unchanged

    seq = last_seq()
    approved = overrides.approve_override(people["credit2"], override, note="已核实")
    assert approved.status == "active"
    assert approved.decided_by == people["credit2"].user and approved.decision_note == "已核实"
    assert standing_terms(scored)["credit_limit"] == D("2500000.00")
    assert actions_since(seq) == ["credit.override_approve", "credit.override_apply"]
    with pytest.raises(Conflict) as conflict:
        overrides.approve_override(people["admin"], approved)
    assert conflict.value.field == "status"


def test_terms_longer_than_any_grade_earns_need_approval(people: dict[str, Actor],
                                                         scored: Customer) -> None:
    long = overrides.request_override(people["credit"], customer=scored, payment_terms_days=120,
                                      reason="特殊账期", expires_on=in_days(30))
    assert long.status == "pending"
    overrides.revoke_override(people["credit"], long, reason="撤回")
    short = overrides.request_override(people["credit"], customer=scored, payment_terms_days=90,
                                       reason="账期", expires_on=in_days(30))
    assert short.status == "active"
    terms = standing_terms(scored)
    assert terms["payment_terms_days"] == 90 and terms["terms_overridden"]
    assert not terms["limit_overridden"]


def test_a_new_override_supersedes_the_one_in_force(people: dict[str, Actor],
                                                    scored: Customer) -> None:
    first = overrides.request_override(people["credit"], customer=scored, credit_limit="300000",
                                       reason="第一次", expires_on=in_days(60))
    seq = last_seq()
    second = overrides.request_override(people["admin"], customer=scored, credit_limit="200000",
                                        reason="第二次", expires_on=in_days(60))
    first.refresh_from_db()
    assert (first.status, second.status) == ("revoked", "active")
    assert first.ended_at is not None
    assert standing_terms(scored)["credit_limit"] == D("200000.00")
    assert actions_since(seq) == ["credit.override_request", "credit.override_supersede",
                                  "credit.override_apply"]


def test_one_waiting_request_per_target(people: dict[str, Actor], scored: Customer) -> None:
    waiting = overrides.request_override(people["credit"], customer=scored,
                                         credit_limit="900000", reason="待批",
                                         expires_on=in_days(60))
    before = state()
    with pytest.raises(Conflict) as error:
        overrides.request_override(people["admin"], customer=scored, credit_limit="100",
                                   reason="又一个", expires_on=in_days(60))
    assert error.value.field == "customer" and f"#{waiting.pk}" in error.value.message
    assert state() == before


def test_reject_needs_a_note_and_another_person(people: dict[str, Actor],
                                                scored: Customer) -> None:
    override = overrides.request_override(people["credit"], customer=scored,
                                          credit_limit="900000", reason="待批",
                                          expires_on=in_days(60))
    before = state()
    with pytest.raises(ValidationFailed) as error:
        overrides.reject_override(people["credit2"], override, note="  ")
    assert error.value.field == "note"
    with pytest.raises(PermissionRefused):
        overrides.reject_override(people["credit"], override, note="自己拒绝")
    assert state() == before
    seq = last_seq()
    rejected = overrides.reject_override(people["credit2"], override, note="额度过高")
    assert (rejected.status, rejected.decision_note) == ("rejected", "额度过高")
    assert rejected.decided_by == people["credit2"].user and rejected.ended_at is not None
    assert standing_terms(scored) == computed_terms(scored)
    assert actions_since(seq) == ["credit.override_reject"]


def test_revoking_restores_the_computed_terms(people: dict[str, Actor], scored: Customer) -> None:
    override = overrides.request_override(people["credit"], customer=scored, credit_limit="1",
                                          payment_terms_days=5, reason="临时压降",
                                          expires_on=in_days(10))
    before = state()
    with pytest.raises(ValidationFailed) as error:
        overrides.revoke_override(people["credit"], override, reason="")
    assert error.value.field == "reason"
    with pytest.raises(PermissionRefused):
        overrides.revoke_override(people["auditor"], override, reason="审计")
    assert state() == before
    seq = last_seq()
    overrides.revoke_override(people["credit2"], override, reason="风险解除")
    override.refresh_from_db()
    assert override.status == "revoked"
    assert standing_terms(scored) == computed_terms(scored)
    assert actions_since(seq) == ["credit.override_apply", "credit.override_revoke"]
    with pytest.raises(Conflict):
        overrides.revoke_override(people["credit"], override, reason="再撤")


def test_a_prepay_customer_gets_credit_and_loses_it_again(people: dict[str, Actor]) -> None:
    customer = new_customer("新客户先款后货")  # never scored: scored on the way
    override = overrides.request_override(people["credit"], customer=customer,
                                          credit_limit="50000", reason="首单授信",
                                          expires_on=in_days(30))
    latest = scoring.latest_score(customer.pk)
    assert latest is not None and latest.grade == "C" and latest.prepay_only
    terms = standing_terms(customer)
    assert terms["credit_limit"] == D("50000.00") and terms["prepay_only"] is False
    overrides.revoke_override(people["credit"], override, reason="到期前收回")
    assert standing_terms(customer) == computed_terms(customer)
    assert standing_terms(customer)["prepay_only"] is True


def test_expiry_restores_the_computed_terms_exactly_once(people: dict[str, Actor],
                                                         scored: Customer) -> None:
    active = overrides.request_override(people["credit"], customer=scored, credit_limit="4000",
                                        reason="短期", expires_on=in_days(3))
    other = new_customer("等待审批")
    waiting = overrides.request_override(people["credit"], customer=other,
                                         credit_limit="8000000", reason="待批",
                                         expires_on=in_days(3))
    assert overrides.expire_overrides(SYSTEM, in_days(2)) == 0  # not yet
    seq = last_seq()
    assert overrides.expire_overrides(SYSTEM, in_days(3)) == 2
    active.refresh_from_db()
    waiting.refresh_from_db()
    assert (active.status, waiting.status) == ("expired", "expired")
    assert standing_terms(scored) == computed_terms(scored)
    assert actions_since(seq) == ["credit.override_apply", "credit.override_expire",
                                  "credit.override_expire"]
    again = state()
    assert overrides.expire_overrides(SYSTEM, in_days(3)) == 0
    assert overrides.expire_overrides(SYSTEM, in_days(30)) == 0
    assert state() == again
    with pytest.raises(PermissionRefused):
        overrides.expire_overrides(people["auditor"], in_days(3))


def test_an_expired_request_cannot_be_approved(people: dict[str, Actor],
                                               scored: Customer) -> None:
    override = overrides.request_override(people["credit"], customer=scored,
                                          credit_limit="900000", reason="待批",
                                          expires_on=in_days(1))
    CreditOverride.objects.filter(pk=override.pk).update(expires_on=clock.today())
    before = state()
    with pytest.raises(Conflict) as error:
        overrides.approve_override(people["credit2"], override)
    assert error.value.field == "expires_on"
    assert state() == before


# --- groups -----------------------------------------------------------------------------------


def test_a_member_order_must_fit_its_own_and_the_group_limit(people: dict[str, Actor]) -> None:
    parent, member = new_customer("集团母公司"), new_customer("集团子公司")
    for customer in (parent, member):
        good_history(customer)
    group = new_group("统一授信集团", parent, [member])
    scoring.rescore(SYSTEM, [parent.pk, member.pk])

    override = overrides.request_override(people["credit"], group=group,
                                          credit_limit="800000.00", reason="集团统一授信",
                                          expires_on=in_days(365))
    assert override.status == "pending"
    assert GroupStanding.objects.get(pk=group.pk).has_limit is False
    overrides.approve_override(people["credit2"], override)
    row = GroupStanding.objects.get(pk=group.pk)
    assert (row.has_limit, row.credit_limit) == (True, D("800000.00"))
    overrides.request_override(people["credit"], customer=member, credit_limit="100000.00",
                               reason="子公司分项额度", expires_on=in_days(365))
    exposure.add_posted(parent.pk, D("700000.00"))

    def ask(amount: str) -> tuple[str, list[str]]:
        answer = gate.check(SYSTEM, member, amount)
        return answer.check.outcome, [r["code"] for r in answer.check.reasons]

    assert ask("90000") == ("allow", ["WITHIN_LIMIT"])  # 90k of 105k own, 790k of 840k group
    assert ask("150000") == ("hold", ["LIMIT_EXCEEDED", "GROUP_LIMIT_EXCEEDED"])
    exposure.add_posted(parent.pk, D("50000.00"))
    assert ask("104000") == ("hold", ["GROUP_LIMIT_EXCEEDED"])  # own fits, the group's not

    overrides.expire_overrides(SYSTEM, in_days(365))
    row = GroupStanding.objects.get(pk=group.pk)
    assert (row.has_limit, row.credit_limit) == (False, D("0.00"))
    assert ask("104000") == ("allow", ["WITHIN_LIMIT"])


def test_a_group_at_the_threshold_needs_no_second_person(people: dict[str, Actor]) -> None:
    parent = new_customer("小集团")
    group = new_group("小集团", parent)
    override = overrides.request_override(people["credit"], group=group, credit_limit="500000",
                                          reason="统一授信", expires_on=in_days(30))
    assert override.status == "active"
    entry = AuditEntry.objects.filter(action="credit.override_apply").latest("seq")
    assert entry.object_type == "customers.groupstanding" and entry.customer_id == parent.pk
    overrides.revoke_override(people["credit"], override, reason="收回")
    assert GroupStanding.objects.get(pk=group.pk).has_limit is False


# --- bad input --------------------------------------------------------------------------------


BAD = [
    ({"credit_limit": "-1"}, "credit_limit"),
    ({"credit_limit": "12.345"}, "credit_limit"),
    ({"credit_limit": "lots"}, "credit_limit"),
    ({"credit_limit": "NaN"}, "credit_limit"),
    ({"credit_limit": "100000000000000"}, "credit_limit"),
    ({"credit_limit": None, "payment_terms_days": None}, "credit_limit"),
    ({"payment_terms_days": -1}, "payment_terms_days"),
    ({"payment_terms_days": 3651}, "payment_terms_days"),
    ({"payment_terms_days": "thirty"}, "payment_terms_days"),
    ({"payment_terms_days": True}, "payment_terms_days"),
    ({"reason": "   "}, "reason"),
    ({"reason": "x" * 2001}, "reason"),
    ({"expires_on": None}, "expires_on"),
    ({"expires_on": "soon"}, "expires_on"),
    ({"expires_on": "today"}, "expires_on"),
    ({"expires_on": "past"}, "expires_on"),
    ({"expires_on": "too_far"}, "expires_on"),
]


@pytest.mark.parametrize(("change", "field"), BAD, ids=[f"{f}:{c}" for c, f in BAD])
def test_bad_input_names_the_field_and_changes_nothing(people: dict[str, Actor],
                                                       scored: Customer,
                                                       change: dict[str, Any],
                                                       field: str) -> None:
    days = {"today": clock.today(), "past": days_ago(1),
            "too_far": overrides.one_year_after(clock.today()) + dt.timedelta(days=1)}
    values: dict[str, Any] = {"customer": scored, "credit_limit": "1000", "reason": "原因",
                              "expires_on": in_days(30)} | change
    if isinstance(values["expires_on"], str) and values["expires_on"] in days:
        values["expires_on"] = days[values["expires_on"]]
    before = state()
    with pytest.raises(ValidationFailed) as error:
        overrides.request_override(people["credit"], **values)
    assert error.value.field == field
    assert state() == before


def test_targets(people: dict[str, Actor], scored: Customer) -> None:
    group = new_group("目标集团", scored)
    before = state()
    for values, field in [
        ({"customer": scored, "group": group, "credit_limit": "1"}, "customer"),
        ({"credit_limit": "1"}, "customer"),
        ({"group": group, "payment_terms_days": 30, "credit_limit": "1"}, "payment_terms_days"),
        ({"group": group, "credit_limit": None}, "credit_limit"),
    ]:
        with pytest.raises(ValidationFailed) as error:
            overrides.request_override(people["credit"], reason="原因",
                                       expires_on=in_days(5), **values)
        assert error.value.field == field, values
    with pytest.raises(PermissionRefused):
        overrides.request_override(people["sales"], customer=scored, credit_limit="1",
                                   reason="原因", expires_on=in_days(5))
    assert state() == before


def test_a_year_at_most(people: dict[str, Actor], scored: Customer) -> None:
    latest = overrides.one_year_after(clock.today())
    override = overrides.request_override(people["credit"], customer=scored, credit_limit="10",
                                          reason="一年", expires_on=latest.isoformat())
    assert override.expires_on == latest
    assert overrides.one_year_after(dt.date(2024, 2, 29)) == dt.date(2025, 2, 28)
