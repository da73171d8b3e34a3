"""Credit decisions: from a customer's receivable and order history to factor values, a score, a
grade, a credit limit and payment terms.

The history arrives already summarised (`CreditFacts`): the credit module aggregates it with SQL
for every customer at once, so these functions never see individual invoices and stay cheap
enough to run for 100,000 customers in one batch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .codes import FactorCode, GradeCode, ScaleBand
from .decisions import Reason, ReasonParam, ScoreResult, apply_scorecard
from .schema import PolicyDocument

CENT = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = Decimal(100)
MONTHS_PER_YEAR = 12


@dataclass(frozen=True)
class CreditFacts:
    """What scoring needs to know about one customer, as of `as_of`.

    The 12-month window is the 365 days ending on `as_of`. Days past due of an invoice are
    (the day it was paid in full, or `as_of` while it is unpaid) - its due date, at least 0.

    - invoices_due_12m, invoices_paid_on_time_12m, amount_due_12m, amount_days_past_due_12m:
      the invoices whose due date lies in the window (how many, how many were paid by their
      due date, their amount, and the sum of amount x days past due);
    - max_days_past_due_12m: the largest days past due of any invoice that was unpaid at some
      time in the window (due in it, or due before it and paid in it or still unpaid), so an
      old invoice that is still unpaid counts for as long as it stays unpaid;
    - open_receivable, overdue_receivable: the unpaid amounts of all invoices, and of those
      past their due date;
    - amount_not_yet_due: the amount of the invoices issued by `as_of` that fall due after it.
    """

    as_of: dt.date
    invoices_due_12m: int = 0
    invoices_paid_on_time_12m: int = 0
    max_days_past_due_12m: int = 0
    # sum over invoices due in the window of amount * days past due, and of amount
    amount_days_past_due_12m: Decimal = ZERO
    amount_due_12m: Decimal = ZERO
    open_receivable: Decimal = ZERO
    overdue_receivable: Decimal = ZERO
    amount_not_yet_due: Decimal = ZERO
    first_order_on: dt.date | None = None
    order_amount_12m: Decimal = ZERO
    order_months_12m: int = 0
    orders_12m: int = 0
    cancelled_orders_12m: int = 0
    sales_12m: Decimal = ZERO
    violation_points_weighted: Decimal = ZERO
    complaints_12m: int = 0


@dataclass(frozen=True)
class CreditAssessment:
    """A customer's score and the credit terms it earns, with every reason behind them."""

    score: ScoreResult
    factor_values: Mapping[str, Decimal | None]
    credit_limit: Decimal
    payment_terms_days: int
    prepay_only: bool
    review_interval_days: int
    limit_reasons: tuple[Reason, ...]

    @property
    def grade(self) -> GradeCode:
        return self.score.grade


def whole_months_between(start: dt.date, end: dt.date) -> int:
    """Completed calendar months from `start` to `end` (0 when end is before start)."""
    months = (end.year - start.year) * MONTHS_PER_YEAR + end.month - start.month
    if end.day < start.day:
        months -= 1
    return max(0, months)


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    return (part * HUNDRED / whole).quantize(CENT, rounding=ROUND_HALF_UP)


def overdue_ratio(facts: CreditFacts) -> Decimal | None:
    """Overdue receivables as a percentage (at most 100) of the receivables billed for the
    window: the amount that fell due in it plus the amount not yet due. None for a customer
    with neither (nothing billed, nothing overdue).

    The denominator does not depend on when anything was paid, so paying later can only raise
    the ratio. (Overdue / open receivables would not: paying an invoice that is not yet due
    shrinks the open amount and so raises that ratio, and a customer who paid everything would
    fall back to the 'no receivables' points — both would reward paying later.)"""
    billed = facts.amount_due_12m + facts.amount_not_yet_due
    overdue = max(ZERO, facts.overdue_receivable)
    if billed <= 0:
        return None if overdue == 0 else HUNDRED.quantize(CENT)
    return min(HUNDRED, _percent(overdue, billed)).quantize(CENT)


def factor_values(facts: CreditFacts) -> dict[str, Decimal | None]:
    """The scorecard inputs; None where the value cannot be computed (the factor's `missing`
    rule then applies)."""
    values: dict[str, Decimal | None] = {}
    if facts.invoices_due_12m:
        values[FactorCode.ON_TIME_PAYMENT_RATE_12M] = _percent(
            Decimal(facts.invoices_paid_on_time_12m), Decimal(facts.invoices_due_12m))
    else:
        values[FactorCode.ON_TIME_PAYMENT_RATE_12M] = None
    values[FactorCode.MAX_DAYS_PAST_DUE] = Decimal(max(0, facts.max_days_past_due_12m))
    values[FactorCode.AVG_DAYS_PAST_DUE] = (
        (facts.amount_days_past_due_12m / facts.amount_due_12m).quantize(
            CENT, rounding=ROUND_HALF_UP)
        if facts.amount_due_12m > 0 else ZERO)
    values[FactorCode.OVERDUE_RATIO] = overdue_ratio(facts)
    values[FactorCode.RELATIONSHIP_MONTHS] = Decimal(
        whole_months_between(facts.first_order_on, facts.as_of) if facts.first_order_on else 0)
    values[FactorCode.ORDER_VOLUME_12M] = facts.order_amount_12m
    values[FactorCode.ORDER_REGULARITY] = Decimal(min(MONTHS_PER_YEAR, facts.order_months_12m))
    values[FactorCode.VIOLATION_POINTS_WEIGHTED] = facts.violation_points_weighted
    values[FactorCode.COMPLAINTS_12M] = Decimal(facts.complaints_12m)
    values[FactorCode.FULFILMENT_RATE] = (
        _percent(Decimal(facts.orders_12m - facts.cancelled_orders_12m),
                 Decimal(facts.orders_12m))
        if facts.orders_12m else None)
    return values


def credit_limit_for(policy: PolicyDocument, grade: str, scale: ScaleBand,
                     sales_12m: Decimal) -> tuple[Decimal, tuple[Reason, ...]]:
    """The limit a grade earns, with the numbers that produced it (see CreditSettings)."""
    band = policy.grade_band(grade)
    if band.prepay_only:
        return ZERO.quantize(CENT), (Reason("PREPAY_ONLY_GRADE", {"grade": band.code.value}),)
    credit = policy.credit
    multiplier = credit.scale_multipliers[scale]
    sales = max(ZERO, sales_12m)
    raw = band.base_credit_limit * multiplier + sales * credit.trailing_sales_percent / HUNDRED
    limit = min(credit.max_credit_limit, raw).quantize(CENT, rounding=ROUND_HALF_UP)
    params: dict[str, ReasonParam] = {
        "grade": band.code.value, "base": band.base_credit_limit, "scale": scale.value,
        "multiplier": multiplier, "sales_12m": sales.quantize(CENT),
        "sales_percent": credit.trailing_sales_percent, "limit": limit,
    }
    reasons = [Reason("LIMIT_FROM_GRADE", params)]
    if raw > credit.max_credit_limit:
        reasons.append(Reason("LIMIT_CAPPED", {"cap": credit.max_credit_limit,
                                               "uncapped": raw.quantize(CENT)}))
    return limit, tuple(reasons)


def assess(policy: PolicyDocument, facts: CreditFacts, scale: ScaleBand) -> CreditAssessment:
    """Score, grade, limit and terms of one customer. Pure and deterministic: the same facts and
    policy always give the same assessment."""
    values = factor_values(facts)
    known = {code: value for code, value in values.items() if value is not None}
    result = apply_scorecard(policy, known)
    band = policy.grade_band(result.grade)
    limit, limit_reasons = credit_limit_for(policy, result.grade, scale, facts.sales_12m)
    return CreditAssessment(
        score=result,
        factor_values=values,
        credit_limit=limit,
        payment_terms_days=band.payment_terms_days,
        prepay_only=band.prepay_only,
        review_interval_days=band.review_interval_days,
        limit_reasons=limit_reasons,
    )
