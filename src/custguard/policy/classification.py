"""The monthly ABC classification's decisions: the class each customer's facts put it in, and
the move that follows from its current class (none, an initial class, a class by rule, a
reminder, or a proposal for the manager to approve).

Input is one plain record per customer; output is decisions with reason codes and the numbers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .decisions import Decision, Reason
from .months import months_before
from .schema_rewards import AbcShares, ValueTier

HUNDRED = Decimal(100)
CLASSES = ("A", "B", "C")


@dataclass(frozen=True)
class ClassFacts:
    customer_id: int
    code: str
    region_code: str
    kind: str
    created_on: dt.date
    paid_sales: Decimal  # over the window
    previous_sales: Decimal  # over the window before it
    on_time_share: Decimal | None  # of the amounts settled in the window; None: nothing settled


@dataclass(frozen=True)
class Ranked:
    abc: str
    score: Decimal
    position: int  # 1 = best in its region
    of: int
    region: str
    growth: Decimal
    by_rule: bool = False
    new: bool = False


def growth_percent(paid: Decimal, previous: Decimal) -> Decimal:
    if previous > 0:
        return ((paid - previous) * HUNDRED / previous).quantize(Decimal("0.01"),
                                                                  rounding=ROUND_HALF_UP)
    return HUNDRED if paid > 0 else Decimal(0)


def _percentiles(values: Sequence[Decimal]) -> list[Decimal]:
    """Each value's share of the others strictly below it, 0–100 (ties share one rank)."""
    n = len(values)
    if n == 1:
        return [HUNDRED]
    ordered = sorted(values)
    below: dict[Decimal, int] = {}
    for index, value in enumerate(ordered):
        below.setdefault(value, index)
    return [Decimal(below[value]) * HUNDRED / (n - 1) for value in values]


def _count(n: int, percent: Decimal) -> int:
    return int((Decimal(n) * percent / HUNDRED).to_integral_value(rounding=ROUND_HALF_UP))


def region_of(rules: AbcShares, region_code: str) -> str:
    return region_code[:rules.region_digits] if rules.region_digits else ""


def rank(rules: AbcShares, facts: Sequence[ClassFacts],
         today: dt.date) -> dict[int, Decision[Ranked]]:
    """The class the facts put every customer in, ranked within its sales region."""
    decisions: dict[int, Decision[Ranked]] = {}
    groups: dict[str, list[ClassFacts]] = defaultdict(list)
    new_since = months_before(today, rules.new_customer_months)
    growths: dict[int, Decimal] = {}
    for item in facts:
        growth = growths[item.customer_id] = growth_percent(item.paid_sales,
                                                            item.previous_sales)
        region = region_of(rules, item.region_code)
        if item.kind in rules.c_by_rule_kinds:
            decisions[item.customer_id] = Decision(
                Ranked("C", Decimal(0), 0, 0, region, growth, by_rule=True),
                (Reason("CLASS_C_BY_RULE", {"kind": item.kind}),))
        elif rules.new_customer_months and item.created_on > new_since:
            decisions[item.customer_id] = Decision(
                Ranked(rules.new_customer_class, Decimal(0), 0, 0, region, growth, new=True),
                (Reason("CLASS_NEW_CUSTOMER", {"months": rules.new_customer_months,
                                               "since": item.created_on.isoformat()}),))
        else:
            groups[region].append(item)
    for region, members in groups.items():
        sales_ranks = _percentiles([m.paid_sales for m in members])
        payment_ranks = _percentiles([m.on_time_share if m.on_time_share is not None
                                      else Decimal(-1) for m in members])
        growth_ranks = _percentiles([growths[m.customer_id] for m in members])
        scores = [((rules.weight_sales * s + rules.weight_payment * p + rules.weight_growth * g)
                   / HUNDRED).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                  for s, p, g in zip(sales_ranks, payment_ranks, growth_ranks, strict=True)]
        order = sorted(range(len(members)),
                       key=lambda i: (-scores[i], -members[i].paid_sales, members[i].code))
        n = len(members)
        a_count = _count(n, rules.a_percent)
        b_count = _count(n, rules.a_percent + rules.b_percent) - a_count
        for position, index in enumerate(order, start=1):
            member = members[index]
            abc = "A" if position <= a_count else "B" if position <= a_count + b_count else "C"
            member_growth = growths[member.customer_id]
            decisions[member.customer_id] = Decision(
                Ranked(abc, scores[index], position, n, region, member_growth),
                (Reason(f"CLASS_RANKED_{abc}", {
                    "position": position, "of": n, "score": scores[index],
                    "paid_sales": member.paid_sales, "growth_percent": member_growth,
                    "on_time_percent": (member.on_time_share * HUNDRED).quantize(
                        Decimal("0.1")) if member.on_time_share is not None else "-",
                    "region": region or "*"}),))
    return decisions


@dataclass(frozen=True)
class Move:
    """What follows for one customer: NONE, ASSIGN (an initial class or one by rule, at once),
    REMIND (an A customer below its share for the first time), PROPOSE (for approval)."""

    action: str
    to: str | None = None


def move(rules: AbcShares, current: str | None, ranked: Decision[Ranked],
         reminded: bool) -> Decision[Move]:
    """The move from the customer's current class that its ranking calls for. Moves go one
    class at a time; only initial classes and classes by rule are assigned without approval."""
    target = ranked.outcome
    reasons = ranked.reasons
    if current is None:
        return Decision(Move("ASSIGN", target.abc), (Reason("CLASS_INITIAL"), *reasons))
    if target.by_rule:
        if current == "C":
            return Decision(Move("NONE"), reasons)
        return Decision(Move("ASSIGN", "C"), reasons)
    if target.new or target.abc == current:
        return Decision(Move("NONE"), reasons)
    if CLASSES.index(target.abc) > CLASSES.index(current):  # lower class
        if current == "A" and not reminded:
            return Decision(Move("REMIND", "A"), (Reason("CLASS_A_BELOW_SHARE"), *reasons))
        step = CLASSES[CLASSES.index(current) + 1]
        why = "CLASS_A_BELOW_SHARE_AGAIN" if current == "A" else "CLASS_BELOW_SHARE"
        return Decision(Move("PROPOSE", step), (Reason(why), *reasons))
    step = CLASSES[CLASSES.index(current) - 1]
    if step == "A" and target.growth < rules.upgrade_min_growth_percent:
        return Decision(Move("NONE"), (Reason("CLASS_UPGRADE_NEEDS_GROWTH", {
            "growth_percent": target.growth,
            "needed_percent": rules.upgrade_min_growth_percent}), *reasons))
    return Decision(Move("PROPOSE", step), (Reason("CLASS_ABOVE_SHARE"), *reasons))


def value_segment(tiers: Sequence[ValueTier], paid_sales: Decimal,
                  previous_sales: Decimal) -> Decision[ValueTier]:
    """The first value segment whose thresholds the customer's paid sales and growth meet (the
    policy's last segment has none, so there always is one)."""
    growth = growth_percent(paid_sales, previous_sales)
    for tier in tiers:
        if paid_sales >= tier.min_sales_12m and (
                tier.min_growth_percent is None or growth >= tier.min_growth_percent):
            return Decision(tier, (Reason("SEGMENT_BY_VALUE", {
                "segment": tier.code, "paid_sales": paid_sales, "min_sales": tier.min_sales_12m,
                "growth_percent": growth,
                "min_growth_percent": "-" if tier.min_growth_percent is None
                else tier.min_growth_percent}),))
    raise ValueError("the policy's last value segment must take every customer")
