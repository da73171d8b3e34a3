"""Transactions that retry when the database asks them to (serialization failure, deadlock)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError, transaction
from django.db.utils import DatabaseError

T = TypeVar("T")

RETRY_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
ATTEMPTS = 5


class MembershipMoved(Exception):
    """The customer changed group while a counter update was in flight: start again."""


def _retryable(error: BaseException) -> bool:
    if isinstance(error, MembershipMoved):
        return True
    cause = error.__cause__ or error
    sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if sqlstate in RETRY_SQLSTATES:
        return True
    # SQLite: a writer that still finds the database locked after its busy timeout.
    return isinstance(error, OperationalError) and "database is locked" in str(error)


def atomic_with_retry(work: Callable[[], T], *, attempts: int = ATTEMPTS) -> T:
    """Run `work` in its own transaction; on a retryable failure roll back and run it again, a
    bounded number of times with a short growing pause. Inside an outer transaction the retry
    is the caller's business, so `work` just runs in a savepoint."""
    if transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return work()
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                return work()
        except (DatabaseError, MembershipMoved) as error:
            if attempt == attempts or not _retryable(error):
                raise
            time.sleep(0.005 * attempt)
    raise AssertionError("unreachable")
