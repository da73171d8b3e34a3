"""Bad input is refused with a clear error naming the field, and nothing changes: no case or
evidence row, no stored file left under MEDIA_ROOT, no audit entry — through the services, the
API and the pages. Also: confirming an evidence-required type without evidence, and the same
incident reported twice (one case)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from custguard.conduct.models import Evidence, Penalty, ViolationCase
from custguard.conduct.services import cases
from custguard.conduct.tests.cases_support import (
    snapshot,
    stored_files,
    upload,
    use_tmp_media,
)
from custguard.conduct.tests.support import customer_on_credit
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, ValidationFailed
from custguard.core.models import User
from custguard.customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    return use_tmp_media(settings, tmp_path)


@pytest.fixture
def customer(regions: None, personas: dict[str, User]) -> Customer:
    return customer_on_credit(personas, manager="account_manager")


@pytest.fixture
def am(personas: dict[str, User]) -> Actor:
    return Actor.for_user(personas["account_manager"])


def _yesterday() -> dt.date:
    return clock.today() - dt.timedelta(days=1)


def _problem_fields(response: Any) -> list[str]:
    assert response["Content-Type"] == "application/problem+json"
    return [error["field"] for error in response.json().get("errors", [])]


# --- an unknown violation type ----------------------------------------------------------------


def test_an_unknown_violation_type_is_refused_by_the_service(customer: Customer,
                                                             am: Actor) -> None:
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused, translation.override("en"):
        cases.report(am, customer, violation_type="SMUGGLING", occurred_on=_yesterday(),
                     description="未知类型")
    assert refused.value.field == "violation_type"
    assert "SMUGGLING" in refused.value.message
    assert snapshot() == before


def test_an_unknown_violation_type_is_a_422_on_violation_type(
        customer: Customer, personas: dict[str, User],
        bearer_for: Callable[[User], dict[str, str]]) -> None:
    headers = bearer_for(personas["account_manager"])
    before = snapshot()
    response = Client().post("/api/v1/conduct/cases", {
        "customer": customer.code, "violation_type": "SMUGGLING",
        "occurred_on": _yesterday().isoformat(), "description": "未知类型"},
        content_type="application/json", **headers)
    assert response.status_code == 422
    assert _problem_fields(response) == ["violation_type"]
    assert response.json()["detail"].startswith("violation_type: ")
    assert snapshot() == before


def test_an_unknown_violation_type_is_refused_by_the_report_form(
        customer: Customer, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    before = snapshot()
    response = client_for(personas["account_manager"]).post("/conduct/cases/new/", {
        "customer": customer.code, "violation_type": "SMUGGLING",
        "occurred_on": _yesterday().isoformat(), "description": "未知类型"})
    assert response.status_code == 422
    assert b'data-field-error="violation_type"' in response.content
    assert snapshot() == before


# --- evidence files ---------------------------------------------------------------------------


@pytest.fixture
def case(customer: Customer, am: Actor) -> ViolationCase:
    return cases.report(am, customer, violation_type="CROSS_REGION_SALES",
                        occurred_on=_yesterday(), description="窜货").case


BAD_FILES = {
    "too large": ("大文件.pdf", b"%PDF" + b"0" * (1024 * 1024), "at most 1 MB"),
    "refused type": ("木马.exe", b"MZ\x90\x00binary", "are not accepted"),
    "empty": ("空.pdf", b"", "empty"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_bad_evidence_file_is_refused_by_the_service(kind: str, case: ViolationCase,
                                                       am: Actor, media: Path,
                                                       settings: Any) -> None:
    settings.CUSTGUARD_EVIDENCE_MAX_MB = 1
    name, content, reason = BAD_FILES[kind]
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused, translation.override("en"):
        cases.add_evidence(am, case, upload(name, content))
    assert refused.value.field == "file"
    assert reason in refused.value.message
    assert snapshot() == before
    assert stored_files(media) == []


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_bad_evidence_file_is_a_422_naming_the_file(
        kind: str, case: ViolationCase, media: Path, settings: Any,
        personas: dict[str, User], bearer_for: Callable[[User], dict[str, str]]) -> None:
    settings.CUSTGUARD_EVIDENCE_MAX_MB = 1
    name, content, reason = BAD_FILES[kind]
    headers = bearer_for(personas["account_manager"])
    before = snapshot()
    response = Client().post(f"/api/v1/conduct/cases/{case.pk}/evidence",
                             {"file": upload(name, content), "note": "坏文件"},
                             HTTP_ACCEPT_LANGUAGE="en", **headers)
    assert response.status_code == 422, response.content
    assert _problem_fields(response) == ["file"]
    assert reason in response.json()["errors"][0]["reason"]
    assert snapshot() == before
    assert stored_files(media) == []


@pytest.mark.parametrize("kind", ["too large", "refused type"])
def test_a_bad_evidence_file_is_refused_on_the_case_page(
        kind: str, case: ViolationCase, media: Path, settings: Any,
        personas: dict[str, User], client_for: Callable[[User], Client]) -> None:
    settings.CUSTGUARD_EVIDENCE_MAX_MB = 1
    name, content, reason = BAD_FILES[kind]
    before = snapshot()
    response = client_for(personas["account_manager"]).post(
        f"/conduct/cases/{case.pk}/evidence/", {"evidence-file": upload(name, content)},
        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert b'data-field-error="evidence-file"' in response.content
    assert reason in response.content.decode()
    assert snapshot() == before
    assert stored_files(media) == []


def test_one_bad_file_in_a_report_refuses_the_whole_report(
        customer: Customer, media: Path, settings: Any, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    """The report and its files are one submit: a good file already stored is removed when a
    later one is refused, and no case is left behind."""
    settings.CUSTGUARD_EVIDENCE_MAX_MB = 1
    before = snapshot()
    response = client_for(personas["account_manager"]).post("/conduct/cases/new/", {
        "customer": customer.code, "violation_type": "CROSS_REGION_SALES",
        "occurred_on": _yesterday().isoformat(), "description": "窜货",
        "files": [upload("照片.pdf"), upload("木马.exe", b"MZ")]}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    page = response.content.decode()
    assert 'data-field-error="files"' in page and "木马.exe" in page
    assert snapshot() == before
    assert stored_files(media) == []


def test_no_file_over_the_api_is_a_422_on_file(case: ViolationCase, media: Path,
                                                personas: dict[str, User],
                                                bearer_for: Callable[[User], dict[str, str]],
                                                ) -> None:
    headers = bearer_for(personas["account_manager"])
    before = snapshot()
    response = Client().post(f"/api/v1/conduct/cases/{case.pk}/evidence", {"note": "无文件"},
                             **headers)
    assert response.status_code == 422
    assert _problem_fields(response) == ["file"]
    assert snapshot() == before


# --- confirming without the evidence the type requires ----------------------------------------


def test_an_evidence_required_type_cannot_be_confirmed_without_evidence(
        case: ViolationCase, personas: dict[str, User],
        bearer_for: Callable[[User], dict[str, str]],
        client_for: Callable[[User], Client]) -> None:
    credit = Actor.for_user(personas["credit_manager"])
    headers = bearer_for(personas["credit_manager"])
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused:
        cases.confirm(credit, case, reason="属实")
    assert refused.value.field == "evidence"
    assert snapshot() == before
    response = Client().post(f"/api/v1/conduct/cases/{case.pk}/confirm", {"reason": "属实"},
                             content_type="application/json", **headers)
    assert response.status_code == 422
    assert _problem_fields(response) == ["evidence"]
    page = client_for(personas["credit_manager"]).post(f"/conduct/cases/{case.pk}/confirm/",
                                                       {"confirm-reason": "属实"})
    assert page.status_code == 422
    assert b'data-testid="confirm-error"' in page.content
    assert snapshot() == before
    assert ViolationCase.objects.get(pk=case.pk).status == ViolationCase.Status.REPORTED
    assert not Penalty.objects.exists()


def test_a_reason_is_required_to_confirm_or_dismiss(case: ViolationCase,
                                                    personas: dict[str, User]) -> None:
    credit = Actor.for_user(personas["credit_manager"])
    before = snapshot()
    for decide in (cases.confirm, cases.dismiss):
        with pytest.raises(ValidationFailed) as refused:
            decide(credit, case, reason="  ")
        assert refused.value.field == "reason"
    assert snapshot() == before


# --- dates and identities ---------------------------------------------------------------------


def test_a_violation_in_the_future_is_refused(customer: Customer, am: Actor) -> None:
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused:
        cases.report(am, customer, violation_type="LATE_PAYMENT",
                     occurred_on=clock.today() + dt.timedelta(days=1), description="未来")
    assert refused.value.field == "occurred_on"
    assert snapshot() == before


def test_an_external_id_of_another_customer_is_a_conflict(
        customer: Customer, am: Actor, personas: dict[str, User],
        bearer_for: Callable[[User], dict[str, str]]) -> None:
    other = customer_on_credit(personas, name="另一个客户", manager="account_manager")
    cases.report(am, customer, violation_type="LATE_PAYMENT", occurred_on=_yesterday(),
                 description="首次", source="crm", external_id="V-1")
    headers = bearer_for(personas["account_manager"])
    before = snapshot()
    with pytest.raises(Conflict) as refused:
        cases.report(am, other, violation_type="LATE_PAYMENT", occurred_on=_yesterday(),
                     description="他人", source="crm", external_id="V-1")
    assert refused.value.field == "external_id"
    response = Client().post("/api/v1/conduct/cases", {
        "customer": other.code, "violation_type": "LATE_PAYMENT",
        "occurred_on": _yesterday().isoformat(), "description": "他人", "source": "crm",
        "external_id": "V-1"}, content_type="application/json", **headers)
    assert response.status_code == 409
    assert _problem_fields(response) == ["external_id"]
    assert snapshot() == before


# --- the same incident twice ------------------------------------------------------------------


def test_the_same_incident_twice_is_one_case(customer: Customer, am: Actor,
                                             personas: dict[str, User]) -> None:
    first = cases.report(am, customer, violation_type="LATE_PAYMENT", occurred_on=_yesterday(),
                         description="首次上报")
    before = snapshot()
    again = cases.report(Actor.for_user(personas["customer_service"]), customer,
                         violation_type="late_payment", occurred_on=_yesterday(),
                         description="重复上报")
    assert first.created and not again.created
    assert again.case.pk == first.case.pk
    assert snapshot() == before


def test_the_same_incident_twice_over_the_api(customer: Customer, personas: dict[str, User],
                                              bearer_for: Callable[[User], dict[str, str]],
                                              ) -> None:
    client = Client()
    headers = bearer_for(personas["account_manager"])
    body = {"customer": customer.code, "violation_type": "LATE_PAYMENT",
            "occurred_on": _yesterday().isoformat(), "description": "接口上报",
            "source": "crm", "external_id": "CRM-77"}
    first = client.post("/api/v1/conduct/cases", body, content_type="application/json",
                        **headers)
    assert first.status_code == 201 and first.json()["created"] is True
    before = snapshot()
    again = client.post("/api/v1/conduct/cases", body, content_type="application/json",
                        **headers)
    assert again.status_code == 200
    assert again.json()["created"] is False and again.json()["id"] == first.json()["id"]
    # the same (source, external_id) on another day is still the same report
    moved = client.post("/api/v1/conduct/cases", body | {
        "occurred_on": (_yesterday() - dt.timedelta(days=1)).isoformat()},
        content_type="application/json", **headers)
    assert moved.status_code == 200 and moved.json()["id"] == first.json()["id"]
    assert snapshot() == before


def test_the_same_incident_twice_on_the_report_form_shows_the_existing_case(
        customer: Customer, am: Actor, media: Path, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    first = cases.report(am, customer, violation_type="LATE_PAYMENT", occurred_on=_yesterday(),
                         description="首次上报").case
    before = snapshot()
    response = client_for(personas["customer_service"]).post("/conduct/cases/new/", {
        "customer": customer.code, "violation_type": "LATE_PAYMENT",
        "occurred_on": _yesterday().isoformat(), "description": "重复上报",
        "files": [upload()]}, follow=True)
    assert response.redirect_chain[-1][0] == f"/conduct/cases/{first.pk}/"
    assert f"#{first.pk}".encode() in response.content
    assert snapshot() == before
    assert stored_files(media) == []
    assert not Evidence.objects.exists()
