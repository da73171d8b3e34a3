"""The demo credit history: a pure, deterministic plan; the builder posts it through the
services (same seed → same facts), gives every customer a score history, spreads the grades from
AAA to D, leaves held orders in the queue, and keeps the audit chain intact."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.demo_users import ensure_demo_users
from custguard.core.models import User
from custguard.core.services import policies
from custguard.core.services.audit import verify_chain
from custguard.credit.demo import (
    HISTORY_MONTHS,
    PROFILES,
    DemoCustomer,
    build_credit_demo,
    demo_customers,
    plan_credit_history,
)
from custguard.credit.models import CreditOverride, CreditScore, GateCheck, Reservation
from custguard.customers.demo import build_registry_demo
from custguard.customers.models import Customer, Standing
from custguard.ledger.models import Invoice, Order, Payment
from custguard.policy import default_policy_text

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime(2026, 6, 15, 10, 0))
TODAY = NOW.date()
CUSTOMERS = 30


@pytest.fixture(autouse=True)
def _fixed_day() -> Iterator[None]:
    with clock.frozen_at(NOW):
        yield


@pytest.fixture
def demo_users(regions: None) -> dict[str, User]:
    return ensure_demo_users("demo-pass-123")


def build(users: dict[str, User], *, customers: int = CUSTOMERS, seed: int = 7) -> Any:
    actor = Actor.job("demo")
    if policies.version_in_force() is None:
        policies.publish_source(actor, default_policy_text(), note="demo")
    build_registry_demo(customers=customers, seed=seed, actor=actor, users=users)
    made = list(Customer.objects.order_by("-pk")[:customers])[::-1]
    return build_credit_demo(seed=seed, actor=actor, customers=made, users=users)


def facts() -> list[tuple[Any, ...]]:
    """Every fact as the ERP would know it: identity, customer, amount and dates."""
    rows: list[tuple[Any, ...]] = []
    rows += Order.objects.order_by("source", "external_id").values_list(
        "source", "external_id", "customer__code", "kind", "amount", "ordered_on")
    rows += Invoice.objects.order_by("source", "external_id").values_list(
        "source", "external_id", "customer__code", "kind", "amount", "issued_on", "due_on",
        "open_amount")
    rows += Payment.objects.order_by("source", "external_id").values_list(
        "source", "external_id", "customer__code", "kind", "amount", "received_on")
    return [tuple(str(v) for v in row) for row in rows]


class _Rollback(Exception):
    pass


def build_and_roll_back(users: dict[str, User], seed: int) -> tuple[list[Any], list[Any]]:
    seen: tuple[list[Any], list[Any]] = ([], [])
    try:
        with transaction.atomic():
            build(users, customers=20, seed=seed)
            grades = list(Standing.objects.order_by("customer__code").values_list(
                "customer__code", "grade", "score", "credit_limit"))
            seen = (facts(), [tuple(str(v) for v in g) for g in grades])
            raise _Rollback
    except _Rollback:
        pass
    return seen


# --- the plan ---------------------------------------------------------------------------------


def plan_customers(count: int) -> list[DemoCustomer]:
    kinds = ["enterprise", "enterprise", "dealer", "individual"]
    scales = ["small", "medium", "large", "micro"]
    statuses = ["active"] * 8 + ["dormant", "prospect"]
    return [DemoCustomer(index=i, code=f"110000{i + 1:03d}", kind=kinds[i % 4],
                         scale_band=scales[i % 4 if kinds[i % 4] != "individual" else 3],
                         status=statuses[i % 10], group=1 if i in (3, 4, 5) else None,
                         is_parent=i == 3) for i in range(count)]


def test_the_plan_is_pure_and_seeded() -> None:
    customers = plan_customers(60)
    one = plan_credit_history(customers, seed=2026, today=TODAY)
    assert one == plan_credit_history(customers, seed=2026, today=TODAY)
    assert one.events() != plan_credit_history(customers, seed=2027, today=TODAY).events()
    events = one.events()
    assert all(event.day <= TODAY for event in events)
    assert min(event.day for event in events) >= one.start
    assert one.start == dt.date(2025, 1, 1)  # 18 calendar months ending in June 2026
    assert HISTORY_MONTHS == 18
    assert set(one.profiles()) == set(PROFILES)  # every behaviour, when there are enough
    assert len({e.external_id for e in events}) == len(events)
    prospects = [h for h, c in zip(one.histories, customers, strict=True)
                 if c.status == "prospect"]
    assert prospects and all(not h.events for h in prospects)


def test_payments_follow_their_invoices_and_orders_follow_the_seasons() -> None:
    plan = plan_credit_history(plan_customers(80), seed=11, today=TODAY)
    events = plan.events()
    issued = {e.external_id: e.day for e in events if e.kind == "invoice"}
    for event in events:
        if event.kind == "payment":
            assert event.day > issued[event.ref]
        if event.kind == "invoice":
            assert event.due_on is not None and event.due_on > event.day
    by_month = Counter(e.day.month for e in events if e.kind == "order")
    assert by_month[12] > by_month[2]  # year-end stocking beats the Spring Festival lull


# --- the builder ------------------------------------------------------------------------------


@pytest.mark.budget(8, why="builds the credit demo of 20 customers twice, 18 months of "
                            "facts each, to show that the same seed gives the same facts")
def test_same_seed_gives_the_same_facts(demo_users: dict[str, User]) -> None:
    first = build_and_roll_back(demo_users, seed=7)
    assert not Order.objects.exists()
    second = build_and_roll_back(demo_users, seed=7)
    assert first[0] and first == second


@pytest.mark.budget(6, why="one credit demo of 30 customers: 18 months of facts posted "
                            "through the ledger and scored month by month")
def test_the_demo_has_history_a_grade_spread_and_a_sound_audit_chain(
        demo_users: dict[str, User]) -> None:
    summary = build(demo_users)
    ids = list(Customer.objects.values_list("pk", flat=True))
    # 12–18 months of history ending today
    first_order = Order.objects.order_by("ordered_on").values_list("ordered_on", flat=True)[0]
    assert (TODAY - first_order).days >= 365
    assert Order.objects.filter(ordered_on=TODAY).exists()
    assert Payment.objects.filter(kind="reversal").exists() or summary.facts["reversals"] == 0
    # every customer with history has a score per past month, as of each month's end
    history = CreditScore.objects.filter(customer_id__in=ids, as_of__lt=TODAY.replace(day=1))
    assert history.values("as_of").distinct().count() >= 12
    assert all((day + dt.timedelta(days=1)).day == 1  # the last day of a month
               for day in history.values_list("as_of", flat=True))
    # grades from the best to prepayment only, and somebody more than 90 days overdue
    grades = set(Standing.objects.exclude(grade="").values_list("grade", flat=True))
    assert len(grades) >= 5, grades
    assert grades & {"AAA", "AA"} and grades & {"C", "D"}
    assert Standing.objects.filter(oldest_open_due_on__lt=TODAY - dt.timedelta(days=90)).exists()
    # the gate answered, held orders wait in the queue, reservations are open
    assert GateCheck.objects.count() == sum(summary.gate.answers.values()) > 0
    assert Reservation.objects.filter(status="held").count() == summary.gate.held_waiting
    assert Reservation.objects.filter(status="pending").exists()
    reserved = sum(Reservation.objects.filter(status="pending").values_list("amount",
                                                                             flat=True))
    assert sum(Standing.objects.values_list("reserved", flat=True)) == reserved
    assert summary.overrides is not None and CreditOverride.objects.exists()
    assert verify_chain() is None
    labels = [label for label, _value in summary.rows()]
    assert {"credit history", "grades", "gate answers", "orders on credit hold"} <= set(labels)



def test_demo_customers_describe_the_registry(demo_users: dict[str, User]) -> None:
    actor = Actor.job("demo")
    build_registry_demo(customers=20, seed=4, actor=actor, users=demo_users)
    made = list(Customer.objects.order_by("pk"))
    described = demo_customers(made)
    assert [d.code for d in described] == [c.code for c in made]
    parents = [d for d in described if d.is_parent]
    assert all(d.group is not None for d in parents)
