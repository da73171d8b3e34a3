"""The credit API's rows of the permission matrix, route by route and role by role.

The rows live next to the code they test: the order gate's in matrix_gate.py (GATE_ROWS),
the scores', reviews' and overrides' in matrix_scoring.py (SCORING_ROWS), the credit
overview's in matrix_overview.py (OVERVIEW_ROWS), each when it exists. Each of those modules
may define `setup_world(personas) -> dict` to create the objects its rows point at; the world
here is the union, after the default policy is published. A refused request, or
a read, must leave every table as it was; an accepted write is audited as the token's."""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from django.test import Client

from custguard.api.tests.test_api_permissions import Row
from custguard.core.models import AuditEntry, User
from custguard.credit.models import (
    CreditOverride,
    CreditReview,
    CreditScore,
    GateCheck,
    Reservation,
)
from custguard.credit.tests.matrix_gate import GATE_ROWS
from custguard.customers.models import Customer, CustomerGroup, GroupStanding, Standing
from custguard.testing.matrix import ANONYMOUS, ROLES
from custguard.testing.shared import fresh_copy, table_rows, union_world

from .gate_support import publish_default_policy

pytestmark = pytest.mark.django_db


def _optional(name: str) -> ModuleType | None:
    full = f"custguard.credit.tests.{name}"
    return importlib.import_module(full) if importlib.util.find_spec(full) else None


_SCORING = _optional("matrix_scoring")
_OVERVIEW = _optional("matrix_overview")
SCORING_ROWS: list[Row] = list(getattr(_SCORING, "SCORING_ROWS", []))
OVERVIEW_ROWS: list[Row] = list(getattr(_OVERVIEW, "OVERVIEW_ROWS", []))
MATRIX_MODULES = [m for m in (importlib.import_module("custguard.credit.tests.matrix_gate"),
                              _SCORING, _OVERVIEW) if m is not None]

TABLE = [*GATE_ROWS, *SCORING_ROWS, *OVERVIEW_ROWS]


@pytest.fixture(scope="module")
def module_world(module_db: Callable[[], Any], module_regions: None,
                 module_personas: dict[str, User]) -> dict[str, Any]:
    """Built once for the module; each test's writes are rolled back (conftest `module_db`)."""
    with module_db():
        publish_default_policy()
        values = union_world(MATRIX_MODULES, module_personas)
    return {key: str(value) if isinstance(value, int) else value
            for key, value in values.items()}


@pytest.fixture
def personas(shared_personas: dict[str, User]) -> dict[str, User]:
    return shared_personas


@pytest.fixture
def bearer_for(shared_bearer_for: Callable[[User], dict[str, str]],
               ) -> Callable[[User], dict[str, str]]:
    return shared_bearer_for


@pytest.fixture
def world(db: None, module_world: dict[str, Any]) -> dict[str, Any]:
    return fresh_copy(module_world)


def snapshot() -> dict[str, Any]:
    """Every table the credit API can write, row by row."""
    return table_rows(Customer, Standing, CustomerGroup, GroupStanding, Reservation,
                      CreditOverride, CreditReview) | {
        "gate_checks": list(GateCheck.objects.order_by("pk").values_list("pk", flat=True)),
        "scores": list(CreditScore.objects.order_by("pk").values_list("pk", flat=True)),
        "audit": list(AuditEntry.objects.order_by("seq").values_list("seq", "hash")),
    }


def _fill(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return values[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


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
            body = _fill(row.body or {}, values)
            return client.generic(row.method, path, json.dumps(body, ensure_ascii=False),
                                  content_type="application/json", **headers)
        return call
    return for_role


CASES = [pytest.param(row, role, id=f"{row.id} as {role}") for row in TABLE for role in ROLES]


@pytest.mark.parametrize(("row", "role"), CASES)
def test_permission_matrix(world: dict[str, Any], caller: Any, row: Row, role: str) -> None:
    call = caller(role)  # the caller's own token exists before the snapshot
    before = snapshot()
    response = call(row, world)
    expected = row.expected[role]
    assert response.status_code == expected, (
        f"{row.id} as {role}: expected {expected}, got {response.status_code}: "
        f"{response.content[:300]!r}")
    if expected >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == expected
    if expected >= 400 or row.method == "GET":
        assert snapshot() == before
    else:
        # an accepted write is audited, in the same chain, as the token's
        last = before["audit"][-1][0] if before["audit"] else 0
        new = AuditEntry.objects.filter(seq__gt=last)
        assert new.exists()
        assert {entry.actor_kind for entry in new} == {"token"}
        assert {entry.actor_user_id for entry in new} == {response.wsgi_request.user.pk}


def test_every_role_has_an_expectation_in_every_row() -> None:
    for row in TABLE:
        assert set(row.expected) == set(ROLES), row.id
