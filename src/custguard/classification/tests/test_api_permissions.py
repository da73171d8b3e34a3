"""The classification API's rows of the permission matrix, route by route and role by role:
every role with a view of the classification reads runs, proposals, reminders and class
histories (account managers their own customers' only), the ERP reads a customer's class and
nothing else; sales managers (and administrators) decide proposals and run the classification;
account and sales managers answer reminders. A refused request, or a read, leaves every table
as it was; an accepted write is audited as the token's."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from custguard.api.tests.test_api_permissions import Row
from custguard.classification.tests import world as class_world
from custguard.classification.tests.world import state
from custguard.core.models import AuditEntry, User
from custguard.testing.matrix import (
    ADMIN,
    AM,
    ANONYMOUS,
    ERP,
    PEOPLE,
    ROLES,
    SALES,
    matrix,
)

pytestmark = pytest.mark.django_db

# The shared world's fixtures (tests/world.py).
_fixed_day = class_world._fixed_day
bearer_for = class_world.bearer_for
module_world = class_world.module_world
personas = class_world.personas
world = class_world.world

V1 = "/api/v1"
DECIDERS = [ADMIN, SALES]
ANSWERERS = [ADMIN, SALES, AM]

TABLE = [
    Row("GET", f"{V1}/customers/{{id_or_code}}/class",
        matrix(200, [*PEOPLE, ERP], account_manager_2=404),
        params={"id_or_code": "customer_code"}, label="by code"),
    Row("GET", f"{V1}/customers/{{id_or_code}}/class",
        matrix(200, [*PEOPLE, ERP], account_manager_2=404),
        params={"id_or_code": "customer_id"}, label="by id"),
    Row("GET", f"{V1}/customers/{{id_or_code}}/class/history",
        matrix(200, PEOPLE, account_manager_2=404), params={"id_or_code": "customer_code"}),
    Row("GET", f"{V1}/classification/runs", matrix(200, PEOPLE)),
    Row("GET", f"{V1}/classification/runs/{{month}}", matrix(200, PEOPLE),
        params={"month": "june"}),
    Row("POST", f"{V1}/classification/runs", matrix(200, DECIDERS), body={"month": "2025-07"}),
    Row("GET", f"{V1}/classification/migration", matrix(200, PEOPLE)),
    Row("GET", f"{V1}/classification/proposals", matrix(200, PEOPLE)),
    Row("GET", f"{V1}/classification/proposals/{{proposal_id}}",
        matrix(200, PEOPLE, account_manager_2=404), params={"proposal_id": "proposal"}),
    Row("POST", f"{V1}/classification/proposals/{{proposal_id}}/decision",
        matrix(200, DECIDERS), body={"approve": True, "note": "矩阵批准"},
        params={"proposal_id": "proposal"}),
    Row("GET", f"{V1}/classification/reminders", matrix(200, PEOPLE)),
    Row("POST", f"{V1}/classification/reminders/{{reminder_id}}/answer",
        matrix(200, ANSWERERS, account_manager_2=404), body={"answer": "矩阵答复"},
        params={"reminder_id": "reminder"}),
]


@pytest.fixture
def caller(personas: dict[str, User], bearer_for: Callable[[User], dict[str, str]],
           ) -> Callable[[str], Callable[[Row, dict[str, Any]], Any]]:
    def for_role(role: str) -> Callable[[Row, dict[str, Any]], Any]:
        headers = {} if role == ANONYMOUS else bearer_for(personas[role])
        client = Client(enforce_csrf_checks=True)  # as a real browser or machine: no CSRF bypass

        def call(row: Row, values: dict[str, Any]) -> Any:
            path = row.route.format(**{name: values[key] for name, key in row.params.items()})
            if row.method == "GET":
                return client.get(path, **headers)
            return client.generic(row.method, path, json.dumps(row.body or {},
                                                               ensure_ascii=False),
                                  content_type="application/json", **headers)
        return call
    return for_role


CASES = [pytest.param(row, role, id=f"{row.id} as {role}") for row in TABLE for role in ROLES]


@pytest.mark.parametrize(("row", "role"), CASES)
def test_permission_matrix(world: dict[str, Any], caller: Any, row: Row, role: str) -> None:
    call = caller(role)  # the caller's own token exists before the snapshot
    before = state()
    last = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    response = call(row, world)
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
        new = AuditEntry.objects.filter(seq__gt=last)
        assert new.exists()
        assert {entry.actor_kind for entry in new} == {"token"}
        assert {entry.actor_user_id for entry in new} == {response.wsgi_request.user.pk}


def test_every_role_has_an_expectation_in_every_row() -> None:
    for row in TABLE:
        assert set(row.expected) == set(ROLES), row.id
