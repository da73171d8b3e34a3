"""The coupons world of the API and page tests, built once per module (`module_db`) through the
services on the ledger's fixed day (2025-06-30):

the account manager's customer ("owner", code `owner_code`): limit 50,000.00, grade A
    a welcome coupon `coupon` (ISSUED; 500.00 off a first order of 5,000.00 or more)
    an anniversary coupon `used` redeemed on order erp/SO-USED
    a batch `batch` of anniversary coupons (key B-1) to it and the colleague's customer
the colleague's customer ("other", code `other_code`)
    a welcome coupon `foreign`
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.core.services.policies import publish_source
from custguard.customers.models import Standing
from custguard.ledger.tests.conftest import NOW, _customer
from custguard.policy import default_policy_text
from custguard.rewards.services import coupon_issuing, coupon_redemption


def build(personas: dict[str, User]) -> dict[str, Any]:
    system = Actor.system("tests")
    with clock.frozen_at(NOW):
        publish_source(system, default_policy_text())
        owner = _customer(personas, "优惠券客户")
        other = _customer(personas, "同事的优惠券客户", manager="account_manager_2")
        Standing.objects.filter(pk__in=[owner.pk, other.pk]).update(
            grade="A", credit_limit=Decimal("50000.00"))
        coupon = coupon_issuing.issue(system, customer=owner,
                                      definition_code="WELCOME_FIRST_ORDER", key="W-1")
        used = coupon_issuing.issue(system, customer=owner,
                                    definition_code="ANNIVERSARY_PERCENT", key="A-1")
        coupon_redemption.redeem(system, code=used.code, customer=owner, amount="20000.00",
                                 source="erp", external_id="SO-USED")
        batch = coupon_issuing.issue_batch(system, customers=[owner, other],
                                           definition_code="ANNIVERSARY_PERCENT", key="B-1")
        foreign = coupon_issuing.issue(system, customer=other,
                                       definition_code="WELCOME_FIRST_ORDER", key="W-2")
    return {"owner_code": owner.code, "owner_id": str(owner.pk), "other_code": other.code,
            "coupon": coupon.code, "used": used.code, "foreign": foreign.code,
            "batch": str(batch.pk), "owner": owner, "other": other}


@pytest.fixture(scope="module")
def module_coupon_world(module_db: Callable[[], Any], module_regions: None,
                        module_personas: dict[str, User]) -> dict[str, Any]:
    with module_db():
        return build(module_personas)


@pytest.fixture
def world(db: None, module_coupon_world: dict[str, Any]) -> dict[str, Any]:
    from custguard.testing.shared import fresh_copy

    return fresh_copy(module_coupon_world)


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
