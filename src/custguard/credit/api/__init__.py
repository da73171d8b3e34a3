"""The credit API: the order gate and reservations (gate.py); scores, reviews and overrides
(scores.py). One router, mounted at /api/v1/ by custguard.api."""

from ninja import Router

from custguard.credit.api import gate, scores

router = Router()
router.add_router("", gate.router)
router.add_router("", scores.router)
