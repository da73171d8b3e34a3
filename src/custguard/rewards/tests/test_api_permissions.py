"""The points API's rows of the permission matrix, route by route and role by role: the
account for every role that sees customers (the ERP included), the entries and lots for the
people who see points, adjustments for sales managers, customer service, administrators and
the ERP; account managers only for their own customers (the colleague gets 404). A refused
request, or a read, changes nothing; an accepted adjustment is audited as the token's user."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from custguard.api.tests.test_api_permissions import Row
from custguard.core.models import AuditEntry, User
from custguard.customers.models import Standing
from custguard.rewards.models import LotUse, PointsAccount, PointsEntry, PointsLot
from custguard.rewards.tests import world as points_world
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

# The shared world's fixtures (tests/world.py).
bearer_for = points_world.bearer_for
module_points_world = points_world.module_points_world
personas = points_world.personas
world = points_world.world

V1 = "/api/v1"
PEOPLE = [ADMIN, CREDIT, SALES, AM, COLLEAGUE, CS, FINANCE, AUDITOR]
ADJUSTERS = [ADMIN, SALES, CS, ERP]
CUSTOMER = "/customers/{id_or_code}"
BY_CODE = {"id_or_code": "points_code"}
BY_ID = {"id_or_code": "points_id"}

TABLE = [
    Row("GET", f"{V1}{CUSTOMER}/points", matrix(200, [*PEOPLE, ERP], account_manager_2=404),
        params=BY_CODE, label="by code"),
    Row("GET", f"{V1}{CUSTOMER}/points", matrix(200, [*PEOPLE, ERP], account_manager_2=404),
        params=BY_ID, label="by id"),
    Row("GET", f"{V1}{CUSTOMER}/points/entries", matrix(200, PEOPLE, account_manager_2=404),
        params=BY_CODE),
    Row("GET", f"{V1}{CUSTOMER}/points/lots", matrix(200, PEOPLE, account_manager_2=404),
        params=BY_CODE),
    Row("POST", f"{V1}{CUSTOMER}/points/adjustments", matrix(201, ADJUSTERS),
        body={"points": 25, "note": "矩阵调整"}, params=BY_CODE, label="add"),
    Row("POST", f"{V1}{CUSTOMER}/points/adjustments", matrix(201, ADJUSTERS),
        body={"points": -25, "note": "矩阵调整", "source": "erp", "external_id": "ADJ-M"},
        params=BY_CODE, label="take, keyed"),
]


def state() -> dict[str, Any]:
    return table_rows(PointsEntry, PointsLot, LotUse, PointsAccount, Standing) | {
        "audit": list(AuditEntry.objects.order_by("seq").values_list("seq", "hash"))}


CASES = [pytest.param(row, role, id=f"{row.id} as {role}") for row in TABLE for role in ROLES]


@pytest.mark.parametrize(("row", "role"), CASES)
def test_permission_matrix(row: Row, role: str, world: dict[str, Any],
                           personas: dict[str, User],
                           bearer_for: Callable[[User], dict[str, str]]) -> None:
    headers = {} if role == ANONYMOUS else bearer_for(personas[role])
    client = Client(enforce_csrf_checks=True)  # as a real browser or machine: no CSRF bypass
    path = row.route.format(**{name: world[key] for name, key in row.params.items()})
    before = state()
    if row.method == "GET":
        response = client.get(path, **headers)
    else:
        response = client.generic(row.method, path, json.dumps(row.body, ensure_ascii=False),
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
        assert response.json()["created"] is True
        new = AuditEntry.objects.filter(seq__gt=before["audit"][-1][0])
        assert new.exists()
        assert {entry.actor_kind for entry in new} == {"token"}
        assert {entry.actor_user_id for entry in new} == {personas[role].pk}


def test_every_role_has_an_expectation_in_every_row() -> None:
    for row in TABLE:
        assert set(row.expected) == set(ROLES), row.id


# --- coupons (issue 11) -----------------------------------------------------------------------
# Their rows run against their own world in test_coupon_api_permissions.py (and are fuzzed by
# test_coupon_api_fuzz.py); they are listed here, after this module's own cases and fuzzing
# took theirs, so that the API's coverage test finds every route.
POINTS_TABLE = list(TABLE)
from custguard.rewards.tests.test_coupon_api_permissions import (  # noqa: E402
    TABLE as COUPON_TABLE,
)

TABLE = [*TABLE, *COUPON_TABLE]
