"""Personal data in audit entries is masked for roles without core.view_pii — on the audit log
page, an entry's page, the export, the API and the customer's timeline — while the chain keeps
the raw values."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.test import Client

from custguard.core import pii
from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.core.services.audit import verify_chain
from custguard.customers import services
from custguard.customers.models import Customer, Region
from custguard.testing.shared import fresh_copy

pytestmark = pytest.mark.django_db

PHONE, NEW_PHONE = "13812345678", "0755-1234567-8001"
ID_NUMBER = "110101199003071234"
ADDRESS = "北京市朝阳区建国路88号"
CONTACT_NAME, CONTACT_PHONE, NEW_CONTACT_PHONE = "张三丰", "13900001111", "010-87654321"
EMAIL = "zhang.sanfeng@example.com"
RAW = [PHONE, NEW_PHONE, ID_NUMBER, ADDRESS, CONTACT_NAME, CONTACT_PHONE, NEW_CONTACT_PHONE,
       EMAIL, "1234567"]  # the last: the local part of the landline, never shown whole
MASKED = ["138****5678", "0755-****567-****", "1101**********1234", "北京市朝****", "张**",
          "139****1111", "010-*****321", "z***@example.com"]


@pytest.fixture(scope="module")
def module_world(module_db: Callable[[], contextlib.AbstractContextManager[None]],
                 module_regions: None, module_personas: dict[str, User]) -> dict[str, Any]:
    with module_db():
        sales = Actor.for_user(module_personas["sales_manager"])
        customer = services.create_customer(
            sales, region=Region.objects.get(pk="110000"), name="隐私客户", kind="dealer",
            phone=PHONE, id_number=ID_NUMBER, address=ADDRESS,
            contacts=[{"name": CONTACT_NAME, "phone": CONTACT_PHONE, "email": EMAIL}])
        services.update_customer(sales, customer, phone=NEW_PHONE, reason="换号")
        contact = customer.contacts.get()
        services.update_contact(sales, contact, phone=NEW_CONTACT_PHONE)
        services.remove_contact(sales, contact, reason="离职")
        return {"customer": customer}


@pytest.fixture
def world(db: None, module_world: dict[str, Any]) -> dict[str, Any]:
    return fresh_copy(module_world)


@pytest.fixture
def personas(shared_personas: dict[str, User]) -> dict[str, User]:
    return shared_personas


@pytest.fixture
def client_for(shared_client_for: Callable[[User], Client]) -> Callable[[User], Client]:
    return shared_client_for


@pytest.fixture
def bearer_for(shared_bearer_for: Callable[[User], dict[str, str]],
               ) -> Callable[[User], dict[str, str]]:
    return shared_bearer_for


def _pii_entries(customer: Customer) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(customer_id=customer.pk).order_by("seq"))


def _assert_masked(text: str) -> None:
    leaked = [value for value in RAW if value in text]
    assert not leaked, f"personal data shown unmasked: {leaked}"
    missing = [value for value in MASKED if value not in text]
    assert not missing, f"masked values missing: {missing}"


def _assert_raw(text: str) -> None:
    assert all(value in text for value in RAW[:-1])


def _pages(client: Client, customer: Customer) -> str:
    """Everything the UI shows of the customer's audit entries: the log, each entry's page,
    the CSV export and the customer's timeline."""
    parts = [client.get("/audit/", {"customer": customer.code})]
    parts += [client.get(f"/audit/{e.seq}/") for e in _pii_entries(customer)]
    parts.append(client.get("/audit/export/", {"format": "csv", "customer": customer.code}))
    parts.append(client.get(f"/customers/{customer.code}/"))
    for response in parts:
        assert response.status_code == 200, response.content[:300]
    return "\n".join(response.content.decode("utf-8") for response in parts)


def test_the_auditor_sees_personal_data_masked_on_every_page(
        world: dict[str, Any], personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["auditor"])
    _assert_masked(_pages(client, world["customer"]))
    assert 'data-testid="pii-masked"' in client.get("/audit/").content.decode()


def test_an_administrator_sees_it_unmasked(world: dict[str, Any], personas: dict[str, User],
                                           client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["admin"])
    _assert_raw(_pages(client, world["customer"]))
    assert 'data-testid="pii-masked"' not in client.get("/audit/").content.decode()


def _api(bearer: dict[str, str], customer: Customer) -> str:
    client = Client()
    listing = client.get("/api/v1/audit", {"customer_id": customer.pk}, **bearer)
    assert listing.status_code == 200
    assert listing.json()["count"] == len(_pii_entries(customer))
    parts = [listing] + [client.get(f"/api/v1/audit/{e.seq}", **bearer)
                         for e in _pii_entries(customer)]
    return "\n".join(json.dumps(response.json(), ensure_ascii=False) for response in parts)


def test_the_api_masks_it_for_the_auditor_too(world: dict[str, Any], personas: dict[str, User],
                                              bearer_for: Callable[[User], dict[str, str]],
                                              ) -> None:
    _assert_masked(_api(bearer_for(personas["auditor"]), world["customer"]))
    _assert_raw(_api(bearer_for(personas["admin"]), world["customer"]))


def test_the_chain_keeps_the_raw_values(world: dict[str, Any], personas: dict[str, User],
                                        client_for: Callable[[User], Client]) -> None:
    _pages(client_for(personas["auditor"]), world["customer"])  # showing changes nothing
    created = AuditEntry.objects.get(action="customer.create", customer_id=world["customer"].pk)
    assert created.after is not None
    assert (created.after["phone"], created.after["id_number"]) == (PHONE, ID_NUMBER)
    assert created.after["contacts"][0]["name"] == CONTACT_NAME
    assert verify_chain() is None


def test_masking_follows_the_models_declarations() -> None:
    values = {"phone": PHONE, "name": "隐私客户", "contacts": [{"name": CONTACT_NAME,
                                                             "phone": CONTACT_PHONE}]}
    assert pii.mask_values("customers.customer", values) == {
        "phone": "138****5678", "name": "隐私客户",  # a company's name is not personal
        "contacts": [{"name": "张**", "phone": "139****1111"}]}
    assert pii.mask_values("customers.contact", {"name": CONTACT_NAME}) == {"name": "张**"}
    assert pii.mask_values("conduct.notice", {"recipient": EMAIL}) == {
        "recipient": "z***@example.com"}
    # an object without personal fields, or no values at all, is left alone
    assert pii.mask_values("credit.override", {"phone": "x"}) == {"phone": "x"}
    assert pii.mask_values("customers.customer", None) is None


# Fields that hold personal data wherever they appear; the staff's own directory (core.User)
# is not customers' personal data.
PERSONAL_NAMES = {"phone", "email", "id_number", "address", "recipient"}
NOT_CUSTOMERS_DATA = {"core.user"}


def test_every_model_with_a_personal_field_declares_it() -> None:
    undeclared = [
        f"{model._meta.label_lower}.{field.name}"
        for model in apps.get_models() if model._meta.label_lower not in NOT_CUSTOMERS_DATA
        and model.__module__.startswith("custguard.")
        for field in model._meta.get_fields()
        if field.name in PERSONAL_NAMES and field.name not in getattr(model, "PII_FIELDS", {})]
    assert not undeclared, f"add these to the model's PII_FIELDS (core/pii.py): {undeclared}"
