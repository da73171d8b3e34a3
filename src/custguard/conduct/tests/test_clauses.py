"""Contract penalty clauses: added with validation (dates, a non-negative fine with two
decimals, a violation type the policy in force knows or blank, no overlap for the same type),
ended (never backdated, only shortened), audited; through the service, the API and the
customer's clauses page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from custguard.conduct.models import ContractClause
from custguard.conduct.services import clauses
from custguard.conduct.tests.cases_support import snapshot
from custguard.conduct.tests.support import customer_on_credit
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(regions: None, personas: dict[str, User]) -> Customer:
    return customer_on_credit(personas)


@pytest.fixture
def sales(personas: dict[str, User]) -> Actor:
    return Actor.for_user(personas["sales_manager"])


def day(offset: int) -> dt.date:
    return clock.today() + dt.timedelta(days=offset)


def test_a_clause_is_added_and_audited(customer: Customer, sales: Actor) -> None:
    clause = clauses.add(sales, customer, contract_number=" HT-2025-001 ",
                         violation_type="cross_region_sales", fine_amount="8000",
                         valid_from=day(-30), valid_to=day(335))
    assert (clause.contract_number, clause.violation_type, clause.fine_amount) == (
        "HT-2025-001", "CROSS_REGION_SALES", Decimal("8000.00"))
    entry = AuditEntry.objects.get(action="conduct.clause_add")
    assert entry.customer_id == customer.pk and entry.object_id == str(clause.pk)
    assert entry.after["fine_amount"] == "8000.00"
    assert entry.after["violation_type"] == "CROSS_REGION_SALES"


BAD: list[tuple[dict[str, Any], str]] = [
    ({"contract_number": "  "}, "contract_number"),
    ({"contract_number": "H" * 65}, "contract_number"),
    ({"violation_type": "SMUGGLING"}, "violation_type"),
    ({"fine_amount": "-1"}, "fine_amount"),
    ({"fine_amount": "12.345"}, "fine_amount"),
    ({"fine_amount": "abc"}, "fine_amount"),
    ({"fine_amount": "NaN"}, "fine_amount"),
    ({"fine_amount": "1e20"}, "fine_amount"),
    ({"fine_amount": "1e300"}, "fine_amount"),
    ({"fine_amount": "0.000000000000000000000000000001"}, "fine_amount"),
    ({"valid_to": -31}, "valid_to"),
]


@pytest.mark.parametrize(("change", "field"), BAD, ids=[f"{f}:{c}" for c, f in BAD])
def test_bad_clauses_are_refused_naming_the_field(change: dict[str, Any], field: str,
                                                  customer: Customer, sales: Actor) -> None:
    values: dict[str, Any] = {"contract_number": "HT-1", "violation_type": "",
                              "fine_amount": "100.00", "valid_from": day(-30),
                              "valid_to": None}
    values.update(change)
    if isinstance(values["valid_to"], int):
        values["valid_to"] = day(values["valid_to"])
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused:
        clauses.add(sales, customer, **values)
    assert refused.value.field == field
    assert snapshot() == before


def test_clauses_for_the_same_type_may_not_overlap(customer: Customer, sales: Actor) -> None:
    first = clauses.add(sales, customer, contract_number="HT-1", violation_type="LATE_PAYMENT",
                        fine_amount="100", valid_from=day(-100), valid_to=day(100))
    before = snapshot()
    for start, end in ((day(50), None), (day(-200), day(-100)), (day(-200), None)):
        with pytest.raises(Conflict) as refused:
            clauses.add(sales, customer, contract_number="HT-2", violation_type="LATE_PAYMENT",
                        fine_amount="200", valid_from=start, valid_to=end)
        assert refused.value.field == "valid_from"
        assert "HT-1" in refused.value.message
    assert snapshot() == before
    # another type, another period, or "any violation" do not clash
    clauses.add(sales, customer, contract_number="HT-2", violation_type="CONTRACT_BREACH",
                fine_amount="200", valid_from=day(-10))
    clauses.add(sales, customer, contract_number="HT-2", violation_type="LATE_PAYMENT",
                fine_amount="200", valid_from=day(101))
    clauses.add(sales, customer, contract_number="HT-2", fine_amount="50", valid_from=day(-10))
    assert first.pk and ContractClause.objects.filter(customer=customer).count() == 4


def test_a_clause_is_ended_from_today_or_later(customer: Customer, sales: Actor) -> None:
    clause = clauses.add(sales, customer, contract_number="HT-1", fine_amount="100",
                         valid_from=day(-100))
    before = snapshot()
    for last_day, field in ((day(-1), "last_day"),):
        with pytest.raises(ValidationFailed) as refused:
            clauses.end(sales, clause, last_day=last_day, reason="合同终止")
        assert refused.value.field == field
    with pytest.raises(ValidationFailed) as refused:
        clauses.end(sales, clause, reason=" ")
    assert refused.value.field == "reason"
    assert snapshot() == before
    ended = clauses.end(sales, clause, reason="合同终止")
    assert ended.valid_to == clock.today()
    entry = AuditEntry.objects.get(action="conduct.clause_end")
    assert entry.before == {"valid_to": None}
    assert entry.after == {"valid_to": clock.today().isoformat()}
    assert entry.reason == "合同终止"


def test_a_clause_is_only_shortened(customer: Customer, sales: Actor) -> None:
    clause = clauses.add(sales, customer, contract_number="HT-1", fine_amount="100",
                         valid_from=day(10), valid_to=day(100))
    before = snapshot()
    for last_day in (day(5), day(100), day(200)):  # before it starts; not earlier
        with pytest.raises(ValidationFailed) as refused:
            clauses.end(sales, clause, last_day=last_day, reason="调整")
        assert refused.value.field == "last_day"
    assert snapshot() == before
    assert clauses.end(sales, clause, last_day=day(10), reason="调整").valid_to == day(10)


def test_an_ended_clause_cannot_be_ended_again(customer: Customer, sales: Actor) -> None:
    clause = clauses.add(sales, customer, contract_number="HT-1", fine_amount="100",
                         valid_from=day(-300), valid_to=day(-1))
    before = snapshot()
    with pytest.raises(Conflict) as refused:
        clauses.end(sales, clause, reason="合同终止")
    assert refused.value.field == "last_day"
    assert snapshot() == before


@pytest.mark.parametrize("role", ["account_manager", "finance", "customer_service", "auditor"])
def test_other_roles_may_not_add_or_end_clauses(role: str, customer: Customer, sales: Actor,
                                                personas: dict[str, User]) -> None:
    clause = clauses.add(sales, customer, contract_number="HT-1", fine_amount="100",
                         valid_from=day(-1))
    actor = Actor.for_user(personas[role])
    before = snapshot()
    with pytest.raises(PermissionRefused):
        clauses.add(actor, customer, contract_number="HT-2", violation_type="LATE_PAYMENT",
                    fine_amount="100", valid_from=day(-1))
    with pytest.raises(PermissionRefused):
        clauses.end(actor, clause, reason="x")
    assert snapshot() == before


# --- the API ----------------------------------------------------------------------------------


def test_clauses_over_the_api(customer: Customer, personas: dict[str, User],
                              bearer_for: Callable[[User], dict[str, str]]) -> None:
    client = Client()
    headers = bearer_for(personas["credit_manager"])
    created = client.post("/api/v1/conduct/clauses", {
        "customer": customer.code, "contract_number": "HT-API-1",
        "violation_type": "PRICE_DISRUPTION", "fine_amount": "6000.00",
        "valid_from": day(-1).isoformat()}, content_type="application/json", **headers)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["customer"]["code"] == customer.code and body["fine_amount"] == "6000.00"
    listed = client.get("/api/v1/conduct/clauses", {"customer": customer.code,
                                                    "in_force_on": day(0).isoformat()},
                        **headers)
    assert [row["id"] for row in listed.json()["items"]] == [body["id"]]
    assert client.get("/api/v1/conduct/clauses", {"customer": customer.code,
                                                  "in_force_on": day(-2).isoformat()},
                      **headers).json()["count"] == 0
    ended = client.post(f"/api/v1/conduct/clauses/{body['id']}/end", {"reason": "到期"},
                        content_type="application/json", **headers)
    assert ended.status_code == 200 and ended.json()["valid_to"] == day(0).isoformat()


@pytest.mark.parametrize(("change", "field"), [
    ({"violation_type": "SMUGGLING"}, "violation_type"),
    ({"fine_amount": "-5"}, "fine_amount"),
    ({"valid_to": "2000-01-01"}, "valid_to"),
    ({"unknown": 1}, "unknown"),
])
def test_a_bad_clause_over_the_api_names_the_field(
        change: dict[str, Any], field: str, customer: Customer, personas: dict[str, User],
        bearer_for: Callable[[User], dict[str, str]]) -> None:
    headers = bearer_for(personas["credit_manager"])
    before = snapshot()
    response = Client().post("/api/v1/conduct/clauses", {
        "customer": customer.code, "contract_number": "HT-API-1", "fine_amount": "6000.00",
        "valid_from": day(-1).isoformat()} | change, content_type="application/json", **headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert snapshot() == before


# --- the page ---------------------------------------------------------------------------------


def test_the_clauses_page_adds_and_ends_clauses(customer: Customer, personas: dict[str, User],
                                                client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["sales_manager"])
    url = f"/conduct/clauses/{customer.code}/"
    page = client.get(url)
    assert page.status_code == 200 and b'data-testid="clause-form"' in page.content
    added = client.post(f"{url}add/", {
        "clause-contract_number": "HT-页面-1", "clause-violation_type": "LATE_PAYMENT",
        "clause-fine_amount": "300.00", "clause-valid_from": day(-1).isoformat()}, follow=True)
    assert added.redirect_chain[-1][0] == url
    clause = ContractClause.objects.get(customer=customer)
    text = added.content.decode()
    assert f'data-clause="{clause.pk}"' in text and 'data-status="in_force"' in text
    ended = client.post(f"/conduct/clauses/{clause.pk}/end/", {
        "end-last_day": day(0).isoformat(), "end-reason": "合同终止"}, follow=True)
    assert ended.redirect_chain[-1][0] == url
    assert ContractClause.objects.get(pk=clause.pk).valid_to == day(0)


def test_a_refused_clause_on_the_page_shows_the_field_error(
        customer: Customer, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["sales_manager"])
    clauses.add(Actor.for_user(personas["sales_manager"]), customer, contract_number="HT-1",
                violation_type="LATE_PAYMENT", fine_amount="100", valid_from=day(-10))
    before = snapshot()
    response = client.post(f"/conduct/clauses/{customer.code}/add/", {
        "clause-contract_number": "HT-2", "clause-violation_type": "LATE_PAYMENT",
        "clause-fine_amount": "300.00", "clause-valid_from": day(-1).isoformat()})
    assert response.status_code == 422
    assert b'data-field-error="clause-valid_from"' in response.content
    negative = client.post(f"/conduct/clauses/{customer.code}/add/", {
        "clause-contract_number": "HT-2", "clause-fine_amount": "-3",
        "clause-valid_from": day(-1).isoformat()})
    assert negative.status_code == 422
    assert b'data-field-error="clause-fine_amount"' in negative.content
    assert snapshot() == before


def test_readers_see_the_clauses_without_the_forms(customer: Customer,
                                                   personas: dict[str, User],
                                                   client_for: Callable[[User], Client]) -> None:
    clauses.add(Actor.for_user(personas["sales_manager"]), customer, contract_number="HT-1",
                fine_amount="100", valid_from=day(-10))
    page = client_for(personas["account_manager"]).get(f"/conduct/clauses/{customer.code}/")
    text = page.content.decode()
    assert page.status_code == 200 and "HT-1" in text
    assert 'data-testid="clause-form"' not in text and 'data-testid="end-form"' not in text
    other = client_for(personas["account_manager_2"]).get(f"/conduct/clauses/{customer.code}/")
    assert other.status_code == 404
    export = client_for(personas["auditor"]).get(f"/conduct/clauses/{customer.code}/export/",
                                                 {"format": "xlsx"})
    assert export.status_code == 200
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
