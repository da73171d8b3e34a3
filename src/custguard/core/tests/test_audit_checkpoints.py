"""Keyed checkpoints: a database owner who rewrites the chain and re-hashes it is still caught.

The attacker here owns the database: drops the insert-only triggers and edits rows with raw SQL.
The chain has eight entries; checkpoints anchor #3 and #6 and are exported to a file."""

from __future__ import annotations

import io
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from custguard.core import audit_triggers
from custguard.core.actors import Actor
from custguard.core.models import AuditCheckpoint, AuditEntry, JobRun
from custguard.core.scheduling import run_now
from custguard.core.services import audit, audit_checkpoints
from custguard.core.services.audit import compute_hash, verify_chain
from custguard.core.services.audit_checkpoints import (
    CheckpointRefused,
    compute_mac,
    create_checkpoint,
    key_id,
    verify,
)

pytestmark = pytest.mark.django_db

ENTRIES = AuditEntry._meta.db_table
CHECKPOINTS = AuditCheckpoint._meta.db_table
OTHER_KEY = "another-key-the-attacker-made-up-0123456789"


def _append(actor: Actor, count: int) -> None:
    for _ in range(count):
        number = AuditEntry.objects.count() + 1
        audit.record(actor, "test.step", object_type="test.thing", object_id=number,
                     after={"n": number}, reason=f"step {number}")


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return tmp_path / "checkpoints.jsonl"


@pytest.fixture
def chain(export: Path) -> list[AuditEntry]:
    """Entries #1–#8, checkpoints of #3 and #6 in the database and in the exported file."""
    assert not AuditEntry.objects.exists()
    actor = Actor.system("tests")
    _append(actor, 3)
    create_checkpoint(export_to=export)
    _append(actor, 3)
    create_checkpoint(export_to=export)
    _append(actor, 2)
    return list(AuditEntry.objects.order_by("seq"))


@pytest.fixture
def attacker() -> Iterator[None]:
    """The database owner drops the insert-only triggers; they are put back after the test."""
    audit_triggers.remove(connection)
    try:
        yield
    finally:
        audit_triggers.install(connection)


def _sql(statement: str, params: list[object] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def _rehash_from(seq: int) -> None:
    """Recompute every link from `seq` on and move the head: a chain that verifies again."""
    previous = AuditEntry.objects.filter(seq=seq - 1).values_list("hash", flat=True).first()
    prev_hash = previous or audit.GENESIS_HASH
    for entry in AuditEntry.objects.filter(seq__gte=seq).order_by("seq"):
        entry.prev_hash = prev_hash
        prev_hash = compute_hash(entry)
        _sql(f"UPDATE {ENTRIES} SET prev_hash = %s, hash = %s WHERE seq = %s",
             [entry.prev_hash, prev_hash, entry.seq])
    last = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    _sql("UPDATE core_audithead SET seq = %s, hash = %s WHERE id = 1", [last, prev_hash])


def _insert_forged(seq: int) -> None:
    _sql(f"INSERT INTO {ENTRIES} (seq, at, actor_kind, actor_label, action, object_type, "
         "object_id, reason, prev_hash, hash) "
         "SELECT %s, at, actor_kind, 'mallory', 'customer.update', object_type, object_id, "
         "'forged', hash, '' FROM " + ENTRIES + " WHERE seq = %s", [seq, seq - 1])


def _first(problems: list[audit.ChainProblem]) -> audit.ChainProblem:
    assert problems, "the tampering was not detected"
    return problems[0]


# --- an untouched chain -----------------------------------------------------------------------


def test_an_untouched_chain_and_its_checkpoints_verify(chain: list[AuditEntry],
                                                       export: Path) -> None:
    report = verify(export)
    assert report.ok, report.problems
    assert (report.entries, report.checkpoints, report.from_file) == (8, 2, 2)


def test_a_checkpoint_records_the_head_with_a_mac_of_the_key(chain: list[AuditEntry],
                                                             export: Path) -> None:
    rows = list(AuditCheckpoint.objects.order_by("seq"))
    assert [(row.seq, row.entry_hash, row.entry_count) for row in rows] == [
        (3, chain[2].hash, 3), (6, chain[5].hash, 6)]
    key = audit_checkpoints.current_key()
    for row in rows:
        assert row.key_id == key_id(key) and len(row.key_id) == 16
        assert row.mac == compute_mac(key, row.seq, row.entry_hash, row.entry_count,
                                      row.created_at)
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    assert [(line["seq"], line["entry_hash"], line["mac"]) for line in lines] == [
        (row.seq, row.entry_hash, row.mac) for row in rows]


def test_an_empty_chain_can_be_anchored_and_verified() -> None:
    row = create_checkpoint()
    assert (row.seq, row.entry_count, row.entry_hash) == (0, 0, audit.GENESIS_HASH)
    assert verify().ok


# --- the four attacks ---------------------------------------------------------------------------


@pytest.mark.usefixtures("attacker")
def test_an_altered_entry_is_named(chain: list[AuditEntry], export: Path) -> None:
    _sql(f"UPDATE {ENTRIES} SET reason = %s WHERE seq = 4", ["nothing happened"])
    problem = _first(verify(export).problems)
    assert problem.seq == 4
    assert "entry #4 was altered" in problem.message


@pytest.mark.usefixtures("attacker")
def test_an_altered_entry_with_the_rest_of_the_chain_rehashed_is_named(
        chain: list[AuditEntry], export: Path) -> None:
    _sql(f"UPDATE {ENTRIES} SET reason = %s WHERE seq = 4", ["nothing happened"])
    _rehash_from(4)
    assert verify_chain() is None  # the hole the checkpoints close
    for source in (None, export):
        problem = _first(verify(source).problems)
        assert problem.seq == 4
        assert "entry #6 no longer has the hash" in problem.message
        assert "the first entry that may be forged is #4" in problem.message
        assert "checkpoint of entry #3 still holds" in problem.message


@pytest.mark.usefixtures("attacker")
def test_rewriting_the_checkpoint_rows_too_is_caught_by_the_mac_and_the_file(
        chain: list[AuditEntry], export: Path) -> None:
    _sql(f"UPDATE {ENTRIES} SET reason = %s WHERE seq = 5", ["nothing happened"])
    _rehash_from(5)
    new_hash = AuditEntry.objects.get(seq=6).hash
    # Without the key the attacker can only guess a MAC, or make one with a key of their own.
    checkpoint = AuditCheckpoint.objects.get(seq=6)
    _sql(f"UPDATE {CHECKPOINTS} SET entry_hash = %s, mac = %s WHERE seq = 6",
         [new_hash, compute_mac(OTHER_KEY, 6, new_hash, 6, checkpoint.created_at)])
    problem = _first(verify().problems)
    assert problem.seq == 6
    assert "checkpoint of entry #6" in problem.message
    assert "does not verify with the audit key" in problem.message

    _sql(f"UPDATE {CHECKPOINTS} SET key_id = %s WHERE seq = 6", [key_id(OTHER_KEY)])
    problem = _first(verify().problems)
    assert "was made with an unknown key" in problem.message

    # Deleting the checkpoint rows leaves nothing in the database, but the file remembers.
    _sql(f"DELETE FROM {CHECKPOINTS}")
    assert verify().ok
    problems = verify(export).problems
    assert _first(problems).seq == 4
    assert "entry #6 no longer has the hash" in problems[0].message
    assert any("checkpoint of entry #6" in problem.message and "missing from the database"
               in problem.message for problem in problems)


@pytest.mark.usefixtures("attacker")
def test_a_deleted_entry_is_named(chain: list[AuditEntry], export: Path) -> None:
    _sql(f"DELETE FROM {ENTRIES} WHERE seq = 5")
    problem = _first(verify(export).problems)
    assert problem.seq == 5
    assert "entry #5 is missing" in problem.message


@pytest.mark.usefixtures("attacker")
def test_a_deleted_entry_with_the_chain_renumbered_and_rehashed_is_named(
        chain: list[AuditEntry], export: Path) -> None:
    _sql(f"DELETE FROM {ENTRIES} WHERE seq = 4")
    for seq in range(5, 9):
        _sql(f"UPDATE {ENTRIES} SET seq = %s WHERE seq = %s", [seq - 1, seq])
    _rehash_from(4)
    assert verify_chain() is None
    problem = _first(verify(export).problems)
    assert problem.seq == 4
    assert "entry #6 no longer has the hash" in problem.message


@pytest.mark.usefixtures("attacker")
def test_a_cut_off_tail_is_named(chain: list[AuditEntry], export: Path) -> None:
    _sql(f"DELETE FROM {ENTRIES} WHERE seq >= 5")
    _rehash_from(5)  # moves the head back to #4
    assert verify_chain() is None
    problem = _first(verify(export).problems)
    assert problem.seq == 5
    assert "entries #5 to #6 are missing" in problem.message
    assert "the chain ends at #4" in problem.message


@pytest.mark.usefixtures("attacker")
def test_an_inserted_entry_is_named(chain: list[AuditEntry], export: Path) -> None:
    for seq in range(8, 3, -1):
        _sql(f"UPDATE {ENTRIES} SET seq = %s WHERE seq = %s", [seq + 1, seq])
    _insert_forged(4)
    problem = _first(verify(export).problems)
    assert problem.seq in {4, 5}  # the forgery, or the entry that no longer links to it
    assert f"#{problem.seq}" in problem.message


@pytest.mark.usefixtures("attacker")
def test_an_inserted_entry_with_the_chain_rehashed_is_named(chain: list[AuditEntry],
                                                            export: Path) -> None:
    for seq in range(8, 3, -1):
        _sql(f"UPDATE {ENTRIES} SET seq = %s WHERE seq = %s", [seq + 1, seq])
    _insert_forged(4)
    _rehash_from(4)
    assert verify_chain() is None
    problem = _first(verify(export).problems)
    assert problem.seq == 4
    assert "entry #6 no longer has the hash" in problem.message


# --- keys -------------------------------------------------------------------------------------


def test_a_wrong_key_is_reported(chain: list[AuditEntry], export: Path) -> None:
    old = audit_checkpoints.current_key()
    with override_settings(CUSTGUARD_AUDIT_KEY=OTHER_KEY):
        problems = verify(export).problems
        assert [problem.seq for problem in problems] == [3, 6]
        assert f"unknown key (key id {key_id(old)}" in problems[0].message
        assert f"the current key's id is {key_id(OTHER_KEY)}" in problems[0].message
        with override_settings(CUSTGUARD_AUDIT_PREVIOUS_KEYS=[old]):  # after a rotation
            assert verify(export).ok
            assert create_checkpoint().key_id == key_id(OTHER_KEY)
            assert verify(export).ok


def test_debug_generates_a_private_key_file_once(tmp_path: Path) -> None:
    path = tmp_path / "data" / "audit.key"
    with override_settings(DEBUG=True, CUSTGUARD_AUDIT_KEY="", CUSTGUARD_AUDIT_KEY_FILE=path):
        first = audit_checkpoints.current_key()
        assert audit_checkpoints.current_key() == first
    assert len(first) >= 32 and path.read_text().strip() == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_no_key_outside_debug_is_a_configuration_error() -> None:
    with override_settings(DEBUG=False, CUSTGUARD_AUDIT_KEY=""), pytest.raises(
            audit_checkpoints.ConfigurationError, match="CUSTGUARD_AUDIT_KEY"):
        create_checkpoint()


# --- recording refuses a broken chain -----------------------------------------------------------


@pytest.mark.usefixtures("attacker")
def test_a_checkpoint_of_a_broken_chain_is_refused(chain: list[AuditEntry]) -> None:
    _sql(f"UPDATE {ENTRIES} SET reason = %s WHERE seq = 7", ["nothing happened"])
    with pytest.raises(CheckpointRefused) as refused:
        create_checkpoint()
    assert refused.value.problem.seq == 7
    assert AuditCheckpoint.objects.count() == 2


@pytest.mark.usefixtures("attacker")
def test_a_checkpoint_after_an_earlier_deletion_is_refused(chain: list[AuditEntry]) -> None:
    """Only the entries since the last checkpoint are re-verified; the count catches the rest."""
    _sql(f"DELETE FROM {ENTRIES} WHERE seq = 2")
    with pytest.raises(CheckpointRefused, match="holds 7 entries"):
        create_checkpoint()


def test_the_hourly_job_records_a_checkpoint(chain: list[AuditEntry], export: Path) -> None:
    with override_settings(CUSTGUARD_AUDIT_CHECKPOINT_FILE=str(export)):
        run = run_now("core.audit_checkpoint")
    assert run.status == JobRun.Status.SUCCEEDED, run.error
    assert run.summary == f"checkpoint of entry #8 (8 entries), appended to {export}"
    assert len(export.read_text().splitlines()) == 3
    assert verify(export).ok


# --- the command --------------------------------------------------------------------------------


def test_the_commands_record_and_verify(chain: list[AuditEntry], export: Path) -> None:
    out = io.StringIO()
    call_command("audit", "checkpoint", "--export", str(export), stdout=out)
    assert out.getvalue().startswith("audit checkpoint recorded: entry #8 (8 entries, hash ")
    assert f"appended to {export}" in out.getvalue()
    out = io.StringIO()
    call_command("audit", "verify", "--no-progress", "--from-file", str(export), stdout=out)
    assert out.getvalue().strip() == (
        f"audit chain OK: 8 entries and 3 checkpoint(s) (3 from {export}) verified")


@pytest.mark.usefixtures("attacker")
def test_the_verify_command_exits_1_naming_the_first_bad_entry(chain: list[AuditEntry],
                                                               export: Path) -> None:
    _sql(f"UPDATE {ENTRIES} SET reason = %s WHERE seq = 4", ["nothing happened"])
    _rehash_from(4)
    out, err = io.StringIO(), io.StringIO()
    call_command("audit", "verify", "--no-progress", stdout=out, stderr=err)
    assert "audit chain OK" in out.getvalue()  # the plain chain check is fooled
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("audit", "verify", "--no-progress", "--checkpoints", "--from-file",
                     str(export), stdout=out, stderr=err)
    assert exited.value.code == 1
    assert err.getvalue().startswith("audit chain BROKEN at entry #4: entry #6 no longer has")
    assert out.getvalue() == ""
    with pytest.raises(SystemExit) as exited:
        call_command("audit", "checkpoint", stdout=out, stderr=err)
    assert exited.value.code == 1
    assert "audit checkpoint REFUSED" in err.getvalue()


def test_an_unreadable_file_is_reported(chain: list[AuditEntry], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"seq": 3}\n')
    err = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("audit", "verify", "--no-progress", "--from-file", str(bad),
                     stderr=err)
    assert exited.value.code == 1
    assert "line 1 is not a checkpoint" in err.getvalue()
