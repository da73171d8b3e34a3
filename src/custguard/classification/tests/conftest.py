"""Fixtures of the classification tests: the ledger's fixed day and policy, and a province of
ten customers whose paid sales rank them 1 to 10 (created a year ago, so none is new)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.customers import services as customer_services
from custguard.customers.models import Customer, Region
from custguard.ledger.tests.conftest import (  # noqa: F401 - fixtures
    TODAY,
    _fixed_day,
    finance,
    policy,
)
from custguard.ledger.tests.factories import invoice, payment


def new_customer(personas: dict[str, User], name: str, kind: str = "enterprise",
                 region: str = "110000", age_days: int = 365) -> Customer:
    sales = Actor.for_user(personas["sales_manager"])
    customer = customer_services.create_customer(
        sales, region=Region.objects.get(pk=region), name=name, kind=kind,
        account_manager=personas["account_manager"])
    created = customer.created_at - dt.timedelta(days=age_days)
    Customer.objects.filter(pk=customer.pk).update(created_at=created)
    customer.created_at = created
    return customer


def sell(actor: Actor, customer: Customer, ext: str, amount: str, *, paid: dt.date,
         due: dt.date | None = None) -> None:
    """An invoice paid in full on `paid` (due on `due`, default the same day)."""
    issued = paid - dt.timedelta(days=10)
    invoice(actor, customer, ext, amount, issued=issued, due=due or paid)
    payment(actor, customer, f"PAY-{ext}", amount, on=paid, to=[(ext, amount)])


@pytest.fixture
def province(regions: None, personas: dict[str, User],
             finance: Actor, policy: object) -> list[Customer]:  # noqa: F811 - fixtures
    """Ten enterprise customers in Beijing; customer n paid n × 10,000.00 this year, on time."""
    customers = []
    for n in range(1, 11):
        customer = new_customer(personas, f"北京客户{n:02d}")
        sell(finance, customer, f"INV-{n}", str(Decimal(n * 10000)),
             paid=TODAY - dt.timedelta(days=30))
        customers.append(customer)
    return customers
