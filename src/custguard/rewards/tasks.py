"""The rewards capability's scheduled jobs (see core/scheduling.py and docs/commands.md)."""

from __future__ import annotations

import datetime as dt

from custguard.core.actors import Actor
from custguard.core.scheduling import Job
from custguard.rewards.services import expiry


def mature_points(actor: Actor) -> str:
    return f"{expiry.mature_due(actor)} customer(s) with points that became available"


def expire_points(actor: Actor) -> str:
    return f"{expiry.expire_due(actor)} customer(s) with points that expired"


def notify_expiring_points(actor: Actor) -> str:
    return f"{expiry.notify_expiring(actor)} customer(s) told their points expire soon"


JOBS = [
    # After midnight, in this order: a lot whose holding ends and whose life ends on the same
    # day is first made available, then expired.
    Job("rewards.mature_points", "make points available whose holding period is over",
        mature_points, at=dt.time(0, 10)),
    Job("rewards.expire_points", "expire points past their last day", expire_points,
        at=dt.time(0, 15)),
    Job("rewards.notify_expiring_points", "tell customers whose points expire soon",
        notify_expiring_points, at=dt.time(9, 0)),
]
