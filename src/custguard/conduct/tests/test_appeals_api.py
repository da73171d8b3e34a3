"""Appeals over the API: filing (channel "api" by default), the list with its filters and
pages, one appeal, review, decide and withdraw — and the refusals as problem+json naming the
field, with nothing changed."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from custguard.conduct.models import Appeal, Penalty
from custguard.conduct.services import appeals
from custguard.conduct.tests.appeals_support import (
    active_entry,
    gate_outcome,
    prepay_penalty,
    snapshot,
)
from custguard.conduct.tests.support import confirmed_case, customer_on_credit
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.customers.models import Customer

pytestmark = pytest.mark.django_db

V1 = "/api/v1"


@pytest.fixture
def customer(regions: None, personas: dict[str, User]) -> Customer:
    return customer_on_credit(personas)


@pytest.fixture
def api(personas: dict[str, User], bearer_for: Callable[[User], dict[str, str]],
        ) -> Callable[..., Any]:
    """api(role, method, path, body=None) -> response, in English."""
    headers = {role: bearer_for(user) for role, user in personas.items()}

    def call(role: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        client = Client()
        extra = headers[role] | {"HTTP_ACCEPT_LANGUAGE": "en"}
        if method == "GET":
            return client.get(f"{V1}{path}", body or {}, **extra)
        return client.generic(method, f"{V1}{path}", json.dumps(body or {}, ensure_ascii=False),
                              content_type="application/json", **extra)
    return call


def test_filing_through_the_api(customer: Customer, personas: dict[str, User],
                                api: Callable[..., Any]) -> None:
    penalty = prepay_penalty(personas, customer)
    response = api("customer_service", "POST", "/appeals",
                   {"penalty": penalty.pk, "grounds": "客户通过接口申诉"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["channel"] == "api" and body["status"] == "filed"
    assert body["target"] == {"kind": "penalty", "id": penalty.pk, "status": "active",
                              "code": "MAJOR_PREPAY", "measures": ["FINE", "PREPAY_ONLY"],
                              "decided_by": "credit_manager",
                              "learned_on": clock.today().isoformat()}
    assert body["customer"]["code"] == customer.code
    assert body["review_due_on"] == (clock.today() + dt.timedelta(days=10)).isoformat()
    assert body["window_closes_on"] == (clock.today() + dt.timedelta(days=15)).isoformat()
    assert [step["code"] for step in body["lighter_steps"]] == [
        "FIRST_MINOR_WARNING", "REPEAT_MINOR_REMINDER", "REPEAT_MINOR_RESTRICT"]
    entry = AuditEntry.objects.get(action="conduct.appeal_file")
    assert entry.actor_kind == "token" and entry.after["channel"] == "api"
    case = penalty.case
    staff = api("account_manager", "POST", "/appeals",
                {"case": case.pk, "grounds": "客户来电", "channel": "staff"})
    assert staff.status_code == 201 and staff.json()["channel"] == "staff"
    assert staff.json()["lighter_steps"] == []


def test_an_appeal_outside_its_window_is_a_422_on_the_target_field(
        customer: Customer, personas: dict[str, User], api: Callable[..., Any]) -> None:
    penalty = prepay_penalty(personas, customer)
    closes = (clock.today() + dt.timedelta(days=15)).isoformat()
    before = snapshot()
    with clock.frozen_at(clock.now() + dt.timedelta(days=16)):
        response = api("customer_service", "POST", "/appeals",
                       {"penalty": penalty.pk, "grounds": "逾期"})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert [error["field"] for error in problem["errors"]] == ["penalty"]
    assert closes in problem["errors"][0]["reason"] and closes in problem["detail"]
    assert snapshot() == before


def test_a_reviewer_who_decided_is_a_403_on_reviewer(
        customer: Customer, personas: dict[str, User], api: Callable[..., Any]) -> None:
    penalty = prepay_penalty(personas, customer)
    appeal = appeals.file(Actor.for_user(personas["customer_service"]), penalty, grounds="不服")
    before = snapshot()
    for path, body in ((f"/appeals/{appeal.pk}/decide", {"outcome": "overturned", "note": "x"}),
                       (f"/appeals/{appeal.pk}/review", None)):
        response = api("credit_manager", "POST", path, body)
        assert response.status_code == 403
        assert response["Content-Type"] == "application/problem+json"
        assert [error["field"] for error in response.json()["errors"]] == ["reviewer"]
    assert snapshot() == before
    assert gate_outcome(customer) == "prepay_required"


def test_a_second_open_appeal_is_a_409(customer: Customer, personas: dict[str, User],
                                       api: Callable[..., Any]) -> None:
    penalty = prepay_penalty(personas, customer)
    assert api("customer_service", "POST", "/appeals",
               {"penalty": penalty.pk, "grounds": "第一次"}).status_code == 201
    before = snapshot()
    response = api("sales_manager", "POST", "/appeals", {"penalty": penalty.pk, "grounds": "又"})
    assert response.status_code == 409
    assert [error["field"] for error in response.json()["errors"]] == ["penalty"]
    assert snapshot() == before


@pytest.mark.parametrize(("body", "status", "fields"), [
    ({"grounds": "没有目标"}, 422, {"case", "penalty", "blacklist_entry"}),
    ({"case": 1, "penalty": 1, "grounds": "两个目标"}, 422,
     {"case", "penalty", "blacklist_entry"}),
    ({"penalty": 999999, "grounds": "不存在"}, 404, {"penalty"}),
    ({"penalty": "{penalty}", "grounds": ""}, 422, {"grounds"}),
    ({"penalty": "{penalty}", "grounds": "门户", "channel": "portal"}, 422, {"channel"}),
    ({"penalty": "{penalty}", "grounds": "多余", "status": "overturned"}, 422, {"status"}),
])
def test_bad_filings_name_the_field(customer: Customer, personas: dict[str, User],
                                    api: Callable[..., Any], body: dict[str, Any],
                                    status: int, fields: set[str]) -> None:
    penalty = prepay_penalty(personas, customer)
    body = {key: penalty.pk if value == "{penalty}" else value for key, value in body.items()}
    before = snapshot()
    response = api("customer_service", "POST", "/appeals", body)
    assert response.status_code == status, response.content
    assert {error["field"] for error in response.json()["errors"]} == fields
    assert snapshot() == before


def test_a_decision_of_another_managers_customer_is_not_found(
        customer: Customer, personas: dict[str, User], api: Callable[..., Any]) -> None:
    penalty = prepay_penalty(personas, customer)
    appeal = appeals.file(Actor.for_user(personas["customer_service"]), penalty, grounds="不服")
    before = snapshot()
    response = api("account_manager_2", "POST", "/appeals",
                   {"penalty": penalty.pk, "grounds": "越权"})
    assert response.status_code == 404
    assert [error["field"] for error in response.json()["errors"]] == ["penalty"]
    assert api("account_manager_2", "GET", f"/appeals/{appeal.pk}").status_code == 404
    assert api("account_manager_2", "POST", f"/appeals/{appeal.pk}/withdraw",
               {"note": "越权"}).status_code == 404
    assert api("account_manager_2", "GET", "/appeals").json()["count"] == 0
    assert snapshot() == before


def test_the_list_filters_and_pages(customer: Customer, personas: dict[str, User],
                                    api: Callable[..., Any]) -> None:
    staff = Actor.for_user(personas["customer_service"])
    penalty = prepay_penalty(personas, customer)
    first = appeals.file(staff, penalty, grounds="处罚")
    other = customer_on_credit(personas, name="另一客户", manager="account_manager_2")
    entry = active_entry(personas, other)
    with clock.frozen_at(clock.now() + dt.timedelta(days=3)):
        second = appeals.file(staff, entry, grounds="黑名单")
    case, _ = confirmed_case(personas, customer, violation_type="LATE_PAYMENT")
    third = appeals.file(staff, case, grounds="违规")
    appeals.withdraw(staff, third, note="撤回")
    appeals.start_review(Actor.for_user(personas["sales_manager"]), second)

    def ids(role: str, **query: Any) -> list[int]:
        response = api(role, "GET", "/appeals", query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["items"]]

    assert ids("auditor") == [first.pk, third.pk, second.pk]  # the review date first
    assert ids("auditor", status="open") == [first.pk, second.pk]
    assert ids("auditor", status="withdrawn") == [third.pk]
    assert ids("auditor", customer=other.code) == [second.pk]
    assert ids("auditor", customer=str(customer.pk)) == [first.pk, third.pk]
    assert ids("sales_manager", mine="true") == [second.pk]
    assert ids("account_manager") == [first.pk, third.pk]
    with clock.frozen_at(clock.now() + dt.timedelta(days=11)):
        assert ids("auditor", overdue="true") == [first.pk]
        assert ids("auditor", overdue="false") == [third.pk, second.pk]
        row = api("auditor", "GET", "/appeals", {"overdue": "true"}).json()["items"][0]
        assert row["overdue"] is True and row["target"]["kind"] == "penalty"
    page = api("auditor", "GET", "/appeals", {"page": 2}).json()
    assert page["count"] == 3 and page["items"] == []
    bad = api("auditor", "GET", "/appeals", {"customer": "999999999"})
    assert bad.status_code == 404 and bad.json()["errors"][0]["field"] == "customer"
    assert api("auditor", "GET", "/appeals", {"status": "nonsense"}).status_code == 422


def test_review_decide_reduced_and_withdraw(customer: Customer, personas: dict[str, User],
                                            api: Callable[..., Any]) -> None:
    penalty = prepay_penalty(personas, customer)
    appeal_id = api("customer_service", "POST", "/appeals",
                    {"penalty": penalty.pk, "grounds": "过重"}).json()["id"]
    reviewing = api("sales_manager", "POST", f"/appeals/{appeal_id}/review")
    assert reviewing.status_code == 200 and reviewing.json()["status"] == "under_review"
    assert reviewing.json()["reviewer"] == "sales_manager"
    heavier = api("sales_manager", "POST", f"/appeals/{appeal_id}/decide",
                  {"outcome": "reduced", "note": "加重", "lighter_step": "REPEAT_MAJOR_SUSPEND"})
    assert heavier.status_code == 422
    assert heavier.json()["errors"][0]["field"] == "lighter_step"
    decided = api("sales_manager", "POST", f"/appeals/{appeal_id}/decide",
                  {"outcome": "reduced", "note": "情节较轻",
                   "lighter_step": "FIRST_MINOR_WARNING"})
    assert decided.status_code == 200, decided.content
    body = decided.json()
    assert body["status"] == "reduced" and body["lighter_steps"] == []
    lighter = Penalty.objects.get(pk=body["replacement"])
    assert lighter.step_code == "FIRST_MINOR_WARNING" and lighter.status == "active"
    assert gate_outcome(customer) == "allow"
    again = api("sales_manager", "POST", f"/appeals/{appeal_id}/withdraw", {"note": "晚了"})
    assert again.status_code == 409

    case_appeal = api("customer_service", "POST", "/appeals",
                      {"case": penalty.case_id, "grounds": "不服"}).json()["id"]
    withdrawn = api("customer_service", "POST", f"/appeals/{case_appeal}/withdraw",
                    {"note": "客户撤回"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert Appeal.objects.get(pk=case_appeal).decision_note == "客户撤回"
    unknown = api("sales_manager", "POST", f"/appeals/{case_appeal}/decide",
                  {"outcome": "withdrawn", "note": "x"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "outcome"
