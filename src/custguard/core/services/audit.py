"""Appending to and verifying the tamper-evident audit chain."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby
from typing import Any, ParamSpec, TypeVar

from django.db import connection, transaction
from django.db.models import Model

from custguard.core import clock, sql
from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, AuditHead

GENESIS_HASH = "0" * 64
P = ParamSpec("P")
R = TypeVar("R")


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Model):
        return value.pk
    raise TypeError(f"cannot put {type(value).__name__} in an audit entry")


def jsonable(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Values as they are stored in the entry's JSON (Decimals and dates as strings)."""
    if values is None:
        return None
    return json.loads(json.dumps(dict(values), default=_json_default, ensure_ascii=False))


def entry_payload(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_kind": entry.actor_kind,
        "actor_label": entry.actor_label,
        "actor_user_id": entry.actor_user_id,
        "actor_token_id": entry.actor_token_id,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "customer_id": entry.customer_id,
        "before": entry.before,
        "after": entry.after,
        "reason": entry.reason,
        "prev_hash": entry.prev_hash,
    }


def compute_hash(entry: AuditEntry) -> str:
    canonical = json.dumps(entry_payload(entry), sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256((entry.prev_hash + canonical).encode("utf-8")).hexdigest()


@functools.cache
def _head_statements(vendor: str) -> tuple[str, str]:
    """(lock the head row, move it): every audited write runs them, written out once."""
    h = AuditHead
    lock = (f"SELECT {sql.column(h, 'seq')}, {sql.column(h, 'hash')} FROM {sql.table(h)} "  # noqa: S608
            f"WHERE {sql.column(h, 'id')} = 1")
    if connection.features.has_select_for_update:
        lock += " FOR UPDATE"  # SQLite: the transaction's write lock already excludes writers
    move = (f"UPDATE {sql.table(h)} SET {sql.column(h, 'seq')} = %s, "  # noqa: S608
            f"{sql.column(h, 'hash')} = %s WHERE {sql.column(h, 'id')} = 1")
    return lock, move


def _lock_head() -> tuple[int, str]:
    """Lock the chain's head row, creating it on the first append, and return its (seq, hash).
    Concurrent first appends must not race: the insert ignores a conflict (it waits for the
    other writer's commit on PostgreSQL), then everyone locks the one row."""
    lock, _move = _head_statements(connection.vendor)
    with sql.prepared_cursor() as cursor:
        cursor.execute(lock)
        found = cursor.fetchone()
        if found is None:
            AuditHead.objects.bulk_create([AuditHead(pk=1)], ignore_conflicts=True)
            cursor.execute(lock)
            found = cursor.fetchone()
    return int(found[0]), str(found[1])


def _move_head(seq: int, digest: str) -> None:
    with sql.prepared_cursor() as cursor:
        cursor.execute(_head_statements(connection.vendor)[1], [seq, digest])


_local = threading.local()


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Append the entries recorded inside this block when it ends, instead of one by one.

    The chain's head row is a single lock every audited transaction takes; taking it as the
    last lock of a transaction keeps the lock order the same everywhere (rows first, the head
    last), so writers cannot deadlock, and holds it for the least time. Code that takes row
    locks after recording an entry (a batch of facts, a group created with its members) runs
    inside this block. Must be used inside the transaction; nested blocks join the outer one.
    Entries recorded inside a savepoint that is rolled back are dropped with it: each entry
    carries an on-commit marker, which Django discards with the savepoint."""
    if getattr(_local, "pending", None) is not None:
        yield
        return
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.deferred() must be used inside the transaction")
    pending: list[tuple[Actor, PendingEntry, Callable[[], None]]] = []
    _local.pending = pending
    try:
        yield
    finally:
        _local.pending = None
    live = {id(callback) for _sids, callback, _robust
            in transaction.get_connection().run_on_commit}
    kept = [(actor, entry) for actor, entry, marker in pending if id(marker) in live]
    for actor, run in groupby(kept, key=lambda item: item[0]):
        record_many(actor, [entry for _actor, entry in run])


@contextlib.contextmanager
def deferred_transaction() -> Iterator[None]:
    """A transaction whose audit entries are appended at its end (see `deferred`)."""
    with transaction.atomic(), deferred():
        yield


def atomic(func: Callable[P, R]) -> Callable[P, R]:
    """A service in one transaction whose audit entries are appended at its end (`deferred`)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with transaction.atomic(), deferred():
            return func(*args, **kwargs)

    return wrapper


def _defer(actor: Actor, entry: PendingEntry) -> None:
    def marker() -> None:
        """Runs after commit and does nothing: it only tells a kept entry from a dropped one."""

    transaction.on_commit(marker)
    _local.pending.append((actor, entry, marker))


def record(
    actor: Actor,
    action: str,
    obj: Model | None = None,
    *,
    object_type: str | None = None,
    object_id: object = None,
    customer_id: int | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry | None:
    """Append one entry (or, inside `deferred()`, queue it). Must run inside the transaction
    of the change it records."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record() must be called inside the transaction of the change")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = obj.pk if object_id is None else object_id
    if not object_type:
        raise ValueError("an audit entry needs an object type")
    if getattr(_local, "pending", None) is not None:
        _defer(actor, PendingEntry(action=action, object_type=object_type,
                                   object_id=object_id if object_id is not None else "",
                                   customer_id=customer_id, before=before, after=after,
                                   reason=reason))
        return None
    seq, prev_hash = _lock_head()
    entry = AuditEntry(
        seq=seq + 1,
        at=clock.now(),
        actor_kind=actor.kind,
        actor_label=actor.label[:150],
        actor_user=actor.user,
        actor_token=actor.token,
        action=action,
        object_type=object_type,
        object_id=str(object_id if object_id is not None else ""),
        customer_id=customer_id,
        before=jsonable(before),
        after=jsonable(after),
        reason=reason,
        prev_hash=prev_hash,
    )
    entry.hash = compute_hash(entry)
    # The head moves in the entry's own statement (one round trip on PostgreSQL).
    sql.insert_instance(entry, along=(_head_statements(connection.vendor)[1],
                                      [entry.seq, entry.hash]))
    return entry


@dataclass(frozen=True)
class PendingEntry:
    """One entry for `record_many`: the same arguments as `record` takes."""

    action: str
    object_type: str
    object_id: object
    customer_id: int | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    reason: str = ""
    # before/after hold only JSON values already (read back from a spool): not converted again
    plain: bool = False


def record_many(actor: Actor, pending: list[PendingEntry],
                batch_size: int = 1000) -> int | None:
    """Append many entries with one lock of the head and bulk inserts (imports, batch jobs).
    Must run inside the transaction of the changes it records. Returns the last sequence (None
    inside `deferred()`, where the entries are queued)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record_many() must be called inside the transaction")
    if getattr(_local, "pending", None) is not None:
        for item in pending:
            _defer(actor, item)
        return None
    seq, prev_hash = _lock_head()
    now = clock.now()
    batch: list[AuditEntry] = []
    for item in pending:
        seq += 1
        entry = AuditEntry(
            seq=seq, at=now, actor_kind=actor.kind, actor_label=actor.label[:150],
            actor_user=actor.user, actor_token=actor.token, action=item.action,
            object_type=item.object_type, object_id=str(item.object_id),
            customer_id=item.customer_id,
            before=item.before if item.plain else jsonable(item.before),
            after=item.after if item.plain else jsonable(item.after), reason=item.reason,
            prev_hash=prev_hash)
        entry.hash = prev_hash = compute_hash(entry)
        batch.append(entry)
        if len(batch) >= batch_size:
            AuditEntry.objects.bulk_create(batch)
            batch = []
    if batch:
        AuditEntry.objects.bulk_create(batch)
    _move_head(seq, prev_hash)
    return seq


class Spool:
    """Entries written to a temporary file as a long job goes, and appended to the chain in
    one go at its end (`append`), so that memory stays flat however many there are and the
    chain's head is locked last (see `deferred`). Used by the file imports, which record one
    entry per batch of rows."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile("w+b")  # noqa: SIM115 - closed by close()
        self.count = 0

    def add(self, entry: PendingEntry) -> None:
        fields = {"action": entry.action, "object_type": entry.object_type,
                  "object_id": str(entry.object_id), "customer_id": entry.customer_id,
                  "before": entry.before, "after": entry.after, "reason": entry.reason}
        self._file.write(json.dumps(fields, default=_json_default, ensure_ascii=False)
                         .encode("utf-8") + b"\n")
        self.count += 1

    def append(self, actor: Actor, batch_bytes: int = 1024 * 1024) -> None:
        """Append the spooled entries, in the order they were added, about `batch_bytes` of
        them at a time; inside the transaction of the changes they record."""
        self._file.seek(0)
        batch: list[PendingEntry] = []
        size = 0
        for line in self._file:
            batch.append(PendingEntry(**json.loads(line), plain=True))
            size += len(line)
            if size >= batch_bytes:
                record_many(actor, batch)
                batch, size = [], 0
        if batch:
            record_many(actor, batch)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def changes(instance: Model, fields: list[str], previous: Mapping[str, Any]) -> tuple[
        dict[str, Any], dict[str, Any]]:
    """Before/after dicts of only the fields whose values differ."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name in fields:
        old = previous.get(name)
        new = getattr(instance, name)
        if jsonable({"v": old}) != jsonable({"v": new}):
            before[name] = old
            after[name] = new
    return before, after


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    message: str


def verify_chain(progress: Callable[[int], None] | None = None,
                 batch_size: int = 2000, *,
                 after: tuple[int, str] | None = None) -> ChainProblem | None:
    """Recompute the chain from the start; return the first broken link, or None.

    `after=(seq, hash)` starts behind an entry already known good (a checkpoint that verified)
    and checks only the entries after it."""
    expected_prev = GENESIS_HASH if after is None else after[1]
    expected_seq = 1 if after is None else after[0] + 1
    for entry in _iter_entries(batch_size, None if after is None else after[0]):
        if entry.seq != expected_seq:
            if entry.seq > expected_seq:
                return ChainProblem(expected_seq, f"entry #{expected_seq} is missing (removed); "
                                                  f"the next entry is #{entry.seq}")
            return ChainProblem(entry.seq, f"entry #{entry.seq} is out of order")
        if entry.prev_hash != expected_prev:
            return ChainProblem(entry.seq, f"entry #{entry.seq} does not link to entry "
                                           f"#{entry.seq - 1} (inserted or re-chained)")
        if compute_hash(entry) != entry.hash:
            return ChainProblem(entry.seq, f"entry #{entry.seq} was altered: its content no "
                                           "longer matches its hash")
        expected_prev = entry.hash
        expected_seq += 1
        if progress:
            progress(1)
    head = AuditHead.objects.filter(pk=1).first()
    last_seq = expected_seq - 1
    if head is not None and (head.seq != last_seq or head.hash != expected_prev):
        if head.seq > last_seq:
            return ChainProblem(last_seq + 1, f"entry #{last_seq + 1} is missing (removed); "
                                              f"the chain should end at #{head.seq}")
        return ChainProblem(head.seq + 1, f"entry #{head.seq + 1} was appended outside the "
                                          "application")
    return None


def _iter_entries(batch_size: int, last: int | None = None) -> Iterator[AuditEntry]:
    # Without a start the first batch has no lower bound, so a forged entry numbered 0 or below
    # is seen too.
    while True:
        qs = AuditEntry.objects.order_by("seq")
        if last is not None:
            qs = qs.filter(seq__gt=last)
        batch = list(qs[:batch_size])
        if not batch:
            return
        yield from batch
        last = batch[-1].seq
