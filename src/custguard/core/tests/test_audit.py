"""The tamper-evident audit chain: appended with the change, hashes chain, tampering is named."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from custguard.core import audit_triggers
from custguard.core.actors import Actor
from custguard.core.errors import ValidationFailed
from custguard.core.models import AuditEntry, AuditHead, User
from custguard.core.services import audit, tokens
from custguard.core.services.audit import GENESIS_HASH, compute_hash, verify_chain
from custguard.customers import services as customer_services
from custguard.customers.models import Customer, Region

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


@pytest.fixture
def chain(regions: None, system_actor: Actor) -> list[AuditEntry]:
    """Five fresh entries at the end of the chain (whatever was there before stays)."""
    region = Region.objects.get(pk="110000")
    for index in range(5):
        customer_services.create_customer(system_actor, region=region, name=f"链客户{index}",
                                          kind="enterprise", phone="13800138000")
    entries = list(AuditEntry.objects.order_by("seq"))
    assert len(entries) >= 5
    return entries


@pytest.fixture
def untriggered() -> Iterator[None]:
    """Lift the insert-only triggers so a test can play the attacker; put them back after."""
    audit_triggers.remove(connection)
    try:
        yield
    finally:
        audit_triggers.install(connection)


def _entry_count() -> int:
    return AuditEntry.objects.count()


# --- appending ----------------------------------------------------------------------------


def test_a_service_call_appends_one_entry_describing_the_change(
        regions: None, personas: dict[str, User]) -> None:
    actor = Actor.for_user(personas["sales_manager"])
    before = _entry_count()
    customer = customer_services.create_customer(
        actor, region=Region.objects.get(pk="110000"), name="北京甲公司", kind="enterprise")
    assert _entry_count() == before + 1
    entry = AuditEntry.objects.get(seq=AuditHead.objects.get(pk=1).seq)
    assert entry.action == "customer.create"
    assert entry.object_type == "customers.customer"
    assert entry.object_id == str(customer.pk)
    assert entry.customer_id == customer.pk
    assert entry.actor_kind == "user"
    assert entry.actor_label == "sales_manager"
    assert entry.actor_user_id == personas["sales_manager"].pk
    assert entry.before is None
    assert entry.after is not None
    assert entry.after["code"] == customer.code == "110000001"
    assert entry.after["name"] == "北京甲公司"


def test_a_rolled_back_service_call_leaves_no_entry(regions: None, system_actor: Actor) -> None:
    region = Region.objects.get(pk="110000")
    entries, customers = _entry_count(), Customer.objects.count()
    head = AuditHead.objects.filter(pk=1).values_list("seq", "hash").first()
    with pytest.raises(Boom), transaction.atomic():
        customer_services.create_customer(system_actor, region=region, name="回滚客户",
                                          kind="dealer")
        assert _entry_count() == entries + 1  # written inside the transaction ...
        raise Boom  # ... and the caller's transaction fails afterwards
    assert _entry_count() == entries
    assert Customer.objects.count() == customers
    assert AuditHead.objects.filter(pk=1).values_list("seq", "hash").first() == head
    assert Region.objects.get(pk="110000").last_serial == 0
    assert verify_chain() is None


def test_a_refused_service_call_leaves_no_entry(regions: None, system_actor: Actor) -> None:
    entries, customers = _entry_count(), Customer.objects.count()
    with pytest.raises(ValidationFailed):
        customer_services.create_customer(
            system_actor, region=Region.objects.get(pk="110000"), name="坏联系人",
            kind="enterprise", contacts=[{"name": "张三", "phone": "not a phone"}])
    assert (_entry_count(), Customer.objects.count()) == (entries, customers)


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused(regions: None,
                                                    system_actor: Actor) -> None:
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit.record(system_actor, "test.outside", object_type="test", object_id=1)
    assert _entry_count() == 0


# --- the chain -----------------------------------------------------------------------------


def test_deferred_entries_are_appended_at_the_end_of_the_block(system_actor: Actor) -> None:
    with transaction.atomic():
        with audit.deferred():
            audit.record(system_actor, "test.first", object_type="t", object_id=1)
            audit.record_many(system_actor, [audit.PendingEntry("test.second", "t", 2)])
            assert _entry_count() == 0  # nothing locked or written yet
            audit.record(system_actor, "test.third", object_type="t", object_id=3)
        assert list(AuditEntry.objects.order_by("seq").values_list("action", flat=True)) == [
            "test.first", "test.second", "test.third"]
    assert verify_chain() is None


def test_deferred_entries_of_a_rolled_back_savepoint_are_dropped(system_actor: Actor) -> None:
    with transaction.atomic(), audit.deferred():
        audit.record(system_actor, "test.kept", object_type="t", object_id=1)
        try:
            with transaction.atomic():
                audit.record(system_actor, "test.dropped", object_type="t", object_id=2)
                raise Boom
        except Boom:
            pass
        with transaction.atomic():
            audit.record(system_actor, "test.released", object_type="t", object_id=3)
    assert list(AuditEntry.objects.order_by("seq").values_list("action", flat=True)) == [
        "test.kept", "test.released"]


def test_a_failing_deferred_block_writes_nothing(system_actor: Actor) -> None:
    with pytest.raises(Boom), transaction.atomic(), audit.deferred():
        audit.record(system_actor, "test.lost", object_type="t", object_id=1)
        raise Boom
    assert _entry_count() == 0


@pytest.mark.django_db(transaction=True)
def test_deferred_needs_a_transaction() -> None:
    with pytest.raises(RuntimeError), audit.deferred():
        pass


def test_hashes_chain_from_genesis_to_the_head(chain: list[AuditEntry]) -> None:
    assert chain[0].seq == 1
    assert chain[0].prev_hash == GENESIS_HASH
    for previous, entry in zip(chain, chain[1:], strict=False):
        assert entry.seq == previous.seq + 1
        assert entry.prev_hash == previous.hash
    for entry in chain:
        assert len(entry.hash) == 64
        assert compute_hash(entry) == entry.hash  # still true after the database round trip
    assert len({entry.hash for entry in chain}) == len(chain)
    head = AuditHead.objects.get(pk=1)
    assert (head.seq, head.hash) == (chain[-1].seq, chain[-1].hash)


def test_clean_chain_verifies(chain: list[AuditEntry]) -> None:
    assert verify_chain() is None


def test_empty_chain_verifies() -> None:
    assert AuditEntry.objects.count() == 0
    assert verify_chain() is None


def test_record_many_continues_the_same_chain(chain: list[AuditEntry],
                                              system_actor: Actor) -> None:
    with transaction.atomic():
        last = audit.record_many(system_actor, [
            audit.PendingEntry("test.bulk", "test", index, after={"n": index})
            for index in range(7)])
    assert last == chain[-1].seq + 7
    assert verify_chain() is None


def test_verify_reports_progress(chain: list[AuditEntry]) -> None:
    seen: list[int] = []
    assert verify_chain(progress=seen.append, batch_size=2) is None
    assert sum(seen) == len(chain)


# --- tampering ----------------------------------------------------------------------------


@pytest.mark.usefixtures("untriggered")
def test_an_altered_entry_is_named(chain: list[AuditEntry]) -> None:
    target = chain[2]
    forged = dict(target.after or {}) | {"name": "篡改后的名字"}
    AuditEntry.objects.filter(seq=target.seq).update(after=forged)
    problem = verify_chain()
    assert problem is not None
    assert problem.seq == target.seq
    assert f"#{target.seq}" in problem.message
    assert "altered" in problem.message


@pytest.mark.usefixtures("untriggered")
def test_an_altered_and_rehashed_entry_breaks_the_next_link(chain: list[AuditEntry]) -> None:
    """An attacker who recomputes the hash of the entry he changed still breaks its successor."""
    target = chain[1]
    target.reason = "rewritten history"
    AuditEntry.objects.filter(seq=target.seq).update(reason=target.reason,
                                                     hash=compute_hash(target))
    problem = verify_chain()
    assert problem is not None
    assert problem.seq == target.seq + 1
    assert "does not link" in problem.message


@pytest.mark.usefixtures("untriggered")
def test_a_deleted_middle_entry_is_named(chain: list[AuditEntry]) -> None:
    target = chain[2]
    AuditEntry.objects.filter(seq=target.seq).delete()
    problem = verify_chain()
    assert problem is not None
    assert problem.seq == target.seq
    assert f"#{target.seq} is missing" in problem.message


@pytest.mark.usefixtures("untriggered")
def test_a_deleted_last_entry_is_detected_through_the_head(chain: list[AuditEntry]) -> None:
    last = chain[-1]
    AuditEntry.objects.filter(seq=last.seq).delete()
    problem = verify_chain()
    assert problem is not None
    assert problem.seq == last.seq
    assert f"#{last.seq} is missing" in problem.message


def _forge(after_entry: AuditEntry, **overrides: Any) -> AuditEntry:
    values: dict[str, Any] = {
        "seq": after_entry.seq + 1, "at": after_entry.at, "actor_kind": "user",
        "actor_label": "mallory", "action": "customer.update",
        "object_type": "customers.customer", "object_id": after_entry.object_id,
        "customer_id": after_entry.customer_id, "before": {"status": "active"},
        "after": {"status": "closed"}, "reason": "", "prev_hash": after_entry.hash,
    }
    values.update(overrides)
    entry = AuditEntry(**values)
    entry.hash = overrides.get("hash") or compute_hash(entry)
    entry.save(force_insert=True)
    return entry


@pytest.mark.usefixtures("untriggered")
def test_a_forged_entry_with_a_wrong_prev_hash_is_named(chain: list[AuditEntry]) -> None:
    forged = _forge(chain[-1], prev_hash="f" * 64)
    problem = verify_chain()
    assert problem is not None
    assert problem.seq == forged.seq
    assert "does not link" in problem.message


def test_a_well_forged_entry_appended_behind_the_heads_back_is_named(
        chain: list[AuditEntry]) -> None:
    """Correct prev_hash and hash, but the application's head was never moved."""
    forged = _forge(chain[-1])  # inserting needs no lifted triggers: the table is insert-only
    problem = verify_chain()
    assert problem is not None
    assert problem.seq == forged.seq
    assert "outside the application" in problem.message


def test_a_forged_entry_skipping_sequence_numbers_is_named(chain: list[AuditEntry]) -> None:
    forged = _forge(chain[-1], seq=chain[-1].seq + 5)
    problem = verify_chain()
    assert problem is not None
    assert problem.seq == chain[-1].seq + 1
    assert forged.seq != problem.seq
    assert f"the next entry is #{forged.seq}" in problem.message


@pytest.mark.parametrize("seq", [0, -3])
def test_a_forged_entry_before_the_start_is_named(chain: list[AuditEntry], seq: int) -> None:
    _forge(chain[0], seq=seq, prev_hash=GENESIS_HASH)
    problem = verify_chain()
    assert problem is not None
    assert problem.seq == seq
    assert "out of order" in problem.message


@pytest.mark.usefixtures("untriggered")
def test_a_replaced_middle_entry_is_named_at_the_broken_link(chain: list[AuditEntry]) -> None:
    """Delete entry k and insert a well-formed forgery in its place: entry k+1 no longer links."""
    target = chain[2]
    AuditEntry.objects.filter(seq=target.seq).delete()
    _forge(chain[1], seq=target.seq)
    problem = verify_chain()
    assert problem is not None
    assert problem.seq == target.seq + 1
    assert f"#{target.seq + 1} does not link to entry #{target.seq}" in problem.message


# --- the command --------------------------------------------------------------------------


def test_verify_command_reports_ok_on_a_clean_chain(chain: list[AuditEntry]) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("audit", "verify", "--no-progress", stdout=out, stderr=err)
    assert "OK" in out.getvalue()
    assert f"{len(chain)} entries" in out.getvalue()


@pytest.mark.usefixtures("untriggered")
def test_verify_command_exits_1_naming_the_broken_entry(chain: list[AuditEntry]) -> None:
    target = chain[3]
    AuditEntry.objects.filter(seq=target.seq).update(reason="tampered")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("audit", "verify", "--no-progress", stdout=out, stderr=err)
    assert exited.value.code == 1
    assert f"#{target.seq}" in err.getvalue()
    assert "BROKEN" in err.getvalue()
    assert "OK" not in out.getvalue()


# --- the triggers -------------------------------------------------------------------------


def _refused(run: Callable[[], object]) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        run()


def test_triggers_refuse_raw_update_and_delete(chain: list[AuditEntry]) -> None:
    table = AuditEntry._meta.db_table
    target = chain[1]
    snapshot = list(AuditEntry.objects.order_by("seq").values())

    def raw(sql: str, params: list[object]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    _refused(lambda: raw(f"UPDATE {table} SET reason = %s WHERE seq = %s",
                         ["tampered", target.seq]))
    _refused(lambda: raw(f"DELETE FROM {table} WHERE seq = %s", [target.seq]))
    _refused(lambda: raw(f"DELETE FROM {table}", []))
    assert list(AuditEntry.objects.order_by("seq").values()) == snapshot
    assert verify_chain() is None


def test_triggers_refuse_orm_update_delete_and_save(chain: list[AuditEntry]) -> None:
    target = chain[1]
    snapshot = list(AuditEntry.objects.order_by("seq").values())
    _refused(lambda: AuditEntry.objects.filter(seq=target.seq).update(reason="tampered"))
    _refused(lambda: AuditEntry.objects.filter(seq=target.seq).delete())

    def resave() -> None:
        target.reason = "tampered"
        target.save()

    _refused(resave)
    assert list(AuditEntry.objects.order_by("seq").values()) == snapshot
    assert verify_chain() is None


def test_postgresql_also_refuses_truncate(chain: list[AuditEntry]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    with connection.cursor() as cursor:
        _refused(lambda: cursor.execute(f"TRUNCATE {AuditEntry._meta.db_table}"))
    assert AuditEntry.objects.count() == len(chain)


# --- concurrent appends -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_appends_to_an_empty_chain(make_user: Callable[..., User]) -> None:
    """Ten writers that share no other lock start the chain at once: no head-row race."""
    users = [make_user("finance") for _ in range(10)]
    assert AuditEntry.objects.count() == 0
    assert not AuditHead.objects.exists()
    barrier = threading.Barrier(len(users))
    errors: list[BaseException] = []

    def work(user: User) -> None:
        try:
            barrier.wait(timeout=30)
            tokens.create_token(Actor.for_user(user), user=user, name="race")
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(AuditEntry.objects.values_list("seq", flat=True)) == list(range(1, 11))
    assert verify_chain() is None
