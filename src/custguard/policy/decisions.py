"""The decision vocabulary and the first decisions: scorecard, grade and credit terms.

A decision is a pure function of facts, policy and time. It returns an outcome and the reasons
behind it; a reason is a stable code plus the numbers that triggered it, e.g.
Reason("MAX_DPD_GT_90", {"factor": "MAX_DAYS_PAST_DUE", "value": Decimal("97"), ...}).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Generic, TypeVar

from .codes import GradeCode
from .schema import PolicyDocument, ScoreFactor

ReasonParam = str | int | Decimal
T = TypeVar("T")


@dataclass(frozen=True)
class Reason:
    """Why a decision came out as it did. `params` is stored read-only, sorted by name."""

    code: str
    params: Mapping[str, ReasonParam] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(sorted(self.params.items()))))

    def __hash__(self) -> int:
        return hash((self.code, tuple(self.params.items())))

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (Decimals as strings) for storing with the decision."""
        return {
            "code": self.code,
            "params": {k: format(v, "f") if isinstance(v, Decimal) else v
                       for k, v in self.params.items()},
        }


@dataclass(frozen=True)
class Decision(Generic[T]):
    """An outcome with the reasons that produced it, most important first."""

    outcome: T
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class CreditTerms:
    limit_base: Decimal
    payment_terms_days: int
    prepay_only: bool
    review_interval_days: int


@dataclass(frozen=True)
class ScoreResult:
    """`factor_points` in scorecard order; `reasons` ordered by points lost against each
    factor's best bin, largest loss first (ties in scorecard order), one per factor."""

    score: int
    grade: GradeCode
    factor_points: Mapping[str, int]
    reasons: tuple[Reason, ...]


class MissingFactorError(ValueError):
    """The scorecard needs values that were not given and have no `missing` rule."""

    def __init__(self, factors: tuple[str, ...]) -> None:
        self.factors = factors
        super().__init__("no value for scorecard factors: " + ", ".join(factors))


def grade_for_score(policy: PolicyDocument, score: int) -> GradeCode:
    """The best grade whose min_score the score reaches; the lowest grade below all of them."""
    for band in policy.grades:
        if score >= band.min_score:
            return band.code
    return policy.grades[-1].code


def terms_for_grade(policy: PolicyDocument, grade: str) -> CreditTerms:
    band = policy.grade_band(grade)
    return CreditTerms(
        limit_base=band.base_credit_limit,
        payment_terms_days=band.payment_terms_days,
        prepay_only=band.prepay_only,
        review_interval_days=band.review_interval_days,
    )


def _bound(value: Decimal | None) -> dict[str, ReasonParam]:
    return {} if value is None else {"value": value}


# score_factor's answers by (factor, value as written): most factors take few distinct values
# (days, months, counts, percentages), and a batch of 100,000 customers asks for the same ones
# again and again. The entry holds the factor, so a key's id cannot be reused by another
# factor while the entry lives; the memo is emptied when it is full.
_SCORED: dict[tuple[int, str], tuple[ScoreFactor, int, Reason]] = {}
_SCORED_AT_MOST = 50_000


def score_factor(factor: ScoreFactor, value: Decimal) -> tuple[int, Reason]:
    """Points of the bin that holds `value`, and the bin's reason with the numbers."""
    key = (id(factor), str(value))
    known = _SCORED.get(key)
    if known is not None and known[0] is factor:
        return known[1], known[2]
    points, reason = _score_factor(factor, value)
    if len(_SCORED) >= _SCORED_AT_MOST:
        _SCORED.clear()
    _SCORED[key] = (factor, points, reason)
    return points, reason


def _score_factor(factor: ScoreFactor, value: Decimal) -> tuple[int, Reason]:
    if not value.is_finite():
        raise ValueError(f"{factor.code}: value must be a finite number, not {value}")
    for score_bin in factor.bins:
        if score_bin.contains(value):
            params: dict[str, ReasonParam] = {
                "factor": factor.code.value,
                "value": value,
                "points": score_bin.points,
                "points_lost": factor.best_points - score_bin.points,
            }
            if score_bin.lower is not None:
                params["lower"] = score_bin.lower
            if score_bin.upper is not None:
                params["upper"] = score_bin.upper
            return score_bin.points, Reason(score_bin.reason_code, params)
    # Validated bins cover the whole line, so this only happens for a hand-built factor.
    raise ValueError(f"{factor.code}: no bin holds {value}")


def _score_missing(factor: ScoreFactor) -> tuple[int, Reason]:
    assert factor.missing is not None
    points = factor.missing.points
    return points, Reason(
        factor.missing.reason_code,
        {"factor": factor.code.value, "points": points,
         "points_lost": factor.best_points - points},
    )


def apply_scorecard(policy: PolicyDocument, inputs: Mapping[str, Decimal]) -> ScoreResult:
    """Score and grade a customer from its factor values. Values for factors the scorecard does
    not use are ignored; a factor without a value uses its `missing` rule."""
    factors = policy.scorecard.factors
    absent = tuple(f.code.value for f in factors if f.code not in inputs and f.missing is None)
    if absent:
        raise MissingFactorError(absent)
    factor_points: dict[str, int] = {}
    scored: list[tuple[int, int, Reason]] = []
    for index, factor in enumerate(factors):
        value = inputs.get(factor.code)
        points, reason = (
            _score_missing(factor) if value is None else score_factor(factor, value)
        )
        factor_points[factor.code.value] = points
        scored.append((factor.best_points - points, index, reason))
    score = policy.scorecard.base_points + sum(factor_points.values())
    scored.sort(key=lambda item: (-item[0], item[1]))
    return ScoreResult(
        score=score,
        grade=grade_for_score(policy, score),
        factor_points=MappingProxyType(factor_points),
        reasons=tuple(reason for _lost, _index, reason in scored),
    )
