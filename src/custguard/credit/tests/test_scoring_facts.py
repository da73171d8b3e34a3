"""collect_facts (SQL, every customer at once) against a plain Python walk over each invoice,
on random histories: the date arithmetic (DaysBetween) and the decimal sums differ between
SQLite and PostgreSQL, so this runs on both."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from custguard.core import clock
from custguard.credit.services.scoring import collect_facts
from custguard.credit.tests.test_scoring_support import (
    add_credit_note,
    add_invoice,
    add_order,
    days_ago,
    naive_facts,
    new_customer,
    pay,
)
from custguard.customers.models import Customer

pytestmark = pytest.mark.django_db

HISTORY_DAYS = 800


def _amount(rng: random.Random) -> Decimal:
    return (Decimal(rng.randint(1, 5_000_000)) / 100).quantize(Decimal("0.01"))


def _random_history(customer: Customer, rng: random.Random) -> None:
    for _n in range(rng.randint(0, 14)):
        issued = days_ago(rng.randint(0, HISTORY_DAYS))
        due = issued + dt.timedelta(days=rng.choice([0, 15, 30, 45, 60, 90]))
        amount = _amount(rng)
        invoice = add_invoice(customer, issued=issued, due=due, amount=amount)
        roll = rng.random()
        if roll < 0.15:
            continue  # never paid
        if roll < 0.25:  # a credit note, then perhaps the rest
            add_credit_note(invoice, issued=min(clock.today(), issued + dt.timedelta(
                days=rng.randint(0, 40))), amount=(amount / 3).quantize(Decimal("0.01")))
        left = invoice.open_amount
        paid_on = issued
        for _part in range(rng.randint(1, 3)):
            if left <= 0:
                break
            paid_on = min(clock.today(), paid_on + dt.timedelta(days=rng.randint(0, 120)))
            share = left if rng.random() < 0.6 else (left / 2).quantize(Decimal("0.01"))
            if share <= 0:
                break
            pay(invoice, paid_on, share)
            invoice.refresh_from_db()
            left = invoice.open_amount
    for _n in range(rng.randint(0, 10)):
        on = days_ago(rng.randint(0, HISTORY_DAYS))
        cancelled = (min(clock.today(), on + dt.timedelta(days=rng.randint(0, 60)))
                     if rng.random() < 0.2 else None)
        add_order(customer, on=on, amount=_amount(rng), cancelled_on=cancelled)


@pytest.fixture
def histories(regions: None) -> list[int]:
    rng = random.Random(20240917)
    customers = [new_customer(f"事实客户{i}") for i in range(16)]
    for customer in customers:
        _random_history(customer, rng)
    # Edge cases: due today, due yesterday, settled on the due date, paid the day after.
    edge = customers[0]
    add_invoice(edge, issued=days_ago(30), due=clock.today(), amount="100.10")
    add_invoice(edge, issued=days_ago(30), due=days_ago(1), amount="200.20")
    add_invoice(edge, issued=days_ago(40), due=days_ago(10), amount="300.30",
                payments=[(days_ago(10), "300.30")])
    add_invoice(edge, issued=days_ago(40), due=days_ago(10), amount="0.03",
                payments=[(days_ago(9), "0.01"), (days_ago(9), "0.02")])
    # An old invoice still unpaid: due long before the 12-month window.
    add_invoice(customers[1], issued=days_ago(700), due=days_ago(650), amount="999.99")
    return [c.pk for c in customers]


@pytest.mark.parametrize("offset", [0, 1, 45, 200, 366, 500, -20])
def test_sql_facts_match_the_invoice_by_invoice_computation(histories: list[int],
                                                            offset: int) -> None:
    as_of = days_ago(offset)
    facts = collect_facts(as_of, histories)
    for customer_id in histories:
        assert facts[customer_id] == naive_facts(customer_id, as_of), customer_id


def test_today_from_the_stored_state_equals_today_rebuilt_from_allocations(
        histories: list[int]) -> None:
    today = clock.today()
    fast = collect_facts(today, histories, historical=False)
    rebuilt = collect_facts(today, histories, historical=True)
    assert fast == rebuilt
    assert any(f.invoices_due_12m for f in fast.values())
    assert any(f.overdue_receivable for f in fast.values())
    assert any(f.cancelled_orders_12m for f in fast.values())


def test_every_customer_at_once_matches_customer_by_customer(histories: list[int]) -> None:
    as_of = days_ago(3)
    everyone = collect_facts(as_of)
    for customer_id in histories:
        assert collect_facts(as_of, [customer_id])[customer_id] == everyone.get(
            customer_id, naive_facts(customer_id, as_of))


def test_a_customer_without_history_gets_empty_facts(regions: None) -> None:
    customer = new_customer("白纸客户")
    as_of = clock.today()
    assert collect_facts(as_of, [customer.pk]) == {customer.pk: naive_facts(customer.pk, as_of)}
    assert collect_facts(as_of, [customer.pk])[customer.pk].invoices_due_12m == 0


def test_an_old_unpaid_invoice_counts_as_past_due(regions: None) -> None:
    customer = new_customer("老欠款")
    add_invoice(customer, issued=days_ago(500), due=days_ago(470), amount="1000.00")
    facts = collect_facts(clock.today(), [customer.pk])[customer.pk]
    assert facts.max_days_past_due_12m == 470
    assert facts.invoices_due_12m == 0  # not due within the window
    assert facts.overdue_receivable == Decimal("1000.00")


def test_a_past_day_ignores_later_payments(regions: None) -> None:
    customer = new_customer("后来付款")
    invoice = add_invoice(customer, issued=days_ago(100), due=days_ago(70), amount="500.00")
    pay(invoice, days_ago(10), Decimal("500.00"))
    then = collect_facts(days_ago(20), [customer.pk])[customer.pk]
    assert then.overdue_receivable == Decimal("500.00")
    assert then.max_days_past_due_12m == 50
    now = collect_facts(clock.today(), [customer.pk])[customer.pk]
    assert now.overdue_receivable == 0
    assert now.max_days_past_due_12m == 60
