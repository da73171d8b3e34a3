"""Keyed checkpoints of the audit chain: anchors that whoever owns the database cannot forge.

The hash chain (`audit.py`) shows an entry that was altered, but someone who can write the
database can also re-hash every entry after it and move the head, and the chain verifies again.
A checkpoint is an HMAC-SHA256, with a key that is not in the database (`CUSTGUARD_AUDIT_KEY`),
over the chain's head at a moment: the sequence and hash of the last entry and the number of
entries. It is stored in the database (`AuditCheckpoint`) and, if asked, appended as one JSON
line to a file that should live on append-only storage or be shipped off the machine. Verifying
recomputes each checkpoint's MAC and checks that its entry still has the recorded hash: a
re-hashed chain no longer matches, and a rewritten checkpoint row no longer verifies.

This module calls down into `audit.py`; `audit.py` never imports it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from custguard.core import clock
from custguard.core.models import AuditCheckpoint, AuditEntry, AuditHead
from custguard.core.services.audit import GENESIS_HASH, ChainProblem, verify_chain
from custguard.env import ConfigurationError

MAC_CONTEXT = "custguard-audit-checkpoint/v1"
KEY_ID_LENGTH = 16


class CheckpointRefused(Exception):
    """The chain is broken (or its last checkpoint does not verify): nothing is anchored."""

    def __init__(self, problem: ChainProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class CheckpointFileError(ValueError):
    """The exported checkpoint file cannot be read as checkpoints."""


# --- the key ------------------------------------------------------------------------------


def key_id(key: str) -> str:
    """A short fingerprint of a key: tells which key made a checkpoint, reveals nothing."""
    return hmac.new(key.encode(), b"custguard-audit-key-id", hashlib.sha256).hexdigest()[
        :KEY_ID_LENGTH]


def current_key() -> str:
    """`CUSTGUARD_AUDIT_KEY`; in debug without one, a key generated once into the data dir."""
    key: str = settings.CUSTGUARD_AUDIT_KEY
    if key:
        return key
    if not settings.DEBUG:
        raise ConfigurationError("CUSTGUARD_AUDIT_KEY is required unless CUSTGUARD_DEBUG=true")
    return _debug_key(Path(settings.CUSTGUARD_AUDIT_KEY_FILE))


def _debug_key(path: Path) -> str:
    with contextlib.suppress(FileNotFoundError):
        if key := path.read_text(encoding="ascii").strip():
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(key + "\n")
    return key


def known_keys() -> dict[str, str]:
    """Key id → key: the current key and the retired ones (`CUSTGUARD_AUDIT_PREVIOUS_KEYS`)."""
    keys = {key_id(key): key for key in settings.CUSTGUARD_AUDIT_PREVIOUS_KEYS}
    current = current_key()
    keys[key_id(current)] = current
    return keys


def compute_mac(key: str, seq: int, entry_hash: str, entry_count: int,
                created_at: dt.datetime) -> str:
    message = "|".join([MAC_CONTEXT, str(seq), entry_hash, str(entry_count),
                        created_at.astimezone(dt.UTC).isoformat(timespec="microseconds")])
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


# --- checkpoints as records -----------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint as recorded, in the database or in the exported file."""

    seq: int
    entry_hash: str
    entry_count: int
    created_at: dt.datetime
    key_id: str
    mac: str
    source: str = "database"

    @classmethod
    def from_row(cls, row: AuditCheckpoint) -> Checkpoint:
        return cls(row.seq, row.entry_hash, row.entry_count, row.created_at, row.key_id,
                   row.mac)

    @property
    def identity(self) -> tuple[object, ...]:
        return (self.seq, self.entry_hash, self.entry_count, self.created_at, self.key_id,
                self.mac)

    def as_json(self) -> str:
        return json.dumps({
            "seq": self.seq, "entry_hash": self.entry_hash, "entry_count": self.entry_count,
            "created_at": self.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "key_id": self.key_id, "mac": self.mac}, sort_keys=True)

    def label(self) -> str:
        made = self.created_at.astimezone(dt.UTC).isoformat(timespec="seconds")
        return f"the checkpoint of entry #{self.seq} made {made} ({self.source})"


def append_to_file(path: Path, checkpoint: Checkpoint) -> None:
    """Append one JSON line and make it durable before returning."""
    with path.open("a", encoding="utf-8") as file:
        file.write(checkpoint.as_json() + "\n")
        file.flush()
        os.fsync(file.fileno())


def read_file(path: Path) -> list[Checkpoint]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise CheckpointFileError(f"{path}: {error.strerror or error}") from None
    found = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data: dict[str, Any] = json.loads(line)
            found.append(Checkpoint(
                seq=int(data["seq"]), entry_hash=str(data["entry_hash"]),
                entry_count=int(data["entry_count"]),
                created_at=dt.datetime.fromisoformat(str(data["created_at"])),
                key_id=str(data["key_id"]), mac=str(data["mac"]),
                source=f"{path.name} line {number}"))
        except (ValueError, KeyError, TypeError) as error:
            raise CheckpointFileError(
                f"{path} line {number} is not a checkpoint: {error}") from None
    return found


def default_export_file() -> Path | None:
    name: str = settings.CUSTGUARD_AUDIT_CHECKPOINT_FILE
    return Path(name) if name else None


# --- recording ------------------------------------------------------------------------------


@contextlib.contextmanager
def _snapshot(*, write: bool) -> Iterator[None]:
    """One consistent view of the chain: REPEATABLE READ on PostgreSQL when this is the outer
    transaction (entries committed meanwhile stay out of view). On SQLite a transaction takes
    the write lock (IMMEDIATE), so only a write (recording a checkpoint) opens one."""
    connection = transaction.get_connection()
    outer = not connection.in_atomic_block
    if connection.vendor != "postgresql" and not write:
        yield
        return
    with transaction.atomic():
        if outer and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def _entry_hashes(seqs: Iterable[int], batch_size: int = 500) -> dict[int, str]:
    wanted = sorted(set(seqs))
    found: dict[int, str] = {}
    for start in range(0, len(wanted), batch_size):
        found.update(AuditEntry.objects.filter(seq__in=wanted[start:start + batch_size])
                     .values_list("seq", "hash"))
    return found


def create_checkpoint(*, export_to: Path | None = None) -> AuditCheckpoint:
    """Anchor the chain's current head. Verifies the entries since the last checkpoint (and
    that the last checkpoint still holds) first: a broken chain is refused, not anchored."""
    keys = known_keys()
    key = current_key()
    with _snapshot(write=True):
        head = AuditHead.objects.filter(pk=1).first()
        seq, head_hash = (head.seq, head.hash) if head is not None else (0, GENESIS_HASH)
        start: tuple[int, str] | None = None
        latest = AuditCheckpoint.objects.order_by("-seq", "-created_at", "-pk").first()
        if latest is not None:
            last = Checkpoint.from_row(latest)
            problem = _check(last, keys, _entry_hashes([last.seq]), last_good=0,
                             last_seq=seq)
            if problem is not None:
                raise CheckpointRefused(problem)
            start = (last.seq, last.entry_hash)
        problem = verify_chain(after=start)
        if problem is not None:
            raise CheckpointRefused(problem)
        count = AuditEntry.objects.count()
        if count != seq:
            raise CheckpointRefused(ChainProblem(
                min(count, seq) + 1,
                f"the chain ends at entry #{seq} but holds {count} entries "
                "(entries were removed or inserted before the last checkpoint)"))
        now = clock.now()
        row = AuditCheckpoint.objects.create(
            seq=seq, entry_hash=head_hash, entry_count=count, created_at=now,
            key_id=key_id(key), mac=compute_mac(key, seq, head_hash, count, now))
    if export_to is not None:
        append_to_file(export_to, Checkpoint.from_row(row))
    return row


# --- verifying ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    problems: list[ChainProblem]
    entries: int
    checkpoints: int
    from_file: int

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(from_file: Path | None = None,
           progress: Callable[[int], None] | None = None) -> Report:
    """Verify the chain and every checkpoint (the database's and the file's, which an attacker
    with the database cannot change); the problems come first bad entry first."""
    file_points = read_file(from_file) if from_file is not None else []
    keys = known_keys()
    problems: list[ChainProblem] = []
    with _snapshot(write=False):
        chain_problem = verify_chain(progress=progress)
        if chain_problem is not None:
            problems.append(chain_problem)
        db_points = [Checkpoint.from_row(row) for row in
                     AuditCheckpoint.objects.order_by("seq", "created_at", "pk")]
        hashes = _entry_hashes(point.seq for point in [*db_points, *file_points])
        entries = AuditEntry.objects.count()
        last_seq = AuditEntry.objects.aggregate(last=Max("seq"))["last"] or 0
    in_db = {point.identity for point in db_points}
    removed = [ChainProblem(point.seq, f"{point.label()} is missing from the database "
                                       "(removed or rewritten)")
               for point in file_points if point.identity not in in_db]
    unique: dict[tuple[object, ...], Checkpoint] = {}
    for point in [*db_points, *file_points]:
        unique.setdefault(point.identity, point)
    last_good = 0
    for point in sorted(unique.values(), key=lambda item: (item.seq, item.created_at)):
        problem = _check(point, keys, hashes, last_good=last_good, last_seq=last_seq)
        if problem is None:
            last_good = max(last_good, point.seq)
        else:
            problems.append(problem)
    # The entries' problems first, first bad entry first; then the checkpoints the database
    # lost, which name no bad entry by themselves.
    problems.sort(key=lambda item: item.seq)
    return Report([*problems, *removed], entries, len(unique), len(file_points))


def _check(point: Checkpoint, keys: dict[str, str], hashes: dict[int, str], *,
           last_good: int, last_seq: int) -> ChainProblem | None:
    """One checkpoint against the key and the entries; `last_good` is the sequence of the
    latest earlier checkpoint that held, where a rewrite can have started at the earliest."""
    key = keys.get(point.key_id)
    if key is None:
        current = key_id(current_key())
        return ChainProblem(point.seq, (
            f"{point.label()} was made with an unknown key (key id {point.key_id}; the "
            f"current key's id is {current}): a forged checkpoint, or a rotated key that is "
            "missing from CUSTGUARD_AUDIT_PREVIOUS_KEYS"))
    expected = compute_mac(key, point.seq, point.entry_hash, point.entry_count,
                           point.created_at)
    if not hmac.compare_digest(expected, point.mac):
        return ChainProblem(point.seq, f"{point.label()} does not verify with the audit key: "
                                       "the checkpoint was forged or altered")
    if point.entry_count != point.seq:
        return ChainProblem(point.seq, f"{point.label()} records {point.entry_count} entries "
                                       f"up to entry #{point.seq}: the chain was broken then")
    if point.seq == 0:
        return None if point.entry_hash == GENESIS_HASH else ChainProblem(
            1, f"{point.label()} records an empty chain with a wrong hash")
    actual = hashes.get(point.seq)
    if actual is None:
        if point.seq > last_seq:
            first = max(last_good, last_seq) + 1
            return ChainProblem(first, (
                f"entries #{first} to #{point.seq} are missing (removed): {point.label()} "
                f"anchors entry #{point.seq}, but the chain ends at #{last_seq}"))
        return ChainProblem(point.seq, f"entry #{point.seq}, anchored by {point.label()}, "
                                       "is missing (removed)")
    if actual != point.entry_hash:
        first = last_good + 1
        return ChainProblem(first, (
            f"entry #{point.seq} no longer has the hash recorded by {point.label()}: entries "
            f"were altered, inserted or removed and the chain re-hashed; the first entry that "
            f"may be forged is #{first}"
            + (f" (the checkpoint of entry #{last_good} still holds)" if last_good else "")))
    return None
