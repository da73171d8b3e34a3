"""The credit capability's scheduled jobs (see core/scheduling.py and docs/commands.md)."""

from __future__ import annotations

import datetime as dt

from custguard.core.actors import Actor
from custguard.core.scheduling import Job
from custguard.credit.models import CreditScore
from custguard.credit.services import batch_scoring, gate, overrides, reconciliation, scoring


def expire_reservations(actor: Actor) -> str:
    return f"{gate.expire_due(actor)} reservation(s) expired"


def expire_overrides(actor: Actor) -> str:
    return f"{overrides.expire_overrides(actor)} override(s) ended"


def rescore_due(actor: Actor) -> str:
    ids = scoring.due_for_rescoring()
    result = batch_scoring.rescore_customers(actor, ids, trigger=CreditScore.Trigger.BATCH)
    return (f"{result.scored} customer(s) rescored under policy v{result.policy_version}, "
            f"{result.changed} changed grade, limit or terms")


def reconcile(actor: Actor) -> str:
    drifts = reconciliation.reconcile(actor)
    if not drifts:
        return "counters agree with the facts"
    # Recorded in the audit chain by the service; the run is marked failed so it is seen.
    listed = "; ".join(f"{d.kind} {d.label} {d.field}: stored {d.stored}, recomputed "
                       f"{d.recomputed}" for d in drifts[:20])
    raise RuntimeError(f"{len(drifts)} counter drift(s): {listed}")


JOBS = [
    Job("credit.expire_reservations", "expire open-order reservations past their time",
        expire_reservations, every=dt.timedelta(minutes=15)),
    Job("credit.expire_overrides", "end limit overrides past their date",
        expire_overrides, at=dt.time(0, 10)),
    Job("credit.rescore_due", "rescore customers due for review or never scored",
        rescore_due, at=dt.time(1, 0)),
    Job("credit.reconcile", "recompute the credit counters from the facts",
        reconcile, at=dt.time(2, 0)),
]
