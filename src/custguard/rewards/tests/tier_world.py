"""The tiers world of the API, page and permission tests, built once per module (`module_db`)
through the services, on the ledger's fixed day (2025-06-30):

the account manager's customer ("tier", code `tier_code`): six invoices of 100,000.00 paid on
    time over the year, grade A → silver after the month's run
the account manager's customer ("waiting", code `waiting_code`): standard, with a manual gold
    tier proposed by the account manager (`assignment_id`), waiting for a second person
the colleague's customer (`other_code`): standard
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.core.services.policies import publish_source
from custguard.ledger.tests.conftest import NOW, TODAY, _customer
from custguard.policy import default_policy_text
from custguard.rewards.services import tier_assignments, tier_evaluation
from custguard.rewards.tests.tiers import buy, grade


def build(personas: dict[str, User]) -> dict[str, Any]:
    system = Actor.system("tests")
    publish_source(system, default_policy_text())
    customer = _customer(personas, "会员等级客户")
    waiting = _customer(personas, "待审批会员客户", region="310000")
    other = _customer(personas, "同事的会员客户", manager="account_manager_2")
    grade(customer, "A")
    buy(customer, 6, "100000.00")
    tier_evaluation.evaluate(Actor.job("rewards.evaluate_tiers"))
    assignment = tier_assignments.propose(
        Actor.for_user(personas["account_manager"]), waiting, tier="GOLD",
        expires_on=TODAY + dt.timedelta(days=90), reason="新签战略合作")
    return {"tier_code": customer.code, "tier_id": str(customer.pk),
            "waiting_code": waiting.code, "other_code": other.code,
            "assignment_id": str(assignment.pk), "customer": customer, "waiting": waiting,
            "other": other}


@pytest.fixture(scope="module")
def module_tier_world(module_db: Callable[[], Any], module_regions: None,
                      module_personas: dict[str, User]) -> dict[str, Any]:
    with module_db(), clock.frozen_at(NOW):
        return build(module_personas)


@pytest.fixture
def world(db: None, module_tier_world: dict[str, Any]) -> dict[str, Any]:
    from custguard.testing.shared import fresh_copy

    return fresh_copy(module_tier_world)


@pytest.fixture
def personas(shared_personas: dict[str, User]) -> dict[str, User]:
    return shared_personas


@pytest.fixture
def bearer_for(shared_bearer_for: Callable[[User], dict[str, str]],
               ) -> Callable[[User], dict[str, str]]:
    return shared_bearer_for


@pytest.fixture
def client_for(shared_client_for: Callable[..., Any]) -> Callable[..., Any]:
    return shared_client_for
