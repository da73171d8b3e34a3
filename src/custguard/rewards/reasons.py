"""The points ledger's reason codes in plain language (zh-Hans and English), with their numbers.

The sentences are registered with the credit app's reason texts (`credit.reasons.register`,
from `RewardsConfig.ready()` through `install()`), so `credit.reasons.describe()` words a points
entry's reasons like any decision's:

    describe({"code": "POINTS_ON_TIME_BONUS", "params": {"percent": "10", "bonus": 10}})
    -> "Paid by the due date: 10 bonus points (10% extra)"

Every code the rewards services and `policy.points` emit is here; `LABELS` are the short names
of the codes, for where only the code is stored (the audit entry of a points entry, shown in a
customer's timeline).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from custguard.credit import reasons as reason_texts

# Parameters of these codes that are sums of money (the others are points, percentages,
# multipliers and codes).
MONEY = frozenset({"paid", "basis", "new_basis"})

TEMPLATES: dict[str, Promise] = {
    # earning (policy/points.py earn)
    "POINTS_EARNED": _("%(paid)s paid, at %(per_unit)s points per unit of currency"),
    "POINTS_TIER_MULTIPLIER": _("Membership tier %(tier)s: points × %(multiplier)s"),
    "POINTS_CAMPAIGN": _("Campaign %(campaign)s: points × %(multiplier)s"),
    "POINTS_ON_TIME_BONUS": _("Paid by the due date: %(bonus)s bonus points "
                              "(%(percent)s%% extra)"),
    "POINTS_ORDER_CAP": _("At most %(cap)s points per order: %(capped)s points not earned"),
    "POINTS_MONTH_CAP": _("At most %(cap)s points per calendar month: %(capped)s points not "
                          "earned"),
    "POINTS_FROZEN_WITHHELD": _("The customer's points are frozen: %(points)s points withheld"),
    "POINTS_BLACKLISTED_WITHHELD": _("The customer is blacklisted: %(points)s points withheld"),
    # what blocks earning and redeeming (policy/points.py blocked)
    "POINTS_FROZEN": _("The customer's points are frozen: they cannot be redeemed"),
    "POINTS_BLACKLISTED": _("The customer is blacklisted: no points are earned or redeemed"),
    # taking back (rewards/services/earning.py)
    "POINTS_CREDIT_NOTE": _("A credit note lowered the amount paid from %(basis)s to "
                            "%(new_basis)s: the same share of the points is taken back"),
    "POINTS_INVOICE_REOPENED": _("A payment was reversed and the invoice is unpaid again: its "
                                 "points are taken back"),
    # withheld points when the freeze or the blacklisting ends
    "POINTS_RELEASED_OVERTURNED": _("The measure that withheld the points was overturned: the "
                                    "points are given to the customer"),
    "POINTS_RELEASED_ON_LAPSE": _("The freeze ended and the policy restores withheld points: "
                                  "the points are given to the customer"),
    "POINTS_FORFEITED_ON_LAPSE": _("The freeze ended: the withheld points are forfeited"),
    # adjustments and conduct (rewards/services/adjustments.py)
    "POINTS_ADJUSTED": _("Adjusted by hand"),
    "POINTS_PENALTY_DEDUCTION": _("Deducted by a penalty: %(deducted)s of the %(asked)s points "
                                  "it asked for"),
    "POINTS_PENALTY_OVERTURNED": _("The penalty was overturned: the deducted points are given "
                                   "back"),
    # redemptions (rewards/services/redemptions.py)
    "POINTS_REDEEMED": _("Redeemed for %(quantity)s × reward %(reward)s"),
    "POINTS_REDEMPTION_CANCELLED": _("The redemption of reward %(reward)s was cancelled: the "
                                     "points are given back"),
    # the daily jobs (rewards/services/expiry.py)
    "POINTS_HOLDING_OVER": _("Holding period over: %(points)s points (%(lots)s lots) became "
                             "available"),
    "POINTS_EXPIRED": _("%(points)s points (%(lots)s lots) expired unused"),
}

LABELS: dict[str, Promise] = {
    "POINTS_EARNED": _("points for a paid invoice"),
    "POINTS_TIER_MULTIPLIER": _("membership tier multiplier"),
    "POINTS_CAMPAIGN": _("campaign multiplier"),
    "POINTS_ON_TIME_BONUS": _("on-time payment bonus"),
    "POINTS_ORDER_CAP": _("per-order cap"),
    "POINTS_MONTH_CAP": _("monthly cap"),
    "POINTS_FROZEN_WITHHELD": _("withheld: points frozen"),
    "POINTS_BLACKLISTED_WITHHELD": _("withheld: blacklisted"),
    "POINTS_FROZEN": _("points frozen"),
    "POINTS_BLACKLISTED": _("blacklisted"),
    "POINTS_CREDIT_NOTE": _("credit note"),
    "POINTS_INVOICE_REOPENED": _("payment reversed"),
    "POINTS_RELEASED_OVERTURNED": _("released: measure overturned"),
    "POINTS_RELEASED_ON_LAPSE": _("released: freeze ended"),
    "POINTS_FORFEITED_ON_LAPSE": _("forfeited: freeze ended"),
    "POINTS_ADJUSTED": _("adjusted by hand"),
    "POINTS_PENALTY_DEDUCTION": _("penalty deduction"),
    "POINTS_PENALTY_OVERTURNED": _("penalty overturned"),
    "POINTS_REDEEMED": _("redeemed"),
    "POINTS_REDEMPTION_CANCELLED": _("redemption cancelled"),
    "POINTS_HOLDING_OVER": _("holding period over"),
    "POINTS_EXPIRED": _("expired"),
}


# --- coupons (policy/coupons.py, rewards/services/coupon_*.py) --------------------------------

COUPON_MONEY = frozenset({"amount", "min", "discount"})

COUPON_TEMPLATES: dict[str, Promise] = {
    "COUPON_OK": _("The coupon applies: %(discount)s off"),
    "COUPON_EXPIRED": _("The coupon could be used until %(valid_until)s"),
    "COUPON_NOT_YET_VALID": _("The coupon can be used from %(valid_from)s"),
    "COUPON_ALREADY_USED": _("The coupon was used on another order"),
    "COUPON_REVOKED": _("The coupon was revoked"),
    "COUPON_USED_UP": _("All %(limit)s coupons of this kind have been used"),
    "COUPON_MIN_ORDER": _("The order of %(amount)s is below the coupon's minimum of %(min)s"),
    "COUPON_CATEGORY": _("The order has none of the coupon's categories (%(categories)s)"),
    "COUPON_TIER": _("Membership tier %(tier)s: the coupon is for %(tiers)s"),
    "COUPON_GRADE": _("Credit grade %(grade)s: the coupon is for %(grades)s"),
    "COUPON_SEGMENT": _("Value segment %(segment)s: the coupon is for %(segments)s"),
    "COUPON_FIRST_ORDER": _("The coupon is for a first order; the customer has %(orders)s "
                            "orders"),
    "COUPON_PER_CUSTOMER_LIMIT": _("At most %(limit)s coupons of this kind per customer"),
    "COUPON_FOREIGN": _("The coupon belongs to another customer"),
    "COUPON_UNKNOWN": _("No coupon with this code"),
    "COUPON_DEFINITION_GONE": _("The policy in force no longer has this coupon's definition"),
    "COUPON_GATE_REFUSED": _("The order gate did not accept the order (%(outcome)s): the "
                             "coupon was not used"),
}


# Membership tiers (policy/membership.py, rewards/services/tier_*.py): the reasons of a tier
# change, registered with their own money parameter.
TIER_MONEY = frozenset({"paid_spend"})
TIER_TEMPLATES: dict[str, Promise] = {
    "TIER_QUALIFIES": _("Qualifies for tier %(tier)s: %(paid_spend)s paid, %(orders)s "
                        "invoices, %(on_time_percent)s%% paid on time, grade %(grade)s"),
    "TIER_NEXT_NOT_MET": _("Not yet tier %(tier)s: %(rule)s is %(value)s, %(needed)s needed"),
    "TIER_INITIAL": _("First membership tier: %(tier)s"),
    "TIER_NO_LONGER_IN_POLICY": _("The policy no longer has tier %(was)s: the tier is now "
                                  "%(tier)s"),
    "TIER_UPGRADE": _("Moved up at once from %(from)s to %(tier)s"),
    "TIER_REQUALIFIED": _("Qualifies for tier %(tier)s again (below it since "
                          "%(below_since)s): the grace ends"),
    "TIER_BELOW_IN_GRACE": _("Below tier %(tier)s since %(below_since)s (qualifies for "
                             "%(qualifies)s): kept until %(grace_ends_on)s"),
    "TIER_GRACE_OVER": _("Below tier %(from)s since %(below_since)s, its %(grace_months)s "
                         "months of grace are over: one tier down to %(tier)s (qualifies for "
                         "%(qualifies)s)"),
    "TIER_MANUAL": _("Manual tier %(tier)s, approved by a second person, until "
                     "%(expires_on)s"),
}
TIER_LABELS: dict[str, Promise] = {
    "TIER_QUALIFIES": _("qualifying tier"),
    "TIER_NEXT_NOT_MET": _("next tier not met"),
    "TIER_INITIAL": _("first tier"),
    "TIER_NO_LONGER_IN_POLICY": _("tier no longer in the policy"),
    "TIER_UPGRADE": _("moved up"),
    "TIER_REQUALIFIED": _("qualifies again"),
    "TIER_BELOW_IN_GRACE": _("below the tier, in grace"),
    "TIER_GRACE_OVER": _("grace over, one tier down"),
    "TIER_MANUAL": _("manual tier"),
}
RULE_LABELS: dict[str, Promise] = {
    "paid_spend": _("paid spend"),
    "orders": _("invoices"),
    "on_time": _("paid on time (%)"),
    "grade": _("credit grade"),
}

def describe_all(reasons: Iterable[Mapping[str, Any]]) -> list[reason_texts.ReasonText]:
    """A points entry's stored reasons as sentences in the active language."""
    return reason_texts.describe_all(reasons)


def label(code: str) -> str:
    return str(LABELS.get(code) or TIER_LABELS.get(code, code))


def _audited_reasons(value: Any) -> str:
    """The reasons of a points entry's audit entry (codes only) in a customer's timeline."""
    if not isinstance(value, list):
        return str(value)
    return str(_("; ")).join(label(str(code)) for code in value)


def install() -> None:
    """Register the texts (RewardsConfig.ready): the reasons with credit's reason texts, the
    audited reason codes with the customer timeline."""
    from custguard.customers.views.common import register_value_formatter

    reason_texts.register(TEMPLATES, money=MONEY)
    reason_texts.register(COUPON_TEMPLATES, money=COUPON_MONEY)
    reason_texts.register(TIER_TEMPLATES, money=TIER_MONEY)
    register_value_formatter("rewards.pointsentry", "reasons", _audited_reasons)
