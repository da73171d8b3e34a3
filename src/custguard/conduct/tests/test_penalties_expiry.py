"""Expiry: moving the clock past a penalty's end lifts its effect exactly once, even when the
job runs twice or concurrently. Real transactions and threads, on SQLite and PostgreSQL: each
penalty ends with one conditional UPDATE, so only one run completes it, audits it and gives
the standing back; the order gate then allows the customer again."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from custguard.conduct import tasks
from custguard.conduct.models import Penalty
from custguard.conduct.services import penalties
from custguard.conduct.tests.support import active_penalty, customer_on_credit
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.core.services.audit import verify_chain
from custguard.credit.services import gate
from custguard.customers.models import Customer, Standing

pytestmark = pytest.mark.django_db(transaction=True)

JOB = Actor.job("conduct.complete_penalties")
ERP = Actor.system("erp")
THREADS = 6


def _outcome(customer: Customer) -> str:
    return gate.check(ERP, customer, "1000").check.outcome


def _completions(penalty: Penalty) -> int:
    return AuditEntry.objects.filter(action="conduct.penalty_complete",
                                     object_type="conduct.penalty",
                                     object_id=str(penalty.pk)).count()


def _restrictions(customer: Customer) -> dict[str, Any]:
    standing = Standing.objects.get(pk=customer.pk)
    return {"order_blocked": standing.order_blocked,
            "penalty_prepay_only": standing.penalty_prepay_only,
            "points_frozen": standing.points_frozen,
            "penalty_limit_percent": standing.penalty_limit_percent,
            "prepay_only": standing.prepay_only}


CLEAR = {"order_blocked": False, "penalty_prepay_only": False, "points_frozen": False,
         "penalty_limit_percent": 100, "prepay_only": False}


@pytest.fixture
def blocked(regions: None, personas: dict[str, User]) -> tuple[Customer, Penalty, Penalty]:
    """A customer with two penalties in force: prepayment only for 90 days (a first major
    violation) and, for a second one, orders blocked and points frozen for 30 days."""
    customer = customer_on_credit(personas)
    prepay = active_penalty(personas, customer, violation_type="CROSS_REGION_SALES",
                            evidence=True, days_ago=20)
    block = active_penalty(personas, customer, violation_type="PRICE_DISRUPTION",
                           evidence=True, days_ago=5)
    assert (prepay.step_code, block.step_code) == ("MAJOR_PREPAY", "REPEAT_MAJOR_SUSPEND")
    assert prepay.ends_on == clock.today() + dt.timedelta(days=90)
    assert block.ends_on == clock.today() + dt.timedelta(days=30)
    assert _restrictions(customer) == CLEAR | {
        "order_blocked": True, "penalty_prepay_only": True, "points_frozen": True,
        "prepay_only": True}
    assert _outcome(customer) == "deny"
    return customer, prepay, block


def _at(days: int) -> Any:
    return clock.frozen_at(clock.now() + dt.timedelta(days=days))


def test_each_penalty_ends_once_when_the_job_runs_twice(
        blocked: tuple[Customer, Penalty, Penalty]) -> None:
    customer, prepay, block = blocked
    with _at(29):  # the day before the order block's first free day: nothing ends
        assert tasks.complete_penalties(JOB) == "0 penalty(ies) completed"
        assert _outcome(customer) == "deny"
    with _at(30):
        assert tasks.complete_penalties(JOB) == "1 penalty(ies) completed"
        assert tasks.complete_penalties(JOB) == "0 penalty(ies) completed"
        restrictions = _restrictions(customer)
        assert not restrictions["order_blocked"] and not restrictions["points_frozen"]
        assert restrictions["penalty_prepay_only"]  # the other penalty still holds
        assert _outcome(customer) == "prepay_required"
    block.refresh_from_db()
    assert block.status == Penalty.Status.COMPLETED
    assert Penalty.objects.get(pk=prepay.pk).status == Penalty.Status.ACTIVE
    with _at(120):  # long past the end: the job runs twice more, the prepay penalty ends once
        assert tasks.complete_penalties(JOB) == "1 penalty(ies) completed"
        assert tasks.complete_penalties(JOB) == "0 penalty(ies) completed"
        assert _restrictions(customer) == CLEAR
        assert _outcome(customer) == "allow"
    assert (_completions(prepay), _completions(block)) == (1, 1)
    entry = AuditEntry.objects.get(action="conduct.penalty_complete", object_id=str(prepay.pk))
    assert (entry.actor_kind, entry.actor_label) == ("job", "conduct.complete_penalties")
    assert entry.before == {"status": "active"} and entry.after == {"status": "completed"}
    assert verify_chain() is None


def _run_at_once(work: Callable[[], int]) -> tuple[list[int], list[BaseException]]:
    barrier = threading.Barrier(THREADS)
    done: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            count = work()
            with lock:
                done.append(count)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, name=f"complete-{i}") for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return done, errors


def test_each_penalty_ends_once_when_the_job_runs_concurrently(
        regions: None, personas: dict[str, User],
        blocked: tuple[Customer, Penalty, Penalty]) -> None:
    customer, prepay, block = blocked
    other = customer_on_credit(personas, name="另一违规客户")
    third = active_penalty(personas, other, violation_type="CROSS_REGION_SALES", evidence=True)
    assert _outcome(other) == "prepay_required"
    effects_before = AuditEntry.objects.filter(action="conduct.effects").count()
    with _at(95):
        done, errors = _run_at_once(lambda: penalties.complete_due(JOB))
        assert errors == []
        assert sum(done) == 3
        assert _restrictions(customer) == CLEAR and _restrictions(other) == CLEAR
        assert _outcome(customer) == "allow" and _outcome(other) == "allow"
        again, errors = _run_at_once(lambda: penalties.complete_due(JOB))
        assert errors == [] and sum(again) == 0
    for penalty in (prepay, block, third):
        assert Penalty.objects.get(pk=penalty.pk).status == Penalty.Status.COMPLETED
        assert _completions(penalty) == 1
    # Each customer's standing changed once per penalty that ended, never twice.
    assert AuditEntry.objects.filter(action="conduct.effects").count() - effects_before == 3
    assert verify_chain() is None
