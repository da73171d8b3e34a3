"""The rewards app's tables, one module per business area: the points ledger and the reward
catalogue (points.py); coupons and membership tiers get their own modules."""

from .coupons import Coupon, CouponBatch, CouponCounter, CouponRedemption
from .points import (
    InvoiceEarning,
    LotUse,
    PointsAccount,
    PointsEntry,
    PointsLot,
    Redemption,
    Reward,
)

__all__ = ["Coupon", "CouponBatch", "CouponCounter", "CouponRedemption",
           "InvoiceEarning", "LotUse", "PointsAccount", "PointsEntry", "PointsLot",
           "Redemption", "Reward"]
