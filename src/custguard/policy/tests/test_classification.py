"""The ABC decisions: shares within each region, the weighted score, classes by rule and for
new customers, the moves one class at a time, and the shares' and weights' validation."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import pytest

from custguard.policy import load_default_policy, upgrades
from custguard.policy.classification import (
    ClassFacts,
    growth_percent,
    move,
    rank,
    value_segment,
)
from custguard.policy.documents import document_data, validate_policy_data
from custguard.policy.schema_rewards import AbcShares

D = Decimal
TODAY = dt.date(2025, 6, 30)
RULES = load_default_policy().classification.abc


def facts(n: int, *, region: str = "110000", kind: str = "enterprise",
          sales: int | None = None, previous: int = 0, on_time: str | None = "1",
          age_days: int = 400) -> ClassFacts:
    return ClassFacts(customer_id=n, code=f"C{n:03d}", region_code=region, kind=kind,
                      created_on=TODAY - dt.timedelta(days=age_days),
                      paid_sales=D(sales if sales is not None else n * 1000),
                      previous_sales=D(previous),
                      on_time_share=D(on_time) if on_time is not None else None)


def test_each_region_is_ranked_on_its_own() -> None:
    beijing = [facts(n) for n in range(1, 11)]
    shanghai = [facts(100 + n, region="310000", sales=n) for n in range(1, 6)]
    decided = rank(RULES, beijing + shanghai, TODAY)
    assert "".join(decided[n].outcome.abc for n in range(1, 11)) == "CCCBBBBBAA"
    # Five customers: round(1.0) = 1 A, round(3.5) − 1 = 3 B, 1 C.
    assert "".join(decided[100 + n].outcome.abc for n in range(1, 6)) == "CBBBA"
    assert decided[105].outcome.region == "31"


def test_the_weights_let_payment_behaviour_outrank_sales() -> None:
    rules = RULES.model_copy(update={"weight_sales": D(10), "weight_payment": D(90),
                                     "weight_growth": D(0)})
    late_big = facts(1, sales=1_000_000, on_time="0")
    prompt_small = [facts(n, sales=1000, on_time="1") for n in range(2, 6)]
    decided = rank(rules, [late_big, *prompt_small], TODAY)
    assert decided[1].outcome.abc == "C"


def test_growth_is_measured_on_the_window_before() -> None:
    assert growth_percent(D(150), D(100)) == D("50.00")
    assert growth_percent(D(10), D(0)) == D(100)
    assert growth_percent(D(0), D(0)) == D(0)


@pytest.mark.parametrize(("current", "target", "reminded", "growth", "action", "to"), [
    (None, "B", False, 0, "ASSIGN", "B"),
    ("A", "A", False, 0, "NONE", None),
    ("A", "C", False, 0, "REMIND", "A"),
    ("A", "C", True, 0, "PROPOSE", "B"),  # one class at a time
    ("B", "C", False, 0, "PROPOSE", "C"),
    ("B", "A", False, 5, "NONE", None),  # not enough growth for A
    ("B", "A", False, 50, "PROPOSE", "A"),
    ("C", "A", False, 0, "PROPOSE", "B"),
])
def test_moves(current: str | None, target: str, reminded: bool, growth: int, action: str,
               to: str | None) -> None:
    customers = [facts(n, sales=n * 1000, previous=int(n * 1000 / (1 + growth / 100)))
                 for n in range(1, 11)]
    decided = rank(RULES, customers, TODAY)
    chosen = next(d for d in decided.values() if d.outcome.abc == target)
    result = move(RULES, current, chosen, reminded)
    assert (result.outcome.action, result.outcome.to) == (action, to)


def test_rule_classes_move_at_once_and_new_customers_wait() -> None:
    decided = rank(RULES, [facts(1, kind="individual"), facts(2, age_days=10)], TODAY)
    assert move(RULES, "A", decided[1], False).outcome.action == "ASSIGN"
    assert move(RULES, "A", decided[2], False).outcome.action == "NONE"


@pytest.mark.parametrize(("changes", "path"), [
    ({"a_percent": 30}, "classification.abc"),
    ({"weight_growth": 20}, "classification.abc.weight_sales"),
    ({"close_day": 20}, "classification.abc.close_day"),
    ({"close_time": "25:00"}, "classification.abc.close_time"),
    ({"region_digits": 3}, "classification.abc.region_digits"),
])
def test_bad_abc_rules_are_refused_at_their_path(changes: dict[str, object],
                                                 path: str) -> None:
    data = copy.deepcopy(document_data(load_default_policy()))
    classification = data["classification"]
    assert isinstance(classification, dict)
    classification["abc"].update(changes)
    assert [problem.path for problem in validate_policy_data(data)] == [path]


def test_the_default_rules_are_the_companys() -> None:
    assert isinstance(RULES, AbcShares)
    assert (RULES.a_percent, RULES.b_percent, RULES.c_percent) == (D(20), D(50), D(30))


# --- value segments ---------------------------------------------------------------------------

SEGMENTS = load_default_policy().classification.value_tiers


@pytest.mark.parametrize(("paid", "previous", "segment"), [
    (10_000_000, 0, "STRATEGIC"),
    (2_000_000, 5_000_000, "IMPORTANT"),  # falling sales still count as contribution
    (300_000, 200_000, "POTENTIAL"),  # growth 50 % >= 30 %
    (300_000, 250_000, "GENERAL"),  # growth 20 %: too little
    (199_999, 0, "GENERAL"),
    (0, 0, "GENERAL"),
])
def test_the_first_segment_whose_thresholds_are_met_applies(paid: int, previous: int,
                                                            segment: str) -> None:
    decision = value_segment(SEGMENTS, D(paid), D(previous))
    assert decision.outcome.code == segment
    assert decision.reasons[0].code == "SEGMENT_BY_VALUE"
    assert decision.reasons[0].params["growth_percent"] == growth_percent(D(paid), D(previous))


@pytest.mark.parametrize(("index", "changes", "path"), [
    (0, {"care_interval_days": None}, "classification.value_tiers[0].care_interval_days"),
    (3, {"care_interval_days": 30}, "classification.value_tiers[3].care_interval_days"),
    (3, {"team": "NOBODY"}, "classification.value_tiers[3].team"),
])
def test_bad_segment_teams_are_refused_at_their_path(index: int, changes: dict[str, object],
                                                     path: str) -> None:
    data = copy.deepcopy(document_data(load_default_policy()))
    classification = data["classification"]
    assert isinstance(classification, dict)
    classification["value_tiers"][index].update(changes)
    assert [problem.path for problem in validate_policy_data(data)] == [path]


def test_a_schema_2_document_gets_the_team_of_each_segment() -> None:
    data = copy.deepcopy(document_data(load_default_policy()))
    data["schema_version"] = 2
    classification = data["classification"]
    assert isinstance(classification, dict)
    for tier in classification["value_tiers"]:
        del tier["team"], tier["care_interval_days"]
    classification["value_tiers"].insert(3, {**classification["value_tiers"][2],
                                             "code": "OTHER"})
    upgraded = upgrades.upgraded(data)
    assert isinstance(upgraded, dict)
    assert [(t["code"], t["team"], t["care_interval_days"])
            for t in upgraded["classification"]["value_tiers"]] == [
        ("STRATEGIC", "ACCOUNT_MANAGER", 30), ("IMPORTANT", "ACCOUNT_MANAGER", 90),
        ("POTENTIAL", "MARKETING", None), ("OTHER", "SALES_TEAM", None),
        ("GENERAL", "SALES_TEAM", None)]
    assert validate_policy_data(upgraded) == []
