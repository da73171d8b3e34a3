"""Penalties over the API: lists (status, measure), one penalty with its reasons in words, its
fine's source and who may approve it; approve (the notice's language), reject, lift, record a
rectification, escalate; a role the policy does not allow gets a 403 that says who may, and
nothing changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from custguard.conduct.models import Notice, Penalty
from custguard.conduct.services import clauses
from custguard.conduct.tests.cases_support import days_from_now, snapshot, use_tmp_media
from custguard.conduct.tests.support import (
    SYSTEM,
    active_penalty,
    confirmed_case,
    customer_on_credit,
)
from custguard.core import clock
from custguard.core.models import AuditEntry, User
from custguard.customers.models import Customer, Standing

pytestmark = pytest.mark.django_db
V1 = "/api/v1/conduct"


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    return use_tmp_media(settings, tmp_path)


@pytest.fixture
def customer(regions: None, personas: dict[str, User]) -> Customer:
    return customer_on_credit(personas)


@pytest.fixture
def api(personas: dict[str, User],
        bearer_for: Callable[[User], dict[str, str]]) -> Callable[[str], Any]:
    def as_role(role: str) -> Any:
        headers = bearer_for(personas[role]) | {"HTTP_ACCEPT_LANGUAGE": "en"}
        client = Client()

        def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
            if method == "GET":
                return client.get(f"{V1}{path}", body or {}, **headers)
            return client.post(f"{V1}{path}", body or {}, content_type="application/json",
                               **headers)
        return call
    return as_role


@pytest.fixture
def prepay(customer: Customer, personas: dict[str, User]) -> Penalty:
    clauses.add(SYSTEM, customer, contract_number="HT-API-9", violation_type="CROSS_REGION_SALES",
                fine_amount="3300.00", valid_from=clock.today() - dt.timedelta(days=9))
    _case, penalty = confirmed_case(personas, customer, violation_type="CROSS_REGION_SALES",
                                    evidence=True)
    assert penalty is not None and penalty.step_code == "MAJOR_PREPAY"
    return penalty


def test_a_penalty_explained(prepay: Penalty, api: Callable[[str], Any]) -> None:
    call = api("customer_service")
    body = call("GET", f"/penalties/{prepay.pk}").json()
    assert body["step_code"] == "MAJOR_PREPAY"
    assert body["step_description"] == "A major violation; prepayment only for 90 days and a fine"
    assert body["measures"] == [
        {"code": "FINE", "label": "Fine", "detail": "3,300.00"},
        {"code": "PREPAY_ONLY", "label": "Prepayment only", "detail": ""}]
    assert body["reasons"][0]["code"] == "MAJOR_VIOLATION"
    assert body["reasons"][0]["text"].startswith("1 confirmed violation of severity Major")
    assert (body["fine_amount"], body["fine_source"]) == ("3300.00", "contract_clause")
    assert body["contract_clause"] is not None
    assert body["approver_roles"] == ["ADMIN", "CREDIT_MANAGER"]
    assert body["status"] == "proposed" and body["notices"] == []


def test_list_penalties_by_status_and_measure(prepay: Penalty, customer: Customer,
                                              personas: dict[str, User],
                                              api: Callable[[str], Any]) -> None:
    other = customer_on_credit(personas, name="警告客户")
    warning = active_penalty(personas, other, violation_type="LATE_PAYMENT")
    call = api("auditor")

    def ids(**query: Any) -> list[int]:
        response = call("GET", "/penalties", query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["items"]]

    assert ids() == [warning.pk, prepay.pk]
    assert ids(status="proposed") == [prepay.pk]
    assert ids(measure="WARNING") == [warning.pk]
    assert ids(measure="PREPAY_ONLY", customer=customer.code) == [prepay.pk]
    assert ids(case=prepay.case_id) == [prepay.pk]
    assert call("GET", "/penalties", {"measure": "JAIL"}).status_code == 422


def test_a_role_the_policy_does_not_allow_gets_a_403_saying_who_may(
        prepay: Penalty, api: Callable[[str], Any]) -> None:
    call = api("sales_manager")  # may approve some penalties, not prepayment only
    finance = api("finance")
    before = snapshot()
    response = call("POST", f"/penalties/{prepay.pk}/approve", {})
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    detail = response.json()["detail"]
    assert "Prepayment only" in detail and "Administrator, Credit manager" in detail
    assert call("POST", f"/penalties/{prepay.pk}/reject", {"reason": "x"}).status_code == 403
    assert finance("POST", f"/penalties/{prepay.pk}/approve", {}).status_code == 403
    assert snapshot() == before


def test_approve_in_english_then_lift(prepay: Penalty, customer: Customer,
                                      api: Callable[[str], Any]) -> None:
    call = api("credit_manager")
    bad = call("POST", f"/penalties/{prepay.pk}/approve", {"language": "fr"})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["language"]
    approved = call("POST", f"/penalties/{prepay.pk}/approve", {"language": "en",
                                                                "note": "同意"})
    assert approved.status_code == 200, approved.content
    body = approved.json()
    assert body["status"] == "active" and body["approved_by"] == "credit_manager"
    assert body["starts_on"] == clock.today().isoformat()
    assert body["ends_on"] == (clock.today() + dt.timedelta(days=90)).isoformat()
    (notice,) = body["notices"]
    assert notice["language"] == "en" and Notice.objects.get(pk=notice["id"]).language == "en"
    assert Standing.objects.get(pk=customer.pk).penalty_prepay_only
    again = call("POST", f"/penalties/{prepay.pk}/approve", {})
    assert again.status_code == 409
    lifted = call("POST", f"/penalties/{prepay.pk}/lift", {"reason": "客户已整改"})
    assert lifted.status_code == 200 and lifted.json()["status"] == "lifted"
    assert not Standing.objects.get(pk=customer.pk).penalty_prepay_only
    assert AuditEntry.objects.filter(action="conduct.penalty_lift",
                                     actor_kind="token").exists()


def test_reject(prepay: Penalty, api: Callable[[str], Any]) -> None:
    call = api("admin")
    missing = call("POST", f"/penalties/{prepay.pk}/reject", {})
    assert missing.status_code == 422
    rejected = call("POST", f"/penalties/{prepay.pk}/reject", {"reason": "证据不足"})
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["end_reason"]) == ("rejected", "证据不足")


def test_rectification_and_escalation(customer: Customer, personas: dict[str, User],
                                      api: Callable[[str], Any]) -> None:
    penalty = active_penalty(personas, customer, violation_type="CROSS_REGION_SALES",
                             evidence=True, days_ago=10)
    call = api("credit_manager")
    early = call("POST", f"/penalties/{penalty.pk}/escalate")
    assert early.status_code == 422
    assert [e["field"] for e in early.json()["errors"]] == ["penalty"]
    with clock.frozen_at(days_from_now(31)):
        escalated = call("POST", f"/penalties/{penalty.pk}/escalate")
        assert escalated.status_code == 200, escalated.content
        body = escalated.json()
        assert body["case"]["violation_type"] == "RECTIFICATION_OVERDUE"
        assert body["case"]["status"] == "confirmed"
        assert body["penalty"]["escalated_to"] == body["case"]["id"]
        assert body["proposed"]["step_code"] == "REPEAT_MAJOR_SUSPEND"
        assert body["proposed"]["reasons"][0]["code"] == "REPEAT_MAJOR_2_IN_365D"
        assert call("POST", f"/penalties/{penalty.pk}/escalate").status_code == 409
    rectified = api("account_manager")("POST", f"/penalties/{penalty.pk}/rectification",
                                       {"note": "已收回窜货"})
    assert rectified.status_code == 200
    assert rectified.json()["rectification_note"] == "已收回窜货"
    twice = api("account_manager")("POST", f"/penalties/{penalty.pk}/rectification",
                                   {"note": "再次"})
    assert twice.status_code == 422
    assert [e["field"] for e in twice.json()["errors"]] == ["note"]


def test_a_proposal_has_no_rectification_to_record(prepay: Penalty,
                                                   api: Callable[[str], Any]) -> None:
    call = api("credit_manager")
    before = snapshot()
    response = call("POST", f"/penalties/{prepay.pk}/rectification", {"note": "提前整改"})
    assert response.status_code == 422
    assert snapshot() == before
