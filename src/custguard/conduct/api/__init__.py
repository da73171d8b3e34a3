"""The conduct API: cases, evidence, penalties and fines (cases.py); notices and the blacklist
(blacklist.py); appeals (appeals.py). One router, mounted at /api/v1/ by custguard.api."""

from ninja import Router

from custguard.conduct.api import appeals, blacklist, cases

router = Router()
router.add_router("", cases.router)
router.add_router("", blacklist.router)
router.add_router("", appeals.router)
