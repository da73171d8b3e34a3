"""The rewards app's tables, one module per business area: the points ledger and the reward
catalogue (points.py); membership tiers (tiers.py); coupons get a module of their own."""

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

__all__ = ["InvoiceEarning", "LotUse", "PointsAccount", "PointsEntry", "PointsLot",
           "Redemption", "Reward",
           "TierAssignment", "TierChange", "TierNotice", "TierRun", "TierStatus"]
