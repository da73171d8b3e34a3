"""The classification API: a customer's class and its history (customers.py); the monthly runs
and their reports (runs.py); the proposed moves and the reminders (moves.py). One router,
mounted at /api/v1/ by custguard.api."""

from ninja import Router

from custguard.classification.api import customers, moves, runs

router = Router()
router.add_router("", customers.router)
router.add_router("", runs.router)
router.add_router("", moves.router)
