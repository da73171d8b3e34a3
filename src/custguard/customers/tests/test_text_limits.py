"""Free text has a maximum (issue 9: a 10 MB note was stored, twice): a customer's or a
group's notes one character over core.limits.NOTE are refused naming `notes` — 422 by the API,
a field error by the form, ValidationFailed by the service — and nothing is stored; at the
limit they are accepted."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from custguard.core import limits
from custguard.core.actors import Actor
from custguard.core.errors import ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.customers import services
from custguard.customers.models import Customer, CustomerGroup, Region

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
OVER = "备" * (limits.NOTE + 1)
AT = "备" * limits.NOTE


@pytest.fixture
def region(db: None) -> Region:
    return Region.objects.get_or_create(code="440300", defaults={"name": "深圳市"})[0]


@pytest.fixture
def parent(region: Region) -> Customer:
    return services.create_customer(SYSTEM, region=region, name="母公司", kind="enterprise")


def _state() -> tuple[Any, ...]:
    return (list(Customer.objects.values_list("pk", "notes")),
            list(CustomerGroup.objects.values_list("pk", "notes")), AuditEntry.objects.count())


def _api(headers: dict[str, str], method: str, path: str, body: dict[str, Any]) -> Any:
    return getattr(Client(), method)(f"/api/v1{path}", json.dumps(body),
                                     content_type="application/json",
                                     HTTP_ACCEPT_LANGUAGE="en", **headers)


def _fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.content
    return [error["field"] for error in response.json()["errors"]]


@pytest.fixture
def headers(personas: dict[str, User],
            bearer_for: Callable[[User], dict[str, str]]) -> dict[str, str]:
    return bearer_for(personas["credit_manager"])  # who manages groups


def test_customer_notes_over_the_limit_are_a_422_and_at_the_limit_accepted(
        region: Region, parent: Customer, personas: dict[str, User],
        bearer_for: Callable[[User], dict[str, str]]) -> None:
    headers = bearer_for(personas["sales_manager"])  # who manages customers
    body = {"name": "长备注客户", "kind": "enterprise", "region": region.code}
    before = _state()
    assert _fields(_api(headers, "post", "/customers", body | {"notes": OVER})) == ["notes"]
    assert _fields(_api(headers, "patch", f"/customers/{parent.code}",
                        {"notes": OVER})) == ["notes"]
    assert _state() == before
    created = _api(headers, "post", "/customers", body | {"notes": AT})
    assert created.status_code == 201, created.content
    assert Customer.objects.get(code=created.json()["code"]).notes == AT


def test_group_notes_over_the_limit_are_a_422(parent: Customer,
                                              headers: dict[str, str]) -> None:
    before = _state()
    response = _api(headers, "post", "/groups", {"name": "长备注集团", "parent": parent.code,
                                                 "notes": OVER})
    assert _fields(response) == ["notes"]
    assert _state() == before
    created = _api(headers, "post", "/groups", {"name": "长备注集团", "parent": parent.code,
                                                "notes": AT})
    assert created.status_code == 201, created.content
    group = CustomerGroup.objects.get()
    assert _fields(_api(headers, "patch", f"/groups/{group.pk}", {"notes": OVER})) == ["notes"]
    group.refresh_from_db()
    assert group.notes == AT


def test_the_services_refuse_what_skips_the_schema(region: Region, parent: Customer) -> None:
    before = _state()
    with pytest.raises(ValidationFailed) as customer:
        services.create_customer(SYSTEM, region=region, name="直接调用", kind="enterprise",
                                 notes=OVER)
    assert customer.value.field == "notes"
    with pytest.raises(ValidationFailed) as updated:
        services.update_customer(SYSTEM, parent, notes=OVER)
    assert updated.value.field == "notes"
    with pytest.raises(ValidationFailed) as reason:
        services.update_customer(SYSTEM, parent, name="新名", reason="因" * 501)
    assert reason.value.field == "reason"
    with pytest.raises(ValidationFailed) as group:
        services.create_group(SYSTEM, name="集团", parent=parent, notes=OVER)
    assert group.value.field == "notes"
    assert _state() == before
    assert Region.objects.get(pk=region.pk).last_serial == 1  # no code was taken


def test_the_forms_show_the_limit_as_a_field_error(
        region: Region, parent: Customer, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["credit_manager"])
    before = _state()
    edit = client_for(personas["sales_manager"]).post(reverse("customers:edit", args=[parent.code]),
                       {"name": parent.name, "kind": "enterprise", "scale_band": "small",
                        "value_tier": "general", "status": "active", "notes": OVER},
                       HTTP_ACCEPT_LANGUAGE="en")
    assert 'data-field-error="notes"' in edit.content.decode()
    assert 'maxlength="4000"' in edit.content.decode()
    group = client.post(reverse("customers:group_create"),
                        {"name": "长备注集团", "parent": parent.code, "members": "",
                         "notes": OVER}, HTTP_ACCEPT_LANGUAGE="en")
    assert 'data-field-error="notes"' in group.content.decode()
    assert _state() == before
    accepted = client.post(reverse("customers:group_create"),
                           {"name": "长备注集团", "parent": parent.code, "members": "",
                            "notes": AT})
    assert accepted.status_code == 302
    assert CustomerGroup.objects.get().notes == AT
