"""The classification's scheduled jobs (see core/scheduling.py and docs/commands.md)."""

from __future__ import annotations

import datetime as dt

from custguard.classification.services import runs
from custguard.core.actors import Actor
from custguard.core.scheduling import Job


def monthly_run(actor: Actor) -> str:
    result = runs.run_if_due(actor)
    if result is None:
        return "not the run day, or this month's run is done"
    return (f"{result.run} classified: {result.assigned} assigned, {result.reminded} reminded, "
            f"{result.proposed} proposed")


def close_runs(actor: Actor) -> str:
    return f"{runs.close_due(actor)} classification run(s) closed"


JOBS = [
    Job("classification.monthly_run", "run the month's ABC classification on the run day",
        monthly_run, at=dt.time(6, 0)),
    Job("classification.close_runs", "close the month's classification at its close time",
        close_runs, every=dt.timedelta(minutes=15)),
]
