"""The membership tiers' decisions: the tier a customer's facts qualify it for, how far it is
from the next one, and the move that follows from its current tier — up at once to the tier it
qualifies for; below its tier, kept for that tier's grace months, then one tier down (never two
in one evaluation, never on the day of another move).

Input is one plain record per customer; output is decisions with reason codes and the numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .codes import GradeCode
from .decisions import Decision, Reason, ReasonParam
from .months import add_months
from .schema_membership import Membership, MembershipTier, TierQualification

HUNDRED = Decimal(100)
RULES = ("paid_spend", "orders", "on_time", "grade")


@dataclass(frozen=True)
class TierFacts:
    paid_spend: Decimal  # payments applied over the window, net of reversals
    orders: int  # invoices issued over the window
    on_time_share: Decimal | None  # of the amount settled in the window; None: nothing settled
    grade: str  # the credit grade now ("" when never scored)

    @property
    def on_time_percent(self) -> Decimal | None:
        if self.on_time_share is None:
            return None
        return (self.on_time_share * HUNDRED).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class RuleCheck:
    """One qualifying rule of a tier against the facts: `progress` is 0–100 (how far along)."""

    rule: str  # paid_spend | orders | on_time | grade
    value: str
    needed: str
    met: bool
    progress: int


def _ratio(value: Decimal, needed: Decimal) -> int:
    if needed <= 0:
        return 100
    return int(min(HUNDRED, max(Decimal(0), value * HUNDRED / needed)))


def _grade_met(grade: str, needed: GradeCode) -> bool:
    try:
        return GradeCode(grade).rank <= needed.rank
    except ValueError:
        return False


def checks(rules: TierQualification, facts: TierFacts) -> list[RuleCheck]:
    """The tier's rules that are set, each with the customer's value and progress."""
    found = [RuleCheck("paid_spend", format(facts.paid_spend, "f"),
                       format(rules.min_paid_spend, "f"),
                       facts.paid_spend >= rules.min_paid_spend,
                       _ratio(facts.paid_spend, rules.min_paid_spend))]
    if rules.min_orders:
        found.append(RuleCheck("orders", str(facts.orders), str(rules.min_orders),
                               facts.orders >= rules.min_orders,
                               _ratio(Decimal(facts.orders), Decimal(rules.min_orders))))
    if rules.min_on_time_percent is not None:
        percent = facts.on_time_percent
        found.append(RuleCheck(
            "on_time", "-" if percent is None else format(percent, "f"),
            format(rules.min_on_time_percent, "f"),
            percent is not None and percent >= rules.min_on_time_percent,
            0 if percent is None else _ratio(percent, rules.min_on_time_percent)))
    if rules.min_grade is not None:
        met = _grade_met(facts.grade, rules.min_grade)
        found.append(RuleCheck("grade", facts.grade or "-", rules.min_grade.value, met,
                               100 if met else 0))
    return found


def qualifies(tier: MembershipTier, facts: TierFacts) -> bool:
    return all(check.met for check in checks(tier.qualification, facts))


def _facts_params(facts: TierFacts) -> dict[str, ReasonParam]:
    return {"paid_spend": facts.paid_spend, "orders": facts.orders,
            "on_time_percent": facts.on_time_percent if facts.on_time_percent is not None
            else "-", "grade": facts.grade or "-"}


def qualifying(section: Membership, facts: TierFacts) -> Decision[MembershipTier]:
    """The highest tier whose every rule the facts meet (the entry tier has none), with the
    first rule of the next tier up that is not met."""
    best = 0
    for index, tier in enumerate(section.tiers):
        if qualifies(tier, facts):
            best = index
    tier = section.tiers[best]
    reasons = [Reason("TIER_QUALIFIES", {"tier": tier.code, **_facts_params(facts)})]
    if best + 1 < len(section.tiers):
        above = section.tiers[best + 1]
        for check in checks(above.qualification, facts):
            if not check.met:
                reasons.append(Reason("TIER_NEXT_NOT_MET", {
                    "tier": above.code, "rule": check.rule, "value": check.value,
                    "needed": check.needed}))
                break
    return Decision(tier, tuple(reasons))


@dataclass(frozen=True)
class TierState:
    """A customer's evaluated tier now: "" before its first evaluation; below_since is the
    first evaluation that found it below that tier (its grace runs from then); changed_on the
    day it last moved."""

    tier: str = ""
    below_since: dt.date | None = None
    changed_on: dt.date | None = None


@dataclass(frozen=True)
class TierMove:
    """INITIAL (a first tier), UPGRADE, DOWNGRADE (one tier), GRACE (below, kept: the grace
    started or runs on), RECOVERED (qualifies again within its grace), NONE."""

    action: str
    tier: str  # the evaluated tier after the move
    below_since: dt.date | None = None
    grace_ends_on: dt.date | None = None

    @property
    def changes_tier(self) -> bool:
        return self.action in ("INITIAL", "UPGRADE", "DOWNGRADE")


def move(section: Membership, state: TierState, qualified: Decision[MembershipTier],
         today: dt.date) -> Decision[TierMove]:
    """The move from the customer's evaluated tier that its qualifying tier calls for."""
    target = qualified.outcome
    why = qualified.reasons
    current = section.index(state.tier) if state.tier else None
    wanted = section.index(target.code)
    assert wanted is not None
    if current is None:
        code = "TIER_INITIAL" if not state.tier else "TIER_NO_LONGER_IN_POLICY"
        return Decision(TierMove("INITIAL", target.code),
                        (Reason(code, {"tier": target.code, "was": state.tier or "-"}), *why))
    tier = section.tiers[current]
    if wanted > current:
        return Decision(TierMove("UPGRADE", target.code), (
            Reason("TIER_UPGRADE", {"from": tier.code, "tier": target.code}), *why))
    if wanted == current:
        if state.below_since is not None:
            return Decision(TierMove("RECOVERED", tier.code), (
                Reason("TIER_REQUALIFIED", {"tier": tier.code,
                                            "below_since": state.below_since.isoformat()}),
                *why))
        return Decision(TierMove("NONE", tier.code), why)
    since = state.below_since or today
    ends = add_months(since, tier.grace_months)
    if today < ends or state.changed_on == today:
        action = "GRACE" if state.below_since is not None else "GRACE_STARTED"
        return Decision(TierMove(action, tier.code, since, ends), (
            Reason("TIER_BELOW_IN_GRACE", {"tier": tier.code, "qualifies": target.code,
                                           "below_since": since.isoformat(),
                                           "grace_ends_on": ends.isoformat()}), *why))
    lower = section.tiers[current - 1]
    still_below = wanted < current - 1
    return Decision(TierMove("DOWNGRADE", lower.code, today if still_below else None,
                             add_months(today, lower.grace_months) if still_below else None), (
        Reason("TIER_GRACE_OVER", {"from": tier.code, "tier": lower.code,
                                   "qualifies": target.code, "below_since": since.isoformat(),
                                   "grace_months": tier.grace_months}), *why))


def kind_of(action: str) -> str:
    return {"INITIAL": "initial", "UPGRADE": "upgrade", "DOWNGRADE": "downgrade"}.get(action, "")
