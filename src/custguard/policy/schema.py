"""The policy document (管理政策): one versioned, validated description of how customers are
treated. Version numbers and effective times belong to the stored version, not the document.

Every field is required unless its absence has an explicit meaning (a description, `missing`
rules, per-criterion durations): a stored version must mean the same thing after this schema's
defaults change, so the schema has none that decide anything.

Rules that involve more than one field are checked by validators that report each problem at
its own path; rules that span sections run only once every section is well formed.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from .base import (
    Amount,
    Code,
    Count,
    Days,
    Flag,
    Int,
    Issue,
    LongText,
    Number,
    Percent,
    PolicyModel,
    ScorePoints,
    Text,
    duplicate_codes,
    raise_issues,
)
from .codes import (
    AlertMetric,
    AlertSeverity,
    BlacklistKind,
    Comparison,
    ComplaintPriority,
    FactorCode,
    GradeCode,
    Measure,
    OverLimitAction,
    RoleCode,
    ScaleBand,
    Severity,
    ViolationCategory,
)
from .schema_coupons import Coupons, check_coupon_references
from .schema_membership import Membership
from .schema_rewards import Classification, PointsRules
from .schema_rules import (
    check_bins,
    check_blacklist_criterion,
    check_conduct,
    check_grades,
    check_penalty_ladder,
)

SPECULATIVE_REVIEW_MAX_DAYS = 90


class Meta(PolicyModel):
    name: Text
    description: LongText = ""


class ViolationType(PolicyModel):
    code: Code
    category: ViolationCategory
    severity: Severity
    points: Annotated[int, Field(strict=True, ge=1, le=1000)]
    evidence_required: Flag
    description_zh: Text
    description_en: Text


class PenaltyTrigger(PolicyModel):
    """Met when at least `count` confirmed violations of `min_severity` or worse were confirmed
    within the last `window_days` days."""

    min_severity: Severity
    count: Count
    window_days: Days


class PenaltyStep(PolicyModel):
    """One rung of the ladder: the measures taken when its trigger is met.

    `duration_days` is how long the penalty lasts (a warning stays on record that long); null
    only for a step with TERMINATION, which lasts until lifted. `fine_amount` applies with FINE
    (unless the customer's contract sets the fine), `points_deduction` with POINTS_DEDUCTION,
    `credit_limit_percent` (what is left of the limit) with CREDIT_LIMIT_REDUCTION. With
    `rectification_days` the customer must put the matter right within that many days."""

    code: Code
    trigger: PenaltyTrigger
    measures: tuple[Measure, ...] = Field(min_length=1)
    duration_days: Days | None
    fine_amount: Amount
    points_deduction: Annotated[int, Field(strict=True, ge=0, le=10_000_000)]
    credit_limit_percent: Percent
    rectification_days: Days | None
    description_zh: Text
    description_en: Text

    @property
    def severity(self) -> Measure:
        """The most severe measure: what the step counts as on the ladder."""
        return max(self.measures, key=lambda measure: measure.rank)


class ScoreBin(PolicyModel):
    """Values in [lower, upper) earn `points`; null bounds are -infinity / +infinity."""

    lower: Number | None
    upper: Number | None
    points: ScorePoints
    reason_code: Code

    def contains(self, value: Decimal) -> bool:
        return (self.lower is None or value >= self.lower) and (
            self.upper is None or value < self.upper
        )


class MissingValueRule(PolicyModel):
    """Points for a factor whose value cannot be computed (e.g. no invoices yet)."""

    points: ScorePoints
    reason_code: Code


class ScoreFactor(PolicyModel):
    code: FactorCode
    description_zh: Text
    description_en: Text
    bins: tuple[ScoreBin, ...] = Field(min_length=1)
    missing: MissingValueRule | None = None

    @cached_property
    def best_points(self) -> int:
        return max(b.points for b in self.bins)

    @cached_property
    def worst_points(self) -> int:
        points = [b.points for b in self.bins]
        if self.missing is not None:
            points.append(self.missing.points)
        return min(points)

    @model_validator(mode="after")
    def _check(self) -> ScoreFactor:
        issues = check_bins(self.bins)
        if self.missing is None and self.code.may_be_missing:
            issues.append(
                (("missing",),
                 f"{self.code} has no value for a customer without that history: say how many "
                 "points such a customer scores")
            )
        if self.missing is not None and self.missing.points > self.best_points:
            issues.append(
                (("missing", "points"),
                 f"must not exceed the best bin's points ({self.best_points}): "
                 "a missing value must not score better than any known value")
            )
        raise_issues("ScoreFactor", issues)
        return self


class Scorecard(PolicyModel):
    """score = base_points + the points of every factor's matching bin."""

    base_points: ScorePoints
    factors: tuple[ScoreFactor, ...] = Field(min_length=1)

    @cached_property
    def max_score(self) -> int:
        return self.base_points + sum(f.best_points for f in self.factors)

    @cached_property
    def min_score(self) -> int:
        return self.base_points + sum(f.worst_points for f in self.factors)

    def factor(self, code: str) -> ScoreFactor:
        for factor in self.factors:
            if factor.code == code:
                return factor
        raise KeyError(code)

    @field_validator("factors")
    @classmethod
    def _unique(cls, factors: tuple[ScoreFactor, ...]) -> tuple[ScoreFactor, ...]:
        raise_issues("Scorecard", duplicate_codes(factors))
        return factors


class GradeBand(PolicyModel):
    """A grade applies to scores >= min_score and below the next better grade's min_score; the
    lowest grade also takes every score below its own min_score."""

    code: GradeCode
    min_score: Int
    base_credit_limit: Amount
    payment_terms_days: Annotated[int, Field(strict=True, ge=0, le=3650)]
    prepay_only: Flag
    review_interval_days: Days
    description_zh: Text
    description_en: Text


class CreditSettings(PolicyModel):
    """Credit limit of a customer on a grade that is not prepay-only:

        min(max_credit_limit,
            base_credit_limit(grade) * scale_multipliers[scale]
            + trailing 12-month sales * trailing_sales_percent / 100)

    rounded half-up to the cent. An order that would take exposure above the limit plus
    tolerance_percent is handled by over_limit_action; a manual limit override above
    override_approval_threshold needs a second approver. An order from a customer whose oldest
    unpaid invoice is more than overdue_days_limit days past due is handled by overdue_action.
    """

    scale_multipliers: dict[ScaleBand, Annotated[Number, Field(gt=0, le=100)]]
    trailing_sales_percent: Percent
    max_credit_limit: Amount
    over_limit_action: OverLimitAction
    tolerance_percent: Annotated[Number, Field(ge=0, le=50)]
    reservation_expiry_hours: Annotated[int, Field(strict=True, ge=1, le=24 * 90)]
    override_approval_threshold: Amount
    overdue_days_limit: Annotated[int, Field(strict=True, ge=0, le=3650)]
    overdue_action: OverLimitAction

    @field_validator("scale_multipliers")
    @classmethod
    def _all_scales(cls, value: dict[ScaleBand, Decimal]) -> dict[ScaleBand, Decimal]:
        issues: list[Issue] = []
        missing = [band for band in ScaleBand if band not in value]
        if missing:
            issues.append(((), "missing scale bands: " + ", ".join(missing)))
        present = [band for band in ScaleBand if band in value]
        for smaller, larger in pairwise(present):
            if value[larger] < value[smaller]:
                issues.append(
                    ((larger.value,),
                     f"must not be below the multiplier of the smaller band {smaller} "
                     f"({value[smaller]})")
                )
        raise_issues("CreditSettings", issues)
        return value


class BlacklistCriterion(PolicyModel):
    """A reason to propose a blacklist entry. The fields used depend on `kind`:

    OVERDUE           overdue_days_gt, min_amount: an amount of at least min_amount is more
                      than overdue_days_gt days past due
    REPEAT_VIOLATION  min_severity, count, window_days: like a penalty trigger
    VIOLATION_TYPE    violation_codes, window_days: any confirmed violation of these types
    duration_days null means the section's default_duration_days.
    """

    code: Code
    kind: BlacklistKind
    description_zh: Text
    description_en: Text
    overdue_days_gt: Annotated[int, Field(strict=True, ge=0, le=36_500)] | None = None
    min_amount: Amount | None = None
    min_severity: Severity | None = None
    count: Count | None = None
    window_days: Days | None = None
    violation_codes: tuple[Code, ...] | None = None
    duration_days: Days | None = None

    @model_validator(mode="after")
    def _fields_of_kind(self) -> BlacklistCriterion:
        raise_issues("BlacklistCriterion", check_blacklist_criterion(self))
        return self


class Blacklist(PolicyModel):
    default_duration_days: Days
    criteria: tuple[BlacklistCriterion, ...]

    @field_validator("criteria")
    @classmethod
    def _unique(cls, value: tuple[BlacklistCriterion, ...]) -> tuple[BlacklistCriterion, ...]:
        raise_issues("Blacklist", duplicate_codes(value))
        return value


class AlertRule(PolicyModel):
    """Raise an alert when `metric operator threshold` holds."""

    code: Code
    metric: AlertMetric
    operator: Comparison
    threshold: Number
    severity: AlertSeverity
    description_zh: Text
    description_en: Text


class Appeals(PolicyModel):
    """A decision may be appealed within window_days of the customer being notified; a
    reviewer must decide within review_sla_days of the appeal."""

    window_days: Days
    review_sla_days: Days


class RecencyWeight(PolicyModel):
    """A confirmed violation at most max_age_days old counts weight × its points."""

    max_age_days: Days
    weight: Annotated[Number, Field(gt=0, le=1)]


class MeasureApprovers(PolicyModel):
    measure: Measure
    roles: tuple[RoleCode, ...] = Field(min_length=1)


class Conduct(PolicyModel):
    """How violations are handled beyond the ladder.

    recency_weights  the scorecard's VIOLATION_POINTS_WEIGHTED: each confirmed violation counts
                     its points × the weight of the first band its age fits (ages beyond the
                     last band count nothing); bands from youngest, weights never rising
    approvers        which roles may approve a penalty with each measure (a penalty needs a
                     role allowed for every one of its measures); every measure is listed
    notice_response_days   how long a notified customer has to respond
    rectification_overdue_violation   the violation type recorded when a required
                     rectification is overdue and escalated
    """

    recency_weights: tuple[RecencyWeight, ...] = Field(min_length=1)
    approvers: tuple[MeasureApprovers, ...]
    notice_response_days: Days
    rectification_overdue_violation: Code

    def approver_roles(self, measure: Measure) -> tuple[RoleCode, ...]:
        for item in self.approvers:
            if item.measure == measure:
                return item.roles
        return ()

    @model_validator(mode="after")
    def _check(self) -> Conduct:
        raise_issues("Conduct", check_conduct(self))
        return self


class Complaints(PolicyModel):
    sla_hours: dict[ComplaintPriority, Annotated[int, Field(strict=True, ge=1, le=24 * 365)]]

    @field_validator("sla_hours")
    @classmethod
    def _all_priorities(
        cls, value: dict[ComplaintPriority, int]
    ) -> dict[ComplaintPriority, int]:
        issues: list[Issue] = []
        missing = [p for p in ComplaintPriority if p not in value]
        if missing:
            issues.append(((), "missing priorities: " + ", ".join(missing)))
        present = [p for p in ComplaintPriority if p in value]
        for urgent, less in pairwise(present):
            if value[less] < value[urgent]:
                issues.append(
                    ((less.value,),
                     f"must not be shorter than the more urgent {urgent} ({value[urgent]} h)")
                )
        raise_issues("Complaints", issues)
        return value


class PolicyDocument(PolicyModel):
    schema_version: Literal[4]
    meta: Meta
    violation_types: tuple[ViolationType, ...] = Field(min_length=1)
    penalty_ladder: tuple[PenaltyStep, ...] = Field(min_length=1)
    scorecard: Scorecard
    grades: tuple[GradeBand, ...]
    credit: CreditSettings
    blacklist: Blacklist
    classification: Classification
    points: PointsRules
    membership: Membership
    coupons: Coupons
    alerts: tuple[AlertRule, ...]
    appeals: Appeals
    complaints: Complaints
    conduct: Conduct

    def grade_band(self, code: str) -> GradeBand:
        for band in self.grades:
            if band.code == code:
                return band
        raise KeyError(code)

    def penalty_step(self, code: str) -> PenaltyStep:
        for step in self.penalty_ladder:
            if step.code == code:
                return step
        raise KeyError(code)

    def violation_type(self, code: str) -> ViolationType:
        for item in self.violation_types:
            if item.code == code:
                return item
        raise KeyError(code)

    @field_validator("violation_types")
    @classmethod
    def _violation_types(cls, value: tuple[ViolationType, ...]) -> tuple[ViolationType, ...]:
        raise_issues("PolicyDocument", duplicate_codes(value))
        return value

    @field_validator("penalty_ladder")
    @classmethod
    def _penalty_ladder(cls, value: tuple[PenaltyStep, ...]) -> tuple[PenaltyStep, ...]:
        raise_issues("PolicyDocument", check_penalty_ladder(value))
        return value

    @field_validator("grades")
    @classmethod
    def _grades(cls, value: tuple[GradeBand, ...]) -> tuple[GradeBand, ...]:
        raise_issues("PolicyDocument", check_grades(value, SPECULATIVE_REVIEW_MAX_DAYS))
        return value

    @field_validator("alerts")
    @classmethod
    def _alerts(cls, value: tuple[AlertRule, ...]) -> tuple[AlertRule, ...]:
        raise_issues("PolicyDocument", duplicate_codes(value))
        return value

    @model_validator(mode="after")
    def _across_sections(self) -> PolicyDocument:
        issues: list[Issue] = []
        known = {v.code for v in self.violation_types}
        for i, criterion in enumerate(self.blacklist.criteria):
            for j, code in enumerate(criterion.violation_codes or ()):
                if code not in known:
                    issues.append(
                        (("blacklist", "criteria", i, "violation_codes", j),
                         f"unknown violation type {code}")
                    )
        if self.conduct.rectification_overdue_violation not in known:
            issues.append(
                (("conduct", "rectification_overdue_violation"),
                 f"unknown violation type {self.conduct.rectification_overdue_violation}")
            )
        best = self.grades[0]
        if best.min_score > self.scorecard.max_score:
            issues.append(
                (("grades", 0, "min_score"),
                 f"{best.code} can never be reached: the scorecard's highest possible score is "
                 f"{self.scorecard.max_score}")
            )
        issues += check_coupon_references(
            self.coupons, {tier.code for tier in self.membership.tiers},
            {segment.code for segment in self.classification.value_tiers},
            [(i, tier.benefits.coupons_on_reaching)
             for i, tier in enumerate(self.membership.tiers)])
        raise_issues("PolicyDocument", issues)
        return self
