"""Short ways to give customers tier facts in the tier tests: invoices paid (on time or late)
inside the window that ends on the ledger's fixed day, stored the way the ledger stores them."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager

from django.utils import timezone

from custguard.core import clock
from custguard.credit.tests.test_scoring_support import add_invoice
from custguard.customers.models import Customer, Standing
from custguard.ledger.tests.conftest import TODAY
from custguard.policy.months import add_months


def buy(customer: Customer, invoices: int, amount: str, *, end: dt.date = TODAY,
        late: bool = False) -> None:
    """`invoices` invoices of `amount`, issued 25 days apart before `end`, each paid in full
    5 days before its due date (or 10 days after it when late)."""
    for n in range(invoices):
        issued = end - dt.timedelta(days=60 + 25 * n)
        due = issued + dt.timedelta(days=30)
        paid = due + dt.timedelta(days=10 if late else -5)
        add_invoice(customer, issued=issued, due=due, amount=amount,
                    payments=[(paid, amount)])


def grade(customer: Customer, code: str) -> None:
    Standing.objects.filter(pk=customer.pk).update(grade=code)


def months_later(months: int) -> dt.date:
    return add_months(TODAY, months)


def on(day: dt.date) -> AbstractContextManager[None]:
    return clock.frozen_at(timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0))))


def tier_of(customer: Customer) -> tuple[str, int]:
    row = Standing.objects.get(pk=customer.pk)
    return row.tier, row.tier_term_bonus_days
