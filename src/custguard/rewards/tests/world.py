"""The points world of the API, page and permission tests, built once per module (`module_db`)
through the services, on dates the ledger's fixed day (2025-06-30) looks back on:

the account manager's customer ("points", code `points_code`)
    2023-03-10  +1,000 adjusted (a lot expiring 2025-03-31)
    2025-02-10  −100 adjusted (taken from that lot)
    2025-04-01  the other 900 expire
    2025-06-30  +500 adjusted (available at once), an invoice of 10,000.00 paid on time earns
                110 pending points, −40 adjusted
    → available 460, pending 110, earned 1,610, spent 140, expired 900; next expiry
      2027-06-30 with 570 points
the colleague's customer ("other", code `other_code`)
    2024-11-05  +300 adjusted (a lot expiring 2026-11-30)

Every write is the service's, as in production: entries, lots, counters and audit agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.core.services.policies import publish_source
from custguard.ledger.tests.conftest import NOW, _customer, days
from custguard.ledger.tests.factories import invoice, payment
from custguard.policy import default_policy_text
from custguard.rewards.services import adjustments, expiry

AVAILABLE, PENDING, EARNED, SPENT, EXPIRED = 460, 110, 1610, 140, 900
OTHER_AVAILABLE = 300
NEXT_EXPIRY = dt.date(2027, 6, 30)


def at(day: dt.date) -> Any:
    return clock.frozen_at(timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0))))


def build(personas: dict[str, User]) -> dict[str, Any]:
    system = Actor.system("tests")
    with at(dt.date(2023, 1, 1)):
        publish_source(system, default_policy_text())
        customer = _customer(personas, "积分客户")
        other = _customer(personas, "同事的积分客户", manager="account_manager_2")
    with at(dt.date(2023, 3, 10)):
        adjustments.adjust(system, customer, 1000, note="welcome points")
    with at(dt.date(2024, 11, 5)):
        adjustments.adjust(system, other, OTHER_AVAILABLE, note="welcome points")
    with at(dt.date(2025, 2, 10)):
        adjustments.adjust(system, customer, -100, note="goodwill taken back")
    with at(dt.date(2025, 4, 1)):
        expiry.expire_due(Actor.job("rewards.expire_points"))
    with clock.frozen_at(NOW):
        adjustments.adjust(system, customer, 500, note="campaign gift")
        finance = Actor.for_user(personas["finance"])
        invoice(finance, customer, "INV-P1", "10000.00", issued=days(-10), due=days(20))
        payment(finance, customer, "PAY-P1", "10000.00", to=[("INV-P1", "10000.00")])
        adjustments.adjust(system, customer, -40, note="correction")
    return {"points_code": customer.code, "points_id": str(customer.pk),
            "other_code": other.code, "customer": customer, "other": other}


@pytest.fixture(scope="module")
def module_points_world(module_db: Callable[[], Any], module_regions: None,
                        module_personas: dict[str, User]) -> dict[str, Any]:
    with module_db():
        return build(module_personas)


@pytest.fixture
def world(db: None, module_points_world: dict[str, Any]) -> dict[str, Any]:
    from custguard.testing.shared import fresh_copy

    return fresh_copy(module_points_world)


@pytest.fixture
def personas(shared_personas: dict[str, User]) -> dict[str, User]:
    """The users of the shared world."""
    return shared_personas


@pytest.fixture
def bearer_for(shared_bearer_for: Callable[[User], dict[str, str]],
               ) -> Callable[[User], dict[str, str]]:
    return shared_bearer_for


@pytest.fixture
def client_for(shared_client_for: Callable[..., Any]) -> Callable[..., Any]:
    return shared_client_for
