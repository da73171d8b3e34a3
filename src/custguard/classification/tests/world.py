"""The classification world of the API, page and permission tests, built once per module
(`module_db`) through the services, as the monthly jobs would build it:

ten enterprise customers in Beijing (p0 … p9, created a year before), p3 the colleague's
(account_manager_2), the others the account manager's; customer n paid n × 10,000.00 on
2025-05-26, on time.

    2025-06-25  the June run: initial classes C C C B B B B B A A (p0 … p9)
    2025-06-28  the June run closes with its report
    2025-07-20  p4 pays 5,000,000.00 more, p0 65,000.00 more
    2025-07-25  the July run ranks p4 p9 | p8 p7 p0 p6 p5 | p3 p2 p1: p4 proposed B → A,
                p0 proposed C → B, p3 (the colleague's) proposed B → C, p8 (A) reminded

The tests run on 2025-07-26 (`LATER`), when the July run is open and the reminder is not
overdue yet (it is to be answered by 2025-08-01).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from custguard.classification.models import (
    ClassChange,
    ClassificationRun,
    ClassProposal,
    ClassReminder,
    CustomerClass,
)
from custguard.classification.services import runs
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.core.services.policies import publish_source
from custguard.customers import services as customer_services
from custguard.customers.models import Customer, Region, Standing
from custguard.ledger.tests.factories import invoice, payment
from custguard.policy import default_policy_text
from custguard.testing.shared import table_rows

JOB = Actor.job("classification.monthly_run")
JUNE, JULY = dt.date(2025, 6, 1), dt.date(2025, 7, 1)
LATER = timezone.make_aware(dt.datetime(2025, 7, 26, 10, 0))
AFTER_DEADLINE = timezone.make_aware(dt.datetime(2025, 8, 5, 10, 0))


def at(day: dt.date) -> Any:
    return clock.frozen_at(timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0))))


def _customer(personas: dict[str, User], n: int, manager: str) -> Customer:
    sales = Actor.for_user(personas["sales_manager"])
    customer = customer_services.create_customer(
        sales, region=Region.objects.get(pk="110000"), name=f"分类客户{n:02d}",
        kind="enterprise", account_manager=personas[manager])
    created = customer.created_at - dt.timedelta(days=365)
    Customer.objects.filter(pk=customer.pk).update(created_at=created)
    return customer


def _sell(finance: Actor, customer: Customer, ext: str, amount: Decimal, paid: dt.date) -> None:
    invoice(finance, customer, ext, str(amount), issued=paid - dt.timedelta(days=10), due=paid)
    payment(finance, customer, f"PAY-{ext}", str(amount), on=paid, to=[(ext, str(amount))])


def build(personas: dict[str, User]) -> dict[str, Any]:
    finance = Actor.for_user(personas["finance"])
    with at(dt.date(2024, 6, 1)):
        publish_source(Actor.system("tests"), default_policy_text())
        people = [_customer(personas, n, "account_manager_2" if n == 3 else "account_manager")
                  for n in range(10)]
    with at(dt.date(2025, 5, 26)):
        for n, customer in enumerate(people):
            _sell(finance, customer, f"INV-{n}", Decimal((n + 1) * 10000), dt.date(2025, 5, 26))
    with at(dt.date(2025, 6, 25)):
        runs.run_month(JOB)
    with at(dt.date(2025, 6, 28)):
        runs.close_due(JOB)
    with at(dt.date(2025, 7, 20)):
        _sell(finance, people[4], "BIG-4", Decimal("5000000.00"), dt.date(2025, 7, 20))
        _sell(finance, people[0], "MORE-0", Decimal("65000.00"), dt.date(2025, 7, 20))
    with at(dt.date(2025, 7, 25)):
        runs.run_month(JOB)
    proposals = {p.customer_id: p for p in ClassProposal.objects.all()}
    reminder = ClassReminder.objects.get()
    codes = {f"p{n}": c.code for n, c in enumerate(people)}
    return {
        **codes,
        "customer_code": people[4].code, "customer_id": str(people[4].pk),
        "other_code": people[3].code,
        "proposal": str(proposals[people[4].pk].pk),     # B → A, the account manager's
        "proposal_up": str(proposals[people[0].pk].pk),  # C → B, the account manager's
        "proposal_other": str(proposals[people[3].pk].pk),  # B → C, the colleague's
        "reminder": str(reminder.pk),                    # p8, the account manager's
        "june": "2025-06", "july": "2025-07",
        "june_run": str(ClassificationRun.objects.get(month=JUNE).pk),
    }


@pytest.fixture(scope="module")
def module_world(module_db: Any, module_regions: None,
                 module_personas: dict[str, User]) -> dict[str, Any]:
    """Built once for the module; each test's writes are rolled back (conftest `module_db`)."""
    with module_db():
        return build(module_personas)


@pytest.fixture
def world(db: None, module_world: dict[str, Any]) -> dict[str, Any]:
    return dict(module_world)


@pytest.fixture
def personas(shared_personas: dict[str, User]) -> dict[str, User]:
    return shared_personas


@pytest.fixture(autouse=True)
def _fixed_day() -> Iterator[None]:
    """The world's tests run the day after the July run (overrides the ledger's day)."""
    with clock.frozen_at(LATER):
        yield


@pytest.fixture
def client_for(shared_client_for: Any) -> Any:
    return shared_client_for


@pytest.fixture
def bearer_for(shared_bearer_for: Any) -> Any:
    return shared_bearer_for


def state() -> dict[str, Any]:
    """Every classification table row by row, the standing rows and the audit chain's length:
    what a refused request must leave as it was."""
    return table_rows(ClassificationRun, CustomerClass, ClassChange, ClassProposal,
                      ClassReminder, Standing) | {"audit": AuditEntry.objects.count()}
