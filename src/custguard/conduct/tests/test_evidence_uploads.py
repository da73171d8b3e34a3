"""Evidence uploads are judged by their content (issue 9): a program renamed .pdf or a PNG
declared as a PDF is refused naming `file`, with nothing stored; a good file is stored under a
generated name whatever it was called (a path in the name goes nowhere); downloads are
attachments with an RFC 5987 name and `nosniff`. The sniffing itself is tested in
core/tests/test_filetypes.py."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from custguard.conduct.models import Evidence, ViolationCase
from custguard.conduct.services import cases
from custguard.conduct.tests.cases_support import PDF, snapshot, stored_files, upload, use_tmp_media
from custguard.conduct.tests.support import customer_on_credit
from custguard.core import clock, limits
from custguard.core.actors import Actor
from custguard.core.errors import ValidationFailed
from custguard.core.models import User

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR photo"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00 This program cannot be run in DOS mode."
STORED = re.compile(r"^evidence/\d{4}/\d{2}/[0-9a-f]{32}\.pdf$")


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    return use_tmp_media(settings, tmp_path)


@pytest.fixture
def case(regions: None, personas: dict[str, User]) -> ViolationCase:
    customer = customer_on_credit(personas, manager="account_manager")
    return cases.report(Actor.for_user(personas["account_manager"]), customer,
                        violation_type="CROSS_REGION_SALES",
                        occurred_on=clock.today() - dt.timedelta(days=1),
                        description="窜货").case


@pytest.fixture
def headers(personas: dict[str, User],
            bearer_for: Callable[[User], dict[str, str]]) -> dict[str, str]:
    return bearer_for(personas["account_manager"])


def _post(case: ViolationCase, headers: dict[str, str], file: Any, note: str = "",
          language: str = "en") -> Any:
    return Client().post(f"/api/v1/conduct/cases/{case.pk}/evidence",
                         {"file": file, "note": note}, HTTP_ACCEPT_LANGUAGE=language,
                         **headers)


def _refusal(response: Any) -> tuple[str, str]:
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    [error] = response.json()["errors"]
    return error["field"], error["reason"]


def test_a_program_renamed_pdf_is_refused(case: ViolationCase, media: Path,
                                          headers: dict[str, str]) -> None:
    before = snapshot()
    field, reason = _refusal(_post(case, headers, upload("发票.pdf", EXE, "application/pdf")))
    assert field == "file"
    assert reason == "the file is a Windows program; programs and scripts are not accepted"
    assert snapshot() == before and stored_files(media) == []


def test_the_refusal_speaks_the_callers_language(case: ViolationCase, media: Path,
                                                 headers: dict[str, str]) -> None:
    response = _post(case, headers, upload("发票.pdf", EXE), language="zh-hans")
    field, reason = _refusal(response)
    assert field == "file" and "程序" in reason


def test_a_png_declared_as_a_pdf_is_refused(case: ViolationCase, media: Path,
                                            headers: dict[str, str]) -> None:
    before = snapshot()
    declared = _refusal(_post(case, headers, upload("现场照片.png", PNG, "application/pdf")))
    assert declared == ("file", "the file was sent as application/pdf but its content is a "
                                "PNG image")
    renamed = _refusal(_post(case, headers, upload("现场照片.pdf", PNG, "application/pdf")))
    assert renamed == ("file", "the file is named .pdf but its content is a PNG image")
    assert snapshot() == before and stored_files(media) == []


def test_a_good_pdf_is_accepted_and_stored_under_a_generated_name(
        case: ViolationCase, media: Path, headers: dict[str, str]) -> None:
    response = _post(case, headers, upload("物流单.pdf", PDF, "application/pdf"), note="物流")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["file_name"], body["content_type"]) == ("物流单.pdf", "application/pdf")
    evidence = Evidence.objects.get()
    assert STORED.match(evidence.file.name), evidence.file.name
    assert stored_files(media) == [evidence.file.name]
    assert Path(evidence.file.path).read_bytes() == PDF


@pytest.mark.parametrize("name", ["../../x.pdf", "..\\..\\x.pdf", "/etc/x.pdf"])
def test_a_path_in_the_name_goes_nowhere(name: str, case: ViolationCase, media: Path,
                                         personas: dict[str, User]) -> None:
    evidence = cases.add_evidence(Actor.for_user(personas["account_manager"]), case,
                                  upload(name, PDF))
    assert evidence.original_name == "x.pdf"
    assert STORED.match(evidence.file.name)
    assert stored_files(media) == [evidence.file.name]
    assert not (media.parent / "x.pdf").exists() and not (media / "x.pdf").exists()


def test_a_program_renamed_pdf_is_refused_on_the_case_page(
        case: ViolationCase, media: Path, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    before = snapshot()
    response = client_for(personas["account_manager"]).post(
        f"/conduct/cases/{case.pk}/evidence/", {"evidence-file": upload("发票.pdf", EXE)},
        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert b'data-field-error="evidence-file"' in response.content
    assert "programs and scripts are not accepted" in response.content.decode()
    assert snapshot() == before and stored_files(media) == []


def test_downloads_are_attachments_that_browsers_do_not_sniff(
        case: ViolationCase, media: Path, headers: dict[str, str]) -> None:
    created = _post(case, headers, upload("现场照片.png", PNG, "image/png")).json()
    response = Client().get(created["download_url"], **headers)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == (
        f"attachment; filename=\"evidence-{created['id']}.png\"; "
        "filename*=utf-8''%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87.png")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_an_evidence_note_is_bounded(case: ViolationCase, media: Path,
                                     headers: dict[str, str], personas: dict[str, User]) -> None:
    before = snapshot()
    over = _refusal(_post(case, headers, upload(), note="记" * (limits.SHORT_TEXT + 1)))
    assert over[0] == "note"
    with pytest.raises(ValidationFailed) as refused, translation.override("en"):
        cases.add_evidence(Actor.for_user(personas["account_manager"]), case, upload(),
                           note="记" * (limits.SHORT_TEXT + 1))
    assert refused.value.field == "note"
    assert snapshot() == before and stored_files(media) == []
    at_limit = _post(case, headers, upload(), note="记" * limits.SHORT_TEXT)
    assert at_limit.status_code == 201
    assert Evidence.objects.get().note == "记" * limits.SHORT_TEXT
