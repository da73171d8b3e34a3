"""Overrides under concurrency, with real threads on SQLite and PostgreSQL: several people
approving the same request at once put it in force exactly once; an override coming into force
while a rescoring batch runs is never lost (both lock the standing row first)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import Conflict
from custguard.core.models import AuditEntry, User
from custguard.core.services.audit import verify_chain
from custguard.credit.models import CreditOverride
from custguard.credit.services import overrides, scoring
from custguard.credit.tests.test_scoring_support import SYSTEM, new_customer, publish_policy
from custguard.customers.models import Standing

pytestmark = pytest.mark.django_db(transaction=True)

APPROVERS = 8


def race(count: int, work: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            result = work(index)
            with lock:
                results.append(result)
        except BaseException as error:  # noqa: BLE001 - reported to the test
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results, errors


def test_simultaneous_approvals_put_it_in_force_once(regions: None,
                                                     make_user: Callable[..., User]) -> None:
    publish_policy()
    requester = Actor.for_user(make_user("credit_manager"))
    approvers = [Actor.for_user(make_user("credit_manager")) for _ in range(APPROVERS)]
    for approver in approvers:
        approver.can("credit.approve_creditoverride")  # load permissions before the race
    customer = new_customer("并发审批")
    override = overrides.request_override(
        requester, customer=customer, credit_limit="3000000", reason="并发",
        expires_on=clock.today() + dt.timedelta(days=30))

    results, errors = race(APPROVERS, lambda i: overrides.approve_override(
        approvers[i], CreditOverride.objects.get(pk=override.pk)))

    assert len(results) == 1
    assert len(errors) == APPROVERS - 1 and all(isinstance(e, Conflict) for e in errors)
    override.refresh_from_db()
    assert override.status == "active"
    assert override.decided_by == results[0].decided_by
    assert AuditEntry.objects.filter(action="credit.override_approve").count() == 1
    assert Standing.objects.get(pk=customer.pk).credit_limit == Decimal("3000000.00")
    assert verify_chain() is None


@pytest.mark.parametrize("round_", range(3))
def test_an_override_is_not_lost_to_a_concurrent_rescoring(regions: None,
                                                            personas: dict[str, User],
                                                            round_: int) -> None:
    publish_policy()
    credit = Actor.for_user(personas["credit_manager"])
    credit.can("credit.add_creditoverride")
    customers = [new_customer(f"并发评分{round_}-{i}") for i in range(40)]
    target = customers[round_ * 7]
    ids = [c.pk for c in customers]

    def work(index: int) -> Any:
        if index == 0:
            return scoring.rescore(SYSTEM, ids, batch_size=10)
        return overrides.request_override(credit, customer=target, credit_limit="77777.00",
                                          reason="并发", expires_on=clock.today()
                                          + dt.timedelta(days=10))

    results, errors = race(2, work)
    assert errors == []
    standing = Standing.objects.get(pk=target.pk)
    assert standing.credit_limit == Decimal("77777.00") and standing.limit_overridden
    assert standing.grade == "C" and standing.prepay_only is False
    assert verify_chain() is None
