"""The membership section of the policy and the tier decisions (policy/membership.py)."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custguard.policy import document_data, load_default_policy, upgrades, validate_policy_data
from custguard.policy.membership import (
    TierFacts,
    TierState,
    checks,
    move,
    qualifying,
)

from .support import default_data, problem_paths

POLICY = load_default_policy()
SECTION = POLICY.membership
TODAY = dt.date(2025, 7, 1)
RICH = TierFacts(Decimal("9000000.00"), 30, Decimal("0.99"), "AA")
NOTHING = TierFacts(Decimal("0.00"), 0, None, "")
SILVERISH = TierFacts(Decimal("600000.00"), 8, Decimal("0.85"), "BB")


def test_the_default_tiers() -> None:
    assert [t.code for t in SECTION.tiers] == ["STANDARD", "SILVER", "GOLD", "DIAMOND"]
    assert [t.name_zh for t in SECTION.tiers] == ["普通会员", "银卡会员", "金卡会员", "钻石会员"]
    assert SECTION.multiplier("GOLD") == Decimal("1.2")
    assert SECTION.multiplier("") == SECTION.multiplier("NO_SUCH") == Decimal(1)


@pytest.mark.parametrize(("change", "path"), [
    (lambda d: d["tiers"][0]["qualification"].update(min_orders=1),
     "membership.tiers[0].qualification"),
    (lambda d: d["tiers"][2]["qualification"].update(min_paid_spend="100.00"),
     "membership.tiers[2].qualification.min_paid_spend"),
    (lambda d: d["tiers"][2]["qualification"].update(min_orders=1),
     "membership.tiers[2].qualification.min_orders"),
    (lambda d: d["tiers"][3]["qualification"].update(min_on_time_percent=None),
     "membership.tiers[3].qualification.min_on_time_percent"),
    (lambda d: d["tiers"][2]["qualification"].update(min_grade="C"),
     "membership.tiers[2].qualification.min_grade"),
    (lambda d: d["tiers"][3]["benefits"].update(points_multiplier=1),
     "membership.tiers[3].benefits.points_multiplier"),
    (lambda d: d["tiers"][1].update(code="STANDARD"), "membership.tiers[1].code"),
    (lambda d: d["tiers"][1]["qualification"].update(d["tiers"][0]["qualification"]),
     "membership.tiers[1].qualification"),
    (lambda d: d.update(evaluation_day=29), "membership.evaluation_day"),
    (lambda d: d["tiers"][1].update(grace_months=-1), "membership.tiers[1].grace_months"),
    (lambda d: d["tiers"][1]["benefits"].update(service_level="GOLDEN"),
     "membership.tiers[1].benefits.service_level"),
    (lambda d: d["tiers"][1]["benefits"].update(coupons_on_reaching=["lower case"]),
     "membership.tiers[1].benefits.coupons_on_reaching.0"),
])
def test_bad_tiers_are_refused_at_their_field(change: Any, path: str) -> None:
    data = default_data()
    change(data["membership"])
    paths = problem_paths(data)
    assert paths and all(p.startswith(path.rsplit(".0", 1)[0]) for p in paths), paths


def test_thresholds_may_stay_level_when_another_one_rises() -> None:
    data = default_data()
    data["membership"]["tiers"][2]["qualification"]["min_orders"] = 6
    assert problem_paths(data) == []


def test_a_schema_2_document_keeps_what_it_decided() -> None:
    data: dict[str, Any] = copy.deepcopy(document_data(POLICY))
    data["schema_version"] = 2
    del data["membership"]
    del data["coupons"]  # schema 4's section: a schema 2 document has none
    data["classification"]["membership_tiers"] = [
        {"code": "BRONZE", "min_points": 0, "min_sales_12m": "0.00", "points_multiplier": 1,
         "description_zh": "铜牌会员", "description_en": "Bronze"},
        {"code": "SILVER", "min_points": 5000, "min_sales_12m": "500000.00",
         "points_multiplier": 1.1, "description_zh": "银牌会员", "description_en": "Silver"},
        {"code": "GOLD", "min_points": 20000, "min_sales_12m": "2000000.00",
         "points_multiplier": 1.2, "description_zh": "金牌会员", "description_en": "Gold"}]
    upgraded = upgrades.upgraded(data)
    assert isinstance(upgraded, dict)
    assert validate_policy_data(upgraded) == []
    assert "membership_tiers" not in upgraded["classification"]
    section = upgraded["membership"]
    assert [(t["code"], t["name_zh"], t["qualification"]["min_paid_spend"],
             t["benefits"]["points_multiplier"]) for t in section["tiers"]] == [
        ("BRONZE", "铜牌会员", "0.00", 1), ("SILVER", "银牌会员", "500000.00", 1),
        ("GOLD", "金牌会员", "2000000.00", 1)]
    assert all(t["benefits"]["payment_term_bonus_days"] == 0
               and t["benefits"]["coupons_on_reaching"] == [] for t in section["tiers"])


def test_the_qualifying_tier_and_what_the_next_one_misses() -> None:
    assert qualifying(SECTION, NOTHING).outcome.code == "STANDARD"
    assert qualifying(SECTION, RICH).outcome.code == "DIAMOND"
    decision = qualifying(SECTION, SILVERISH)
    assert decision.outcome.code == "SILVER"
    assert [r.code for r in decision.reasons] == ["TIER_QUALIFIES", "TIER_NEXT_NOT_MET"]
    assert dict(decision.reasons[1].params) == {"tier": "GOLD", "rule": "paid_spend",
                                                "value": "600000.00", "needed": "2000000.00"}
    # a worse grade or nothing settled keeps a customer out of SILVER
    assert qualifying(SECTION, TierFacts(Decimal("600000.00"), 8, Decimal("0.85"), "B")
                      ).outcome.code == "STANDARD"
    assert qualifying(SECTION, TierFacts(Decimal("600000.00"), 8, None, "AAA")
                      ).outcome.code == "STANDARD"


def test_progress_per_rule() -> None:
    found = {c.rule: c for c in checks(SECTION.tiers[2].qualification, SILVERISH)}
    assert found["paid_spend"].progress == 30 and not found["paid_spend"].met
    assert found["orders"].progress == 66
    assert found["grade"].met is False and found["grade"].needed == "BBB"


def test_upgrade_at_once_even_past_a_tier() -> None:
    decision = move(SECTION, TierState("STANDARD"), qualifying(SECTION, RICH), TODAY)
    assert (decision.outcome.action, decision.outcome.tier) == ("UPGRADE", "DIAMOND")
    assert decision.reasons[0].code == "TIER_UPGRADE"


def test_first_tier_and_a_code_the_policy_dropped() -> None:
    assert move(SECTION, TierState(), qualifying(SECTION, SILVERISH), TODAY).outcome.action \
        == "INITIAL"
    gone = move(SECTION, TierState("PLATINUM"), qualifying(SECTION, NOTHING), TODAY)
    assert (gone.outcome.action, gone.outcome.tier) == ("INITIAL", "STANDARD")
    assert gone.reasons[0].code == "TIER_NO_LONGER_IN_POLICY"


def test_downgrade_only_after_the_grace_and_one_tier_at_a_time() -> None:
    q = qualifying(SECTION, NOTHING)
    first = move(SECTION, TierState("DIAMOND"), q, TODAY).outcome
    assert (first.action, first.tier, first.below_since) == ("GRACE_STARTED", "DIAMOND", TODAY)
    assert first.grace_ends_on == dt.date(2025, 10, 1)
    during = move(SECTION, TierState("DIAMOND", TODAY), q, dt.date(2025, 9, 30)).outcome
    assert (during.action, during.below_since) == ("GRACE", TODAY)
    over = move(SECTION, TierState("DIAMOND", TODAY), q, dt.date(2025, 10, 1))
    assert (over.outcome.action, over.outcome.tier) == ("DOWNGRADE", "GOLD")
    assert over.reasons[0].code == "TIER_GRACE_OVER"
    # still below GOLD: its own grace starts on the day of the downgrade
    assert over.outcome.below_since == dt.date(2025, 10, 1)
    # the same day again: no second step down
    again = move(SECTION, TierState("GOLD", dt.date(2025, 10, 1), dt.date(2025, 10, 1)), q,
                 dt.date(2025, 10, 1)).outcome
    assert (again.action, again.tier) == ("GRACE", "GOLD")


def test_no_grace_means_down_at_the_evaluation_but_not_twice_a_day() -> None:
    q = qualifying(SECTION, NOTHING)
    state = TierState("SILVER")
    data = default_data()
    data["membership"]["tiers"][1]["grace_months"] = 0
    from custguard.policy import parse_policy_data  # noqa: PLC0415

    section = parse_policy_data(data).membership
    assert move(section, state, q, TODAY).outcome.action == "DOWNGRADE"
    assert move(section, TierState("SILVER", None, TODAY), q, TODAY).outcome.action \
        == "GRACE_STARTED"


def test_qualifying_again_within_the_grace_clears_it() -> None:
    decision = move(SECTION, TierState("SILVER", TODAY), qualifying(SECTION, SILVERISH),
                    dt.date(2025, 8, 1))
    assert (decision.outcome.action, decision.outcome.below_since) == ("RECOVERED", None)
    assert move(SECTION, TierState("SILVER"), qualifying(SECTION, SILVERISH),
                TODAY).outcome.action == "NONE"


facts = st.builds(
    TierFacts,
    st.decimals(min_value=0, max_value=20_000_000, places=2),
    st.integers(min_value=0, max_value=60),
    st.one_of(st.none(), st.decimals(min_value=0, max_value=1, places=3)),
    st.sampled_from(["", "AAA", "AA", "A", "BBB", "BB", "B", "C", "D"]))
states = st.builds(
    TierState, st.sampled_from(["", *[t.code for t in SECTION.tiers]]),
    st.one_of(st.none(), st.dates(dt.date(2024, 1, 1), dt.date(2025, 7, 1))),
    st.one_of(st.none(), st.dates(dt.date(2024, 1, 1), dt.date(2025, 7, 1))))


@given(states, facts, st.dates(dt.date(2025, 7, 1), dt.date(2026, 7, 1)))
def test_moves_never_skip_down_and_repeat_to_nothing(state: TierState, fact: TierFacts,
                                                     today: dt.date) -> None:
    q = qualifying(SECTION, fact)
    decision = move(SECTION, state, q, today).outcome
    index = SECTION.index
    if decision.action == "DOWNGRADE":
        assert index(decision.tier) == index(state.tier) - 1  # type: ignore[operator]
    if decision.action == "UPGRADE":
        assert decision.tier == q.outcome.code
    if decision.action in ("GRACE", "GRACE_STARTED", "NONE", "RECOVERED"):
        assert decision.tier == state.tier
    # the same evaluation again, on the state it left: nothing changes
    after = TierState(decision.tier, decision.below_since,
                      today if decision.changes_tier else state.changed_on)
    repeat = move(SECTION, after, q, today).outcome
    assert repeat.tier == decision.tier and repeat.below_since == decision.below_since
    assert repeat.action in ("NONE", "GRACE")
