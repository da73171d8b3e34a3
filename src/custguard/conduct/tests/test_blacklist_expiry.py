"""Moving the clock past an entry's end expires it exactly once, even when the job runs twice or
twice at once: one conditional UPDATE per entry decides which run ends it (PostgreSQL's row
lock re-evaluates the WHERE after the other commits; SQLite serialises the writers)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from custguard.conduct.models import BlacklistEntry
from custguard.conduct.services import blacklist
from custguard.conduct.tests.support import SYSTEM, customer_on_credit
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.core.services.audit import verify_chain
from custguard.customers.models import Standing

pytestmark = pytest.mark.django_db(transaction=True)

ENTRIES = 6
THREADS = 4


def _entries(personas: dict[str, User]) -> list[BlacklistEntry]:
    credit = Actor.for_user(personas["credit_manager"])
    found = []
    for index in range(ENTRIES):
        customer = customer_on_credit(personas, name=f"到期客户{index}")
        entry, _created = blacklist.propose(SYSTEM, customer, criterion=blacklist.MANUAL,
                                            reasons=[], duration_days=30 + index % 2)
        found.append(blacklist.approve(credit, entry))
    return found


def _after_the_end(entries: list[BlacklistEntry]) -> dt.datetime:
    last = max(entry.ends_on for entry in entries if entry.ends_on is not None)
    return timezone.make_aware(dt.datetime.combine(last, dt.time(0, 6)))


def test_expiry_ends_each_entry_once_when_run_twice(regions: None,
                                                    personas: dict[str, User]) -> None:
    entries = _entries(personas)
    first_end = min(entry.ends_on for entry in entries if entry.ends_on is not None)
    job = Actor.job("conduct.expire_blacklist")
    day_before = timezone.make_aware(dt.datetime.combine(first_end - dt.timedelta(days=1),
                                                         dt.time(0, 6)))
    with clock.frozen_at(day_before):
        assert blacklist.expire_due(job) == 0
    with clock.frozen_at(_after_the_end(entries)):
        assert blacklist.expire_due(job) == ENTRIES
        assert blacklist.expire_due(job) == 0
    assert set(BlacklistEntry.objects.values_list("status", flat=True)) == {"expired"}
    assert AuditEntry.objects.filter(action="conduct.blacklist_expire").count() == ENTRIES
    assert not Standing.objects.filter(blacklisted=True).exists()
    assert verify_chain() is None


def test_concurrent_expiry_ends_each_entry_exactly_once(regions: None,
                                                        personas: dict[str, User]) -> None:
    entries = _entries(personas)
    barrier = threading.Barrier(THREADS)
    results: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            done = blacklist.expire_due(Actor.job(f"expire-{index}"))
            with lock:
                results.append(done)
        except BaseException as error:  # noqa: BLE001 - reported below
            with lock:
                errors.append(error)
        finally:
            connection.close()

    with clock.frozen_at(_after_the_end(entries)):
        threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert sum(results) == ENTRIES
    expired: dict[str, Any] = {}
    for entry_id, in AuditEntry.objects.filter(action="conduct.blacklist_expire").values_list(
            "object_id"):
        expired[entry_id] = expired.get(entry_id, 0) + 1
    assert expired == {str(entry.pk): 1 for entry in entries}
    assert set(BlacklistEntry.objects.values_list("status", flat=True)) == {"expired"}
    assert not Standing.objects.filter(blacklisted=True).exists()
    assert verify_chain() is None


def test_concurrent_proposals_for_one_customer_make_one_entry(
        regions: None, personas: dict[str, User]) -> None:
    customer = customer_on_credit(personas, name="并发提请客户")
    credit = Actor.for_user(personas["credit_manager"])
    admin = Actor.for_user(personas["admin"])
    for who in (credit, admin):
        who.can("conduct.decide_blacklistentry")  # load permissions before the race
    barrier = threading.Barrier(2)
    outcomes: list[tuple[int, bool]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(who: Actor) -> None:
        try:
            barrier.wait(timeout=30)
            entry, created = blacklist.propose_manual(who, customer, reason="同时提请")
            with lock:
                outcomes.append((entry.pk, created))
        except BaseException as error:  # noqa: BLE001 - reported below
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(who,)) for who in (credit, admin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(created for _pk, created in outcomes) == [False, True]
    assert len({pk for pk, _created in outcomes}) == 1
    assert BlacklistEntry.objects.filter(customer=customer).count() == 1
    assert AuditEntry.objects.filter(action="conduct.blacklist_propose").count() == 1
    assert verify_chain() is None
