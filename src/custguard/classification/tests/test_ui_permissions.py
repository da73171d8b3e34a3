"""The permission matrix of the classification pages, page by page and role by role: every
role with a view of the classification reads the inbox, the reminders, the report and a
customer's class (account managers their own customers' only); sales managers (and
administrators) approve, reject and run; account and sales managers answer reminders. A refused
request — a GET or a POST — changes nothing; an allowed POST changes something."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from custguard.classification.tests import world as class_world
from custguard.classification.tests.world import state
from custguard.core.models import User
from custguard.core.tests.test_ui_permissions import Page
from custguard.testing.matrix import ADMIN, AM, ANONYMOUS, PEOPLE, ROLES, SALES
from custguard.testing.matrix import matrix as shared_matrix

pytestmark = pytest.mark.django_db

# The shared world's fixtures (tests/world.py).
_fixed_day = class_world._fixed_day
client_for = class_world.client_for
module_world = class_world.module_world
personas = class_world.personas
world = class_world.world

DECIDERS = [ADMIN, SALES]
ANSWERERS = [ADMIN, SALES, AM]
PLACEHOLDER = re.compile(r"<(?:\w+:)?(\w+)>")
# placeholder → world key
KEYS = {"proposal_id": "proposal", "reminder_id": "reminder", "customer_code": "customer_code"}


def matrix(allowed: int, who: list[str], **special: int) -> dict[str, int]:
    """A page: other signed-in users get 403, anonymous visitors a redirect to the login."""
    return shared_matrix(allowed, who, anonymous=302, **special)


TABLE = [
    Page("GET", "classification/proposals/", matrix(200, PEOPLE)),
    Page("POST", "classification/proposals/approve/", matrix(302, DECIDERS),
         data={"proposal": "{proposal}"}),
    Page("GET", "classification/proposals/<int:proposal_id>/",
         matrix(200, PEOPLE, account_manager_2=404)),
    Page("POST", "classification/proposals/<int:proposal_id>/approve/", matrix(302, DECIDERS)),
    Page("POST", "classification/proposals/<int:proposal_id>/reject/", matrix(302, DECIDERS),
         data={"note": "矩阵驳回"}),
    Page("GET", "classification/reminders/", matrix(200, PEOPLE)),
    Page("GET", "classification/reminders/<int:reminder_id>/",
         matrix(200, PEOPLE, account_manager_2=404)),
    Page("POST", "classification/reminders/<int:reminder_id>/answer/",
         matrix(302, ANSWERERS, account_manager_2=404), data={"answer": "矩阵答复"}),
    Page("GET", "classification/report/", matrix(200, PEOPLE)),
    Page("GET", "classification/report/export/", matrix(200, PEOPLE),
         data={"month": "2025-06", "format": "xlsx"}),
    Page("POST", "classification/run/", matrix(302, DECIDERS)),
    Page("GET", "classification/migration/", matrix(200, PEOPLE)),
    Page("GET", "classification/migration/export/", matrix(200, PEOPLE),
         data={"since": "2025-01", "until": "2025-12", "format": "xlsx"}),
    Page("GET", "classification/customers/<str:customer_code>/",
         matrix(200, PEOPLE, account_manager_2=404)),
]


def url_of(page: Page, world: dict[str, Any]) -> str:
    return "/" + PLACEHOLDER.sub(lambda m: str(world[KEYS[m.group(1)]]), page.pattern)


def fill(data: dict[str, Any], world: dict[str, Any]) -> dict[str, Any]:
    return {key: world[value[1:-1]] if isinstance(value, str) and value.startswith("{")
            and value.endswith("}") else value for key, value in data.items()}


@pytest.mark.parametrize(("page", "role"), [(page, role) for page in TABLE for role in ROLES],
                         ids=[f"{page.id} as {role}" for page in TABLE for role in ROLES])
def test_permission_matrix(page: Page, role: str, world: dict[str, Any],
                           personas: dict[str, User],
                           client_for: Callable[[User], Client]) -> None:
    client = Client() if role == ANONYMOUS else client_for(personas[role])
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
