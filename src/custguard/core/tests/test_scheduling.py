"""Scheduled jobs: slots, one run per slot, recorded outcomes, the scheduler command."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command

from custguard.core import scheduling
from custguard.core.actors import Actor
from custguard.core.clock import frozen_at
from custguard.core.models import JobRun
from custguard.core.scheduling import Job

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
calls: list[str] = []


def _ok(actor: Actor) -> str:
    calls.append(actor.label)
    return "did it"


def _boom(actor: Actor) -> str:
    raise RuntimeError("disk full")


NIGHTLY = Job("test.nightly", "a nightly job", _ok, at=dt.time(1, 30))
QUARTERLY = Job("test.quarter_hour", "every 15 minutes", _ok, every=dt.timedelta(minutes=15))
BROKEN = Job("test.broken", "fails", _boom, every=dt.timedelta(hours=1))


@pytest.fixture(autouse=True)
def jobs() -> object:
    calls.clear()
    table = {job.name: job for job in (NIGHTLY, QUARTERLY, BROKEN)}
    with mock.patch.object(scheduling, "registry", return_value=table):
        yield table


def test_a_job_needs_exactly_one_schedule() -> None:
    with pytest.raises(ValueError):
        Job("x", "x", _ok)
    with pytest.raises(ValueError):
        Job("x", "x", _ok, every=dt.timedelta(hours=1), at=dt.time(1))


def test_daily_slot_is_in_local_time() -> None:
    before = dt.datetime(2026, 3, 2, 1, 29, tzinfo=SHANGHAI)
    after = dt.datetime(2026, 3, 2, 1, 31, tzinfo=SHANGHAI)
    assert NIGHTLY.slot(before) == dt.datetime(2026, 3, 1, 1, 30, tzinfo=SHANGHAI)
    assert NIGHTLY.slot(after) == dt.datetime(2026, 3, 2, 1, 30, tzinfo=SHANGHAI)


def test_interval_slot() -> None:
    now = dt.datetime(2026, 3, 2, 10, 44, 59, tzinfo=dt.UTC)
    assert QUARTERLY.slot(now) == dt.datetime(2026, 3, 2, 10, 30, tzinfo=dt.UTC)


def test_each_slot_is_queued_once() -> None:
    now = dt.datetime(2026, 3, 2, 10, 40, tzinfo=dt.UTC)
    first = {run.job for run in scheduling.due_runs(now)}
    assert first == {"test.nightly", "test.quarter_hour", "test.broken"}
    assert scheduling.due_runs(now + dt.timedelta(minutes=1)) == []
    later = scheduling.due_runs(now + dt.timedelta(minutes=1, hours=1))
    assert {run.job for run in later} == {"test.quarter_hour", "test.broken"}


def test_a_run_is_executed_once_and_recorded() -> None:
    with frozen_at(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)):
        (run,) = [r for r in scheduling.due_runs() if r.job == "test.nightly"]
        done = scheduling.execute(run.pk)
        again = scheduling.execute(run.pk)
    assert done.status == JobRun.Status.SUCCEEDED and done.summary == "did it"
    assert again.status == JobRun.Status.SUCCEEDED
    assert calls == ["test.nightly"]


def test_a_failing_job_is_recorded_with_its_error() -> None:
    run = scheduling.run_now("test.broken")
    assert run.status == JobRun.Status.FAILED
    assert "RuntimeError: disk full" in run.error
    assert run.finished_at is not None


def test_the_command_runs_a_job_and_lists_them() -> None:
    out = StringIO()
    call_command("scheduler", "--run", "test.nightly", stdout=out)
    assert out.getvalue().strip() == "test.nightly: succeeded did it"
    out = StringIO()
    call_command("scheduler", "--list", stdout=out)
    assert "test.quarter_hour" in out.getvalue() and "never run" in out.getvalue()


def test_once_queues_and_the_immediate_backend_runs_them() -> None:
    out = StringIO()
    call_command("scheduler", "--once", stdout=out)
    assert out.getvalue().count("queued ") == 3
    statuses = dict(JobRun.objects.values_list("job", "status"))
    assert statuses == {"test.nightly": "succeeded", "test.quarter_hour": "succeeded",
                        "test.broken": "failed"}
