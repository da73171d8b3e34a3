"""The same incident reported at the same moment from several threads is one case: the unique
constraints (customer, type, day) and (source, external_id) decide, the losers get the
winner's case back, and one audit entry records the report. Real threads and transactions, on
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from django.db import connection

from custguard.conduct.models import ViolationCase
from custguard.conduct.services import cases
from custguard.conduct.tests.support import customer_on_credit
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.core.services.audit import verify_chain

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def _race(work: Callable[[int], cases.Reported]) -> tuple[list[cases.Reported],
                                                          list[BaseException]]:
    barrier = threading.Barrier(THREADS)
    results: list[cases.Reported] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            reported = work(index)
            with lock:
                results.append(reported)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), name=f"report-{i}")
               for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results, errors


@pytest.mark.parametrize("identity", ["same day", "same external id"])
def test_the_same_incident_reported_at_once_is_one_case(
        identity: str, regions: None, personas: dict[str, User],
        make_user: Callable[..., User]) -> None:
    customer = customer_on_credit(personas)
    reporters = [Actor.for_user(make_user("customer_service")) for _ in range(THREADS)]
    for reporter in reporters:
        reporter.can("conduct.add_violationcase")  # load permissions before the race
    day = clock.today() - dt.timedelta(days=2)

    def report(index: int) -> cases.Reported:
        if identity == "same day":
            return cases.report(reporters[index], customer, violation_type="LATE_PAYMENT",
                                occurred_on=day, description=f"并发上报{index}")
        # the other system sends the same report with the day it first saw it
        return cases.report(reporters[index], customer, violation_type="LATE_PAYMENT",
                            occurred_on=day - dt.timedelta(days=index % 2),
                            description=f"并发上报{index}", source="crm",
                            external_id="CRM-2025-001")

    results, errors = _race(report)
    assert errors == []
    assert len(results) == THREADS
    assert [r.created for r in results].count(True) == 1
    assert len({r.case.pk for r in results}) == 1
    assert ViolationCase.objects.count() == 1
    case = ViolationCase.objects.get()
    assert AuditEntry.objects.filter(action="conduct.case_report").count() == 1
    assert AuditEntry.objects.get(action="conduct.case_report").object_id == str(case.pk)
    assert verify_chain() is None
