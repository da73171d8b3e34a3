"""The coupons section of the policy and the coupon decisions (policy/coupons.py)."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custguard.policy import document_data, load_default_policy, upgrades, validate_policy_data
from custguard.policy.coupons import (
    CouponState,
    CustomerFacts,
    OrderFacts,
    decide_coupon,
    discount_value,
    may_issue,
)

from .support import default_data, problem_paths, problems_at

POLICY = load_default_policy()
SECTION = POLICY.coupons
DAY = dt.date(2026, 3, 10)
FRESH = CouponState("ISSUED", dt.date(2026, 3, 1), dt.date(2026, 3, 31), 0)
NEWCOMER = CustomerFacts(tier="STANDARD", grade="A", value_segment="GENERAL", orders_so_far=0)


def _definition(code: str) -> Any:
    definition = SECTION.definition(code)
    assert definition is not None
    return definition


def _order(amount: str, categories: tuple[str, ...] = ()) -> OrderFacts:
    return OrderFacts(Decimal(amount), categories, DAY)


def test_the_default_section_covers_every_kind_and_the_tier_coupons() -> None:
    assert {d.kind for d in SECTION.definitions} == {"AMOUNT_OFF", "PERCENT_OFF", "GIFT",
                                                     "PRIVILEGE"}
    named = {code for tier in POLICY.membership.tiers
             for code in tier.benefits.coupons_on_reaching}
    assert named and named <= {d.code for d in SECTION.definitions}
    assert {r.trigger for r in SECTION.rules} == {"WELCOME", "ANNIVERSARY", "WIN_BACK"}


@pytest.mark.parametrize(("change", "path"), [
    (lambda d: d["rules"][0].update(active_from="2026-05-01", active_until="2026-04-30"),
     "coupons.rules[0].active_until"),
    (lambda d: d["rules"][0].update(definition="NO_SUCH"), "coupons.rules[0].definition"),
    (lambda d: d["rules"][2].update(months_without_orders=None),
     "coupons.rules[2].months_without_orders"),
    (lambda d: d["rules"][0].update(months_without_orders=3),
     "coupons.rules[0].months_without_orders"),
    (lambda d: d["definitions"][0].update(percent=5), "coupons.definitions[0].percent"),
    (lambda d: d["definitions"][1].update(cap=None), "coupons.definitions[1].cap"),
    (lambda d: d["definitions"][0]["validity"].update(valid_from="2026-01-01"),
     "coupons.definitions[0].validity.valid_days"),
    (lambda d: d["definitions"][0]["validity"].update(
        valid_from="2026-02-01", valid_until="2026-01-01", valid_days=None),
     "coupons.definitions[0].validity.valid_until"),
    (lambda d: d["definitions"][0]["conditions"].update(tiers=["PLATINUM"]),
     "coupons.definitions[0].conditions.tiers[0]"),
    (lambda d: d["definitions"][0]["conditions"].update(value_segments=["NOPE"]),
     "coupons.definitions[0].conditions.value_segments[0]"),
    (lambda d: d["definitions"][1].update(code="WELCOME_FIRST_ORDER"),
     "coupons.definitions[1].code"),
])
def test_bad_coupons_are_refused_at_their_field(change: Any, path: str) -> None:
    data = default_data()
    change(data["coupons"])
    assert path in problem_paths(data)


def test_a_tier_naming_an_unknown_coupon_is_refused() -> None:
    data = default_data()
    data["membership"]["tiers"][1]["benefits"]["coupons_on_reaching"] = ["NO_SUCH"]
    assert problems_at(data, "membership.tiers[1].benefits.coupons_on_reaching[0]") == [
        "unknown coupon definition NO_SUCH"]


def test_a_schema_3_document_gets_an_empty_section_and_decides_the_same() -> None:
    data: dict[str, Any] = copy.deepcopy(document_data(POLICY))
    data["schema_version"] = 3
    del data["coupons"]
    upgraded = upgrades.upgraded(data)
    assert isinstance(upgraded, dict)
    assert validate_policy_data(upgraded) == []
    assert upgraded["schema_version"] == 4
    assert upgraded["coupons"] == {"definitions": [], "rules": []}
    assert all(t["benefits"]["coupons_on_reaching"] == []
               for t in upgraded["membership"]["tiers"])
    assert [t["benefits"]["points_multiplier"] for t in upgraded["membership"]["tiers"]] == [
        t["benefits"]["points_multiplier"] for t in data["membership"]["tiers"]]


def test_an_amount_off_coupon_on_a_first_order() -> None:
    decision = decide_coupon(_definition("WELCOME_FIRST_ORDER"), FRESH, NEWCOMER,
                             _order("8000.00"))
    assert decision.outcome.applies and decision.outcome.discount == Decimal("500.00")
    assert [r.code for r in decision.reasons] == ["COUPON_OK"]


def test_every_refusal_is_named() -> None:
    state = CouponState("REDEEMED", dt.date(2026, 3, 11), dt.date(2026, 3, 31), 0)
    regular = CustomerFacts(tier="STANDARD", grade="C", value_segment="GENERAL", orders_so_far=3)
    decision = decide_coupon(_definition("WELCOME_FIRST_ORDER"), state, regular,
                             _order("100.00"))
    assert not decision.outcome.applies and decision.outcome.discount == 0
    assert [r.code for r in decision.reasons] == [
        "COUPON_ALREADY_USED", "COUPON_NOT_YET_VALID", "COUPON_MIN_ORDER", "COUPON_FIRST_ORDER"]


def test_expired_tier_grade_segment_category_and_used_up() -> None:
    base = _definition("STRATEGIC_GIFT")
    definition = base.model_copy(update={"conditions": base.conditions.model_copy(update={
        "categories": ("STEEL",), "tiers": ("GOLD",), "grades": ("AAA",)})})
    state = CouponState("ISSUED", dt.date(2026, 1, 1), dt.date(2026, 3, 1), 200)
    decision = decide_coupon(definition, state, NEWCOMER, _order("90000.00", ("PAPER",)))
    assert [r.code for r in decision.reasons] == [
        "COUPON_EXPIRED", "COUPON_USED_UP", "COUPON_CATEGORY", "COUPON_TIER", "COUPON_GRADE",
        "COUPON_SEGMENT"]


def test_a_gift_and_a_privilege_grant_no_money() -> None:
    strategic = CustomerFacts("GOLD", "AA", "STRATEGIC", 40)
    gift = decide_coupon(_definition("STRATEGIC_GIFT"), FRESH, strategic, _order("60000.00"))
    assert gift.outcome.applies and gift.outcome.discount == 0
    assert gift.outcome.gift_item == "定制礼盒"
    shipping = decide_coupon(_definition("WIN_BACK_FREE_SHIPPING"), FRESH, strategic,
                             _order("10.00"))
    assert shipping.outcome.privilege == "FREE_SHIPPING"


def test_percent_off_is_capped() -> None:
    definition = _definition("ANNIVERSARY_PERCENT")  # 5 % up to 2000
    assert discount_value(definition, Decimal("10000.00")) == Decimal("500.00")
    assert discount_value(definition, Decimal("1000000.00")) == Decimal("2000.00")
    assert discount_value(definition, Decimal("10000.10")) == Decimal("500.01")


def test_the_per_customer_limit_refuses_issuing() -> None:
    definition = _definition("WELCOME_FIRST_ORDER")
    assert may_issue(definition, issued_to_customer=0, day=DAY).outcome
    refused = may_issue(definition, issued_to_customer=1, day=DAY)
    assert not refused.outcome
    assert [r.code for r in refused.reasons] == ["COUPON_PER_CUSTOMER_LIMIT"]


@given(amount=st.decimals(min_value=0, max_value=10_000_000, places=2),
       code=st.sampled_from([d.code for d in SECTION.definitions]))
def test_a_discount_never_exceeds_the_order_or_the_cap(amount: Decimal, code: str) -> None:
    definition = _definition(code)
    value = discount_value(definition, amount)
    assert Decimal(0) <= value <= amount
    assert value == value.quantize(Decimal("0.01"))
    if definition.cap is not None:
        assert value <= definition.cap
