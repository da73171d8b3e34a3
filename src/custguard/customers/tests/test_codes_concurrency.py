"""Twenty simultaneous creations in one region get twenty distinct, consecutive codes.

SQLite serialises the writers with IMMEDIATE transactions and its busy timeout; PostgreSQL with
the row lock that the conditional UPDATE in services.next_code takes on the region."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.core.services.audit import verify_chain
from custguard.customers import services
from custguard.customers.models import Customer, Region

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20
REGION = "110000"


def test_concurrent_creations_get_consecutive_distinct_codes(
        regions: None, make_user: Callable[..., User]) -> None:
    region = Region.objects.get(pk=REGION)
    assert region.last_serial == 0
    assert not Customer.objects.filter(region=region).exists()
    users = [make_user("sales_manager") for _ in range(THREADS)]
    audit_before = AuditEntry.objects.count()
    barrier = threading.Barrier(THREADS)
    codes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        try:
            actor = Actor.for_user(users[index])
            actor.can("customers.add_customer")  # load permissions before the race
            barrier.wait(timeout=30)
            customer = services.create_customer(
                actor, region=Region.objects.get(pk=REGION), name=f"并发客户{index:02d}",
                kind="enterprise", contacts=[{"name": f"联系人{index}", "phone": "13800138000"}])
            with lock:
                codes.append(customer.code)
        except BaseException as error:  # noqa: BLE001 - reported below
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,), name=f"create-{i}")
               for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)

    assert errors == []
    assert len(codes) == THREADS
    assert len(set(codes)) == THREADS
    expected = [f"{REGION}{serial:03d}" for serial in range(1, THREADS + 1)]
    assert sorted(codes) == expected
    stored = list(Customer.objects.filter(region_id=REGION).order_by("serial")
                  .values_list("serial", "code"))
    assert stored == [(serial, code) for serial, code in zip(range(1, THREADS + 1), expected,
                                                             strict=True)]
    assert Region.objects.get(pk=REGION).last_serial == THREADS
    assert AuditEntry.objects.count() == audit_before + THREADS
    assert sorted(after["code"] for after in AuditEntry.objects.filter(
        action="customer.create").values_list("after", flat=True)) == expected
    assert verify_chain() is None
