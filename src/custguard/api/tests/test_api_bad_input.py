"""Bad input gets a 4xx problem+json, never a 500 (issue 9 §1): the central handlers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from custguard.core.models import User
from custguard.customers.models import Customer

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers"
PROBLEM = "application/problem+json"


def test_a_body_over_the_maximum_is_a_413(regions: None, personas: dict[str, User],
                                          bearer_for: Callable[[User], dict[str, str]],
                                          settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    before = Customer.objects.count()
    body = '{"name": "%s", "kind": "enterprise", "region": "110000"}' % ("x" * 4096)
    response = Client().post(CUSTOMERS, body, content_type="application/json",
                             **bearer_for(personas["sales_manager"]))
    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM
    assert response.json()["type"].endswith("/request_too_large")
    assert Customer.objects.count() == before


@pytest.mark.parametrize("group_id", ["99999999999999999999", str(2**63)])
def test_a_huge_path_id_is_a_422_not_a_500(regions: None, personas: dict[str, User],
                                           bearer_for: Callable[[User], dict[str, str]],
                                           group_id: str) -> None:
    response = Client().get(f"/api/v1/groups/{group_id}",
                            **bearer_for(personas["sales_manager"]))
    assert response.status_code in (404, 422)
    assert response["Content-Type"] == PROBLEM


# --- one test per class of bad input the fuzzing found (issue 9 §1) ---------------------------

GATE = "/api/v1/gate/check"


def _post(path: str, body: Any, headers: dict[str, str]) -> Any:
    raw = body if isinstance(body, str) else json.dumps(body)
    return Client().post(path, raw, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en",
                         **headers)


def _fields(response: Any) -> dict[str, str]:
    assert response["Content-Type"] == PROBLEM, response.content
    return {error["field"]: error["reason"] for error in response.json().get("errors", [])}


@pytest.fixture
def admin(regions: None, personas: dict[str, User],
          bearer_for: Callable[[User], dict[str, str]]) -> dict[str, str]:
    return bearer_for(personas["admin"])


@pytest.fixture
def gate_customer(db: None) -> Customer:
    from custguard.credit.tests.gate_support import make_customer, publish_default_policy

    publish_default_policy()
    return make_customer("边界客户")


@pytest.mark.parametrize(("customer", "reason"), [
    (True, "must be a whole number"),   # once taken as customer 1
    (1.0, "must be a whole number"),
    (2**63, "must be at most 9223372036854775807"),
])
def test_a_customer_of_the_wrong_json_type_is_refused_naming_it(
        admin: dict[str, str], gate_customer: Customer, customer: Any, reason: str) -> None:
    response = _post(GATE, {"customer": customer, "amount": "10.00"}, admin)
    assert response.status_code == 422
    assert _fields(response)["customer"].startswith(reason)


@pytest.mark.parametrize("customer", ["²", "٣", "１２３"])
def test_non_ascii_digits_are_no_customer_id(admin: dict[str, str], gate_customer: Customer,
                                             customer: str) -> None:
    response = _post(GATE, {"customer": customer, "amount": "10.00"}, admin)
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    assert Client().get(f"/api/v1/customers/{customer}", **admin).status_code == 404


@pytest.mark.parametrize("amount", [
    "1e30", 1e30, "NaN", "Infinity", "-Infinity", "1E2", "12.345", "١٢", "1" * 15,
    '{"raw": 1e400}',
])
def test_money_beyond_the_column_or_not_a_plain_decimal_is_refused(
        admin: dict[str, str], gate_customer: Customer, amount: Any) -> None:
    if isinstance(amount, str) and amount.startswith("{"):  # a JSON literal json.dumps won't write
        body = '{"customer": "' + gate_customer.code + '", "amount": 1e400}'
    else:
        body = {"customer": gate_customer.code, "amount": amount}
    response = _post(GATE, body, admin)
    assert response.status_code == 422
    assert "amount" in _fields(response)


@pytest.mark.parametrize("amount", ["-0", "-0.00", 0])
def test_minus_zero_is_zero_and_refused_as_not_positive(
        admin: dict[str, str], gate_customer: Customer, amount: Any) -> None:
    from custguard.api.schemas import _money

    assert _money(amount) == 0 and not _money(amount).is_signed()  # never stored as "-0.00"
    response = _post(GATE, {"customer": gate_customer.code, "amount": amount}, admin)
    assert response.status_code == 422
    assert "greater than zero" in response.json()["detail"]


@pytest.mark.parametrize("text", ["a\x00b", "\ud800", "x\udfffy"])
def test_unstorable_text_in_a_body_is_refused_naming_the_field(
        admin: dict[str, str], text: str) -> None:
    before = Customer.objects.count()
    body = json.dumps({"name": text, "kind": "enterprise", "region": "110000"})
    response = _post(CUSTOMERS, body, admin)
    assert response.status_code == 422
    assert "name" in _fields(response)
    assert Customer.objects.count() == before


@pytest.mark.parametrize("query", ["q=a%00b", "q=%ED%A0%80", "region=%00"])
def test_unstorable_text_in_a_query_is_refused_naming_the_parameter(
        admin: dict[str, str], query: str) -> None:
    response = Client().get(f"{CUSTOMERS}?{query}", HTTP_ACCEPT_LANGUAGE="en", **admin)
    if "%ED" in query:  # invalid UTF-8 in a URL is replaced by Django, so it is only text
        assert response.status_code == 200
        return
    assert response.status_code == 422
    assert set(_fields(response)) == {query.split("=")[0]}


def test_unstorable_text_in_the_path_is_refused(admin: dict[str, str]) -> None:
    response = Client().get(f"{CUSTOMERS}/a%00b", HTTP_ACCEPT_LANGUAGE="en", **admin)
    assert response.status_code == 422
    assert set(_fields(response)) == {"path"}


@pytest.mark.parametrize(("query", "field"), [
    ("page=7867877145983217664", "page"), ("page=0", "page"), ("page_size=1024", "page_size"),
    ("page=²", "page"),
])
def test_page_numbers_are_bounded(admin: dict[str, str], query: str, field: str) -> None:
    response = Client().get(f"/api/v1/regions?{query}", HTTP_ACCEPT_LANGUAGE="en", **admin)
    assert response.status_code == 422
    assert set(_fields(response)) == {field}


def test_a_huge_id_in_a_filter_is_refused(admin: dict[str, str]) -> None:
    response = Client().get(f"/api/v1/audit?customer_id={2**64}", HTTP_ACCEPT_LANGUAGE="en",
                            **admin)
    assert response.status_code == 422
    assert set(_fields(response)) == {"customer_id"}


def test_null_for_a_column_without_null_is_a_422_not_a_500(admin: dict[str, str]) -> None:
    created = _post(CUSTOMERS, {"name": "空值客户", "kind": "enterprise", "region": "110000"},
                    admin)
    assert created.status_code == 201, created.content
    code = created.json()["code"]
    response = Client().patch(f"{CUSTOMERS}/{code}", json.dumps({"department": None}),
                              content_type="application/json", HTTP_ACCEPT_LANGUAGE="en",
                              **admin)
    assert response.status_code == 422
    assert set(_fields(response)) == {"department"}
    assert Customer.objects.get(code=code).department == ""


def test_validation_reasons_are_translated(admin: dict[str, str], gate_customer: Customer,
                                           ) -> None:
    response = Client().post(GATE, json.dumps({"customer": True, "amount": "1e30"}),
                             content_type="application/json", HTTP_ACCEPT_LANGUAGE="zh-hans",
                             **admin)
    reasons = _fields(response)
    assert reasons == {"customer": "必须是整数", "amount": reasons["amount"]}
    assert reasons["amount"].startswith("必须是金额")


def test_a_database_range_error_is_a_422(admin: dict[str, str], monkeypatch: Any) -> None:
    """The net under the schemas: a value past 64 bits that still reaches the database (here an
    OFFSET of 2**63 in a real query) is SQLite's IntegrityError "datatype mismatch" or
    PostgreSQL's "bigint out of range": the client's input, a 422, not a 500."""
    from custguard.api.pagination import Pages

    def far_page(self: Pages, queryset: Any, pagination: Any, request: Any, **params: Any) -> Any:
        return {"items": list(queryset[2**63:2**63 + 1]), "count": 0}

    monkeypatch.setattr(Pages, "paginate_queryset", far_page)
    response = Client().get("/api/v1/regions", HTTP_ACCEPT_LANGUAGE="en", **admin)
    assert response.status_code == 422
    assert response.json()["type"].endswith("/value_out_of_range")
