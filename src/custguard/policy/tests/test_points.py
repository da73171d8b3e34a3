"""The points decisions and rules: earning with bonus, campaigns and caps, withholding, the
expiry rules, the share a credit note takes back, the rules' own validation, and reading a
schema-1 document."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custguard.policy import load_default_policy
from custguard.policy.documents import document_data, parse_policy_data, validate_policy_data
from custguard.policy.points import EarnContext, PaidInvoice, earn, expires_on, taken_back
from custguard.policy.schema_rewards import PointsRules

D = Decimal
DAY = dt.date(2025, 6, 30)


def rules(**changes: object) -> PointsRules:
    data = document_data(load_default_policy())["points"]
    assert isinstance(data, dict)
    return PointsRules.model_validate({**data, **changes})


def paid(amount: str = "10000.00", *, issued: dt.date = DAY, due: dt.date | None = DAY,
         settled: dt.date = DAY) -> PaidInvoice:
    return PaidInvoice(paid=D(amount), issued_on=issued, due_on=due, settled_on=settled)


def test_a_campaign_multiplies_and_the_highest_of_two_running_applies() -> None:
    campaigns = [
        {"code": "SUMMER", "multiplier": 2, "starts_on": "2025-06-01", "ends_on": "2025-08-31",
         "description_zh": "夏季", "description_en": "Summer"},
        {"code": "ANNIVERSARY", "multiplier": 3, "starts_on": "2025-06-30",
         "ends_on": "2025-06-30", "description_zh": "周年", "description_en": "Anniversary"},
    ]
    decision = earn(rules(campaigns=campaigns, on_time_bonus_percent=0), paid(),
                    EarnContext())
    assert decision.outcome.points == 300
    assert decision.reasons[1].code == "POINTS_CAMPAIGN"
    assert decision.reasons[1].params["campaign"] == "ANNIVERSARY"
    later = earn(rules(campaigns=campaigns, on_time_bonus_percent=0),
                 paid(issued=dt.date(2025, 7, 1)), EarnContext())
    assert later.outcome.points == 200


def test_the_tier_multiplier_and_the_rounding_of_the_policy() -> None:
    context = EarnContext(tier_multiplier=D("1.5"), tier="GOLD")
    assert earn(rules(on_time_bonus_percent=0), paid("999.99"), context).outcome.points == 14
    assert earn(rules(on_time_bonus_percent=0, rounding="CEILING"), paid("999.99"),
                context).outcome.points == 15


def test_caps_leave_what_the_order_and_the_month_have_room_for() -> None:
    capped = rules(cap_per_order=150, cap_per_month=1000)
    decision = earn(capped, paid(), EarnContext(earned_by_order=100, earned_this_month=0))
    assert (decision.outcome.points, decision.outcome.uncapped) == (50, 110)
    full = earn(capped, paid(), EarnContext(earned_this_month=1000))
    assert full.outcome.points == 0
    assert full.reasons[-1].params == {"cap": 1000, "capped": 110}


def test_a_frozen_customer_earns_withheld_points_and_a_blacklisted_one_says_so() -> None:
    frozen = earn(rules(), paid(), EarnContext(points_frozen=True))
    assert frozen.outcome.withheld and frozen.outcome.points == 110
    assert frozen.reasons[0].code == "POINTS_FROZEN_WITHHELD"
    both = earn(rules(), paid(), EarnContext(points_frozen=True, blacklisted=True))
    assert both.reasons[0].code == "POINTS_BLACKLISTED_WITHHELD"


@pytest.mark.parametrize(("rule", "months", "earned", "last_day"), [
    ("MONTHS_AFTER_EARNING", 24, dt.date(2025, 6, 30), dt.date(2027, 6, 30)),
    ("MONTHS_AFTER_EARNING", 1, dt.date(2025, 1, 31), dt.date(2025, 2, 28)),
    ("MONTHS_AFTER_EARNING", 13, dt.date(2023, 1, 15), dt.date(2024, 2, 29)),
    ("END_OF_FOLLOWING_YEAR", None, dt.date(2025, 1, 1), dt.date(2026, 12, 31)),
    ("END_OF_FOLLOWING_YEAR", None, dt.date(2025, 12, 31), dt.date(2026, 12, 31)),
])
def test_expiry_rules(rule: str, months: int | None, earned: dt.date,
                      last_day: dt.date) -> None:
    assert expires_on(rules(expiry=rule, expiry_months=months), earned) == last_day


@given(earned=st.integers(0, 10**7), basis_cents=st.integers(1, 10**10),
       kept_share=st.fractions(0, 1))
def test_a_credit_note_never_takes_back_more_than_was_earned(
        earned: int, basis_cents: int, kept_share: object) -> None:
    basis = D(basis_cents) / 100
    new_basis = (basis * D(kept_share.numerator) / D(kept_share.denominator)  # type: ignore[attr-defined]
                 ).quantize(D("0.01"))
    back = taken_back(earned, basis, new_basis)
    assert 0 <= back <= earned
    # What stays is at most the kept share of the points (never a fraction more).
    assert (earned - back) * basis <= earned * new_basis


@pytest.mark.parametrize(("changes", "path"), [
    ({"expiry_months": None}, "points.expiry_months"),
    ({"expiry": "END_OF_FOLLOWING_YEAR"}, "points.expiry_months"),
    ({"campaigns": [{"code": "X", "multiplier": 2, "starts_on": "2025-07-01",
                     "ends_on": "2025-06-01", "description_zh": "x",
                     "description_en": "x"}]}, "points.campaigns[0].ends_on"),
    ({"holding_days": -1}, "points.holding_days"),
    ({"redemption_value": 0}, "points.redemption_value"),
])
def test_bad_points_rules_are_refused_at_their_path(changes: dict[str, object],
                                                    path: str) -> None:
    data = copy.deepcopy(document_data(load_default_policy()))
    points = data["points"]
    assert isinstance(points, dict)
    points.update(changes)
    assert [problem.path for problem in validate_policy_data(data)] == [path]


def test_a_schema_1_document_reads_with_its_rate_rounding_and_expiry_kept() -> None:
    data = copy.deepcopy(document_data(load_default_policy()))
    data["schema_version"] = 1
    data["points"] = {"earn_on": "PAYMENT", "points_per_unit": "0.02", "expiry_months": 12,
                      "rounding": "HALF_UP"}
    points = parse_policy_data(data).points
    assert (points.points_per_unit, points.expiry_months, points.rounding) == (
        D("0.02"), 12, "HALF_UP")
    assert (points.holding_days, points.on_time_bonus_percent, points.cap_per_order) == (
        0, D(0), None)
    assert points.campaigns == ()
