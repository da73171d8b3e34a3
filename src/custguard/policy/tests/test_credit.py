"""Unit tests of the credit decisions: factor values from CreditFacts, the scorecard, the
limit a grade earns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from custguard.policy import FactorCode, GradeCode, ScaleBand, load_default_policy
from custguard.policy.credit import (
    CreditFacts,
    assess,
    credit_limit_for,
    factor_values,
    overdue_ratio,
    whole_months_between,
)
from custguard.policy.decisions import MissingFactorError, apply_scorecard

POLICY = load_default_policy()
AS_OF = dt.date(2025, 6, 30)
D = Decimal


def facts(**values: object) -> CreditFacts:
    return CreditFacts(as_of=AS_OF, **values)  # type: ignore[arg-type]


# --- factor values ----------------------------------------------------------------------------


def test_a_customer_without_history_has_no_rates() -> None:
    values = factor_values(facts())
    assert values[FactorCode.ON_TIME_PAYMENT_RATE_12M] is None
    assert values[FactorCode.OVERDUE_RATIO] is None
    assert values[FactorCode.FULFILMENT_RATE] is None
    assert values[FactorCode.MAX_DAYS_PAST_DUE] == 0
    assert values[FactorCode.AVG_DAYS_PAST_DUE] == 0
    assert values[FactorCode.RELATIONSHIP_MONTHS] == 0
    assert values[FactorCode.ORDER_VOLUME_12M] == 0


def test_on_time_rate_is_a_percentage_rounded_half_up() -> None:
    values = factor_values(facts(invoices_due_12m=3, invoices_paid_on_time_12m=2))
    assert values[FactorCode.ON_TIME_PAYMENT_RATE_12M] == D("66.67")
    values = factor_values(facts(invoices_due_12m=8, invoices_paid_on_time_12m=1))
    assert values[FactorCode.ON_TIME_PAYMENT_RATE_12M] == D("12.50")


def test_average_days_past_due_is_weighted_by_amount() -> None:
    # 100 paid 10 days late, 300 on time: (100 * 10) / 400 = 2.5
    values = factor_values(facts(amount_days_past_due_12m=D("1000.00"),
                                 amount_due_12m=D("400.00"), max_days_past_due_12m=10))
    assert values[FactorCode.AVG_DAYS_PAST_DUE] == D("2.50")
    assert values[FactorCode.MAX_DAYS_PAST_DUE] == 10


@pytest.mark.parametrize(("overdue", "due", "not_yet_due", "expected"), [
    ("0", "0", "0", None),  # nothing billed, nothing overdue
    ("0", "0", "500", D("0.00")),  # billed, not yet due
    ("0", "0", "0.01", D("0.00")),
    ("50", "0", "0", D("100.00")),  # only an old overdue amount
    ("50", "100", "100", D("25.00")),
    ("1", "3", "0", D("33.33")),
    ("900", "100", "0", D("100.00")),  # an old overdue amount larger than the billing: capped
])
def test_overdue_ratio(overdue: str, due: str, not_yet_due: str,
                       expected: Decimal | None) -> None:
    value = overdue_ratio(facts(overdue_receivable=D(overdue), amount_due_12m=D(due),
                                amount_not_yet_due=D(not_yet_due),
                                open_receivable=D(overdue) + D(not_yet_due)))
    assert value == expected


def test_overdue_ratio_does_not_depend_on_how_much_is_still_open() -> None:
    """Paying a bill that is not yet due must not make the ratio worse."""
    early = facts(overdue_receivable=D("10"), open_receivable=D("10"), amount_due_12m=D("10"),
                  amount_not_yet_due=D("1000"))
    late = facts(overdue_receivable=D("10"), open_receivable=D("1010"), amount_due_12m=D("10"),
                 amount_not_yet_due=D("1000"))
    assert overdue_ratio(early) == overdue_ratio(late) == D("0.99")


@pytest.mark.parametrize(("start", "end", "months"), [
    (dt.date(2025, 1, 31), dt.date(2025, 2, 28), 0),
    (dt.date(2025, 1, 31), dt.date(2025, 3, 1), 1),
    (dt.date(2024, 6, 30), dt.date(2025, 6, 30), 12),
    (dt.date(2020, 7, 1), dt.date(2025, 6, 30), 59),
    (dt.date(2025, 7, 1), dt.date(2025, 6, 30), 0),  # the future: none
])
def test_whole_months(start: dt.date, end: dt.date, months: int) -> None:
    assert whole_months_between(start, end) == months


def test_order_factors() -> None:
    values = factor_values(facts(first_order_on=dt.date(2022, 6, 30), order_months_12m=13,
                                 orders_12m=20, cancelled_orders_12m=3,
                                 order_amount_12m=D("123456.78")))
    assert values[FactorCode.RELATIONSHIP_MONTHS] == 36
    assert values[FactorCode.ORDER_REGULARITY] == 12  # a 365-day window can touch 13 months
    assert values[FactorCode.FULFILMENT_RATE] == D("85.00")
    assert values[FactorCode.ORDER_VOLUME_12M] == D("123456.78")


# --- scorecard --------------------------------------------------------------------------------


def test_a_new_customer_scores_560_and_is_prepay_only() -> None:
    result = assess(POLICY, facts(), ScaleBand.MEDIUM)
    assert result.score.score == 560
    assert result.grade == GradeCode.C
    assert result.prepay_only is True
    assert result.credit_limit == 0
    assert result.payment_terms_days == 0
    assert result.review_interval_days == 60
    assert [r.code for r in result.limit_reasons] == ["PREPAY_ONLY_GRADE"]
    # The reasons that cost the most points come first: no payment history costs 120.
    assert result.score.reasons[0].code == "NO_PAYMENT_HISTORY"
    assert result.score.reasons[0].params["points_lost"] == 120
    lost = [r.params["points_lost"] for r in result.score.reasons]
    assert lost == sorted(lost, reverse=True)


def test_a_model_customer_is_aaa() -> None:
    model = facts(invoices_due_12m=24, invoices_paid_on_time_12m=24, amount_due_12m=D("2400000"),
                  amount_not_yet_due=D("200000"), first_order_on=dt.date(2015, 1, 1),
                  order_amount_12m=D("12000000"), order_months_12m=12, orders_12m=40,
                  sales_12m=D("12000000"))
    result = assess(POLICY, model, ScaleBand.LARGE)
    assert result.score.score == 1000
    assert result.grade == GradeCode.AAA
    assert result.payment_terms_days == 90
    # 5,000,000 x 1.5 + 12,000,000 x 10% = 8,700,000
    assert result.credit_limit == D("8700000.00")
    assert all(r.params["points_lost"] == 0 for r in result.score.reasons)


def test_reasons_carry_the_value_and_the_bin() -> None:
    result = assess(POLICY, facts(invoices_due_12m=10, invoices_paid_on_time_12m=7,
                                  max_days_past_due_12m=95), ScaleBand.SMALL)
    by_code = {r.code: r for r in result.score.reasons}
    assert by_code["MAX_DPD_GT_90"].params == {
        "factor": "MAX_DAYS_PAST_DUE", "value": D("95"), "points": -100, "points_lost": 220,
        "lower": D("91")}
    assert result.score.reasons[0].code == "MAX_DPD_GT_90"  # it cost the most
    assert by_code["ON_TIME_RATE_60_80"].params["value"] == D("70.00")


def test_a_scorecard_factor_without_value_or_missing_rule_is_refused() -> None:
    with pytest.raises(MissingFactorError) as error:
        apply_scorecard(POLICY, {})
    assert "MAX_DAYS_PAST_DUE" in error.value.factors
    assert "ON_TIME_PAYMENT_RATE_12M" not in error.value.factors  # it has a missing rule


# --- credit limit -----------------------------------------------------------------------------


def test_prepay_grades_earn_no_limit() -> None:
    for grade in ("C", "D"):
        limit, reasons = credit_limit_for(POLICY, grade, ScaleBand.LARGE, D("99999999"))
        assert limit == D("0.00")
        assert [r.code for r in reasons] == ["PREPAY_ONLY_GRADE"]
        assert reasons[0].params == {"grade": grade}


@pytest.mark.parametrize(("scale", "expected"), [
    (ScaleBand.MICRO, D("400000.00")),  # 800,000 x 0.5
    (ScaleBand.SMALL, D("640000.00")),
    (ScaleBand.MEDIUM, D("800000.00")),
    (ScaleBand.LARGE, D("1200000.00")),
])
def test_scale_multipliers(scale: ScaleBand, expected: Decimal) -> None:
    limit, reasons = credit_limit_for(POLICY, "BBB", scale, D("0"))
    assert limit == expected
    assert reasons[0].code == "LIMIT_FROM_GRADE"
    assert reasons[0].params["multiplier"] == POLICY.credit.scale_multipliers[scale]


def test_trailing_sales_add_a_share_rounded_half_up_and_negative_sales_add_nothing() -> None:
    limit, _reasons = credit_limit_for(POLICY, "B", ScaleBand.MEDIUM, D("12345.65"))
    assert limit == D("101234.57")  # 100,000 + 1,234.565
    limit, reasons = credit_limit_for(POLICY, "B", ScaleBand.MEDIUM, D("-5000"))
    assert limit == D("100000.00")
    assert reasons[0].params["sales_12m"] == D("0.00")


def test_the_cap() -> None:
    limit, reasons = credit_limit_for(POLICY, "AAA", ScaleBand.LARGE, D("300000000"))
    assert limit == POLICY.credit.max_credit_limit == D("20000000.00")
    assert [r.code for r in reasons] == ["LIMIT_FROM_GRADE", "LIMIT_CAPPED"]
    assert reasons[1].params == {"cap": D("20000000.00"), "uncapped": D("37500000.00")}
    limit, reasons = credit_limit_for(POLICY, "AAA", ScaleBand.LARGE, D("125000000"))
    assert limit == D("20000000.00")  # exactly at the cap: not capped
    assert [r.code for r in reasons] == ["LIMIT_FROM_GRADE"]


def test_reasons_are_json_ready() -> None:
    _limit, reasons = credit_limit_for(POLICY, "A", ScaleBand.SMALL, D("10"))
    assert reasons[0].as_dict() == {"code": "LIMIT_FROM_GRADE", "params": {
        "base": "1500000.00", "grade": "A", "limit": "1200001.00", "multiplier": "0.8",
        "sales_12m": "10.00", "sales_percent": "10", "scale": "SMALL"}}
