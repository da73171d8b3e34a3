"""Rules of the policy schema that involve several fields or list items.

Each function returns every issue it finds, located relative to the value it was given, so that
a document with several mistakes gets all of them reported at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

from .base import Issue, duplicate_codes
from .codes import BlacklistKind, GradeCode, Measure

if TYPE_CHECKING:
    from .schema import (
        BlacklistCriterion,
        Conduct,
        GradeBand,
        PenaltyStep,
        PenaltyTrigger,
        ScoreBin,
    )
    from .schema_rewards import ValueTier


def check_bins(bins: Sequence[ScoreBin]) -> list[Issue]:
    """Bins must be contiguous, must not overlap, and together cover -infinity..+infinity."""
    issues: list[Issue] = []
    last = len(bins) - 1
    for i, b in enumerate(bins):
        if b.lower is None and i > 0:
            issues.append((("bins", i, "lower"), "only the first bin may be open below (null)"))
        if b.lower is not None and i == 0:
            issues.append(
                (("bins", 0, "lower"), "the first bin must be open below (null = -infinity)")
            )
        if b.upper is None and i < last:
            issues.append((("bins", i, "upper"), "only the last bin may be open above (null)"))
        if b.upper is not None and i == last:
            issues.append(
                (("bins", i, "upper"), "the last bin must be open above (null = +infinity)")
            )
        if b.lower is not None and b.upper is not None and b.upper <= b.lower:
            issues.append(
                (("bins", i, "upper"), f"must be greater than this bin's lower bound {b.lower}")
            )
    for i, (b, following) in enumerate(pairwise(bins)):
        if b.upper is None or following.lower is None:
            continue
        if b.upper < following.lower:
            issues.append(
                (("bins", i, "upper"),
                 f"leaves a gap: this bin ends at {b.upper} but the next one starts at "
                 f"{following.lower}")
            )
        elif b.upper > following.lower:
            issues.append(
                (("bins", i, "upper"),
                 f"overlaps the next bin: this bin ends at {b.upper} but the next one starts at "
                 f"{following.lower}")
            )
    return issues


def _dominates(later: PenaltyTrigger, earlier: PenaltyTrigger) -> bool:
    """True when `later` is met whenever `earlier` is."""
    return (
        later.min_severity.rank <= earlier.min_severity.rank
        and later.count <= earlier.count
        and later.window_days >= earlier.window_days
    )


# Measures that last for the penalty's duration; the others act once when it starts.
LASTING = {Measure.POINTS_FREEZE, Measure.CREDIT_LIMIT_REDUCTION, Measure.PREPAY_ONLY,
           Measure.ORDER_BLOCK, Measure.SERVICE_SUSPENSION, Measure.TERMINATION}


def _check_step(i: int, step: PenaltyStep) -> list[Issue]:
    issues: list[Issue] = []
    measures = set(step.measures)
    if len(measures) != len(step.measures):
        issues.append(((i, "measures"), "lists a measure twice"))
    if Measure.TERMINATION in measures and step.duration_days is not None:
        issues.append(((i, "duration_days"), "must be null: a TERMINATION lasts until lifted"))
    if Measure.TERMINATION not in measures and step.duration_days is None:
        issues.append(((i, "duration_days"), "needs a duration (only a TERMINATION has none)"))
    if (Measure.FINE in measures) != (step.fine_amount > 0):
        issues.append(((i, "fine_amount"), "must be above 0 exactly when the step has FINE"))
    if (Measure.POINTS_DEDUCTION in measures) != (step.points_deduction > 0):
        issues.append(((i, "points_deduction"),
                       "must be above 0 exactly when the step has POINTS_DEDUCTION"))
    if (Measure.CREDIT_LIMIT_REDUCTION in measures) != (step.credit_limit_percent < 100):
        issues.append(((i, "credit_limit_percent"),
                       "must be below 100 exactly when the step has CREDIT_LIMIT_REDUCTION"))
    return issues


def check_penalty_ladder(steps: Sequence[PenaltyStep]) -> list[Issue]:
    """Steps run from the mildest up (by their most severe measure); the last step whose
    trigger is met applies, so a step whose trigger implies an earlier step's trigger makes that
    earlier step unreachable. Together these make the ladder monotone: one more confirmed
    violation can only meet more triggers, so it never brings a milder step."""
    issues = duplicate_codes(steps)
    for i, step in enumerate(steps):
        issues.extend(_check_step(i, step))
    for i, (previous, step) in enumerate(pairwise(steps), start=1):
        if step.severity.rank < previous.severity.rank:
            issues.append(
                ((i, "measures"),
                 f"must not be milder than the previous step's {previous.severity}")
            )
    for i, step in enumerate(steps):
        for j in range(i + 1, len(steps)):
            if _dominates(steps[j].trigger, step.trigger):
                issues.append(
                    ((i, "trigger"),
                     f"never applies: the later step {steps[j].code} is met whenever this one "
                     "is, and the later step wins")
                )
                break
    return issues


def check_conduct(conduct: Conduct) -> list[Issue]:
    issues: list[Issue] = []
    for i, (younger, older) in enumerate(pairwise(conduct.recency_weights), start=1):
        if older.max_age_days <= younger.max_age_days:
            issues.append((("recency_weights", i, "max_age_days"),
                           f"must be above the previous band's {younger.max_age_days}"))
        if older.weight > younger.weight:
            issues.append((("recency_weights", i, "weight"),
                           "an older violation must not weigh more than a younger one"))
    listed = [item.measure for item in conduct.approvers]
    for i, measure in enumerate(listed):
        if measure in listed[:i]:
            issues.append((("approvers", i, "measure"), f"{measure} is listed twice"))
    missing = [measure.value for measure in Measure if measure not in listed]
    if missing:
        issues.append((("approvers",), "every measure needs its approvers; missing: "
                       + ", ".join(missing)))
    return issues


def check_grades(bands: Sequence[GradeBand], speculative_review_max_days: int) -> list[Issue]:
    """All grades once, best first, with scores strictly descending and terms never better for
    a worse grade; prepay-only grades get no credit; riskier grades are reviewed often."""
    issues: list[Issue] = []
    expected = list(GradeCode)
    for i, band in enumerate(bands):
        if i >= len(expected) or band.code != expected[i]:
            wanted = f"expected {expected[i]}; " if i < len(expected) else ""
            issues.append(
                ((i, "code"),
                 f"{wanted}grades must list {', '.join(expected)} once each, best first")
            )
    missing = [code for code in expected if code not in {b.code for b in bands}]
    if missing:
        issues.append(((), "missing grades: " + ", ".join(missing)))
    for i, (better, band) in enumerate(pairwise(bands), start=1):
        if band.min_score >= better.min_score:
            issues.append(
                ((i, "min_score"),
                 f"must be lower than the min_score of the better grade {better.code} "
                 f"({better.min_score})")
            )
        for field in ("base_credit_limit", "payment_terms_days"):
            if getattr(band, field) > getattr(better, field):
                issues.append(
                    ((i, field),
                     f"must not exceed that of the better grade {better.code} "
                     f"({getattr(better, field)})")
                )
        if band.review_interval_days > better.review_interval_days:
            issues.append(
                ((i, "review_interval_days"),
                 f"must not be longer than that of the better grade {better.code} "
                 f"({better.review_interval_days}): riskier grades are reviewed at least as often")
            )
        if better.prepay_only and not band.prepay_only:
            issues.append(
                ((i, "prepay_only"), f"must be true: the better grade {better.code} is prepay-only")
            )
    for i, band in enumerate(bands):
        if band.prepay_only and band.base_credit_limit != 0:
            issues.append(((i, "base_credit_limit"), "must be 0 for a prepay-only grade"))
        if band.prepay_only and band.payment_terms_days != 0:
            issues.append(((i, "payment_terms_days"), "must be 0 for a prepay-only grade"))
        if band.code.speculative and band.review_interval_days > speculative_review_max_days:
            issues.append(
                ((i, "review_interval_days"),
                 f"must be at most {speculative_review_max_days}: {band.code} is a speculative "
                 "grade and is reviewed at least quarterly")
            )
    if bands and not bands[-1].prepay_only:
        issues.append(((len(bands) - 1, "prepay_only"), "the lowest grade must be prepay-only"))
    return issues


_KIND_FIELDS: dict[BlacklistKind, tuple[str, ...]] = {
    BlacklistKind.OVERDUE: ("overdue_days_gt", "min_amount"),
    BlacklistKind.REPEAT_VIOLATION: ("min_severity", "count", "window_days"),
    BlacklistKind.VIOLATION_TYPE: ("violation_codes", "window_days"),
}
_CRITERION_FIELDS = ("overdue_days_gt", "min_amount", "min_severity", "count", "window_days",
                     "violation_codes")


def check_blacklist_criterion(criterion: BlacklistCriterion) -> list[Issue]:
    issues: list[Issue] = []
    used = _KIND_FIELDS[criterion.kind]
    for field in _CRITERION_FIELDS:
        value = getattr(criterion, field)
        if field in used and value is None:
            issues.append(((field,), f"required for kind {criterion.kind}"))
        elif field not in used and value is not None:
            issues.append(((field,), f"not used by kind {criterion.kind}; remove it"))
    if criterion.violation_codes is not None and not criterion.violation_codes:
        issues.append((("violation_codes",), "must list at least one violation type"))
    return issues


def check_value_tiers(tiers: Sequence[ValueTier]) -> list[Issue]:
    issues = duplicate_codes(tiers)
    if tiers:
        last = len(tiers) - 1
        if tiers[last].min_sales_12m != 0:
            issues.append(
                ((last, "min_sales_12m"), "must be 0: the last tier takes every other customer")
            )
        if tiers[last].min_growth_percent is not None:
            issues.append(
                ((last, "min_growth_percent"),
                 "must be null: the last tier takes every other customer")
            )
    return issues
