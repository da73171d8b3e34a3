"""Background tasks of the core app, and the scheduler's jobs that belong to no other app."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from custguard.core.actors import Actor
from custguard.core.scheduling import Job, execute
from custguard.core.services import audit_checkpoints


def audit_checkpoint(actor: Actor) -> str:
    """Anchor the audit chain's head (and append it to CUSTGUARD_AUDIT_CHECKPOINT_FILE)."""
    target = audit_checkpoints.default_export_file()
    try:
        row = audit_checkpoints.create_checkpoint(export_to=target)
    except audit_checkpoints.CheckpointRefused as refused:
        # The run is marked failed, so a broken chain is seen by whoever watches the jobs.
        raise RuntimeError(f"audit chain broken at entry #{refused.problem.seq}: "
                           f"{refused.problem.message}") from None
    exported = f", appended to {target}" if target is not None else ""
    return f"checkpoint of entry #{row.seq} ({row.entry_count} entries){exported}"


JOBS: list[Job] = [
    Job("core.audit_checkpoint", "anchor the audit chain's head with a keyed checkpoint",
        audit_checkpoint, every=dt.timedelta(hours=1)),
]


@task()
def run_scheduled_job(run_id: int) -> str:
    """Run one recorded scheduled job on the task worker."""
    return execute(run_id).status
