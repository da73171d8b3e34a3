"""The `--as USER` option of the registry's commands: who the audit log records."""

from __future__ import annotations

from django.core.management.base import CommandError

from custguard.core.actors import Actor
from custguard.core.models import User


def actor_for(username: str | None, job_name: str) -> Actor:
    """The named active user, or a job actor (which may do what the command does)."""
    if username is None:
        return Actor.job(job_name)
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"--as: no active user named {username!r}")
    return Actor.for_user(user)
