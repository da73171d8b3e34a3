"""The permission matrix of the receivables API, route by route and role by role: posting for
finance, administrators and the ERP; reading for the roles that see receivables (account
managers their own customers' only; the ERP does not read facts). A refused request changes
nothing; an accepted write is audited as the token's user."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from custguard.core.models import AuditEntry, User
from custguard.ledger.tests.conftest import days
from custguard.ledger.tests.snapshot import state
from custguard.testing.matrix import (
    ADMIN,
    AM,
    ANONYMOUS,
    AUDITOR,
    COLLEAGUE,
    CREDIT,
    ERP,
    FINANCE,
    ROLES,
    SALES,
    matrix,
)

pytestmark = pytest.mark.django_db

POSTERS = [ADMIN, FINANCE, ERP]
READERS = [ADMIN, CREDIT, SALES, AM, COLLEAGUE, FINANCE, AUDITOR]


@dataclass(frozen=True)
class Row:
    method: str
    route: str  # as in the OpenAPI schema
    expected: dict[str, int]
    body: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)  # route placeholder -> world key
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.route}{' ' + self.label if self.label else ''}"


V1 = "/api/v1"
TODAY = str(days(0))
CUSTOMER = "{customer_code}"
ORDER = {"customer": CUSTOMER, "source": "erp", "external_id": "SO-NEW", "ordered_on": TODAY,
         "amount": "10.00"}
CANCELLATION = {"customer": CUSTOMER, "source": "erp", "external_id": "SO-M-X",
                "order_external_id": "SO-M", "cancelled_on": TODAY}
INVOICE = {"customer": CUSTOMER, "source": "erp", "external_id": "INV-NEW", "issued_on": TODAY,
           "due_on": str(days(30)), "amount": "10.00"}
CREDIT_NOTE = {"customer": CUSTOMER, "source": "erp", "external_id": "CN-NEW",
               "corrects_external_id": "INV-M", "issued_on": TODAY, "amount": "10.00"}
PAYMENT = {"customer": CUSTOMER, "source": "erp", "external_id": "PAY-NEW",
           "received_on": TODAY, "amount": "10.00"}
REVERSAL = {"customer": CUSTOMER, "source": "erp", "external_id": "PAY-M-R",
            "payment_external_id": "PAY-M", "reversed_on": TODAY}


def posting(path: str, body: dict[str, Any]) -> list[Row]:
    return [Row("POST", f"{V1}{path}", matrix(201, POSTERS), body=body),
            Row("POST", f"{V1}{path}/batch", matrix(201, POSTERS), body={"items": [body]})]


TABLE = [
    *posting("/orders", ORDER),
    *posting("/order-cancellations", CANCELLATION),
    *posting("/invoices", INVOICE),
    *posting("/credit-notes", CREDIT_NOTE),
    *posting("/payments", PAYMENT),
    *posting("/payment-reversals", REVERSAL),
    Row("GET", f"{V1}/orders", matrix(200, READERS)),
    Row("GET", f"{V1}/orders/{{order_id}}", matrix(200, READERS, account_manager_2=404),
        params={"order_id": "order_id"}),
    Row("GET", f"{V1}/invoices", matrix(200, READERS)),
    Row("GET", f"{V1}/invoices/{{invoice_id}}", matrix(200, READERS, account_manager_2=404),
        params={"invoice_id": "invoice_id"}),
    Row("GET", f"{V1}/payments", matrix(200, READERS)),
    Row("GET", f"{V1}/payments/{{payment_id}}", matrix(200, READERS, account_manager_2=404),
        params={"payment_id": "payment_id"}),
    Row("GET", f"{V1}/customers/{{id_or_code}}/receivables",
        matrix(200, READERS, account_manager_2=404),
        params={"id_or_code": "customer_code"}, label="by code"),
    Row("GET", f"{V1}/customers/{{id_or_code}}/receivables",
        matrix(200, READERS, account_manager_2=404),
        params={"id_or_code": "customer_id"}, label="by id"),
]


def _fill(value: Any, world: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return world[value[1:-1]]
    return value


CASES = [pytest.param(row, role, id=f"{row.id} as {role}") for row in TABLE for role in ROLES]


@pytest.fixture
def personas(shared_personas: dict[str, User]) -> dict[str, User]:
    """The users of the shared matrix world (conftest `module_matrix_world`)."""
    return shared_personas


@pytest.fixture
def bearer_for(shared_bearer_for: Callable[[User], dict[str, str]],
               ) -> Callable[[User], dict[str, str]]:
    return shared_bearer_for


@pytest.mark.parametrize(("row", "role"), CASES)
def test_permission_matrix(row: Row, role: str, matrix_world: dict[str, str],
                           personas: dict[str, User],
                           bearer_for: Callable[[User], dict[str, str]]) -> None:
    headers = {} if role == ANONYMOUS else bearer_for(personas[role])
    client = Client(enforce_csrf_checks=True)  # as a real browser or machine: no CSRF bypass
    path = row.route.format(**{name: matrix_world[key] for name, key in row.params.items()})
    before = state()
    if row.method == "GET":
        response = client.get(path, **headers)
    else:
        response = client.generic(row.method, path,
                                  json.dumps(_fill(row.body or {}, matrix_world)),
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
        assert response.json()["created"] in (True, 1)
        new = AuditEntry.objects.filter(seq__gt=before["audit"][-1][0])
        assert new.exists()
        assert {entry.actor_kind for entry in new} == {"token"}
        assert {entry.actor_user_id for entry in new} == {personas[role].pk}


def test_every_role_has_an_expectation_in_every_row() -> None:
    for row in TABLE:
        assert set(row.expected) == set(ROLES), row.id
