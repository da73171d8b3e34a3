"""The same fact posted at the same moment from several threads is stored once: every call
succeeds, one of them created it, and the counters moved once. Different facts racing for the
same invoice or order keep the books right. Runs on SQLite (IMMEDIATE transactions serialise
the writers) and PostgreSQL (the unique index makes the loser wait for the winner's commit)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from custguard.core.actors import Actor
from custguard.core.errors import Conflict
from custguard.core.models import AuditEntry
from custguard.core.services.audit import verify_chain
from custguard.customers.models import Customer
from custguard.ledger.models import Invoice, Order, Payment
from custguard.ledger.services import Posted
from custguard.ledger.tests.conftest import days
from custguard.ledger.tests.factories import (
    cancellation,
    invoice,
    open_amount,
    order,
    payment,
    standing,
)

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


def race(actor: Actor, work: Sequence[Callable[[], Any]],
         ) -> tuple[list[Any], list[BaseException]]:
    """Run the calls in as many threads, released together."""
    barrier = threading.Barrier(len(work))
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    actor.can("ledger.add_invoice")  # load the permissions before the race

    def run(call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            result = call()
            with lock:
                results.append(result)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results, errors


SAME_FACT: dict[str, tuple[Callable[[Actor, Customer], Posted[Any]], Any, str]] = {
    "invoice": (lambda a, c: invoice(a, c, "INV-RACE", "250.00", issued=days(-40),
                                     due=days(-10)), Invoice, "ledger.invoice"),
    "payment": (lambda a, c: payment(a, c, "PAY-RACE", "100.00"), Payment, "ledger.payment"),
    "order": (lambda a, c: order(a, c, "SO-RACE", "70.00"), Order, "ledger.order"),
}


@pytest.mark.parametrize("threads", [2, 8])
@pytest.mark.parametrize("kind", sorted(SAME_FACT))
def test_the_same_fact_posted_at_once_is_stored_once(
        kind: str, threads: int, finance: Actor, customer: Customer, policy: Any) -> None:
    invoice(finance, customer, "INV-BASE", "1000.00", issued=days(-50), due=days(-20))
    post, model, action = SAME_FACT[kind]
    audit_before = AuditEntry.objects.filter(action=action).count()
    before = standing(customer)

    results, errors = race(finance, [lambda: post(finance, customer)] * threads)

    assert errors == []
    assert len(results) == threads
    assert sorted(r.created for r in results) == [False] * (threads - 1) + [True]
    assert len({r.fact.pk for r in results}) == 1
    assert model.objects.filter(external_id__endswith="-RACE").count() == 1
    assert AuditEntry.objects.filter(action=action).count() == audit_before + 1
    after = standing(customer)
    moved = {"invoice": D("250.00"), "payment": D("-100.00"), "order": D("0.00")}[kind]
    assert after.posted == before.posted + moved
    if kind == "payment":
        assert open_amount("INV-BASE") == D("900.00")
    if kind == "invoice":
        assert after.overdue_amount == D("1250.00")
    assert verify_chain() is None


def test_payments_racing_for_one_invoice_settle_it_exactly(finance: Actor, customer: Customer,
                                                           policy: Any) -> None:
    invoice(finance, customer, "INV-1", "100.00", issued=days(-50), due=days(-20))
    work = [lambda n=n: payment(finance, customer, f"PAY-{n}", "12.50",
                                to=[("INV-1", "12.50")]) for n in range(8)]
    results, errors = race(finance, work)
    assert errors == []
    assert all(r.created for r in results)
    assert open_amount("INV-1") == D("0.00")
    row = standing(customer)
    assert (row.posted, row.overdue_amount, row.oldest_open_due_on) == (D("0.00"), D("0.00"),
                                                                        None)
    assert verify_chain() is None


def test_two_cancellations_of_one_order_at_once(finance: Actor, customer: Customer,
                                                policy: Any) -> None:
    order(finance, customer, "SO-1", "10.00")
    results, errors = race(finance, [lambda: cancellation(finance, customer, "X-1", "SO-1"),
                                      lambda: cancellation(finance, customer, "X-2", "SO-1")])
    assert len(results) == 1 and results[0].created
    assert len(errors) == 1 and isinstance(errors[0], Conflict), errors
    assert errors[0].field == "order_external_id"
    assert Order.objects.filter(kind="cancellation").count() == 1



def test_batches_touching_the_same_customers_in_opposite_orders(
        finance: Actor, customer: Customer, other_customer: Customer,
        personas: dict[str, Any], bearer_for: Callable[[Any], dict[str, str]]) -> None:
    """Each batch locks one customer's standing, then the audit chain's head, then the other
    customer: on PostgreSQL two such batches can deadlock, and the loser is run again rather
    than failing. Every batch succeeds and the counters add up."""
    import json

    from django.test import Client

    headers = bearer_for(personas["erp_integration"])
    rounds, per_batch = 4, 6

    def batch(name: str, first: Customer, second: Customer) -> Callable[[], Any]:
        items = [{"customer": (first if n % 2 == 0 else second).code, "source": "erp",
                  "external_id": f"{name}-{n}", "issued_on": str(days(-1)),
                  "due_on": str(days(29)), "amount": "1.00"} for n in range(per_batch)]

        def call() -> Any:
            response = Client().post("/api/v1/invoices/batch", json.dumps({"items": items}),
                                     content_type="application/json", **headers)
            return response.status_code, response.content[:300]
        return call

    for n in range(rounds):
        results, errors = race(finance, [batch(f"A{n}", customer, other_customer),
                                         batch(f"B{n}", other_customer, customer)])
        assert errors == []
        assert [status for status, _body in results] == [201, 201], results
    total = D(rounds * per_batch)  # each customer got half of 2 batches of per_batch items
    assert standing(customer).posted == total
    assert standing(other_customer).posted == total
    assert Invoice.objects.count() == rounds * per_batch * 2
    assert verify_chain() is None
