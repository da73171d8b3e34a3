"""The conduct decisions of policy/conduct.py: which rung of the ladder confirmed violations
reach (with reason codes and their numbers), what active penalties do to the standing, who may
approve, fines, periods, recency-weighted points, blacklist criteria and deadlines.

Property tests (hypothesis), as issue 4 asks:
- a further confirmed violation never produces a lighter measure than the one before within
  the window: histories of violations are generated, the ladder's step is taken on the day of
  the last one, then one more violation follows at or after it, while the violations that
  reached that step are still inside its window; the new step is never milder;
- the recommendation is deterministic (the same violations in any order give the same step and
  reasons);
- weighted points never increase as time passes;
- effects_of is monotone in the set of penalties (more penalties never loosen a restriction).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from custguard.policy import load_default_policy, validate_policy_data
from custguard.policy.codes import Measure, RoleCode, Severity
from custguard.policy.conduct import (
    BlacklistFacts,
    ViolationFact,
    appeal_deadline,
    approver_roles,
    blacklist_matches,
    count_towards,
    effects_of,
    ends_on,
    fine_for,
    recommend,
    response_due,
    review_due,
    step_reason,
    weighted_points,
)
from custguard.policy.schema import PenaltyStep, PolicyDocument
from custguard.policy.tests.support import default_data

POLICY = load_default_policy()
DAY = dt.date(2025, 6, 30)
TYPES = {kind.code: kind for kind in POLICY.violation_types}


def fact(code: str, days_ago: int = 0, on: dt.date = DAY) -> ViolationFact:
    kind = TYPES[code]
    return ViolationFact(code=code, severity=kind.severity, points=kind.points,
                         occurred_on=on - dt.timedelta(days=days_ago))


def step_code(violations: list[ViolationFact], as_of: dt.date = DAY) -> str | None:
    outcome = recommend(POLICY, violations, as_of).outcome
    return outcome.code if outcome is not None else None


def rank(step: PenaltyStep | None) -> int:
    return -1 if step is None else step.severity.rank


# --- the ladder -------------------------------------------------------------------------------


def test_the_default_ladder_runs_from_the_mildest_up() -> None:
    ranks = [step.severity.rank for step in POLICY.penalty_ladder]
    assert ranks == sorted(ranks)
    assert POLICY.penalty_step("REPEAT_MINOR_RESTRICT").severity == Measure.CREDIT_LIMIT_REDUCTION
    assert POLICY.penalty_step("CRITICAL_TERMINATE").severity == Measure.LEGAL_REFERRAL


def test_no_violation_reaches_no_step() -> None:
    decision = recommend(POLICY, [], DAY)
    assert decision.outcome is None
    assert [(r.code, dict(r.params)) for r in decision.reasons] == [
        ("NO_STEP_REACHED", {"violations": 0})]


@pytest.mark.parametrize(("history", "expected"), [
    (["LATE_PAYMENT"], "FIRST_MINOR_WARNING"),
    (["LATE_PAYMENT", "LATE_RECONCILIATION"], "REPEAT_MINOR_REMINDER"),
    (["LATE_PAYMENT", "LATE_RECONCILIATION", "UNJUSTIFIED_REJECTION"], "REPEAT_MINOR_RESTRICT"),
    (["CROSS_REGION_SALES"], "MAJOR_PREPAY"),
    (["CROSS_REGION_SALES", "PRICE_DISRUPTION"], "REPEAT_MAJOR_SUSPEND"),
    (["MALICIOUS_DEFAULT"], "SEVERE_SUSPEND"),
    (["MALICIOUS_DEFAULT", "RETURN_FRAUD"], "REPEAT_SEVERE_TERMINATE"),
    (["COUNTERFEIT_GOODS"], "CRITICAL_TERMINATE"),
    # a major violation counts as a minor one too: the more severe step wins
    (["LATE_PAYMENT", "LATE_PAYMENT", "CROSS_REGION_SALES"], "MAJOR_PREPAY"),
])
def test_the_default_ladder_on_recent_violations(history: list[str], expected: str) -> None:
    violations = [fact(code, days_ago=i * 3) for i, code in enumerate(history)]
    assert step_code(violations) == expected


def test_the_third_minor_violation_gives_its_reason_with_the_numbers() -> None:
    violations = [fact("LATE_PAYMENT", 0), fact("LATE_PAYMENT", 60), fact("LATE_PAYMENT", 170)]
    decision = recommend(POLICY, violations, DAY)
    assert decision.outcome is not None and decision.outcome.code == "REPEAT_MINOR_RESTRICT"
    (reason,) = decision.reasons
    assert reason.code == "REPEAT_MINOR_3_IN_180D"
    assert dict(reason.params) == {"step": "REPEAT_MINOR_RESTRICT", "count": 3, "min_count": 3,
                                   "window_days": 180, "min_severity": "MINOR"}
    params = reason.as_dict()["params"]
    assert isinstance(params, dict) and params["count"] == 3


def test_a_single_violation_step_is_named_after_its_severity() -> None:
    decision = recommend(POLICY, [fact("CROSS_REGION_SALES")], DAY)
    assert [r.code for r in decision.reasons] == ["MAJOR_VIOLATION"]
    assert decision.reasons[0].params["count"] == 1


def test_the_window_includes_as_of_and_excludes_its_first_day() -> None:
    trigger = POLICY.penalty_step("REPEAT_MINOR_RESTRICT").trigger  # 3 within 180 days
    inside = [fact("LATE_PAYMENT", 0), fact("LATE_PAYMENT", 1), fact("LATE_PAYMENT", 179)]
    assert count_towards(trigger, inside, DAY) == 3
    on_the_edge = [*inside[:2], fact("LATE_PAYMENT", 180)]
    assert count_towards(trigger, on_the_edge, DAY) == 2
    assert step_code(on_the_edge) == "REPEAT_MINOR_REMINDER"
    future = [fact("LATE_PAYMENT", -1)]  # after as_of: not counted
    assert count_towards(trigger, future, DAY) == 0


def test_violations_older_than_the_window_no_longer_count() -> None:
    old = [fact("LATE_PAYMENT", 400), fact("LATE_PAYMENT", 410)]
    assert step_code(old) is None
    assert step_code([*old, fact("LATE_PAYMENT", 0)]) == "FIRST_MINOR_WARNING"


def test_step_reason_spells_the_window_and_count() -> None:
    step = POLICY.penalty_step("REPEAT_MAJOR_SUSPEND")
    assert step_reason(step, 2).code == "REPEAT_MAJOR_2_IN_365D"
    assert step_reason(POLICY.penalty_step("SEVERE_SUSPEND"), 1).code == "SEVERE_VIOLATION"


# --- fines, periods, approvers ----------------------------------------------------------------


def test_a_fine_comes_from_the_contract_clause_where_one_exists() -> None:
    step = POLICY.penalty_step("MAJOR_PREPAY")
    assert fine_for(step, None) == Decimal("5000.00")
    assert fine_for(step, Decimal("1234.50")) == Decimal("1234.50")
    assert fine_for(step, Decimal("0.00")) == Decimal("0.00")  # the contract waives it
    warning = POLICY.penalty_step("FIRST_MINOR_WARNING")
    assert fine_for(warning, Decimal("999.00")) == Decimal("0")  # no FINE measure


def test_a_penalty_ends_after_its_duration_and_termination_lasts() -> None:
    start = dt.date(2025, 1, 31)
    assert ends_on(POLICY.penalty_step("REPEAT_MINOR_RESTRICT"), start) == dt.date(2025, 3, 2)
    assert ends_on(POLICY.penalty_step("CRITICAL_TERMINATE"), start) is None


def test_approvers_must_be_allowed_for_every_measure() -> None:
    assert approver_roles(POLICY, [Measure.WARNING]) == {
        RoleCode.ADMIN, RoleCode.CREDIT_MANAGER, RoleCode.SALES_MANAGER,
        RoleCode.ACCOUNT_MANAGER}
    assert approver_roles(POLICY, [Measure.FINE, Measure.PREPAY_ONLY]) == {
        RoleCode.ADMIN, RoleCode.CREDIT_MANAGER}
    assert approver_roles(POLICY, [Measure.FINE, Measure.TERMINATION,
                                   Measure.LEGAL_REFERRAL]) == {RoleCode.ADMIN}
    assert approver_roles(POLICY, []) == frozenset()


def test_deadlines_follow_the_policy() -> None:
    notified = dt.date(2025, 6, 1)
    assert appeal_deadline(POLICY, notified) == notified + dt.timedelta(
        days=POLICY.appeals.window_days)
    assert review_due(POLICY, notified) == notified + dt.timedelta(
        days=POLICY.appeals.review_sla_days)
    assert response_due(POLICY, notified) == dt.date(2025, 6, 16)


# --- effects on the standing ------------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    """A penalty as effects_of sees it."""

    measures: tuple[str, ...]
    credit_limit_percent: Decimal = Decimal(100)


def test_effects_combine_flags_and_take_the_lowest_share_of_the_limit() -> None:
    effects = effects_of([Held(("WARNING",)),
                          Held(("CREDIT_LIMIT_REDUCTION",), Decimal(50)),
                          Held(("CREDIT_LIMIT_REDUCTION", "PREPAY_ONLY"), Decimal(70))])
    assert effects.credit_limit_percent == Decimal(50)
    assert effects.prepay_only and not effects.order_blocked and effects.restricts
    # a percentage without the measure does nothing
    assert effects_of([Held(("FINE",), Decimal(10))]).credit_limit_percent == Decimal(100)
    assert not effects_of([Held(("WARNING", "FINE"))]).restricts


def test_termination_blocks_orders_suspends_service_and_freezes_points() -> None:
    effects = effects_of([Held(("FINE", "TERMINATION"))])
    assert effects.order_blocked and effects.service_suspended and effects.points_frozen
    assert not effects.prepay_only


def test_weighted_points_by_recency_band() -> None:
    violations = [fact("LATE_PAYMENT", 10), fact("CROSS_REGION_SALES", 200),
                  fact("MALICIOUS_DEFAULT", 500), fact("COUNTERFEIT_GOODS", 800)]
    # 1 × 1 + 3 × 0.5 + 6 × 0.25 + 10 × 0 (older than every band)
    assert weighted_points(POLICY, violations, DAY) == Decimal("4.00")
    assert weighted_points(POLICY, [fact("LATE_PAYMENT", 180)], DAY) == Decimal("1.00")
    assert weighted_points(POLICY, [fact("LATE_PAYMENT", 181)], DAY) == Decimal("0.50")
    assert weighted_points(POLICY, [fact("LATE_PAYMENT", -3)], DAY) == Decimal("0.00")


# --- blacklist criteria -----------------------------------------------------------------------


def test_blacklist_criteria_report_their_evidence() -> None:
    facts = BlacklistFacts(as_of=DAY, overdue_beyond={90: Decimal("60000.00")},
                           violations=(fact("MALICIOUS_DEFAULT", 10), fact("RETURN_FRAUD", 40),
                                       fact("FALSE_INFORMATION", 100)))
    found = {m.criterion.code: m for m in blacklist_matches(POLICY, facts)}
    assert set(found) == {"OVERDUE_GT_90D", "REPEAT_SEVERE_VIOLATION", "FRAUD_OR_COUNTERFEIT"}
    assert found["OVERDUE_GT_90D"].reason.params["overdue_amount"] == Decimal("60000.00")
    assert found["REPEAT_SEVERE_VIOLATION"].reason.params["count"] == 3
    assert found["FRAUD_OR_COUNTERFEIT"].reason.params["violations"] == "FALSE_INFORMATION"
    assert found["FRAUD_OR_COUNTERFEIT"].duration_days == 1825
    assert found["OVERDUE_GT_90D"].duration_days == POLICY.blacklist.default_duration_days


def test_blacklist_criteria_not_met() -> None:
    facts = BlacklistFacts(as_of=DAY, overdue_beyond={90: Decimal("49999.99")},
                           violations=(fact("MALICIOUS_DEFAULT", 10),
                                       fact("RETURN_FRAUD", 400)))
    assert blacklist_matches(POLICY, facts) == []


def test_a_ladder_that_gets_milder_is_refused() -> None:
    data = default_data()
    ladder = data["penalty_ladder"]
    ladder[0], ladder[3] = ladder[3], ladder[0]
    assert any(p.path.startswith("penalty_ladder") for p in validate_policy_data(data))


# --- properties -------------------------------------------------------------------------------

SPAN = 800  # days of history generated
CODES = sorted(TYPES)


@st.composite
def histories(draw: st.DrawFn) -> list[ViolationFact]:
    """Confirmed violations of the default catalogue, oldest first, on days 0..SPAN after a
    fixed start (several on one day allowed)."""
    count = draw(st.integers(min_value=0, max_value=8))
    days = sorted(draw(st.lists(st.integers(0, SPAN), min_size=count, max_size=count)))
    start = DAY - dt.timedelta(days=SPAN)
    # Minor violations are the common case; the ladder's repeat steps need several.
    codes = st.sampled_from(CODES) | st.sampled_from(
        ["LATE_PAYMENT", "LATE_RECONCILIATION", "UNJUSTIFIED_REJECTION"])
    return [ViolationFact(code=kind.code, severity=kind.severity, points=kind.points,
                          occurred_on=start + dt.timedelta(days=day))
            for day, kind in ((day, TYPES[draw(codes)]) for day in days)]


def _counted(policy: PolicyDocument, step: PenaltyStep, violations: list[ViolationFact],
             as_of: dt.date) -> list[ViolationFact]:
    trigger = step.trigger
    return [v for v in violations if v.severity.rank >= trigger.min_severity.rank
            and as_of - dt.timedelta(days=trigger.window_days) < v.occurred_on <= as_of]


@settings(max_examples=400, deadline=None)
@given(history=histories(), code=st.sampled_from(CODES), data=st.data())
def test_a_further_violation_within_the_window_never_brings_a_milder_step(
        history: list[ViolationFact], code: str, data: st.DataObject) -> None:
    assume(history)
    last = history[-1].occurred_on
    before = recommend(POLICY, history, last).outcome
    if before is None:
        latest_allowed = last + dt.timedelta(days=365)
    else:
        # the violations that reached the step stay inside its window
        counted = _counted(POLICY, before, history, last)
        latest_allowed = min(v.occurred_on for v in counted) + dt.timedelta(
            days=before.trigger.window_days - 1)
    gap = data.draw(st.integers(min_value=0, max_value=(latest_allowed - last).days))
    kind = TYPES[code]
    further = ViolationFact(code=code, severity=kind.severity, points=kind.points,
                            occurred_on=last + dt.timedelta(days=gap))
    after = recommend(POLICY, [*history, further], further.occurred_on).outcome
    assert after is not None
    assert rank(after) >= rank(before), (before, after)
    ladder = [step.code for step in POLICY.penalty_ladder]
    if before is not None:  # it is the same step or one further up the ladder
        assert ladder.index(after.code) >= ladder.index(before.code)


@settings(max_examples=200, deadline=None)
@given(history=histories(), shuffled=st.randoms(use_true_random=False),
       offset=st.integers(0, 400))
def test_the_recommendation_is_deterministic(history: list[ViolationFact],
                                             shuffled: random.Random, offset: int) -> None:
    as_of = DAY - dt.timedelta(days=SPAN) + dt.timedelta(days=offset + 400)
    first = recommend(POLICY, history, as_of)
    again = recommend(POLICY, list(history), as_of)
    reordered = list(history)
    shuffled.shuffle(reordered)
    other = recommend(POLICY, reordered, as_of)
    assert first == again == other
    assert first.reasons == other.reasons


@settings(max_examples=200, deadline=None)
@given(history=histories(), later=st.integers(0, 1200), step=st.integers(0, 400))
def test_weighted_points_never_increase_as_time_passes(history: list[ViolationFact],
                                                       later: int, step: int) -> None:
    newest = max((v.occurred_on for v in history), default=DAY)
    first = newest + dt.timedelta(days=later)
    second = first + dt.timedelta(days=step)
    assert weighted_points(POLICY, history, second) <= weighted_points(POLICY, history, first)
    assert weighted_points(POLICY, history, first) >= 0


measures = st.sampled_from([m.value for m in Measure])
held = st.builds(Held, measures=st.lists(measures, min_size=1, max_size=4).map(tuple),
                 credit_limit_percent=st.integers(0, 100).map(Decimal))


@settings(max_examples=300, deadline=None)
@given(some=st.lists(held, max_size=5), more=st.lists(held, max_size=5))
def test_effects_are_monotone_in_the_set_of_penalties(some: list[Held],
                                                      more: list[Held]) -> None:
    fewer = effects_of(some)
    every = effects_of([*some, *more])
    for flag in ("prepay_only", "order_blocked", "service_suspended", "points_frozen"):
        assert getattr(every, flag) >= getattr(fewer, flag), flag
    assert every.credit_limit_percent <= fewer.credit_limit_percent
    assert every.restricts >= fewer.restricts
    assert effects_of(list(reversed([*some, *more]))) == every


def test_severity_ranks_run_from_minor_to_critical() -> None:
    assert [s.rank for s in (Severity.MINOR, Severity.MAJOR, Severity.SEVERE,
                             Severity.CRITICAL)] == [0, 1, 2, 3]
