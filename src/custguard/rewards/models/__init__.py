"""The rewards app's tables, one module per business area: the points ledger and the reward
catalogue (points.py); coupons (coupons.py); membership tiers (tiers.py)."""

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
from .tiers import TierAssignment, TierChange, TierNotice, TierRun, TierStatus

__all__ = ["Coupon", "CouponBatch", "CouponCounter", "CouponRedemption",
           "InvoiceEarning", "LotUse", "PointsAccount", "PointsEntry", "PointsLot",
           "Redemption", "Reward",
           "TierAssignment", "TierChange", "TierNotice", "TierRun", "TierStatus"]
