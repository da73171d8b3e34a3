"""The permission matrix of docs/permissions.md, endpoint by endpoint and role by role.

Every route of the OpenAPI schema must have a row here, so a new endpoint cannot ship without
its permissions being decided and tested. A refused request must also leave everything as it
was."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from custguard.core.actors import Actor
from custguard.core.models import ApiToken, AuditEntry, User
from custguard.core.services import tokens
from custguard.customers import services
from custguard.customers.models import (
    Contact,
    Customer,
    CustomerGroup,
    GroupStanding,
    Region,
    Standing,
)
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
    OUTSIDER,
    ROLES,
    SALES,
    gather,
    matrix,
)
from custguard.testing.shared import fresh_copy, table_rows

pytestmark = pytest.mark.django_db


EVERY_ROLE = [ADMIN, CREDIT, SALES, AM, COLLEAGUE, CS, FINANCE, AUDITOR]
CUSTOMER_READERS = [*EVERY_ROLE, ERP]  # the ERP looks customers up by code
CUSTOMER_EDITORS = [ADMIN, SALES, AM, COLLEAGUE]  # the colleague may edit, but not this one
GROUP_EDITORS = [ADMIN, CREDIT, SALES]
AUDIT_READERS = [ADMIN, AUDITOR]


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
TABLE = [
    # customers: everyone with a role sees them; account managers only their own
    Row("GET", f"{V1}/customers", matrix(200, CUSTOMER_READERS)),
    Row("GET", f"{V1}/customers/{{id_or_code}}",
        matrix(200, CUSTOMER_READERS, account_manager_2=404),
        params={"id_or_code": "customer_code"}, label="by code"),
    Row("GET", f"{V1}/customers/{{id_or_code}}",
        matrix(200, CUSTOMER_READERS, account_manager_2=404),
        params={"id_or_code": "customer_id"}, label="by id"),
    Row("POST", f"{V1}/customers", matrix(201, CUSTOMER_EDITORS),
        body={"name": "矩阵新客户", "kind": "dealer", "region": "110000"}),
    Row("PATCH", f"{V1}/customers/{{id_or_code}}",
        matrix(200, CUSTOMER_EDITORS, account_manager_2=404),
        body={"name": "矩阵改名"}, params={"id_or_code": "customer_code"}),
    Row("POST", f"{V1}/customers/{{id_or_code}}/contacts",
        matrix(201, CUSTOMER_EDITORS, account_manager_2=404),
        body={"name": "新联系人", "phone": "13700137000"}, params={"id_or_code": "customer_code"}),
    Row("PATCH", f"{V1}/customers/{{id_or_code}}/contacts/{{contact_id}}",
        matrix(200, CUSTOMER_EDITORS, account_manager_2=404),
        body={"role": "采购经理"}, params={"id_or_code": "customer_id", "contact_id": "contact"}),
    Row("DELETE", f"{V1}/customers/{{id_or_code}}/contacts/{{contact_id}}",
        matrix(204, CUSTOMER_EDITORS, account_manager_2=404),
        params={"id_or_code": "customer_code", "contact_id": "contact"}),
    # groups: seen by every role (account managers: those with an own member); changed by
    # administrators, credit and sales managers
    Row("GET", f"{V1}/groups", matrix(200, EVERY_ROLE)),
    Row("GET", f"{V1}/groups/{{group_id}}", matrix(200, EVERY_ROLE, account_manager_2=404),
        params={"group_id": "group"}),
    Row("POST", f"{V1}/groups", matrix(201, GROUP_EDITORS),
        body={"name": "矩阵集团", "parent": "{free}"}),
    Row("PATCH", f"{V1}/groups/{{group_id}}", matrix(200, GROUP_EDITORS),
        body={"notes": "矩阵备注"}, params={"group_id": "group"}),
    Row("POST", f"{V1}/groups/{{group_id}}/members", matrix(200, GROUP_EDITORS),
        body={"customer": "{free}"}, params={"group_id": "group"}),
    Row("DELETE", f"{V1}/groups/{{group_id}}/members/{{code}}", matrix(200, GROUP_EDITORS),
        params={"group_id": "group", "code": "member"}),
    # regions: every role reads them
    Row("GET", f"{V1}/regions", matrix(200, EVERY_ROLE)),
    Row("GET", f"{V1}/regions/{{code}}", matrix(200, EVERY_ROLE), params={"code": "region"}),
    # the audit log: administrators and auditors
    Row("GET", f"{V1}/audit", matrix(200, AUDIT_READERS)),
    Row("GET", f"{V1}/audit/{{seq}}", matrix(200, AUDIT_READERS), params={"seq": "seq"}),
    # tokens: everyone owns their own (a user without a role too: the token gives them
    # nothing more); only administrators manage other users' tokens
    Row("GET", f"{V1}/tokens", matrix(200, [*EVERY_ROLE, ERP, OUTSIDER])),
    Row("POST", f"{V1}/tokens", matrix(201, [*EVERY_ROLE, ERP, OUTSIDER]),
        body={"name": "矩阵令牌", "expires_days": 30}),
    Row("POST", f"{V1}/tokens/{{token_id}}/revoke", matrix(200, [ADMIN, AM], refused=404),
        params={"token_id": "token"}),
]


@dataclass
class World:
    values: dict[str, str]
    customer: Customer
    contact: Contact
    group: CustomerGroup
    member: Customer
    token: ApiToken


@pytest.fixture(scope="module")
def module_world(module_db: Callable[[], Any], module_regions: None,
                 module_personas: dict[str, User]) -> World:
    """Built once for the module; each test's writes are rolled back (conftest `module_db`)."""
    with module_db():
        return build_world(module_personas)


@pytest.fixture
def personas(shared_personas: dict[str, User]) -> dict[str, User]:
    return shared_personas


@pytest.fixture
def bearer_for(shared_bearer_for: Callable[[User], dict[str, str]],
               ) -> Callable[[User], dict[str, str]]:
    return shared_bearer_for


@pytest.fixture
def world(db: None, module_world: World) -> World:
    return fresh_copy(module_world)


def build_world(personas: dict[str, User]) -> World:
    """A customer of the account manager with a contact, a group with one of their customers
    as a member, a customer in no group, and a token of the account manager."""
    am = personas[AM]
    sales = Actor.for_user(personas[SALES])
    beijing = Region.objects.get(pk="110000")
    customer = services.create_customer(
        sales, region=beijing, name="矩阵客户", kind="enterprise", account_manager=am,
        phone="13812345678", contacts=[{"name": "张三", "phone": "13900139000"}])
    contact = customer.contacts.get()
    parent = services.create_customer(sales, region=beijing, name="矩阵母公司", kind="enterprise",
                                      account_manager=am)
    member = services.create_customer(sales, region=beijing, name="矩阵子公司", kind="dealer",
                                      account_manager=am)
    free = services.create_customer(sales, region=beijing, name="矩阵散户", kind="dealer",
                                    account_manager=am)
    group = services.create_group(sales, name="矩阵测试集团", parent=parent, members=[member])
    token, _secret = tokens.create_token(Actor.for_user(am), user=am, name="target")
    return World(
        values={"customer_code": customer.code, "customer_id": str(customer.pk),
                "contact": str(contact.pk), "group": str(group.pk), "member": member.code,
                "free": free.code, "region": "130100", "token": str(token.pk),
                "seq": str(AuditEntry.objects.filter(action="group.create").get().seq)},
        customer=customer, contact=contact, group=group, member=member, token=token)


def snapshot() -> dict[str, Any]:
    """Every table the API can write, row by row (a token's last use is bookkeeping)."""
    return table_rows(Customer, Contact, Standing, CustomerGroup, GroupStanding, Region) | {
        "tokens": list(ApiToken.objects.order_by("pk").values(
            "id", "user_id", "name", "prefix", "digest", "created_at", "expires_at",
            "revoked_at")),
        "audit": list(AuditEntry.objects.order_by("seq").values_list("seq", "hash")),
    }


def counts() -> dict[str, int]:
    return {"customers": Customer.objects.count(), "contacts": Contact.objects.count(),
            "groups": CustomerGroup.objects.count(), "regions": Region.objects.count(),
            "tokens": ApiToken.objects.count(), "audit": AuditEntry.objects.count()}


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return values[value[1:-1]]
    return value


@pytest.fixture
def caller(personas: dict[str, User], bearer_for: Callable[[User], dict[str, str]],
           ) -> Callable[[str], Callable[[Row, World], Any]]:
    def for_role(role: str) -> Callable[[Row, World], Any]:
        headers = {} if role == ANONYMOUS else bearer_for(personas[role])
        client = Client(enforce_csrf_checks=True)  # as a real browser or machine: no CSRF bypass

        def call(row: Row, world: World) -> Any:
            path = row.route.format(**{name: world.values[key]
                                       for name, key in row.params.items()})
            if row.method == "GET":
                return client.get(path, **headers)
            body = {k: _fill(v, world.values) for k, v in (row.body or {}).items()}
            return client.generic(row.method, path, _json(body),
                                  content_type="application/json", **headers)
        return call
    return for_role


def _json(body: dict[str, Any]) -> str:
    import json

    return json.dumps(body, ensure_ascii=False)


CASES = [pytest.param(row, role, id=f"{row.id} as {role}") for row in TABLE for role in ROLES]


@pytest.mark.parametrize(("row", "role"), CASES)
def test_permission_matrix(world: World, caller: Any, row: Row, role: str) -> None:
    call = caller(role)  # the caller's own token exists before the snapshot
    before, before_counts = snapshot(), counts()
    response = call(row, world)
    expected = row.expected[role]
    assert response.status_code == expected, (
        f"{row.id} as {role}: expected {expected}, got {response.status_code}: "
        f"{response.content[:300]!r}")
    if expected >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == expected
    if expected >= 400 or row.method == "GET":
        assert counts() == before_counts
        assert snapshot() == before
    else:
        # an accepted write is audited, in the same chain
        assert counts()["audit"] > before_counts["audit"]
        new = AuditEntry.objects.filter(seq__gt=before["audit"][-1][0])
        assert {entry.actor_kind for entry in new} == {"token"}
        assert {entry.actor_user_id for entry in new} == {response.wsgi_request.user.pk}


def test_every_role_has_an_expectation_in_every_row() -> None:
    for row in TABLE:
        assert set(row.expected) == set(ROLES), row.id


def test_the_table_covers_every_route_in_the_openapi_schema(client: Client) -> None:
    response = client.get(f"{V1}/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    published = {(method.upper(), path) for path, item in schema["paths"].items()
                 for method in item if method in {"get", "post", "put", "patch", "delete"}}
    tested = {(row.method, row.route) for row in gather("test_api_permissions")}
    assert published - tested == set(), "routes without a row in the permission matrix"
    assert tested - published == set(), "rows for routes that do not exist"
