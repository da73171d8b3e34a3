"""The credit pages' rows of the permission matrix, page by page and role by role.

The rows live next to the code they test: the order gate's in matrix_gate.py (GATE_PAGES),
the scores', reviews' and overrides' in matrix_scoring.py (SCORING_PAGES), the credit
overview's in matrix_overview.py (OVERVIEW_PAGES), each when it exists. Each of those modules
may define `setup_world(personas) -> dict` to create the objects its rows point at; the world
here is the union, after the default policy is published. Page placeholders are
named after world keys (`<int:reservation_id>`); "{key}" in data is a world value. A refused
request, or a GET, must leave everything as it was; an allowed POST must change something."""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from django.test import Client

from custguard.core.models import AuditEntry, User
from custguard.core.tests.test_ui_permissions import Page
from custguard.credit.models import (
    CreditOverride,
    CreditReview,
    CreditScore,
    GateCheck,
    Reservation,
)
from custguard.credit.tests.matrix_gate import GATE_PAGES
from custguard.customers.models import Customer, GroupStanding, Standing
from custguard.testing.matrix import ANONYMOUS, ROLES
from custguard.testing.shared import fresh_copy, table_rows, union_world

from .gate_support import publish_default_policy

pytestmark = pytest.mark.django_db


def _optional(name: str) -> ModuleType | None:
    full = f"custguard.credit.tests.{name}"
    return importlib.import_module(full) if importlib.util.find_spec(full) else None


_SCORING = _optional("matrix_scoring")
_OVERVIEW = _optional("matrix_overview")
SCORING_PAGES: list[Page] = list(getattr(_SCORING, "SCORING_PAGES", []))
OVERVIEW_PAGES: list[Page] = list(getattr(_OVERVIEW, "OVERVIEW_PAGES", []))
MATRIX_MODULES = [m for m in (importlib.import_module("custguard.credit.tests.matrix_gate"),
                              _SCORING, _OVERVIEW) if m is not None]

TABLE = [*GATE_PAGES, *SCORING_PAGES, *OVERVIEW_PAGES]
PLACEHOLDER = re.compile(r"<(?:\w+:)?(\w+)>")


@pytest.fixture(scope="module")
def module_world(module_db: Callable[[], Any], module_regions: None,
                 module_personas: dict[str, User]) -> dict[str, Any]:
    """Built once for the module; each test's writes are rolled back (conftest `module_db`)."""
    with module_db():
        publish_default_policy()
        return union_world(MATRIX_MODULES, module_personas)


@pytest.fixture
def personas(shared_personas: dict[str, User]) -> dict[str, User]:
    return shared_personas


@pytest.fixture
def client_for(shared_client_for: Callable[[User], Client]) -> Callable[[User], Client]:
    return shared_client_for


@pytest.fixture
def world(db: None, module_world: dict[str, Any]) -> dict[str, Any]:
    return fresh_copy(module_world)


def url_of(page: Page, world: dict[str, Any]) -> str:
    return "/" + PLACEHOLDER.sub(lambda m: str(world[m.group(1)]), page.pattern)


def fill(data: dict[str, Any], world: dict[str, Any]) -> dict[str, Any]:
    return {key: world[value[1:-1]] if isinstance(value, str) and value.startswith("{")
            and value.endswith("}") else value for key, value in data.items()}


def state() -> dict[str, Any]:
    return table_rows(Customer, Standing, GroupStanding, Reservation, CreditOverride,
                      CreditReview) | {
        "gate_checks": GateCheck.objects.count(),
        "scores": CreditScore.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def client_as(role: str, personas: dict[str, User],
              client_for: Callable[[User], Client]) -> Client:
    return Client() if role == ANONYMOUS else client_for(personas[role])


@pytest.mark.parametrize(("page", "role"), [(page, role) for page in TABLE for role in ROLES],
                         ids=[f"{page.id} as {role}" for page in TABLE for role in ROLES])
def test_permission_matrix(page: Page, role: str, world: dict[str, Any],
                           personas: dict[str, User],
                           client_for: Callable[[User], Client]) -> None:
    client = client_as(role, personas, client_for)
    url = url_of(page, world)
    before = state()
    data = fill(page.data, world)
    response = client.get(url, data) if page.method == "GET" else client.post(url, data)
    expected = page.expected[role]
    assert response.status_code == expected, (url, role, response.content[:500])
    if expected == 302 and role == ANONYMOUS:
        assert response["Location"].startswith("/login/")
    allowed_write = page.method == "POST" and role != ANONYMOUS and expected in (200, 302)
    if allowed_write:
        assert state() != before, "an allowed write must have changed something"
    else:
        assert state() == before, "a read or a refused request must change nothing"


def test_every_role_has_an_expectation_in_every_row() -> None:
    for page in TABLE:
        assert set(page.expected) == set(ROLES), page.id
