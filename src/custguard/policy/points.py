"""Points decisions: what a paid invoice earns, when a lot becomes available and expires, how
much a credit note takes back, and whether a customer may earn or redeem at all.

Input is plain values the rewards services read (the invoice, what this order and this month
have earned already, the customer's standing flags); output is a decision with reason codes.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from .codes import PointsExpiry
from .decisions import Decision, Reason
from .schema_rewards import PointsRules

HUNDRED = Decimal(100)
ONE = Decimal(1)


@dataclass(frozen=True)
class PaidInvoice:
    """An invoice paid in full: `paid` is its amount net of the credit notes against it."""

    paid: Decimal
    issued_on: dt.date
    due_on: dt.date | None
    settled_on: dt.date


@dataclass(frozen=True)
class EarnContext:
    """What the earning depends on beyond the invoice itself."""

    tier_multiplier: Decimal = ONE
    tier: str = ""
    earned_by_order: int = 0  # points the other invoices of the same order earned
    earned_this_month: int = 0  # points the customer earned this calendar month
    points_frozen: bool = False
    blacklisted: bool = False


@dataclass(frozen=True)
class Earning:
    points: int  # what the customer gets (or, withheld, would get)
    uncapped: int  # before the caps
    withheld: bool  # frozen or blacklisted: recorded, not credited


def blocked(points_frozen: bool, blacklisted: bool) -> Reason | None:
    """A blacklisted customer (and a terminated one, whose points are frozen) earns and
    redeems nothing; a frozen one keeps what it holds but may not use it."""
    if blacklisted:
        return Reason("POINTS_BLACKLISTED")
    if points_frozen:
        return Reason("POINTS_FROZEN")
    return None


def earn(rules: PointsRules, invoice: PaidInvoice, context: EarnContext) -> Decision[Earning]:
    """The points a paid invoice earns, with the reasons: rate, tier, campaign, on-time bonus,
    caps, and the freeze that withholds them."""
    reasons: list[Reason] = []
    rate = rules.points_per_unit * context.tier_multiplier
    reasons.append(Reason("POINTS_EARNED", {"paid": invoice.paid,
                                            "per_unit": rules.points_per_unit}))
    if context.tier_multiplier != ONE:
        reasons.append(Reason("POINTS_TIER_MULTIPLIER", {"tier": context.tier,
                                                         "multiplier": context.tier_multiplier}))
    campaign = rules.campaign_on(invoice.issued_on)
    if campaign is not None:
        rate *= campaign.multiplier
        reasons.append(Reason("POINTS_CAMPAIGN", {"campaign": campaign.code,
                                                  "multiplier": campaign.multiplier}))
    base = rules.rounding.apply(invoice.paid * rate)
    total = base
    if (rules.on_time_bonus_percent > 0 and invoice.due_on is not None
            and invoice.settled_on <= invoice.due_on and base > 0):
        bonus = rules.rounding.apply(base * rules.on_time_bonus_percent / HUNDRED)
        if bonus:
            total += bonus
            reasons.append(Reason("POINTS_ON_TIME_BONUS", {
                "percent": rules.on_time_bonus_percent, "bonus": bonus}))
    points = total
    if rules.cap_per_order is not None:
        room = max(0, rules.cap_per_order - context.earned_by_order)
        if points > room:
            reasons.append(Reason("POINTS_ORDER_CAP", {"cap": rules.cap_per_order,
                                                       "capped": points - room}))
            points = room
    if rules.cap_per_month is not None:
        room = max(0, rules.cap_per_month - context.earned_this_month)
        if points > room:
            reasons.append(Reason("POINTS_MONTH_CAP", {"cap": rules.cap_per_month,
                                                       "capped": points - room}))
            points = room
    refusal = blocked(context.points_frozen, context.blacklisted)
    withheld = refusal is not None and points > 0
    if refusal is not None:
        reasons.insert(0, Reason(f"{refusal.code}_WITHHELD", {"points": points}))
    return Decision(Earning(points=points, uncapped=total, withheld=withheld), tuple(reasons))


def available_on(rules: PointsRules, earned_on: dt.date) -> dt.date:
    """Earned points may be redeemed from this day (returns can reverse them until then)."""
    return earned_on + dt.timedelta(days=rules.holding_days)


def expires_on(rules: PointsRules, earned_on: dt.date) -> dt.date:
    """The last day a lot earned on `earned_on` can be used."""
    if rules.expiry == PointsExpiry.END_OF_FOLLOWING_YEAR:
        return dt.date(earned_on.year + 1, 12, 31)
    assert rules.expiry_months is not None  # the schema requires it for this rule
    month_index = earned_on.month - 1 + rules.expiry_months
    year, month = earned_on.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def taken_back(earned: int, basis: Decimal, new_basis: Decimal) -> int:
    """Points a credit note takes back from an invoice that earned `earned` on `basis`: the
    same share of the points as of the money, so that what stays is what the rest earns.
    What stays is rounded down: a return never leaves a fraction of a point with the
    customer."""
    if new_basis >= basis or earned <= 0:
        return 0
    if new_basis <= 0:
        return earned
    kept = (Decimal(earned) * new_basis / basis).to_integral_value(rounding=ROUND_FLOOR)
    return earned - int(kept)


def value_of(rules: PointsRules, points: int) -> Decimal:
    """What `points` are worth in money (cash-back, the points liability)."""
    return (rules.redemption_value * points).quantize(Decimal("0.01"))
