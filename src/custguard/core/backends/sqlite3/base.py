"""Django's SQLite backend, with the writers of one database file queued on a file lock.

SQLite lets one writer in at a time. A writer that finds the database locked waits in SQLite's
busy handler, which sleeps in growing steps (1, 2, 5, 10 … up to 100 ms) and tries again: under
a burst of concurrent writes — the order gate at peak — the unlucky ones sleep long after the
lock was free, and a few time out. custguard's transactions all start with BEGIN IMMEDIATE (the
write lock first), so queueing them outside SQLite costs no concurrency: each transaction
first takes an exclusive lock on `<database>-writer.lock`, polled every fraction of a
millisecond, and holds it until COMMIT or ROLLBACK. A write statement outside a transaction
(autocommit: one INSERT of a gate answer) takes it for that statement. Readers never take it
(WAL lets them read beside the writer), and a process that dies drops its lock with it. After
the database's timeout a waiter gives up with the same "database is locked" error SQLite
gives, which core.transactions retries. In-memory databases have one connection and need no queue.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

FIRST_PAUSE = 0.0002  # seconds between two tries at first …
LAST_PAUSE = 0.002  # … growing to this, far below the busy handler's 100 ms
DEFAULT_TIMEOUT = 5.0  # seconds, as Python's sqlite3 module waits by default


_queues: dict[str, threading.Lock] = {}
_queues_guard = threading.Lock()


def _thread_queue(name: str) -> threading.Lock:
    """This process's queue of writers to the database file `name`."""
    with _queues_guard:
        return _queues.setdefault(name, threading.Lock())


WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class QueuedCursor(base.SQLiteCursorWrapper):
    """A cursor whose write statements in autocommit mode wait in the writers' queue."""

    wrapper: DatabaseWrapper

    def _queued(self, query: str) -> bool:
        return (self.wrapper.autocommit and not self.wrapper._writer_held
                and query.lstrip()[:7].upper().startswith(WRITES))

    def _in_queue(self, run: Callable[[str, Any], Any], query: str, args: Any) -> Any:
        if not self._queued(query):
            return run(query, args)
        self.wrapper._take_writer_lock()
        try:
            return run(query, args)
        finally:
            self.wrapper._drop_writer_lock()

    def execute(self, query: str, params: Any = None) -> Any:
        return self._in_queue(super().execute, query, params)

    def executemany(self, query: str, param_list: Any) -> Any:
        return self._in_queue(super().executemany, query, param_list)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writer_fd: int | None = None
        self._writer_held = False

    def create_cursor(self, name: str | None = None) -> Any:
        cursor = self.connection.cursor(factory=QueuedCursor)
        cursor.wrapper = self
        return cursor

    def _writer_lock_fd(self) -> int | None:
        if self.is_in_memory_db():
            return None
        if self._writer_fd is None:
            path = f"{self.settings_dict['NAME']}-writer.lock"
            self._writer_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._writer_fd

    def _take_writer_lock(self) -> None:
        fd = self._writer_lock_fd()
        if fd is None or self._writer_held:
            return
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", DEFAULT_TIMEOUT))
        deadline = time.monotonic() + timeout
        # The threads of this process queue on a thread lock, which wakes the next one the
        # moment it is free; only its holder polls the file lock against the other processes.
        threads = _thread_queue(self.settings_dict["NAME"])
        if not threads.acquire(timeout=timeout):
            raise OperationalError("database is locked")
        pause = FIRST_PAUSE
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    threads.release()
                    raise OperationalError("database is locked") from None
                time.sleep(pause)
                pause = min(pause * 2, LAST_PAUSE)
                continue
            except BaseException:
                threads.release()
                raise
            self._writer_held = True
            return

    def _drop_writer_lock(self) -> None:
        if self._writer_held and self._writer_fd is not None:
            fcntl.flock(self._writer_fd, fcntl.LOCK_UN)
            _thread_queue(self.settings_dict["NAME"]).release()
        self._writer_held = False

    def _start_transaction_under_autocommit(self) -> None:
        self._take_writer_lock()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._drop_writer_lock()
            raise

    def _commit(self) -> Any:
        result = super()._commit()
        # A failed COMMIT keeps the lock: the rollback (or the close) that follows drops it.
        self._drop_writer_lock()
        return result

    def _rollback(self) -> Any:
        try:
            return super()._rollback()
        finally:
            self._drop_writer_lock()

    def _close(self) -> Any:
        try:
            return super()._close()
        finally:
            self._drop_writer_lock()
            if self._writer_fd is not None:
                os.close(self._writer_fd)
                self._writer_fd = None
