"""Appeals filed or decided at the same moment from several threads: one open appeal per
decision, and one decision per appeal.

SQLite serialises the writers with IMMEDIATE transactions; PostgreSQL queues the filings on the
decision's row lock (and the partial unique index stays the last word), and the decisions on
the appeal's row lock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from custguard.conduct.models import Appeal, Fine, Penalty
from custguard.conduct.services import appeals
from custguard.conduct.tests.appeals_support import gate_outcome, prepay_penalty
from custguard.conduct.tests.support import customer_on_credit
from custguard.core.actors import Actor
from custguard.core.errors import Conflict
from custguard.core.models import AuditEntry, User
from custguard.core.services.audit import verify_chain

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def race(work: Callable[[int], Any], count: int) -> tuple[list[Any], list[BaseException]]:
    """Run work(0..count-1) in threads released together; (results, errors)."""
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

    threads = [threading.Thread(target=run, args=(i,), name=f"appeal-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results, errors


def test_appeals_filed_at_once_against_one_decision_make_exactly_one(
        regions: None, personas: dict[str, User], make_user: Callable[..., User]) -> None:
    customer = customer_on_credit(personas)
    penalty = prepay_penalty(personas, customer)
    actors = [Actor.for_user(make_user("customer_service")) for _ in range(THREADS)]
    for actor in actors:
        actor.can("conduct.add_appeal")  # load permissions before the race
    audit_before = AuditEntry.objects.count()

    results, errors = race(lambda i: appeals.file(actors[i], Penalty.objects.get(pk=penalty.pk),
                                                  grounds=f"申诉{i}"), THREADS)

    assert len(results) == 1
    assert len(errors) == THREADS - 1
    assert all(isinstance(error, Conflict) and error.field == "penalty" for error in errors)
    assert Appeal.objects.filter(penalty=penalty).count() == 1
    assert AuditEntry.objects.count() == audit_before + 1
    assert verify_chain() is None


def test_an_appeal_decided_at_once_by_two_reviewers_is_decided_once(
        regions: None, personas: dict[str, User], make_user: Callable[..., User]) -> None:
    customer = customer_on_credit(personas)
    penalty = prepay_penalty(personas, customer)
    appeal = appeals.file(Actor.for_user(personas["customer_service"]), penalty, grounds="不服")
    reviewers = [Actor.for_user(make_user("sales_manager")) for _ in range(4)]
    for reviewer in reviewers:
        reviewer.can("conduct.review_appeal")

    results, errors = race(lambda i: appeals.decide(reviewers[i], appeal, outcome="overturned",
                                                    note=f"撤销{i}"), len(reviewers))

    assert len(results) == 1 and len(errors) == len(reviewers) - 1
    assert all(isinstance(error, Conflict) for error in errors)
    assert AuditEntry.objects.filter(action="conduct.appeal_decide").count() == 1
    assert AuditEntry.objects.filter(action="conduct.penalty_overturn").count() == 1
    assert Fine.objects.get(penalty=penalty).status == Fine.Status.WAIVED
    assert gate_outcome(customer) == "allow"
    assert verify_chain() is None
