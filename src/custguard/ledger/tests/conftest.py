"""Fixtures of the ledger's tests: a fixed day, a published policy, customers of the account
manager (one in a group), and short helpers that post facts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import timezone

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import PolicyVersion, User
from custguard.core.services.policies import publish_source
from custguard.customers import services as customer_services
from custguard.customers.models import Customer, CustomerGroup, Region
from custguard.policy import default_policy_text

NOW = timezone.make_aware(dt.datetime(2025, 6, 30, 10, 0))
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _fixed_day() -> Iterator[None]:
    """Every ledger test runs on 2025-06-30 (Asia/Shanghai) unless it moves time itself."""
    with clock.frozen_at(NOW):
        yield


@pytest.fixture
def policy(db: None) -> PolicyVersion:
    return publish_source(Actor.system("t"), default_policy_text())


@pytest.fixture
def finance(personas: dict[str, User]) -> Actor:
    return Actor.for_user(personas["finance"])


def _customer(personas: dict[str, User], name: str, manager: str = "account_manager",
              region: str = "110000") -> Customer:
    sales = Actor.for_user(personas["sales_manager"])
    return customer_services.create_customer(
        sales, region=Region.objects.get(pk=region), name=name, kind="enterprise",
        account_manager=personas[manager])


@pytest.fixture
def customer(regions: None, personas: dict[str, User]) -> Customer:
    """A customer of the account manager, in no group."""
    return _customer(personas, "账款客户")


@pytest.fixture
def other_customer(regions: None, personas: dict[str, User]) -> Customer:
    """A customer of the colleague (account_manager_2)."""
    return _customer(personas, "同事的客户", manager="account_manager_2")


@pytest.fixture
def group(regions: None, personas: dict[str, User]) -> CustomerGroup:
    """A group of two customers of the account manager: its parent and one member."""
    parent = _customer(personas, "集团母公司")
    member = _customer(personas, "集团子公司")
    sales = Actor.for_user(personas["sales_manager"])
    return customer_services.create_group(sales, name="账款集团", parent=parent,
                                          members=[member])


def days(n: int) -> dt.date:
    """TODAY + n days (n may be negative)."""
    return TODAY + dt.timedelta(days=n)


@pytest.fixture(scope="module")
def module_matrix_world(module_db: Callable[[], Any], module_regions: None,
                        module_personas: dict[str, User]) -> dict[str, str]:
    """What the permission matrices point at: the account manager's customer with an order,
    an invoice and a payment (the colleague does not own it). Built once per module, on the
    fixed day; each test's writes are rolled back (conftest `module_db`)."""
    from custguard.ledger.tests.factories import invoice, order, payment

    with module_db(), clock.frozen_at(NOW):
        customer = _customer(module_personas, "账款客户")
        other_customer = _customer(module_personas, "同事的客户", manager="account_manager_2")
        finance = Actor.for_user(module_personas["finance"])
        placed = order(finance, customer, "SO-M", "100.00", on=days(-5)).fact
        billed = invoice(finance, customer, "INV-M", "500.00", issued=days(-40),
                         due=days(-10)).fact
        paid = payment(finance, customer, "PAY-M", "100.00", on=days(-1)).fact
        invoice(finance, other_customer, "INV-OTHER", "10.00")
    return {"customer_code": customer.code, "customer_id": str(customer.pk),
            "order_id": str(placed.pk), "invoice_id": str(billed.pk),
            "payment_id": str(paid.pk), "pk": str(billed.pk)}


@pytest.fixture
def matrix_world(db: None, module_matrix_world: dict[str, str]) -> dict[str, str]:
    """The shared matrix world; a module using it overrides `personas` with `shared_personas`
    so that its users are the world's."""
    return dict(module_matrix_world)
