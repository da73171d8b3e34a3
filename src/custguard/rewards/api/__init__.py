"""The rewards API: a customer's points, their entries and lots, and adjustments (points.py).
One router, mounted at /api/v1/ by custguard.api; each module adds its own router here."""

from ninja import Router

from custguard.rewards.api import points

router = Router()
router.add_router("", points.router)

# Membership tiers (tiers.py).
from custguard.rewards.api import tiers  # noqa: E402

router.add_router("", tiers.router)
