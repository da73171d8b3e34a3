"""The SQLite backend queues writers on a file lock: a second writer waits for the first one's
COMMIT or ROLLBACK, and gives up with "database is locked" after the database's timeout."""

from __future__ import annotations

import fcntl
import time
from pathlib import Path

import pytest
from django.db.utils import OperationalError

from custguard.core.backends.sqlite3.base import DatabaseWrapper


def wrapper(path: Path, timeout: float) -> DatabaseWrapper:
    return DatabaseWrapper({
        "NAME": str(path), "ENGINE": "custguard.core.backends.sqlite3",
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": timeout},
        "TIME_ZONE": None, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False,
        "AUTOCOMMIT": True, "ATOMIC_REQUESTS": False, "USER": "", "PASSWORD": "",
        "HOST": "", "PORT": "", "TEST": {}}, alias="writer-lock-test")


@pytest.fixture
def pair(tmp_path: Path, django_db_blocker):
    """Two connections of our own to a scratch file (not the test database)."""
    with django_db_blocker.unblock():
        yield from _pair(tmp_path)


def _pair(tmp_path: Path):
    first, second = wrapper(tmp_path / "w.sqlite3", 5), wrapper(tmp_path / "w.sqlite3", 0.02)
    with first.cursor() as cursor:
        cursor.execute("CREATE TABLE t (n INTEGER)")
    yield first, second
    first.close()
    second.close()


def begin(connection: DatabaseWrapper) -> None:
    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)


def end(connection: DatabaseWrapper, *, commit: bool) -> None:
    connection.commit() if commit else connection.rollback()
    connection.set_autocommit(True)


@pytest.mark.parametrize("commit", [True, False], ids=["commit", "rollback"])
def test_a_second_writer_waits_for_the_first_to_end(pair, commit: bool) -> None:
    first, second = pair
    begin(first)
    with first.cursor() as cursor:
        cursor.execute("INSERT INTO t VALUES (1)")
    started = time.monotonic()
    with pytest.raises(OperationalError, match="database is locked"):
        begin(second)
    assert time.monotonic() - started >= 0.02  # it waited out its timeout, then gave up
    assert not second._writer_held
    end(first, commit=commit)
    begin(second)  # the lock is free again
    with second.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM t")
        assert cursor.fetchone()[0] == (1 if commit else 0)
    end(second, commit=True)
    assert not first._writer_held and not second._writer_held


def test_readers_do_not_queue(pair) -> None:
    first, second = pair
    begin(first)
    with second.cursor() as cursor:  # autocommit read beside the open write transaction
        cursor.execute("SELECT COUNT(*) FROM t")
        assert cursor.fetchone()[0] == 0
    end(first, commit=True)


def test_closing_a_connection_drops_its_lock(pair) -> None:
    first, second = pair
    begin(first)
    first.close()
    begin(second)
    assert second._writer_held
    end(second, commit=True)


def test_the_queue_is_the_lock_file_next_to_the_database(pair, tmp_path: Path) -> None:
    """Another process holding the file lock keeps writers out though SQLite itself is free."""
    _first, second = pair
    with open(tmp_path / "w.sqlite3-writer.lock", "a+b") as other:
        fcntl.flock(other, fcntl.LOCK_EX)
        with pytest.raises(OperationalError, match="database is locked"):
            begin(second)
        fcntl.flock(other, fcntl.LOCK_UN)
    begin(second)
    end(second, commit=True)


def test_a_write_outside_a_transaction_queues_too(pair, tmp_path: Path) -> None:
    """An autocommit INSERT waits in the same queue (not in SQLite's sleeping busy handler)
    and lets the lock go when it is done; an autocommit read does not queue."""
    _first, second = pair
    with open(tmp_path / "w.sqlite3-writer.lock", "a+b") as other:
        fcntl.flock(other, fcntl.LOCK_EX)
        with second.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM t")
            with pytest.raises(OperationalError, match="database is locked"):
                cursor.execute("INSERT INTO t VALUES (1)")
            with pytest.raises(OperationalError, match="database is locked"):
                cursor.executemany("INSERT INTO t VALUES (%s)", [(2,), (3,)])
        fcntl.flock(other, fcntl.LOCK_UN)
    with second.cursor() as cursor:
        cursor.execute("  insert INTO t VALUES (4)")
        assert not second._writer_held
        cursor.execute("SELECT n FROM t")
        assert cursor.fetchall() == [(4,)]
