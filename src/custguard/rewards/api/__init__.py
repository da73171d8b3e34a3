"""The rewards API: a customer's points, their entries and lots, and adjustments (points.py);
coupons, and the gate with a coupon (coupons.py); membership tiers, manual tiers and their
approval (tiers.py). One router, mounted at /api/v1/ by custguard.api."""

from ninja import Router

from custguard.rewards.api import coupons, points, tiers

router = Router()
router.add_router("", points.router)
router.add_router("", coupons.router)
router.add_router("", tiers.router)
