"""Reason codes in plain language (credit/reasons.py): every code the gate and the credit terms
emit has a sentence with its numbers, in both languages; scorecard reasons are described from
the factor's own description in the policy; an unknown code still shows its numbers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from custguard.credit import reasons
from custguard.policy import load_default_policy
from custguard.policy.codes import ScaleBand
from custguard.policy.credit import CreditFacts, assess, credit_limit_for
from custguard.policy.decisions import Reason
from custguard.policy.gate import Exposure, GateRequest, decide

POLICY = load_default_policy()
D = Decimal


def gate_reasons() -> list[Reason]:
    """Every reason policy/gate.py can give, from requests that trigger each one."""
    customer = Exposure(D("1000"), D("500"), D("100"))
    group = Exposure(D("2000"), D("1500"), D("400"))
    found: list[Reason] = []
    for request in [
        GateRequest(D("10"), customer, None, "A"),
        GateRequest(D("5000"), customer, group, "A"),
        GateRequest(D("10"), customer, None, "A", closed=True, blacklisted=True,
                    order_blocked=True, service_suspended=True, days_past_due=120),
        GateRequest(D("10"), customer, None, ""),
        GateRequest(D("10"), customer, None, "C"),
        GateRequest(D("10"), customer, None, "A", prepay_only=True),
    ]:
        found += decide(POLICY, request).reasons
    return found


def credit_reasons() -> list[Reason]:
    """Every reason policy/credit.py gives for terms, and the scorecard's."""
    capped = credit_limit_for(POLICY, "AAA", ScaleBand.LARGE, D("900000000"))[1]
    prepay = credit_limit_for(POLICY, "D", ScaleBand.SMALL, D("0"))[1]
    scored = assess(POLICY, CreditFacts(as_of=dt.date(2025, 6, 30)),
                    ScaleBand.SMALL).score.reasons
    return [*capped, *prepay, *scored]


def test_every_gate_and_credit_code_has_a_sentence() -> None:
    emitted = gate_reasons() + credit_reasons()
    codes = {reason.code for reason in emitted}
    assert {"WITHIN_LIMIT", "LIMIT_EXCEEDED", "GROUP_LIMIT_EXCEEDED", "CUSTOMER_CLOSED",
            "BLACKLISTED", "ORDER_BLOCKED", "SERVICE_SUSPENDED", "OVERDUE_GT_90D", "NOT_RATED",
            "PREPAY_ONLY_GRADE", "PREPAY_ONLY", "LIMIT_FROM_GRADE", "LIMIT_CAPPED"} <= codes
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for reason in emitted:
                text = reasons.describe(reason.as_dict(), POLICY)
                assert text and not text.startswith(reason.code), (language, reason)
                assert "%(" not in text, text


@pytest.mark.parametrize(("stored", "text"), [
    ({"code": "LIMIT_EXCEEDED", "params": {
        "amount": "5000.00", "limit": "10000.00", "used": "9000.00", "available": "1000.00",
        "tolerance_percent": "5", "shortfall": "3500.00"}},
     "Limit exceeded by 3,500.00 (available 1,000.00, limit 10,000.00, tolerance 5%)"),
    ({"code": "GROUP_LIMIT_EXCEEDED", "params": {
        "amount": "5000.00", "limit": "20000.00", "used": "19000.00", "available": "1000.00",
        "tolerance_percent": "2.5", "shortfall": "3500.00"}},
     "Group limit exceeded by 3,500.00 (group available 1,000.00, group limit 20,000.00, "
     "tolerance 2.5%)"),
    ({"code": "OVERDUE_GT_30D", "params": {"days_past_due": 31, "limit_days": 30}},
     "Oldest unpaid invoice 31 days past due (more than 30)"),
    ({"code": "WITHIN_LIMIT", "params": {"amount": "10.00", "available_after": "-0.50"}},
     "Within the limit: -0.50 still available after this order"),
    ({"code": "PREPAY_ONLY_GRADE", "params": {"grade": "C"}}, "Grade C is prepayment only"),
    ({"code": "CONCURRENT_UPDATES", "params": {"attempts": 3}},
     "The customer's credit kept changing during 3 attempts: held for review"),
    ({"code": "SOMETHING_NEW", "params": {"b": "2.50", "a": 1}}, "SOMETHING_NEW (a=1, b=2.5)"),
    ({"code": "BARE"}, "BARE"),
    ({"code": "LIMIT_EXCEEDED", "params": {"shortfall": "1.00"}},
     "LIMIT_EXCEEDED (shortfall=1.00)"),  # numbers missing: the code and what there is
])
def test_sentences_in_english(stored: dict[str, object], text: str) -> None:
    with translation.override("en"):
        assert reasons.describe(stored) == text


def test_scorecard_reasons_use_the_factors_description() -> None:
    stored = {"code": "MAX_DPD_31_60", "params": {
        "factor": "MAX_DAYS_PAST_DUE", "value": "45", "points": 30, "points_lost": 90,
        "lower": "31", "upper": "61"}}
    with translation.override("en"):
        assert reasons.describe(stored, POLICY) == (
            "Longest days past due in the last 12 months: 45, 30 points (90 below the best)")
        # without the policy the factor's code stands in
        assert reasons.describe(stored).startswith("MAX_DAYS_PAST_DUE: 45")
    with translation.override("zh-hans"):
        assert reasons.describe(stored, POLICY).startswith("近12个月最长逾期天数")
    missing = {"code": "NO_PAYMENT_HISTORY", "params": {
        "factor": "ON_TIME_PAYMENT_RATE_12M", "points": 30, "points_lost": 120}}
    with translation.override("en"):
        assert reasons.describe(missing, POLICY) == (
            "On-time payment rate over the last 12 months (%): no history yet, 30 points "
            "(120 below the best)")


def test_summary_and_describe_all() -> None:
    stored = [{"code": "BLACKLISTED", "params": {}}, {"code": "NOT_RATED", "params": {}}]
    with translation.override("en"):
        items = reasons.describe_all(stored)
        assert [i.code for i in items] == ["BLACKLISTED", "NOT_RATED"]
        assert reasons.summary(stored) == (
            "The customer is blacklisted; The customer has no credit grade yet: prepayment "
            "required")


def test_money_and_numbers_are_formatted() -> None:
    with translation.override("en"):
        assert reasons.format_param("shortfall", "1234567.5") == "1,234,567.50"
    with translation.override("zh-hans"):  # grouped by thousands (custguard/formats)
        assert reasons.format_param("shortfall", "1234567.5") == "1,234,567.50"
    assert reasons.format_param("tolerance_percent", "5.00") == "5"
    assert reasons.format_param("multiplier", "1.50") == "1.5"
    assert reasons.format_param("grade", "AA") == "AA"
    assert reasons.format_param("attempts", 3) == "3"
