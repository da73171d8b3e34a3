"""The coupons' decisions: whether a coupon applies to an order, and the discount it grants.

Input is the definition from the policy, the coupon's own state, the customer's facts and the
order; output is a decision with every reason that refuses it (or COUPON_OK) and the value:
an amount off never exceeds the order, a percent off is rounded half-up to the cent and capped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .decisions import Decision, Reason
from .schema_coupons import CouponDefinition

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal("0.00")

# The coupon's lifecycle states (rewards.Coupon.Status uses the same codes).
ISSUED, REDEEMED, EXPIRED, REVOKED = "ISSUED", "REDEEMED", "EXPIRED", "REVOKED"


@dataclass(frozen=True)
class CouponState:
    status: str  # ISSUED | REDEEMED | EXPIRED | REVOKED
    valid_from: dt.date
    valid_until: dt.date
    redeemed_of_definition: int  # redemptions of the definition so far, all customers


@dataclass(frozen=True)
class CustomerFacts:
    tier: str  # "" when none
    grade: str  # "" when never scored
    value_segment: str  # "" when none
    orders_so_far: int  # invoices issued before this order


@dataclass(frozen=True)
class OrderFacts:
    amount: Decimal
    categories: tuple[str, ...]
    day: dt.date


@dataclass(frozen=True)
class CouponValue:
    applies: bool
    discount: Decimal  # money off the order (0 for a gift or a privilege)
    gift_item: str
    privilege: str


def discount_value(definition: CouponDefinition, amount: Decimal) -> Decimal:
    """The money a coupon of this definition takes off an order of `amount`."""
    if definition.kind == "AMOUNT_OFF":
        assert definition.amount is not None
        value = definition.amount
    elif definition.kind == "PERCENT_OFF":
        assert definition.percent is not None and definition.cap is not None
        value = min((amount * definition.percent / HUNDRED).quantize(CENT, ROUND_HALF_UP),
                    definition.cap)
    else:
        return ZERO
    return max(ZERO, min(value, amount)).quantize(CENT)


def _refusals(definition: CouponDefinition, state: CouponState, customer: CustomerFacts,
              order: OrderFacts) -> list[Reason]:
    reasons: list[Reason] = []
    if state.status == REDEEMED:
        reasons.append(Reason("COUPON_ALREADY_USED", {}))
    elif state.status == REVOKED:
        reasons.append(Reason("COUPON_REVOKED", {}))
    if state.status == EXPIRED or order.day > state.valid_until:
        reasons.append(Reason("COUPON_EXPIRED", {"valid_until": state.valid_until.isoformat()}))
    if order.day < state.valid_from:
        reasons.append(Reason("COUPON_NOT_YET_VALID",
                              {"valid_from": state.valid_from.isoformat()}))
    limit = definition.total_limit
    if limit is not None and state.redeemed_of_definition >= limit:
        reasons.append(Reason("COUPON_USED_UP", {"limit": limit}))
    conditions = definition.conditions
    if order.amount < conditions.min_order_amount:
        reasons.append(Reason("COUPON_MIN_ORDER", {"amount": order.amount,
                                                   "min": conditions.min_order_amount}))
    if conditions.categories and not set(conditions.categories) & set(order.categories):
        reasons.append(Reason("COUPON_CATEGORY",
                              {"categories": ", ".join(conditions.categories)}))
    if conditions.tiers and customer.tier not in conditions.tiers:
        reasons.append(Reason("COUPON_TIER", {"tier": customer.tier or "-",
                                              "tiers": ", ".join(conditions.tiers)}))
    if conditions.grades and customer.grade not in conditions.grades:
        reasons.append(Reason("COUPON_GRADE", {"grade": customer.grade or "-",
                                               "grades": ", ".join(conditions.grades)}))
    if conditions.value_segments and customer.value_segment not in conditions.value_segments:
        reasons.append(Reason("COUPON_SEGMENT",
                              {"segment": customer.value_segment or "-",
                               "segments": ", ".join(conditions.value_segments)}))
    if conditions.first_order_only and customer.orders_so_far > 0:
        reasons.append(Reason("COUPON_FIRST_ORDER", {"orders": customer.orders_so_far}))
    return reasons


def decide_coupon(definition: CouponDefinition, state: CouponState, customer: CustomerFacts,
                  order: OrderFacts) -> Decision[CouponValue]:
    """Every reason that refuses the coupon, or COUPON_OK with the discount."""
    refusals = _refusals(definition, state, customer, order)
    if refusals:
        return Decision(CouponValue(False, ZERO, "", ""), tuple(refusals))
    discount = discount_value(definition, order.amount)
    return Decision(
        CouponValue(True, discount, definition.gift_item or "", definition.privilege or ""),
        (Reason("COUPON_OK", {"discount": discount, "kind": definition.kind}),))


def may_issue(definition: CouponDefinition, *, issued_to_customer: int,
              day: dt.date) -> Decision[bool]:
    """Whether one more coupon of the definition may be issued to a customer that holds
    issued_to_customer of them already (any state), on `day`."""
    reasons: list[Reason] = []
    if issued_to_customer >= definition.per_customer:
        reasons.append(Reason("COUPON_PER_CUSTOMER_LIMIT",
                              {"limit": definition.per_customer}))
    validity = definition.validity
    if validity.valid_until is not None and day > validity.valid_until:
        reasons.append(Reason("COUPON_EXPIRED", {"valid_until": validity.valid_until.isoformat()}))
    if reasons:
        return Decision(False, tuple(reasons))
    return Decision(True, (Reason("COUPON_OK", {}),))
