"""The rewards API: a customer's points, their entries and lots, and adjustments (points.py);
coupons, and the gate with a coupon (coupons.py).
One router, mounted at /api/v1/ by custguard.api; each module adds its own router here."""

from ninja import Router

from custguard.rewards.api import points

router = Router()
router.add_router("", points.router)

# --- coupons (issue 11) ---
from custguard.rewards.api import coupons  # noqa: E402

router.add_router("", coupons.router)
