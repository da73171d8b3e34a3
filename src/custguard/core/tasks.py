"""Background tasks of the core app, and the scheduler's jobs that belong to no other app."""

from __future__ import annotations

from django_tasks import task

from custguard.core.scheduling import Job, execute

JOBS: list[Job] = []


@task()
def run_scheduled_job(run_id: int) -> str:
    """Run one recorded scheduled job on the task worker."""
    return execute(run_id).status
