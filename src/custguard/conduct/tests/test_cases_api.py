"""Violation cases over the API: the catalogue, reporting (201 / 200 for the same incident),
lists with filters and paging, evidence uploads (multipart) and downloads, and investigating,
confirming and dismissing — each change audited as the token's."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from custguard.conduct.models import Evidence, ViolationCase
from custguard.conduct.services import cases
from custguard.conduct.tests.cases_support import PDF, snapshot, stored_files, upload, use_tmp_media
from custguard.conduct.tests.support import customer_on_credit
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.customers.models import Customer

pytestmark = pytest.mark.django_db
V1 = "/api/v1/conduct"


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    return use_tmp_media(settings, tmp_path)


@pytest.fixture
def customer(regions: None, personas: dict[str, User]) -> Customer:
    return customer_on_credit(personas)


@pytest.fixture
def api(personas: dict[str, User],
        bearer_for: Callable[[User], dict[str, str]]) -> Callable[[str], tuple[Client, dict[str,
                                                                                         str]]]:
    def as_role(role: str) -> tuple[Client, dict[str, str]]:
        return Client(), bearer_for(personas[role]) | {"HTTP_ACCEPT_LANGUAGE": "en"}
    return as_role


def _day(days_ago: int) -> str:
    return (clock.today() - dt.timedelta(days=days_ago)).isoformat()


def test_the_catalogue_of_violation_types(customer: Customer, api: Callable[..., Any]) -> None:
    client, headers = api("customer_service")
    body = client.get(f"{V1}/violation-types", **headers).json()
    by_code = {row["code"]: row for row in body}
    assert len(body) == 15
    assert by_code["CROSS_REGION_SALES"] == {
        "code": "CROSS_REGION_SALES", "name": "Selling goods outside the authorised region",
        "category": "CROSS_REGION_SALES", "category_label": "Unauthorised cross-region selling",
        "severity": "MAJOR", "severity_label": "Major", "points": 3,
        "evidence_required": True, "description_zh": "跨区域窜货",
        "description_en": "Selling goods outside the authorised region"}


def test_report_a_violation(customer: Customer, api: Callable[..., Any]) -> None:
    client, headers = api("customer_service")
    response = client.post(f"{V1}/cases", {
        "customer": customer.pk, "violation_type": "late_payment", "occurred_on": _day(2),
        "description": "逾期付款", "source": "crm", "external_id": "C-9"},
        content_type="application/json", **headers)
    assert response.status_code == 201, response.content
    body = response.json()
    case = ViolationCase.objects.get()
    assert body["id"] == case.pk and body["created"] is True
    assert body["customer"] == {"id": customer.pk, "code": customer.code, "name": customer.name}
    assert (body["violation_type"], body["severity"], body["points"]) == ("LATE_PAYMENT",
                                                                          "MINOR", 1)
    assert body["violation_type_name"] == "Payment later than the agreed terms"
    assert body["status"] == "reported" and body["evidence"] == [] and body["penalties"] == []
    entry = AuditEntry.objects.get(action="conduct.case_report")
    assert entry.actor_kind == "token" and entry.customer_id == customer.pk


def test_list_and_filter_cases(customer: Customer, personas: dict[str, User],
                               api: Callable[..., Any]) -> None:
    am = Actor.for_user(personas["account_manager"])
    minor = cases.report(am, customer, violation_type="LATE_PAYMENT",
                         occurred_on=clock.today() - dt.timedelta(days=1), description="a").case
    major = cases.report(am, customer, violation_type="CROSS_REGION_SALES",
                         occurred_on=clock.today() - dt.timedelta(days=30), description="b").case
    cases.dismiss(Actor.for_user(personas["credit_manager"]), major, reason="误报")
    other = customer_on_credit(personas, name="其他客户", manager="sales_manager")
    elsewhere = cases.report(am, other, violation_type="LATE_PAYMENT",
                             occurred_on=clock.today() - dt.timedelta(days=1),
                             description="c").case
    client, headers = api("auditor")

    def ids(**query: Any) -> list[int]:
        response = client.get(f"{V1}/cases", query, **headers)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["items"]]

    assert ids() == [elsewhere.pk, major.pk, minor.pk]
    assert ids(customer=customer.code) == [major.pk, minor.pk]
    assert ids(status="dismissed") == [major.pk]
    assert ids(violation_type="late_payment") == [elsewhere.pk, minor.pk]
    assert ids(severity="MAJOR") == [major.pk]
    assert ids(occurred_from=_day(10), customer=customer.code) == [minor.pk]
    assert ids(occurred_to=_day(10)) == [major.pk]
    bad = client.get(f"{V1}/cases", {"severity": "HUGE"}, **headers)
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["severity"]
    colleague, colleague_headers = api("account_manager_2")
    assert colleague.get(f"{V1}/cases", **colleague_headers).json()["items"] == []
    assert colleague.get(f"{V1}/cases/{minor.pk}", **colleague_headers).status_code == 404
    assert colleague.get(f"{V1}/cases", {"customer": customer.code},
                         **colleague_headers).status_code == 404


def test_upload_and_download_evidence(customer: Customer, media: Path,
                                      personas: dict[str, User],
                                      api: Callable[..., Any]) -> None:
    case = cases.report(Actor.for_user(personas["account_manager"]), customer,
                        violation_type="CROSS_REGION_SALES",
                        occurred_on=clock.today() - dt.timedelta(days=1), description="窜货").case
    client, headers = api("account_manager")
    added = client.post(f"{V1}/cases/{case.pk}/evidence",
                        {"file": upload("物流单.pdf"), "note": "物流单据"}, **headers)
    assert added.status_code == 201, added.content
    body = added.json()
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert (body["file_name"], body["size"], body["note"]) == ("物流单.pdf", len(PDF), "物流单据")
    assert body["download_url"] == f"{V1}/evidence/{body['id']}/download"
    again = client.post(f"{V1}/cases/{case.pk}/evidence", {"file": upload("copy.pdf")},
                        **headers)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert Evidence.objects.count() == 1 and len(stored_files(media)) == 1
    download = client.get(body["download_url"], **headers)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF  # type: ignore[attr-defined]
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Content-Type"] == "application/pdf"
    fetched = client.get(f"{V1}/cases/{case.pk}", **headers).json()
    assert [e["id"] for e in fetched["evidence"]] == [body["id"]]
    colleague, colleague_headers = api("account_manager_2")
    assert colleague.get(body["download_url"], **colleague_headers).status_code == 404
    erp, erp_headers = api("erp_integration")
    assert erp.get(body["download_url"], **erp_headers).status_code == 403


def test_investigate_confirm_and_dismiss(customer: Customer, personas: dict[str, User],
                                         api: Callable[..., Any]) -> None:
    am = Actor.for_user(personas["account_manager"])
    case = cases.report(am, customer, violation_type="LATE_PAYMENT",
                        occurred_on=clock.today() - dt.timedelta(days=1), description="a").case
    client, headers = api("sales_manager")
    bad = client.post(f"{V1}/cases/{case.pk}/investigate", {"investigator": "finance"},
                      content_type="application/json", **headers)
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["investigator"]
    started = client.post(f"{V1}/cases/{case.pk}/investigate",
                          {"investigator": "credit_manager"}, content_type="application/json",
                          **headers)
    assert started.status_code == 200
    assert (started.json()["status"], started.json()["investigator"]) == ("investigating",
                                                                          "credit_manager")
    twice = client.post(f"{V1}/cases/{case.pk}/investigate", {},
                        content_type="application/json", **headers)
    assert twice.status_code == 409
    confirmed = client.post(f"{V1}/cases/{case.pk}/confirm", {"reason": "核实"},
                            content_type="application/json", **headers)
    assert confirmed.status_code == 200, confirmed.content
    body = confirmed.json()
    assert body["case"]["status"] == "confirmed" and body["case"]["decided_by"] == "sales_manager"
    penalty = body["penalty"]
    assert penalty["step_code"] == "FIRST_MINOR_WARNING" and penalty["status"] == "proposed"
    assert penalty["reasons"] == [{
        "code": "MINOR_VIOLATION",
        "params": {"count": 1, "min_count": 1, "min_severity": "MINOR",
                   "step": "FIRST_MINOR_WARNING", "window_days": 365},
        "text": "1 confirmed violation of severity Minor or worse within 365 days; this step "
                "applies from 1"}]
    assert body["case"]["penalties"] == [penalty["id"]]
    other = cases.report(am, customer, violation_type="LATE_RECONCILIATION",
                         occurred_on=clock.today() - dt.timedelta(days=1),
                         description="b").case
    missing = client.post(f"{V1}/cases/{other.pk}/dismiss", {},
                          content_type="application/json", **headers)
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["reason"]
    dismissed = client.post(f"{V1}/cases/{other.pk}/dismiss", {"reason": "已对账"},
                            content_type="application/json", **headers)
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    finance, finance_headers = api("finance")
    before = snapshot()
    refused = finance.post(f"{V1}/cases/{other.pk}/confirm", {"reason": "x"},
                           content_type="application/json", **finance_headers)
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    assert snapshot() == before
