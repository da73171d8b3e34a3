"""The permission matrix of docs/permissions.md for the HTML pages, page by page and role by
role. Every URL pattern of the UI must have a row here. A refused request — a GET or a POST —
must leave everything as it was."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from custguard.core.actors import Actor
from custguard.core.models import ApiToken, AuditEntry, PolicyVersion, User
from custguard.core.services import policies, tokens
from custguard.customers import services
from custguard.customers.models import Contact, Customer, CustomerGroup, Region
from custguard.policy import default_policy_text
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
)
from custguard.testing.matrix import matrix as shared_matrix
from custguard.testing.shared import fresh_copy, table_rows

pytestmark = pytest.mark.django_db

EVERY_ROLE = [ADMIN, CREDIT, SALES, AM, COLLEAGUE, CS, FINANCE, AUDITOR]
CUSTOMER_EDITORS = [ADMIN, SALES, AM, COLLEAGUE]
GROUP_EDITORS = [ADMIN, CREDIT, SALES]
POLICY_READERS = [ADMIN, CREDIT, SALES, FINANCE, AUDITOR]
POLICY_WRITERS = [ADMIN, CREDIT]
AUDIT_READERS = [ADMIN, AUDITOR]
IMPORTERS = [ADMIN, SALES]
CUSTOMER_READERS = [*EVERY_ROLE, ERP]  # the ERP's user may look customers up


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


TABLE = [
    Page("GET", "", matrix(200, [*EVERY_ROLE, ERP, OUTSIDER])),
    Page("GET", "customers/", matrix(200, CUSTOMER_READERS)),
    Page("GET", "customers/new/", matrix(200, CUSTOMER_EDITORS)),
    Page("POST", "customers/new/", matrix(302, CUSTOMER_EDITORS),
         data={"region": "110000", "name": "页面新客户", "kind": "dealer",
               "scale_band": "small", "value_tier": "general", "status": "active"}),
    Page("GET", "customers/export/", matrix(200, CUSTOMER_READERS), data={"format": "xlsx"}),
    Page("GET", "customers/import/", matrix(200, IMPORTERS)),
    Page("GET", "customers/import/template/", matrix(200, IMPORTERS), data={"format": "csv"}),
    Page("GET", "customers/regions/", matrix(200, EVERY_ROLE)),
    Page("GET", "customers/groups/", matrix(200, EVERY_ROLE)),
    Page("GET", "customers/groups/new/", matrix(200, GROUP_EDITORS)),
    Page("GET", "customers/groups/<int:pk>/", matrix(200, EVERY_ROLE, account_manager_2=404)),
    Page("GET", "customers/groups/<int:pk>/edit/", matrix(200, GROUP_EDITORS)),
    Page("POST", "customers/groups/<int:pk>/edit/", matrix(302, GROUP_EDITORS),
         data={"name": "页面集团", "notes": "改"}),
    Page("POST", "customers/groups/<int:pk>/members/add/", matrix(302, GROUP_EDITORS),
         data={"customer": "{free}"}),
    Page("POST", "customers/groups/<int:pk>/members/<str:code>/remove/",
         matrix(302, GROUP_EDITORS), data={"reason": "矩阵"}),
    Page("GET", "customers/<str:code>/",
         matrix(200, CUSTOMER_READERS, account_manager_2=404)),
    Page("GET", "customers/<str:code>/edit/",
         matrix(200, CUSTOMER_EDITORS, account_manager_2=404)),
    Page("POST", "customers/<str:code>/edit/",
         matrix(302, CUSTOMER_EDITORS, account_manager_2=404),
         data={"name": "页面改名", "kind": "enterprise", "scale_band": "small",
               "value_tier": "general", "status": "active", "reason": "矩阵"}),
    Page("GET", "customers/<str:code>/contacts/add/",
         matrix(200, CUSTOMER_EDITORS, account_manager_2=404)),
    Page("POST", "customers/<str:code>/contacts/add/",
         matrix(302, CUSTOMER_EDITORS, account_manager_2=404),
         data={"name": "页面联系人", "phone": "13700137000"}),
    Page("GET", "customers/<str:code>/contacts/<int:contact_id>/edit/",
         matrix(200, CUSTOMER_EDITORS, account_manager_2=404)),
    Page("POST", "customers/<str:code>/contacts/<int:contact_id>/edit/",
         matrix(302, CUSTOMER_EDITORS, account_manager_2=404),
         data={"name": "改名联系人", "phone": "13700137001"}),
    Page("POST", "customers/<str:code>/contacts/<int:contact_id>/delete/",
         matrix(302, CUSTOMER_EDITORS, account_manager_2=404)),
    Page("GET", "audit/", matrix(200, AUDIT_READERS)),
    Page("GET", "audit/<int:seq>/", matrix(200, AUDIT_READERS)),
    Page("GET", "audit/export/", matrix(200, AUDIT_READERS), data={"format": "csv"}),
    Page("GET", "tokens/", matrix(200, [*EVERY_ROLE, ERP, OUTSIDER])),
    Page("POST", "tokens/", matrix(200, [*EVERY_ROLE, ERP, OUTSIDER]),
         data={"name": "页面令牌"}),
    # A token that is not yours does not exist for you; only the administrator manages others'.
    Page("POST", "tokens/<int:token_id>/revoke/",
         matrix(302, [ADMIN, AM], **{r: 404 for r in [CREDIT, SALES, COLLEAGUE, CS, FINANCE,
                                                       AUDITOR, ERP, OUTSIDER]})),
    Page("GET", "policies/", matrix(200, POLICY_READERS)),
    Page("GET", "policies/new/", matrix(200, POLICY_WRITERS)),
    Page("POST", "policies/new/", matrix(302, POLICY_WRITERS),
         data={"text": "{policy}", "note": "矩阵"}),
    Page("GET", "policies/diff/", matrix(200, POLICY_READERS)),
    Page("GET", "policies/<int:number>/", matrix(200, POLICY_READERS)),
    Page("POST", "policies/<int:number>/publish/", matrix(302, POLICY_WRITERS),
         data={"reason": "矩阵发布"}),
]
# Views that are not role-scoped pages: authentication, language and password change.
OUTSIDE_THE_MATRIX = {"login/", "logout/", "password/", "password/done/", "i18n/setlang/"}


@pytest.fixture(scope="module")
def module_world(module_db: Callable[[], Any], module_regions: None,
                 module_personas: dict[str, User]) -> dict[str, Any]:
    """Built once for the module; each test's writes are rolled back (conftest `module_db`)."""
    with module_db():
        return build_world(module_personas)


@pytest.fixture
def personas(shared_personas: dict[str, User]) -> dict[str, User]:
    return shared_personas


@pytest.fixture
def client_for(shared_client_for: Callable[[User], Client]) -> Callable[[User], Client]:
    return shared_client_for


@pytest.fixture
def world(db: None, module_world: dict[str, Any]) -> dict[str, Any]:
    return fresh_copy(module_world)


def build_world(personas: dict[str, User]) -> dict[str, Any]:
    """The objects every row points at: the account manager's customer with a contact, a
    group it belongs to, a free customer, a policy draft, the account manager's token."""
    sales = Actor.for_user(personas[SALES])
    beijing = Region.objects.get(pk="110000")
    customer = services.create_customer(sales, region=beijing, name="矩阵客户", kind="enterprise",
                                        account_manager=personas[AM], phone="13800138000",
                                        contacts=[{"name": "王伟", "phone": "13900139000"}])
    member = services.create_customer(sales, region=beijing, name="矩阵成员", kind="dealer")
    free = services.create_customer(sales, region=beijing, name="自由客户", kind="dealer")
    group = services.create_group(sales, name="矩阵集团", parent=member, members=[customer])
    token, _secret = tokens.create_token(Actor.for_user(personas[AM]), user=personas[AM],
                                         name="矩阵")
    draft = policies.create_draft(Actor.for_user(personas[CREDIT]), default_policy_text())
    return {
        "code": customer.code, "contact_id": customer.contacts.get().pk, "pk": group.pk,
        "token_id": token.pk, "number": draft.number, "free": free.code,
        "seq": AuditEntry.objects.order_by("seq").first().seq,  # type: ignore[union-attr]
        "policy": default_policy_text(),
    }


def url_of(page: Page, world: dict[str, Any]) -> str:
    path = page.pattern
    for name in ("pk", "code", "contact_id", "seq", "token_id", "number"):
        for converter in ("int", "str"):
            path = path.replace(f"<{converter}:{name}>", str(world[name]))
    return "/" + path


def fill(data: dict[str, Any], world: dict[str, Any]) -> dict[str, Any]:
    return {key: world[value[1:-1]] if isinstance(value, str) and value.startswith("{")
            and value.endswith("}") else value for key, value in data.items()}


def state() -> dict[str, Any]:
    return table_rows(Customer, Contact, CustomerGroup) | {
        "tokens": list(ApiToken.objects.order_by("pk").values("pk", "revoked_at")),
        "policies": list(PolicyVersion.objects.order_by("pk").values("pk", "status")),
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


def _patterns(resolver: URLResolver, prefix: str = "") -> list[str]:
    found = []
    for item in resolver.url_patterns:
        if isinstance(item, URLResolver):
            found += _patterns(item, prefix + str(item.pattern))
        elif isinstance(item, URLPattern):
            found.append(prefix + str(item.pattern))
    return found


def test_the_table_covers_every_page() -> None:
    pages = {p for p in _patterns(get_resolver()) if not p.startswith("api/v1/")}
    covered = {page.pattern for page in gather("test_ui_permissions")} | OUTSIDE_THE_MATRIX
    assert pages - covered == set(), "pages without a row in the permission matrix"
