"""The coupons API's rows of the permission matrix, route by route and role by role: every
role that sees coupons reads them (account managers their own customers' only: the colleague
gets 404); sales managers and administrators issue; sales managers, customer service,
administrators and the ERP redeem and release; the gate with a coupon needs the gate too
(administrators and the ERP). A refused request, or a read, changes nothing; an accepted write
is audited as the token's user. (rewards/tests/test_api_permissions.py lists these rows too, for
the API's coverage test.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from custguard.api.tests.test_api_permissions import Row
from custguard.core.models import AuditEntry, User
from custguard.credit.models import GateCheck, Reservation
from custguard.customers.models import Standing
from custguard.rewards.models import Coupon, CouponBatch, CouponCounter, CouponRedemption
from custguard.rewards.tests import coupon_world
from custguard.testing.matrix import (
    ADMIN,
    AM,
    ANONYMOUS,
    AUDITOR,
    COLLEAGUE,
    CREDIT,
    CS,
    ERP,
    FINANCE,
    ROLES,
    SALES,
    matrix,
)
from custguard.testing.shared import table_rows

pytestmark = pytest.mark.django_db

module_coupon_world = coupon_world.module_coupon_world
world = coupon_world.world
personas = coupon_world.personas
bearer_for = coupon_world.bearer_for

V1 = "/api/v1"
VIEWERS = [ADMIN, CREDIT, SALES, AM, COLLEAGUE, CS, FINANCE, AUDITOR, ERP]
ISSUERS = [ADMIN, SALES]
REDEEMERS = [ADMIN, SALES, CS, ERP]
CUSTOMER = "/customers/{id_or_code}"
OWNER = {"id_or_code": "owner_code"}
COUPON = {"code": "coupon"}

TABLE = [
    Row("GET", f"{V1}{CUSTOMER}/coupons", matrix(200, VIEWERS, account_manager_2=404),
        params=OWNER, label="by code"),
    Row("GET", f"{V1}{CUSTOMER}/coupons", matrix(200, VIEWERS, account_manager_2=404),
        params={"id_or_code": "owner_id"}, label="by id"),
    Row("POST", f"{V1}{CUSTOMER}/coupons", matrix(201, ISSUERS),
        body={"definition_code": "ANNIVERSARY_PERCENT", "key": "M-ISSUE"}, params=OWNER),
    Row("GET", f"{V1}/coupons/{{code}}", matrix(200, VIEWERS, account_manager_2=404),
        params=COUPON),
    Row("POST", f"{V1}/coupons/{{code}}/redeem", matrix(201, REDEEMERS),
        body={"customer": "@owner_code", "amount": "8000.00", "source": "erp",
              "external_id": "SO-M1"}, params=COUPON),
    Row("POST", f"{V1}/coupons/{{code}}/release", matrix(200, REDEEMERS),
        body={"source": "erp", "external_id": "SO-USED", "reason": "取消"},
        params={"code": "used"}),
    Row("POST", f"{V1}/coupon-batches", matrix(201, ISSUERS),
        body={"definition_code": "ANNIVERSARY_PERCENT", "customers": ["@owner_code"],
              "key": "M-BATCH"}),
    Row("POST", f"{V1}/gate/check-with-coupon", matrix(200, [ADMIN, ERP]),
        body={"customer": "@owner_code", "amount": "8000.00", "coupon_code": "@coupon",
              "source": "erp", "external_id": "SO-M2"}),
]


def state() -> dict[str, Any]:
    return table_rows(Coupon, CouponBatch, CouponRedemption, CouponCounter, Reservation,
                      GateCheck, Standing) | {
        "audit": list(AuditEntry.objects.order_by("seq").values_list("seq", "hash"))}


def _filled(body: Any, world: dict[str, Any]) -> Any:
    """`@name` in a body stands for the world's value `name`."""
    if isinstance(body, dict):
        return {key: _filled(value, world) for key, value in body.items()}
    if isinstance(body, list):
        return [_filled(value, world) for value in body]
    if isinstance(body, str) and body.startswith("@"):
        return world[body[1:]]
    return body


CASES = [pytest.param(row, role, id=f"{row.id} as {role}") for row in TABLE for role in ROLES]


@pytest.mark.parametrize(("row", "role"), CASES)
def test_permission_matrix(row: Row, role: str, world: dict[str, Any],
                           personas: dict[str, User],
                           bearer_for: Callable[[User], dict[str, str]]) -> None:
    headers = {} if role == ANONYMOUS else bearer_for(personas[role])
    client = Client(enforce_csrf_checks=True)
    path = row.route.format(**{name: world[key] for name, key in row.params.items()})
    before = state()
    if row.method == "GET":
        response = client.get(path, **headers)
    else:
        response = client.generic(row.method, path,
                                  json.dumps(_filled(row.body, world), ensure_ascii=False),
                                  content_type="application/json", **headers)
    expected = row.expected[role]
    assert response.status_code == expected, (
        f"{row.id} as {role}: expected {expected}, got {response.status_code}: "
        f"{response.content[:300]!r}")
    if expected >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == expected
    if expected >= 400 or row.method == "GET":
        assert state() == before
    else:
        new = AuditEntry.objects.filter(seq__gt=before["audit"][-1][0])
        assert new.exists()
        assert {entry.actor_kind for entry in new} == {"token"}
        assert {entry.actor_user_id for entry in new} == {personas[role].pk}


def test_every_role_has_an_expectation_in_every_row() -> None:
    for row in TABLE:
        assert set(row.expected) == set(ROLES), row.id
