"""The rewards capability's scheduled jobs (see core/scheduling.py and docs/commands.md)."""

from __future__ import annotations

import datetime as dt

from custguard.core.actors import Actor
from custguard.core.scheduling import Job
from custguard.rewards.services import (
    coupon_issuing,
    coupon_rules,
    expiry,
    tier_assignments,
    tier_evaluation,
    tier_notices,
)


def mature_points(actor: Actor) -> str:
    return f"{expiry.mature_due(actor)} customer(s) with points that became available"


def expire_points(actor: Actor) -> str:
    return f"{expiry.expire_due(actor)} customer(s) with points that expired"


def notify_expiring_points(actor: Actor) -> str:
    return f"{expiry.notify_expiring(actor)} customer(s) told their points expire soon"


def evaluate_tiers(actor: Actor) -> str:
    result = tier_evaluation.evaluate_if_due(actor)
    if result is None:
        return "not due: the tiers are evaluated on the policy's evaluation day"
    return (f"{result.customers} customer(s) evaluated: {result.initial} first tier(s), "
            f"{result.upgraded} up, {result.downgraded} down, {result.in_grace} in grace")


def expire_tier_assignments(actor: Actor) -> str:
    return f"{tier_assignments.expire_due(actor)} manual tier(s) expired"


def send_tier_notices(actor: Actor) -> str:
    return f"{tier_notices.send_pending(actor)} tier notice(s) e-mailed"


def issue_rule_coupons(actor: Actor) -> str:
    result = coupon_rules.issue_due(actor)
    refused = sum(result.refused.values())
    return (f"{result.total} coupon(s) issued by the policy's rules"
            + (f", {refused} refused by a limit" if refused else ""))


def expire_coupons(actor: Actor) -> str:
    return f"{coupon_issuing.expire_due(actor)} unused coupon(s) past their last day expired"


JOBS = [
    # After midnight, in this order: a lot whose holding ends and whose life ends on the same
    # day is first made available, then expired.
    Job("rewards.mature_points", "make points available whose holding period is over",
        mature_points, at=dt.time(0, 10)),
    Job("rewards.expire_points", "expire points past their last day", expire_points,
        at=dt.time(0, 15)),
    Job("rewards.notify_expiring_points", "tell customers whose points expire soon",
        notify_expiring_points, at=dt.time(9, 0)),
    # Membership tiers: manual tiers past their last day end first, so the monthly
    # evaluation that follows decides those customers too; notices go out in office hours.
    Job("rewards.expire_tier_assignments", "end manual membership tiers past their last day",
        expire_tier_assignments, at=dt.time(1, 0)),
    Job("rewards.evaluate_tiers", "evaluate the membership tiers on the evaluation day",
        evaluate_tiers, at=dt.time(1, 30)),
    Job("rewards.send_tier_notices", "e-mail the queued membership tier notices",
        send_tier_notices, at=dt.time(9, 30)),
    # Coupons: the unused ones past their last day expire after midnight; the rules' coupons
    # (welcome, anniversary, win-back) are issued in the morning.
    Job("rewards.expire_coupons", "expire unused coupons past their last day", expire_coupons,
        at=dt.time(0, 20)),
    Job("rewards.issue_rule_coupons", "issue the coupons of the policy's rules",
        issue_rule_coupons, at=dt.time(8, 0)),
]
