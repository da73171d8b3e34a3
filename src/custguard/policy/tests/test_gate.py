"""The order gate's pure decision: every reason, their precedence, the tolerance boundary, group
limits, overdue days, not-rated and prepay-only customers; and properties that must hold for
any input (hypothesis)."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custguard.policy import PolicyDocument, load_default_policy
from custguard.policy.gate import (
    Exposure,
    GateOutcome,
    GateRequest,
    ceiling,
    decide,
    tolerance_factor,
)

from .support import default_data

D = Decimal


@cache
def policy_with(**credit: Any) -> PolicyDocument:
    """The default policy with some credit settings changed."""
    data = default_data()
    data["credit"].update(credit)
    return PolicyDocument.model_validate(data)


DEFAULT = load_default_policy()


def exposure(limit: str, posted: str = "0", reserved: str = "0") -> Exposure:
    return Exposure(credit_limit=D(limit), posted=D(posted), reserved=D(reserved))


def request(amount: str = "100", *, customer: Exposure | None = None,
            group: Exposure | None = None, grade: str = "A", **flags: Any) -> GateRequest:
    return GateRequest(amount=D(amount), customer=customer or exposure("10000"), group=group,
                       grade=grade, **flags)


def codes(decision: Any) -> list[str]:
    return [reason.code for reason in decision.reasons]


# --- each reason ------------------------------------------------------------------------------


def test_an_order_within_the_limit_is_allowed_with_the_credit_left() -> None:
    decision = decide(DEFAULT, request("2500", customer=exposure("10000", "3000", "1000")))
    assert decision.outcome == GateOutcome.ALLOW
    assert codes(decision) == ["WITHIN_LIMIT"]
    assert decision.reasons[0].params == {"amount": D("2500"), "available_after": D("3500")}
    assert decision.available_customer == D("6000")
    assert decision.available_group is None


@pytest.mark.parametrize(("flag", "code"), [
    ("closed", "CUSTOMER_CLOSED"),
    ("blacklisted", "BLACKLISTED"),
    ("order_blocked", "ORDER_BLOCKED"),
    ("service_suspended", "SERVICE_SUSPENDED"),
])
def test_a_blocking_state_denies(flag: str, code: str) -> None:
    flags: dict[str, Any] = {flag: True}
    decision = decide(DEFAULT, request(**flags))
    assert decision.outcome == GateOutcome.DENY
    assert codes(decision) == [code]


def test_over_the_limit_is_held_by_default_with_the_shortfall() -> None:
    # limit 10,000 + 5% tolerance = 10,500 ceiling; 9,000 used + 2,000 asked = 11,000
    decision = decide(DEFAULT, request("2000", customer=exposure("10000", "8000", "1000")))
    assert decision.outcome == GateOutcome.HOLD
    assert codes(decision) == ["LIMIT_EXCEEDED"]
    assert decision.reasons[0].params == {
        "amount": D("2000"), "limit": D("10000"), "used": D("9000"), "available": D("1000"),
        "tolerance_percent": D("5"), "shortfall": D("500.00")}


def test_over_the_limit_is_denied_when_the_policy_says_so() -> None:
    policy = policy_with(over_limit_action="DENY")
    decision = decide(policy, request("20000"))
    assert decision.outcome == GateOutcome.DENY
    assert codes(decision) == ["LIMIT_EXCEEDED"]


def test_the_tolerance_boundary_is_exactly_the_ceiling() -> None:
    customer = exposure("10000", "4000", "1000")
    assert ceiling(DEFAULT, D("10000")) == D("10500.00")
    at_ceiling = decide(DEFAULT, request("5500.00", customer=customer))
    assert at_ceiling.outcome == GateOutcome.ALLOW
    one_cent_more = decide(DEFAULT, request("5500.01", customer=customer))
    assert one_cent_more.outcome == GateOutcome.HOLD
    assert one_cent_more.reasons[0].params["shortfall"] == D("0.01")


def test_without_tolerance_the_ceiling_is_the_limit() -> None:
    policy = policy_with(tolerance_percent=0)
    assert tolerance_factor(policy) == 1
    assert decide(policy, request("10000")).outcome == GateOutcome.ALLOW
    assert decide(policy, request("10000.01")).outcome == GateOutcome.HOLD


def test_a_fractional_ceiling_is_rounded_down_to_the_cent() -> None:
    # 100.01 * 1.05 = 105.0105: exposure may reach 105.01, not 105.02
    assert ceiling(DEFAULT, D("100.01")) == D("105.01")
    customer = exposure("100.01")
    assert decide(DEFAULT, request("105.01", customer=customer)).outcome == GateOutcome.ALLOW
    assert decide(DEFAULT, request("105.02", customer=customer)).outcome == GateOutcome.HOLD


def test_the_group_limit_counts_all_members() -> None:
    group = exposure("50000", "30000", "15000")  # 5,000 left, ceiling 52,500
    allowed = decide(DEFAULT, request("7500", group=group))
    assert allowed.outcome == GateOutcome.ALLOW
    assert allowed.available_group == D("5000")
    held = decide(DEFAULT, request("7500.01", group=group))
    assert held.outcome == GateOutcome.HOLD
    assert codes(held) == ["GROUP_LIMIT_EXCEEDED"]
    assert held.reasons[0].params["shortfall"] == D("0.01")


def test_both_limits_exceeded_gives_both_reasons_customer_first() -> None:
    decision = decide(DEFAULT, request("20000", group=exposure("15000")))
    assert decision.outcome == GateOutcome.HOLD
    assert codes(decision) == ["LIMIT_EXCEEDED", "GROUP_LIMIT_EXCEEDED"]


def test_overdue_over_the_policys_days_is_denied() -> None:
    limit_days = DEFAULT.credit.overdue_days_limit
    assert decide(DEFAULT, request(days_past_due=limit_days)).outcome == GateOutcome.ALLOW
    decision = decide(DEFAULT, request(days_past_due=limit_days + 1))
    assert decision.outcome == GateOutcome.DENY
    assert codes(decision) == [f"OVERDUE_GT_{limit_days}D"]
    assert decision.reasons[0].params == {"days_past_due": limit_days + 1,
                                          "limit_days": limit_days}


def test_overdue_follows_the_policys_days_and_action() -> None:
    policy = policy_with(overdue_days_limit=30, overdue_action="HOLD")
    decision = decide(policy, request(days_past_due=31))
    assert decision.outcome == GateOutcome.HOLD
    assert codes(decision) == ["OVERDUE_GT_30D"]


def test_a_customer_without_a_grade_must_prepay() -> None:
    decision = decide(DEFAULT, request("1", grade=""))
    assert decision.outcome == GateOutcome.PREPAY_REQUIRED
    assert codes(decision) == ["NOT_RATED"]


@pytest.mark.parametrize("grade", ["C", "D"])
def test_a_prepay_grade_must_prepay_whatever_its_limit(grade: str) -> None:
    # Scoring sets the standing's prepay flag for these grades.
    decision = decide(DEFAULT, request("999999", grade=grade, prepay_only=True))
    assert decision.outcome == GateOutcome.PREPAY_REQUIRED
    assert codes(decision) == ["PREPAY_ONLY_GRADE"]
    assert decision.reasons[0].params == {"grade": grade}


def test_a_limit_override_lifts_the_prepay_grade() -> None:
    """A credit manager's limit for a grade C customer clears the standing's prepay flag: the
    gate then checks the limit like any other."""
    allowed = decide(DEFAULT, request("1000", customer=exposure("5000"), grade="C",
                                      prepay_only=False))
    assert allowed.outcome == GateOutcome.ALLOW
    over = decide(DEFAULT, request("1000", customer=exposure("500"), grade="C",
                                   prepay_only=False))
    assert codes(over) == ["LIMIT_EXCEEDED"]


def test_a_prepay_only_standing_must_prepay() -> None:
    decision = decide(DEFAULT, request(prepay_only=True))
    assert decision.outcome == GateOutcome.PREPAY_REQUIRED
    assert codes(decision) == ["PREPAY_ONLY"]


# --- precedence -------------------------------------------------------------------------------


def test_deny_comes_before_prepay_and_hold() -> None:
    decision = decide(DEFAULT, request("20000", grade="", blacklisted=True))
    assert decision.outcome == GateOutcome.DENY
    assert codes(decision) == ["BLACKLISTED", "NOT_RATED"]


def test_prepay_comes_before_hold_and_skips_the_limits() -> None:
    # prepayment makes the limit irrelevant: no LIMIT_EXCEEDED next to PREPAY_ONLY
    decision = decide(DEFAULT, request("20000", prepay_only=True))
    assert decision.outcome == GateOutcome.PREPAY_REQUIRED
    assert codes(decision) == ["PREPAY_ONLY"]


def test_hold_by_overdue_and_by_limit_are_both_reported() -> None:
    policy = policy_with(overdue_action="HOLD")
    decision = decide(policy, request("20000", days_past_due=120))
    assert decision.outcome == GateOutcome.HOLD
    assert codes(decision) == ["OVERDUE_GT_90D", "LIMIT_EXCEEDED"]


def test_every_deny_reason_is_listed_most_severe_first() -> None:
    decision = decide(DEFAULT, request(
        "20000", closed=True, blacklisted=True, order_blocked=True, service_suspended=True,
        days_past_due=200, prepay_only=True))
    assert decision.outcome == GateOutcome.DENY
    assert codes(decision) == ["CUSTOMER_CLOSED", "BLACKLISTED", "ORDER_BLOCKED",
                               "SERVICE_SUSPENDED", "OVERDUE_GT_90D", "PREPAY_ONLY"]


def test_outcomes_are_ranked_allow_hold_prepay_deny() -> None:
    assert [o.value for o in GateOutcome.ordered()] == [
        "allow", "hold", "prepay_required", "deny"]


# --- properties -------------------------------------------------------------------------------

cents = st.integers(min_value=1, max_value=10**11).map(lambda n: D(n).scaleb(-2))
money0 = st.integers(min_value=0, max_value=10**11).map(lambda n: D(n).scaleb(-2))
grades = st.sampled_from(["", "AAA", "AA", "A", "BBB", "BB", "B", "C", "D"])
policies = st.sampled_from([
    DEFAULT,
    policy_with(over_limit_action="DENY"),
    policy_with(tolerance_percent=0),
    policy_with(tolerance_percent="12.5", overdue_action="HOLD", overdue_days_limit=30),
])


@st.composite
def exposures(draw: st.DrawFn) -> Exposure:
    return Exposure(credit_limit=draw(money0), posted=draw(money0), reserved=draw(money0))


@st.composite
def requests(draw: st.DrawFn) -> GateRequest:
    return GateRequest(
        amount=draw(cents), customer=draw(exposures()),
        group=draw(st.none() | exposures()), grade=draw(grades),
        closed=draw(st.booleans()), blacklisted=draw(st.booleans()),
        order_blocked=draw(st.booleans()), service_suspended=draw(st.booleans()),
        prepay_only=draw(st.booleans()), days_past_due=draw(st.integers(0, 1000)))


def _with(req: GateRequest, **changes: Any) -> GateRequest:
    values = {name: getattr(req, name) for name in GateRequest.__dataclass_fields__}
    values.update(changes)
    return GateRequest(**values)


@settings(max_examples=400)
@given(policy=policies, req=requests())
def test_allowing_never_takes_exposure_above_the_ceiling(policy: PolicyDocument,
                                                         req: GateRequest) -> None:
    decision = decide(policy, req)
    if decision.outcome == GateOutcome.ALLOW:
        assert req.customer.used + req.amount <= ceiling(policy, req.customer.credit_limit)
        if req.group is not None:
            assert req.group.used + req.amount <= ceiling(policy, req.group.credit_limit)


@settings(max_examples=400)
@given(policy=policies, req=requests(), more=cents)
def test_a_larger_amount_never_gets_a_milder_outcome(policy: PolicyDocument, req: GateRequest,
                                                     more: Decimal) -> None:
    smaller = decide(policy, req)
    larger = decide(policy, _with(req, amount=req.amount + more))
    assert larger.outcome.rank >= smaller.outcome.rank


@settings(max_examples=400)
@given(policy=policies, req=requests(), more=st.integers(1, 1000))
def test_more_overdue_days_never_get_a_milder_outcome(policy: PolicyDocument,
                                                      req: GateRequest, more: int) -> None:
    fewer = decide(policy, req)
    later = decide(policy, _with(req, days_past_due=req.days_past_due + more))
    assert later.outcome.rank >= fewer.outcome.rank


@settings(max_examples=200)
@given(policy=policies, req=requests())
def test_the_outcome_is_the_most_severe_reason_and_reasons_are_never_empty(
        policy: PolicyDocument, req: GateRequest) -> None:
    decision = decide(policy, req)
    assert decision.reasons
    assert decision == decide(policy, req)  # deterministic
    if decision.outcome == GateOutcome.ALLOW:
        assert codes(decision) == ["WITHIN_LIMIT"]
    else:
        assert "WITHIN_LIMIT" not in codes(decision)
