"""The rewards app's tables, one module per business area: the points ledger and the reward
catalogue (points.py); coupons and membership tiers get their own modules."""

from .points import (
    InvoiceEarning,
    LotUse,
    PointsAccount,
    PointsEntry,
    PointsLot,
    Redemption,
    Reward,
)

__all__ = ["InvoiceEarning", "LotUse", "PointsAccount", "PointsEntry", "PointsLot",
           "Redemption", "Reward"]
