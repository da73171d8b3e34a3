"""Hundreds of simultaneous gate reservations, with real threads on a real database: against one
customer, and against two members of one group whose unified limit binds first. No call may
fail, the allowed reservations must never add up to more than the limit plus tolerance, and
after the run the counters must equal the reservations exactly. Then releases and expiries
race each other (each reservation ends exactly once) and invoices arrive for orders that were
voided or expired (nothing is posted for them).

SQLite serialises the writers (IMMEDIATE transactions, busy timeout); PostgreSQL re-evaluates
the conditional UPDATE's WHERE after a concurrent writer commits (READ COMMITTED)."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.credit.models import GateCheck, Reservation
from custguard.credit.services import gate
from custguard.customers.models import Customer, GroupStanding, Standing
from custguard.ledger import services as ledger
from custguard.policy.gate import ceiling
from custguard.policy.schema import PolicyDocument

from .gate_support import (
    SYSTEM,
    assert_invariants,
    make_customer,
    make_group,
    pending_sum,
    publish_default_policy,
)

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 16
UNIQUE_ORDERS = 216
DUPLICATED_ORDERS = 6  # each sent by 4 threads at once
COPIES = 4
D = Decimal


@dataclass(frozen=True)
class Call:
    customer_id: int
    external_id: str
    amount: Decimal


@dataclass(frozen=True)
class Result:
    call: Call
    outcome: str
    reasons: tuple[str, ...]
    reservation_id: int | None
    check_id: int
    replayed: bool


def run_in_threads(work: list[Callable[[], Any]], workers: int = WORKERS) -> list[Any]:
    """Run the callables on `workers` threads that start together; every thread closes its
    database connection when done. Returns the results; raises if any call raised."""
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    queue = list(reversed(work))
    barrier = threading.Barrier(workers)

    def worker() -> None:
        try:
            barrier.wait(timeout=60)
            while True:
                with lock:
                    if not queue:
                        return
                    item = queue.pop()
                try:
                    value = item()
                except BaseException as error:  # noqa: BLE001 - reported below
                    with lock:
                        errors.append(error)
                else:
                    with lock:
                        results.append(value)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, name=f"gate-{i}") for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == [], errors[:3]
    return results


def calls_for(customers: list[Customer], seed: int) -> list[Call]:
    """Unique orders of 50.00-400.00 spread over the customers, plus a few orders whose copies
    are sent by several threads at once (the copies are adjacent, so they race)."""
    rng = random.Random(seed)
    calls = [Call(customers[i % len(customers)].pk, f"SO-{i:04d}",
                  D(rng.randint(5000, 40000)).scaleb(-2)) for i in range(UNIQUE_ORDERS)]
    for n in range(DUPLICATED_ORDERS):
        original = Call(customers[n % len(customers)].pk, f"DUP-{n}",
                        D(rng.randint(5000, 40000)).scaleb(-2))
        position = rng.randint(0, len(calls))
        calls[position:position] = [original] * COPIES
    return calls


def reserve_all(actor: Actor, calls: list[Call]) -> list[Result]:
    customers = {c.pk: c for c in Customer.objects.filter(pk__in={c.customer_id for c in calls})}

    def one(call: Call) -> Callable[[], Result]:
        def work() -> Result:
            answer = gate.check(actor, customers[call.customer_id], call.amount, reserve=True,
                                source="erp", external_id=call.external_id)
            return Result(call, answer.check.outcome,
                          tuple(r["code"] for r in answer.check.reasons),
                          answer.reservation.pk if answer.reservation else None,
                          answer.check.pk, answer.replayed)
        return work

    results = run_in_threads([one(call) for call in calls])
    assert len(results) == len(calls) >= 200
    return results


@pytest.fixture
def erp(make_user: Callable[..., User]) -> Actor:
    actor = Actor.for_user(make_user("erp_integration", username="erp"))
    assert actor.can("credit.check_gate")  # load the permissions before the race
    return actor


def assert_one_reservation_per_order(results: list[Result]) -> None:
    by_order: dict[str, list[Result]] = {}
    for result in results:
        by_order.setdefault(result.call.external_id, []).append(result)
    assert Reservation.objects.count() == len(by_order)
    for external_id, answers in by_order.items():
        reservation = Reservation.objects.get(source="erp", external_id=external_id)
        assert {a.reservation_id for a in answers} == {reservation.pk}, external_id
        assert sum(not a.replayed for a in answers) == 1, external_id
        assert len({a.check_id for a in answers}) == 1, external_id  # the first answer
        assert reservation.amount == answers[0].call.amount
    # one stored answer per order: a replay stores nothing
    assert GateCheck.objects.count() == len(by_order)


def assert_allowed_fit(policy: PolicyDocument, results: list[Result], limit: Decimal,
                       customer_ids: set[int]) -> Decimal:
    first = {r.call.external_id: r for r in results if not r.replayed}
    allowed = [r for r in first.values() if r.call.customer_id in customer_ids
               and r.outcome == "allow"]
    total = sum((r.call.amount for r in allowed), D("0.00"))
    assert total <= ceiling(policy, limit)
    return total


def test_concurrent_reservations_against_one_customer(erp: Actor) -> None:
    policy = publish_default_policy()
    customer = make_customer("并发客户", limit="20000.00")
    results = reserve_all(erp, calls_for([customer], seed=3))

    top = ceiling(policy, D("20000.00"))
    allowed = assert_allowed_fit(policy, results, D("20000.00"), {customer.pk})
    held = [r for r in results if not r.replayed and r.outcome == "hold"]
    assert held, "the run must exceed the limit"
    assert {r.outcome for r in results} <= {"allow", "hold"}
    # holds for being over the limit mean the limit was really used up
    if any("LIMIT_EXCEEDED" in r.reasons for r in held):
        assert top - allowed < D("400.00")
    assert_one_reservation_per_order(results)
    standing = Standing.objects.get(pk=customer.pk)
    assert standing.reserved.quantize(D("0.01")) == allowed == pending_sum()
    assert standing.posted == 0
    assert_invariants(policy)
    end_them_all(policy, [customer])


def test_concurrent_reservations_against_two_members_of_a_group(erp: Actor) -> None:
    policy = publish_default_policy()
    first = make_customer("集团甲", limit="20000.00")
    second = make_customer("集团乙", limit="20000.00")
    group = make_group("并发集团", first, [second], limit="25000.00")
    results = reserve_all(erp, calls_for([first, second], seed=5))

    group_total = assert_allowed_fit(policy, results, D("25000.00"), {first.pk, second.pk})
    for member in (first, second):
        assert_allowed_fit(policy, results, D("20000.00"), {member.pk})
        reserved = Standing.objects.get(pk=member.pk).reserved.quantize(D("0.01"))
        assert reserved == pending_sum(customer_id=member.pk)
    held = [r for r in results if not r.replayed and r.outcome == "hold"]
    assert any("GROUP_LIMIT_EXCEEDED" in r.reasons for r in held)
    row = GroupStanding.objects.get(pk=group.pk)
    assert row.reserved.quantize(D("0.01")) == group_total == pending_sum()
    assert row.posted + row.reserved <= ceiling(policy, row.credit_limit)
    assert_one_reservation_per_order(results)
    assert_invariants(policy)
    end_them_all(policy, [first, second])


def end_them_all(policy: PolicyDocument, customers: list[Customer]) -> None:
    """Releases (each sent twice at once) race the expiry job (run by four threads at once):
    every reservation ends exactly once and gives back exactly what it held. Then invoices
    arrive for the ended orders: they post, but no reservation turns into posted."""
    open_ones = list(Reservation.objects.filter(
        status__in=[Reservation.Status.PENDING, Reservation.Status.HELD]).order_by("pk"))
    to_release = open_ones[::2]
    release_actor = Actor.system("erp")
    far = clock.now() + dt.timedelta(hours=policy.credit.reservation_expiry_hours + 1)
    audit_before = AuditEntry.objects.count()

    def release(reservation: Reservation) -> Callable[[], object]:
        return lambda: gate.release(release_actor, reservation, reason="并发撤单")

    def expire() -> int:
        return gate.expire_due(SYSTEM, far)

    work: list[Callable[[], Any]] = []
    for reservation in to_release:
        work += [release(reservation), release(reservation)]
    for position in range(4):
        work.insert(position * len(work) // 4, expire)
    run_in_threads(work)

    statuses = list(Reservation.objects.values_list("status", flat=True))
    assert set(statuses) <= {"voided", "expired"}
    ended = AuditEntry.objects.filter(seq__gt=0, action__in=["gate.release", "gate.expire"])
    assert ended.count() == len(open_ones)  # each ended exactly once
    assert AuditEntry.objects.count() == audit_before + len(open_ones)
    for customer in customers:
        row = Standing.objects.get(pk=customer.pk)
        assert row.reserved.quantize(D("0.01")) == D("0.00")
    assert all(g.reserved.quantize(D("0.01")) == 0 for g in GroupStanding.objects.all())

    today = clock.today()
    invoiced = D("0.00")
    for index, reservation in enumerate(Reservation.objects.order_by("pk")[:12]):
        ledger.post_invoice(SYSTEM, reservation.customer, source="erp",
                            external_id=f"INV-{index}", issued_on=today, due_on=today,
                            amount=reservation.amount, order_source="erp",
                            order_external_id=reservation.external_id)
        invoiced += reservation.amount
    assert not Reservation.objects.filter(status=Reservation.Status.POSTED).exists()
    assert sum((Standing.objects.get(pk=c.pk).posted for c in customers), D("0")) == invoiced
    assert all(Standing.objects.get(pk=c.pk).reserved == 0 for c in customers)
    assert_invariants(policy, limits=False)
