"""Conduct decisions: which rung of the penalty ladder a customer's confirmed violations reach,
what the active penalties do to its standing, who may approve them, when a customer meets the
blacklist criteria, how much its violations weigh in the scorecard, and the appeal deadlines.

Input is plain data (confirmed violations as ViolationFact); output carries reason codes with
the numbers behind them, e.g. Reason("REPEAT_MINOR_3_IN_180D", {"count": 3, ...}).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from .codes import BlacklistKind, Measure, RoleCode, Severity
from .decisions import Decision, Reason, ReasonParam
from .schema import BlacklistCriterion, PenaltyStep, PenaltyTrigger, PolicyDocument

HUNDRED = Decimal(100)
ZERO = Decimal(0)


@dataclass(frozen=True)
class ViolationFact:
    """A confirmed violation, as the ladder, the scorecard and the blacklist see it."""

    code: str
    severity: Severity
    points: int
    occurred_on: dt.date


def _in_window(violation: ViolationFact, as_of: dt.date, window_days: int) -> bool:
    return as_of - dt.timedelta(days=window_days) < violation.occurred_on <= as_of


def count_towards(trigger: PenaltyTrigger, violations: Iterable[ViolationFact],
                  as_of: dt.date) -> int:
    """Confirmed violations of at least the trigger's severity that occurred within its window
    (the `window_days` days up to and including `as_of`)."""
    return sum(1 for v in violations
               if v.severity.rank >= trigger.min_severity.rank
               and _in_window(v, as_of, trigger.window_days))


def step_reason(step: PenaltyStep, count: int) -> Reason:
    trigger = step.trigger
    severity = trigger.min_severity.value
    code = (f"{severity}_VIOLATION" if trigger.count == 1
            else f"REPEAT_{severity}_{trigger.count}_IN_{trigger.window_days}D")
    return Reason(code, {"step": step.code, "count": count, "min_count": trigger.count,
                         "window_days": trigger.window_days, "min_severity": severity})


def recommend(policy: PolicyDocument, violations: Sequence[ViolationFact],
              as_of: dt.date) -> Decision[PenaltyStep | None]:
    """The ladder's step for these confirmed violations: the last step whose trigger is met
    (None when none is). Since the steps run from the mildest up and one more violation can only
    meet more triggers, a further violation never brings a milder step."""
    chosen: tuple[PenaltyStep, int] | None = None
    for step in policy.penalty_ladder:
        count = count_towards(step.trigger, violations, as_of)
        if count >= step.trigger.count:
            chosen = (step, count)
    if chosen is None:
        return Decision(outcome=None, reasons=(Reason("NO_STEP_REACHED",
                                                      {"violations": len(violations)}),))
    step, count = chosen
    return Decision(outcome=step, reasons=(step_reason(step, count),))


def weighted_points(policy: PolicyDocument, violations: Iterable[ViolationFact],
                    as_of: dt.date) -> Decimal:
    """VIOLATION_POINTS_WEIGHTED: each violation's points times the weight of the first recency
    band its age fits; older than every band counts nothing."""
    total = ZERO
    for violation in violations:
        age = (as_of - violation.occurred_on).days
        if age < 0:
            continue
        for band in policy.conduct.recency_weights:
            if age <= band.max_age_days:
                total += band.weight * violation.points
                break
    return total.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class StandingEffects:
    """What the active penalties (and a blacklist entry) do to the standing row together."""

    prepay_only: bool = False
    order_blocked: bool = False
    service_suspended: bool = False
    points_frozen: bool = False
    credit_limit_percent: Decimal = HUNDRED

    @property
    def restricts(self) -> bool:
        return (self.prepay_only or self.order_blocked or self.service_suspended
                or self.points_frozen or self.credit_limit_percent < HUNDRED)


class HasMeasures(Protocol):
    """A ladder step, or a penalty record that copied its step's measures."""

    @property
    def measures(self) -> Sequence[str]: ...

    @property
    def credit_limit_percent(self) -> Decimal: ...


def effects_of(penalties: Iterable[HasMeasures]) -> StandingEffects:
    """The combined effect of the lasting measures of the active penalties: any flag set by one
    is set; the lowest remaining credit-limit percentage applies."""
    measures: set[Measure] = set()
    percent = HUNDRED
    for penalty in penalties:
        own = {Measure(code) for code in penalty.measures}
        measures |= own
        if Measure.CREDIT_LIMIT_REDUCTION in own:
            percent = min(percent, Decimal(penalty.credit_limit_percent))
    terminated = Measure.TERMINATION in measures
    return StandingEffects(
        prepay_only=Measure.PREPAY_ONLY in measures,
        order_blocked=terminated or Measure.ORDER_BLOCK in measures,
        service_suspended=terminated or Measure.SERVICE_SUSPENSION in measures,
        points_frozen=terminated or Measure.POINTS_FREEZE in measures,
        credit_limit_percent=percent,
    )


def approver_roles(policy: PolicyDocument, measures: Iterable[Measure]) -> frozenset[RoleCode]:
    """Roles allowed to approve a penalty with all these measures (allowed for each one)."""
    allowed: frozenset[RoleCode] | None = None
    for measure in measures:
        roles = frozenset(policy.conduct.approver_roles(measure))
        allowed = roles if allowed is None else allowed & roles
    return allowed or frozenset()


def fine_for(step: PenaltyStep, contract_amount: Decimal | None) -> Decimal:
    """The fine of a step with FINE: the customer's contract clause where one exists, else the
    step's amount; nothing for a step without FINE."""
    if Measure.FINE not in step.measures:
        return ZERO
    return contract_amount if contract_amount is not None else step.fine_amount


def ends_on(step: PenaltyStep, starts_on: dt.date) -> dt.date | None:
    """The first day the penalty no longer applies (None: until lifted)."""
    if step.duration_days is None:
        return None
    return starts_on + dt.timedelta(days=step.duration_days)


@dataclass(frozen=True)
class BlacklistFacts:
    as_of: dt.date
    # overdue amount more than N days past due, for each N the criteria ask about
    overdue_beyond: Mapping[int, Decimal]
    violations: tuple[ViolationFact, ...] = ()


@dataclass(frozen=True)
class BlacklistMatch:
    criterion: BlacklistCriterion
    reason: Reason
    duration_days: int


def blacklist_matches(policy: PolicyDocument, facts: BlacklistFacts) -> list[BlacklistMatch]:
    """Every blacklist criterion the customer meets, with the evidence in the reason."""
    found: list[BlacklistMatch] = []
    for criterion in policy.blacklist.criteria:
        params = _criterion_met(criterion, facts)
        if params is not None:
            found.append(BlacklistMatch(
                criterion=criterion, reason=Reason(criterion.code, params),
                duration_days=criterion.duration_days or policy.blacklist.default_duration_days))
    return found


def _criterion_met(criterion: BlacklistCriterion,
                   facts: BlacklistFacts) -> dict[str, ReasonParam] | None:
    if criterion.kind == BlacklistKind.OVERDUE:
        assert criterion.overdue_days_gt is not None and criterion.min_amount is not None
        amount = facts.overdue_beyond.get(criterion.overdue_days_gt, ZERO)
        if amount >= criterion.min_amount and amount > 0:
            return {"overdue_amount": amount, "days_past_due_gt": criterion.overdue_days_gt,
                    "min_amount": criterion.min_amount}
        return None
    assert criterion.window_days is not None
    recent = [v for v in facts.violations if _in_window(v, facts.as_of, criterion.window_days)]
    if criterion.kind == BlacklistKind.REPEAT_VIOLATION:
        assert criterion.min_severity is not None and criterion.count is not None
        severe = [v for v in recent if v.severity.rank >= criterion.min_severity.rank]
        if len(severe) >= criterion.count:
            return {"count": len(severe), "min_count": criterion.count,
                    "min_severity": criterion.min_severity.value,
                    "window_days": criterion.window_days}
        return None
    codes = set(criterion.violation_codes or ())
    matching = sorted({v.code for v in recent if v.code in codes})
    if matching:
        return {"violations": ", ".join(matching), "window_days": criterion.window_days}
    return None


def appeal_deadline(policy: PolicyDocument, notified_on: dt.date) -> dt.date:
    """The last day an appeal may be filed."""
    return notified_on + dt.timedelta(days=policy.appeals.window_days)


def review_due(policy: PolicyDocument, filed_on: dt.date) -> dt.date:
    """The day by which an appeal must be decided (its SLA)."""
    return filed_on + dt.timedelta(days=policy.appeals.review_sla_days)


def response_due(policy: PolicyDocument, notified_on: dt.date) -> dt.date:
    return notified_on + dt.timedelta(days=policy.conduct.notice_response_days)
