"""The permission matrix of the ledger's pages, page by page and role by role: the lists, the
exports and the invoice page for the roles that see receivables (account managers their own
customers' only), the import for finance and administrators. A refused request — a GET or a
POST — changes nothing; an allowed import writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from custguard.core.models import User
from custguard.ledger.tests.conftest import days
from custguard.ledger.tests.snapshot import state
from custguard.testing.matrix import (
    ADMIN,
    AM,
    ANONYMOUS,
    AUDITOR,
    COLLEAGUE,
    CREDIT,
    FINANCE,
    ROLES,
    SALES,
)
from custguard.testing.matrix import matrix as shared_matrix

pytestmark = pytest.mark.django_db

READERS = [ADMIN, CREDIT, SALES, AM, COLLEAGUE, FINANCE, AUDITOR]
IMPORTERS = [ADMIN, FINANCE]


def matrix(allowed: int, who: list[str], **special: int) -> dict[str, int]:
    """A page: other signed-in users get 403, anonymous visitors a redirect to the login."""
    return shared_matrix(allowed, who, anonymous=302, **special)


@dataclass(frozen=True)
class Page:
    method: str
    pattern: str  # the URL pattern as Django spells it, placeholders filled from the world
    expected: dict[str, int]
    data: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.pattern}{' ' + self.label if self.label else ''}"


def _import_file(world: dict[str, str]) -> SimpleUploadedFile:
    text = ("customer,external_id,ordered_on,amount\n"
            f"{world['customer_code']},SO-UPLOADED,{days(-1)},10.00\n")
    return SimpleUploadedFile("orders.csv", text.encode(), "text/csv")


TABLE = [
    Page("GET", "ledger/invoices/", matrix(200, READERS)),
    Page("GET", "ledger/invoices/export/", matrix(200, READERS), data={"format": "xlsx"}),
    Page("GET", "ledger/invoices/<int:pk>/", matrix(200, READERS, account_manager_2=404)),
    Page("GET", "ledger/payments/", matrix(200, READERS)),
    Page("GET", "ledger/payments/export/", matrix(200, READERS), data={"format": "csv"}),
    Page("GET", "ledger/orders/", matrix(200, READERS)),
    Page("GET", "ledger/orders/export/", matrix(200, READERS), data={"format": "csv"}),
    Page("GET", "ledger/import/", matrix(200, IMPORTERS)),
    Page("POST", "ledger/import/", matrix(200, IMPORTERS),
         data={"kind": "orders", "source": "erp", "file": "{file}"}),
    Page("GET", "ledger/import/template/", matrix(200, IMPORTERS),
         data={"kind": "invoices", "format": "xlsx"}),
]


def url_of(page: Page, world: dict[str, str]) -> str:
    return "/" + page.pattern.replace("<int:pk>", world["pk"])


def fill(data: dict[str, Any], world: dict[str, str]) -> dict[str, Any]:
    return {key: _import_file(world) if value == "{file}" else value
            for key, value in data.items()}


@pytest.fixture
def personas(shared_personas: dict[str, User]) -> dict[str, User]:
    """The users of the shared matrix world (conftest `module_matrix_world`)."""
    return shared_personas


@pytest.fixture
def client_for(shared_client_for: Callable[[User], Client]) -> Callable[[User], Client]:
    return shared_client_for


@pytest.mark.parametrize(("page", "role"), [(page, role) for page in TABLE for role in ROLES],
                         ids=[f"{page.id} as {role}" for page in TABLE for role in ROLES])
def test_permission_matrix(page: Page, role: str, matrix_world: dict[str, str],
                           personas: dict[str, User],
                           client_for: Callable[[User], Client]) -> None:
    client = Client() if role == ANONYMOUS else client_for(personas[role])
    url = url_of(page, matrix_world)
    before = state()
    data = fill(page.data, matrix_world)
    response = client.get(url, data) if page.method == "GET" else client.post(url, data)
    expected = page.expected[role]
    assert response.status_code == expected, (url, role, response.content[:500])
    if expected == 302 and role == ANONYMOUS:
        assert response["Location"].startswith("/login/")
    allowed_write = page.method == "POST" and role != ANONYMOUS and expected in (200, 302)
    if allowed_write:
        assert 'data-testid="import-succeeded"' in response.content.decode()
        assert state() != before, "an allowed write must have changed something"
    else:
        assert state() == before, "a read or a refused request must change nothing"


def test_every_role_has_an_expectation_in_every_row() -> None:
    for page in TABLE:
        assert set(page.expected) == set(ROLES), page.id
