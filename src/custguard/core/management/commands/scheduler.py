"""`custguard scheduler`: queue the scheduled jobs when they are due (see core/scheduling.py)."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations
from django.utils import timezone

from custguard.core import scheduling
from custguard.core.models import JobRun
from custguard.core.tasks import run_scheduled_job

TICK_SECONDS = 30


class Command(BaseCommand):
    help = "Queue scheduled jobs as they fall due; `custguard db_worker` runs them."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--once", action="store_true",
                           help="queue what is due now and exit")
        group.add_argument("--list", dest="list_jobs", action="store_true",
                           help="list the jobs and exit")
        group.add_argument("--run", metavar="JOB",
                           help="run one job now, in this process, and exit")

    @no_translations
    def handle(self, *args: Any, once: bool, list_jobs: bool, run: str | None,
               **options: Any) -> None:
        if list_jobs:
            for job in scheduling.registry().values():
                when = f"every {job.every}" if job.every else f"daily at {job.at:%H:%M}"
                last = JobRun.objects.filter(job=job.name).first()
                state = f"last {last.status} {timezone.localtime(last.due_at):%Y-%m-%d %H:%M}" \
                    if last else "never run"
                self.stdout.write(f"{job.name:<28} {when:<22} {state:<36} {job.description}")
            return
        if run:
            try:
                result = scheduling.run_now(run)
            except LookupError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"{result.job}: {result.status} {result.summary}")
            if result.status == JobRun.Status.FAILED:
                self.stderr.write(result.error)
                sys.exit(1)
            return
        while True:
            for job_run in scheduling.due_runs():
                run_scheduled_job.enqueue(job_run.pk)
                self.stdout.write(f"queued {job_run.job} (slot {job_run.due_at:%Y-%m-%d %H:%M})")
            self.stdout.flush()
            if once:
                return
            time.sleep(TICK_SECONDS)
