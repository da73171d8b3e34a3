"""The tier API's rows of the permission matrix, route by route and role by role: a customer's
tier for every role that sees customers (the ERP included), its changes and the manual tiers
for the people who see tiers, proposing for sales and account managers, deciding for credit
and sales managers (never the proposer), evaluating for sales managers; account managers only
for their own customers (the colleague gets 404). A refused request, or a read, changes
nothing; an accepted write is audited as the token's user."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from custguard.api.tests.test_api_permissions import Row
from custguard.core.models import AuditEntry, User
from custguard.customers.models import Standing
from custguard.rewards.models import (
    TierAssignment,
    TierChange,
    TierNotice,
    TierRun,
    TierStatus,
)
from custguard.rewards.tests import tier_world
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

bearer_for = tier_world.bearer_for
module_tier_world = tier_world.module_tier_world
personas = tier_world.personas
world = tier_world.world

V1 = "/api/v1"
PEOPLE = [ADMIN, CREDIT, SALES, AM, COLLEAGUE, CS, FINANCE, AUDITOR]
CUSTOMER = "/customers/{id_or_code}"
BY_CODE = {"id_or_code": "tier_code"}

TABLE = [
    Row("GET", f"{V1}{CUSTOMER}/tier", matrix(200, [*PEOPLE, ERP], account_manager_2=404),
        params=BY_CODE, label="by code"),
    Row("GET", f"{V1}{CUSTOMER}/tier", matrix(200, [*PEOPLE, ERP], account_manager_2=404),
        params={"id_or_code": "tier_id"}, label="by id"),
    Row("GET", f"{V1}{CUSTOMER}/tier-changes", matrix(200, PEOPLE, account_manager_2=404),
        params=BY_CODE),
    Row("POST", f"{V1}{CUSTOMER}/tier-assignments", matrix(201, [ADMIN, SALES, AM],
                                                           account_manager_2=404),
        body={"tier": "DIAMOND", "expires_on": "2025-09-30", "reason": "矩阵"},
        params=BY_CODE),
    Row("GET", f"{V1}/rewards/tier-assignments", matrix(200, PEOPLE)),
    Row("POST", f"{V1}/rewards/tier-assignments/{{assignment_id}}/decision",
        matrix(200, [ADMIN, CREDIT, SALES]), body={"approve": True, "note": "同意"},
        params={"assignment_id": "assignment_id"}, label="approve"),
    Row("POST", f"{V1}/rewards/tier-assignments/{{assignment_id}}/decision",
        matrix(200, [ADMIN, CREDIT, SALES]), body={"approve": False, "note": "依据不足"},
        params={"assignment_id": "assignment_id"}, label="reject"),
    Row("POST", f"{V1}/rewards/tiers/evaluate", matrix(200, [ADMIN, SALES]),
        body={"customer": None}, label="all"),
    Row("POST", f"{V1}/rewards/tiers/evaluate", matrix(200, [ADMIN, SALES]),
        body={"customer": "tier_code"}, label="one"),
]


def state() -> dict[str, Any]:
    return table_rows(TierRun, TierStatus, TierChange, TierAssignment, TierNotice,
                      Standing) | {
        "audit": list(AuditEntry.objects.order_by("seq").values_list("seq", "hash"))}


CASES = [pytest.param(row, role, id=f"{row.id} as {role}") for row in TABLE for role in ROLES]


def _body(row: Row, values: dict[str, Any]) -> dict[str, Any] | None:
    if row.body is None:
        return None
    return {key: values.get(value, value) if isinstance(value, str) else value
            for key, value in row.body.items()}


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
                                  json.dumps(_body(row, world), ensure_ascii=False),
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
