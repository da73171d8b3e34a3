"""Scheduled jobs: what runs when, and recording each run.

Each app lists its jobs in `<app>/tasks.py` as `JOBS: list[Job]`. `custguard scheduler` wakes up
every minute, works out which slots have come (`every` a fixed interval, or daily `at` a local
time), records a JobRun per due slot (unique per job and slot, so a second scheduler cannot
queue it again) and enqueues it on the task queue; `custguard db_worker` runs it. A job is a
function of an Actor (the job itself, so its writes are audited as the job) returning a one-line
summary; jobs are idempotent, so a slot missed while nothing was running is simply caught up
once.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import JobRun

APPS_WITH_JOBS = ["core", "customers", "ledger", "credit", "conduct", "classification",
                  "rewards", "reports"]
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    run: Callable[[Actor], str]
    every: dt.timedelta | None = None
    at: dt.time | None = None  # daily, local time

    def __post_init__(self) -> None:
        if (self.every is None) == (self.at is None):
            raise ValueError(f"job {self.name}: give exactly one of every= or at=")

    def slot(self, now: dt.datetime) -> dt.datetime:
        """The latest moment at or before `now` when this job was due."""
        if self.every is not None:
            return now - (now - EPOCH) % self.every
        assert self.at is not None
        local = timezone.localtime(now)
        today_at = local.replace(hour=self.at.hour, minute=self.at.minute, second=0,
                                 microsecond=0)
        return today_at if today_at <= local else today_at - dt.timedelta(days=1)


def registry() -> dict[str, Job]:
    jobs: dict[str, Job] = {}
    for app in APPS_WITH_JOBS:
        name = f"custguard.{app}.tasks"
        if importlib.util.find_spec(name) is None:
            continue
        for job in getattr(importlib.import_module(name), "JOBS", []):
            if job.name in jobs:
                raise ValueError(f"two jobs are named {job.name}")
            jobs[job.name] = job
    return jobs


def due_runs(now: dt.datetime | None = None) -> list[JobRun]:
    """Record a run for every job whose current slot has no run yet; return the new runs."""
    now = now or clock.now()
    created = []
    for job in registry().values():
        slot = job.slot(now)
        if JobRun.objects.filter(job=job.name, due_at__gte=slot).exists():
            continue
        try:
            with transaction.atomic():
                created.append(JobRun.objects.create(job=job.name, due_at=slot, queued_at=now))
        except IntegrityError:
            continue  # another scheduler took this slot
    return created


def execute(run_id: int) -> JobRun:
    """Run a recorded job once: a run that is not queued any more (already taken by another
    worker, or finished) is left alone."""
    now = clock.now()
    if not JobRun.objects.filter(pk=run_id, status=JobRun.Status.QUEUED).update(
            status=JobRun.Status.RUNNING, started_at=now):
        return JobRun.objects.get(pk=run_id)
    run = JobRun.objects.get(pk=run_id)
    job = registry().get(run.job)
    try:
        if job is None:
            raise LookupError(f"no job named {run.job}")
        summary = job.run(Actor.job(job.name))
    except Exception:  # noqa: BLE001 - a failed job is recorded, never lost
        run.status, run.error = JobRun.Status.FAILED, traceback.format_exc()[-4000:]
    else:
        run.status, run.summary = JobRun.Status.SUCCEEDED, summary[:2000]
    run.finished_at = clock.now()
    run.save(update_fields=["status", "summary", "error", "finished_at"])
    return run


def run_now(name: str) -> JobRun:
    """Run a job at once, outside its schedule (operators, tests)."""
    if name not in registry():
        raise LookupError(f"no job named {name}; known: {', '.join(sorted(registry()))}")
    now = clock.now()
    run = JobRun.objects.create(job=name, due_at=now, queued_at=now)
    return execute(run.pk)
