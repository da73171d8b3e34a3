"""The points pages' rows of the permission matrix, page by page and role by role: the points
overview, its export and a customer's points page for the people who see points (account
managers their own customers' only: the colleague gets 404; the ERP's user no page); adjusting
for sales managers, customer service and administrators. A refused request, or a GET, changes
nothing; an allowed adjustment writes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from custguard.core.models import AuditEntry, User
from custguard.core.tests.test_ui_permissions import Page
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
    FINANCE,
    ROLES,
    SALES,
)
from custguard.testing.matrix import matrix as shared_matrix
from custguard.testing.shared import table_rows

pytestmark = pytest.mark.django_db

# The shared world's fixtures (tests/world.py).
client_for = points_world.client_for
module_points_world = points_world.module_points_world
personas = points_world.personas
world = points_world.world

PEOPLE = [ADMIN, CREDIT, SALES, AM, COLLEAGUE, CS, FINANCE, AUDITOR]
ADJUSTERS = [ADMIN, SALES, CS]
PLACEHOLDER = re.compile(r"<(?:\w+:)?(\w+)>")


def matrix(allowed: int, who: list[str], **special: int) -> dict[str, int]:
    """A page: other signed-in users get 403, anonymous visitors a redirect to the login."""
    return shared_matrix(allowed, who, anonymous=302, **special)


CUSTOMER = "rewards/customers/<str:points_code>/"
TABLE = [
    Page("GET", "rewards/overview/", matrix(200, PEOPLE)),
    Page("GET", "rewards/overview/export/", matrix(200, PEOPLE), data={"format": "xlsx"}),
    Page("GET", CUSTOMER, matrix(200, PEOPLE, account_manager_2=404)),
    Page("GET", CUSTOMER, matrix(200, PEOPLE, account_manager_2=404),
         data={"kind": "adjust", "date_from": "2025-01-01", "sort": "-points"},
         label="filtered"),
    Page("POST", f"{CUSTOMER}adjust/", matrix(302, ADJUSTERS),
         data={"adjust-points": "25", "adjust-note": "矩阵调整"}, label="add"),
    Page("POST", f"{CUSTOMER}adjust/", matrix(302, ADJUSTERS),
         data={"adjust-points": "-25", "adjust-note": "矩阵调整", "adjust-confirmed": "on"},
         label="take, confirmed"),
]


def state() -> dict[str, Any]:
    return table_rows(PointsEntry, PointsLot, LotUse, PointsAccount, Standing) | {
        "audit": AuditEntry.objects.count()}


def url_of(page: Page, world: dict[str, Any]) -> str:
    return "/" + PLACEHOLDER.sub(lambda m: str(world[m.group(1)]), page.pattern)


@pytest.mark.parametrize(("page", "role"), [(page, role) for page in TABLE for role in ROLES],
                         ids=[f"{page.id} as {role}" for page in TABLE for role in ROLES])
def test_permission_matrix(page: Page, role: str, world: dict[str, Any],
                           personas: dict[str, User],
                           client_for: Callable[[User], Client]) -> None:
    client = Client() if role == ANONYMOUS else client_for(personas[role])
    url = url_of(page, world)
    before = state()
    response = (client.get(url, page.data) if page.method == "GET"
                else client.post(url, page.data))
    expected = page.expected[role]
    assert response.status_code == expected, (url, role, response.content[:500])
    if expected == 302 and role == ANONYMOUS:
        assert response["Location"].startswith("/login/")
    allowed_write = page.method == "POST" and role != ANONYMOUS and expected in (200, 302)
    if allowed_write:
        assert response["Location"] == f"/rewards/customers/{world['points_code']}/"
        assert state() != before, "an allowed write must have changed something"
    else:
        assert state() == before, "a read or a refused request must change nothing"


def test_every_role_has_an_expectation_in_every_row() -> None:
    for page in TABLE:
        assert set(page.expected) == set(ROLES), page.id
