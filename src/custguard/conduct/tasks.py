"""The conduct capability's scheduled jobs (see core/scheduling.py and docs/commands.md)."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from custguard.conduct.services import blacklist, notices, penalties
from custguard.core.actors import Actor
from custguard.core.scheduling import Job


@task()
def deliver_notice(notice_id: int) -> str:
    """Send one notice by e-mail (queued when the notice is committed)."""
    return notices.deliver(Actor.job("conduct.deliver_notice"), notice_id).delivery


def complete_penalties(actor: Actor) -> str:
    return f"{penalties.complete_due(actor)} penalty(ies) completed"


def expire_blacklist(actor: Actor) -> str:
    return f"{blacklist.expire_due(actor)} blacklist entry(ies) expired"


def propose_blacklist(actor: Actor) -> str:
    return f"{blacklist.propose_by_criteria(actor)} blacklist entry(ies) proposed"


JOBS = [
    Job("conduct.complete_penalties", "end penalties whose period is over",
        complete_penalties, at=dt.time(0, 5)),
    Job("conduct.expire_blacklist", "end blacklist entries whose period is over",
        expire_blacklist, at=dt.time(0, 6)),
    Job("conduct.propose_blacklist", "propose blacklist entries by the policy's criteria",
        propose_blacklist, at=dt.time(3, 0)),
]
