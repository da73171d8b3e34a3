"""Older policy documents read as the current schema.

A stored version keeps the document it was published with; reading it upgrades the data first,
so that every version parses with one schema and means what it meant when it was published.

Schema 1 → 2 (the points ledger): version 1's points section was written before anything
earned points, so no decision depends on what it said beyond its own fields. Its rate, rounding
and expiry months are kept; `earn_on` goes (points are earned on paid invoices only); what
version 1 could not say is filled with the values that change nothing: no holding period, no
expiry notice, no on-time bonus, no caps, no campaigns, withheld points not restored when a
freeze lapses, and one fen per point (0.01) as the redemption value. Its ABC shares and sales
window are kept; the ranking it did not describe becomes the plainest one: paid sales alone, all
customers in one ranking, no class by rule or for new customers, reminders answered within 7
days, the run on the 25th closing on the 27th at 17:00, and no class treated differently from
another. Nothing was classified under version 1.

Schema 2 → 3 (value segments): version 2's value tiers decided nothing (no run used them); each
keeps its thresholds and gets the team that looks after it by the company's rules — strategic
and important customers their account manager (a care visit every 30 and 90 days), potential
ones marketing, every other segment the sales team.

Schema 2 → 3 (membership tiers): version 2's `classification.membership_tiers` moves to the new
top-level `membership` section. Version 2 evaluated no tier: every customer earned at the entry
tier's multiplier. So every tier keeps its code, names and 12-month sales threshold (as
`min_paid_spend`; the entry tier none), and gets the entry tier's multiplier, no coupons, the
STANDARD service level, no term bonus and no grace; `min_points` goes (a tier is not reached by
a points balance any more), and no order count, on-time or grade rule is added. The tiers are
evaluated on the 1st over 12 months, a manual tier lasts at most 366 days. Whatever a run under
a version 2 policy decides, points and terms come out as they did.

Schema 3 → 4 (coupons): a new top-level `coupons` section. Version 3 issued no coupon, so it
gets an empty one (no definitions, no rules) and decides what it decided. A version 3 tier
whose `coupons_on_reaching` named a definition (none could exist) loses that name, since
nothing was ever issued for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

CURRENT_SCHEMA = 4


def _points_1_to_2(points: dict[str, Any]) -> dict[str, Any]:
    upgraded = {name: value for name, value in points.items() if name != "earn_on"}
    upgraded.setdefault("holding_days", 0)
    upgraded.setdefault("expiry", "MONTHS_AFTER_EARNING")
    upgraded.setdefault("expiry_notice_days", 0)
    upgraded.setdefault("on_time_bonus_percent", 0)
    upgraded.setdefault("cap_per_order", None)
    upgraded.setdefault("cap_per_month", None)
    upgraded.setdefault("redemption_value", "0.01")
    upgraded.setdefault("restore_withheld_on_lapse", False)
    upgraded.setdefault("campaigns", [])
    return upgraded


def _abc_1_to_2(abc: dict[str, Any]) -> dict[str, Any]:
    upgraded = dict(abc)
    for name, value in (("weight_sales", 100), ("weight_payment", 0), ("weight_growth", 0),
                        ("region_digits", 0), ("c_by_rule_kinds", []),
                        ("new_customer_months", 0), ("new_customer_class", "C"),
                        ("upgrade_min_growth_percent", 0), ("reminder_response_days", 7),
                        ("run_day", 25), ("close_day", 27), ("close_time", "17:00")):
        upgraded.setdefault(name, value)
    return upgraded


def _from_1(data: dict[str, Any]) -> dict[str, Any]:
    upgraded = {**data, "schema_version": 2}
    if isinstance(data.get("points"), Mapping):
        upgraded["points"] = _points_1_to_2(dict(data["points"]))
    classification = data.get("classification")
    if isinstance(classification, Mapping) and isinstance(classification.get("abc"), Mapping):
        upgraded["classification"] = {
            **classification, "abc": _abc_1_to_2(dict(classification["abc"])),
            "treatments": classification.get("treatments", [
                {"abc": abc, "priority_allocation": False, "payment_term_bonus_days": 0,
                 "promotion_support": False, "new_products_first": False}
                for abc in ("A", "B", "C")])}
    return upgraded


# Schema 2 → 3 (membership tiers, value segments): each section's step is below.


def _tiers_2_to_3(document: dict[str, Any]) -> dict[str, Any]:
    """classification.membership_tiers becomes the membership section (see the docstring)."""
    classification = document.get("classification")
    if not isinstance(classification, Mapping) or "membership_tiers" not in classification:
        return document
    old = classification["membership_tiers"]
    rest = {name: value for name, value in classification.items()
            if name != "membership_tiers"}
    upgraded = {**document, "classification": rest}
    if "membership" in document or not isinstance(old, list) or not old:
        return upgraded
    entry = old[0] if isinstance(old[0], Mapping) else {}
    multiplier = entry.get("points_multiplier", 1)
    tiers = []
    for index, tier in enumerate(old):
        if not isinstance(tier, Mapping):
            tiers.append(tier)
            continue
        tiers.append({
            "code": tier.get("code"), "name_zh": tier.get("description_zh"),
            "name_en": tier.get("description_en"),
            "qualification": {"min_paid_spend": tier.get("min_sales_12m", "0.00")
                              if index else "0.00",
                              "min_orders": 0, "min_on_time_percent": None, "min_grade": None},
            "benefits": {"points_multiplier": multiplier, "coupons_on_reaching": [],
                         "service_level": "STANDARD", "payment_term_bonus_days": 0},
            "grace_months": 0})
    upgraded["membership"] = {"window_months": 12, "evaluation_day": 1,
                              "manual_max_days": 366, "tiers": tiers}
    return upgraded


_TEAMS = {"STRATEGIC": ("ACCOUNT_MANAGER", 30), "IMPORTANT": ("ACCOUNT_MANAGER", 90),
          "POTENTIAL": ("MARKETING", None)}


def _segments_2_to_3(document: dict[str, Any]) -> dict[str, Any]:
    classification = document.get("classification")
    if not isinstance(classification, Mapping) or not isinstance(
            classification.get("value_tiers"), list):
        return document
    tiers = []
    for tier in classification["value_tiers"]:
        if isinstance(tier, Mapping):
            team, care = _TEAMS.get(str(tier.get("code")), ("SALES_TEAM", None))
            tier = {"team": team, "care_interval_days": care, **tier}
        tiers.append(tier)
    return {**document, "classification": {**classification, "value_tiers": tiers}}


def _from_2(data: dict[str, Any]) -> dict[str, Any]:
    upgraded = {**data, "schema_version": 3}
    for step in (_tiers_2_to_3, _segments_2_to_3):
        upgraded = step(upgraded)
    return upgraded


def _from_3(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 3 → 4: an empty coupons section; tiers name no coupon (none was defined)."""
    upgraded = {**data, "schema_version": 4}
    upgraded.setdefault("coupons", {"definitions": [], "rules": []})
    membership = data.get("membership")
    if isinstance(membership, Mapping) and isinstance(membership.get("tiers"), list):
        tiers = []
        for tier in membership["tiers"]:
            if isinstance(tier, Mapping) and isinstance(tier.get("benefits"), Mapping):
                tier = {**tier, "benefits": {**tier["benefits"], "coupons_on_reaching": []}}
            tiers.append(tier)
        upgraded["membership"] = {**membership, "tiers": tiers}
    return upgraded


_STEPS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: _from_1, 2: _from_2, 3: _from_3}


def upgraded(data: object) -> object:
    """The document in the current schema; anything else (a later or unknown version, data
    that is not a mapping) is returned as it is, for validation to report."""
    if not isinstance(data, Mapping):
        return data
    document = dict(data)
    version = document.get("schema_version")
    while isinstance(version, int) and not isinstance(version, bool) and version in _STEPS:
        document = _STEPS[version](document)
        version = document.get("schema_version")
    return document
