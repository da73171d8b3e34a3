"""Notices: the letter in Chinese and English, the PDF with the CJK font and the Chinese text in
it, the e-mail sent after commit with the PDF attached (never for a rolled-back approval), a
failed e-mail recorded on the notice, delivery by post and "send again" once an address is on
file, the customer's response recorded once, and the notice pages."""

from __future__ import annotations

import base64
import datetime as dt
import re
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from django.utils import timezone

from custguard.conduct.models import Notice, Penalty
from custguard.conduct.services import notices, penalties
from custguard.conduct.tests.support import (
    active_penalty,
    confirmed_case,
    customer_on_credit,
    publish_default_policy,
)
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.customers.models import Contact

pytestmark = pytest.mark.django_db


# --- reading the PDF without a PDF library --------------------------------------------------


def _unescape(literal: bytes) -> bytes:
    """A PDF literal string's bytes (the escapes reportlab writes)."""
    out, i = bytearray(), 0
    while i < len(literal):
        char = literal[i]
        if char != 0x5C:  # backslash
            out.append(char)
            i += 1
            continue
        nxt = literal[i + 1:i + 2]
        if nxt.isdigit():
            digits = re.match(rb"[0-7]{1,3}", literal[i + 1:i + 4])
            assert digits is not None
            out.append(int(digits.group(), 8) & 0xFF)
            i += 1 + len(digits.group())
            continue
        out += {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}.get(nxt, nxt)
        i += 2
    return bytes(out)


def _streams(pdf: bytes) -> list[bytes]:
    found = []
    for match in re.finditer(rb"/Length (\d+)\s*>>\s*stream\r?\n", pdf):
        raw = pdf[match.end():match.end() + int(match.group(1))].strip()
        header = pdf[max(0, match.start() - 200):match.start()]
        if b"ASCII85Decode" in header:
            raw = base64.a85decode(raw[:-2] if raw.endswith(b"~>") else raw)
        if b"FlateDecode" in header:
            raw = zlib.decompress(raw)
        found.append(raw)
    return found


def pdf_text(pdf: bytes) -> str:
    """The text the PDF draws with the CJK font (UniGB-UCS2-H: UTF-16 big-endian strings),
    in drawing order, without separators (the CJK line breaks may split any phrase)."""
    fonts = dict(re.findall(rb"/BaseFont /([\w-]+) .*?/Name /(F\d+)", pdf, re.S))
    cjk = {name for base, name in fonts.items() if base == b"STSong-Light"}
    text = []
    for stream in _streams(pdf):
        font = b""
        for token in re.finditer(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj", stream, re.S):
            if token.group(1):
                font = token.group(1)
            elif font in cjk:
                text.append(_unescape(token.group(2)).decode("utf-16-be"))
    return "".join(text)


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def customer(regions: None, personas: dict[str, User]) -> Any:
    return customer_on_credit(personas, name="华东示范经销商")


def _approve(personas: dict[str, User], penalty: Penalty, language: str = "zh-hans") -> Notice:
    penalties.approve(Actor.for_user(personas["credit_manager"]), penalty, language=language)
    return Notice.objects.get(penalty=penalty)


def _proposed(personas: dict[str, User], customer: Any, **kwargs: Any) -> Penalty:
    _case, penalty = confirmed_case(personas, customer, **kwargs)
    assert penalty is not None
    return penalty


# --- the letter -----------------------------------------------------------------------------


def test_the_chinese_letter_says_what_was_found_the_evidence_the_measures_and_the_deadlines(
        customer: Any, personas: dict[str, User],
        django_capture_on_commit_callbacks: Callable[..., Any]) -> None:
    penalty = _proposed(personas, customer, violation_type="CROSS_REGION_SALES", evidence=True)
    with django_capture_on_commit_callbacks(execute=True):
        notice = _approve(personas, penalty)
    body = notice.body_html
    assert notice.language == "zh-hans"
    assert '<html lang="zh-hans">' in body
    assert "跨区域窜货" in body  # the violation, from the policy's Chinese description
    assert "一般违规，款到发货90天并处违约金" in body  # the ladder step
    assert "款到发货" in body  # the measure's label
    assert "证据.pdf" in body and notice.penalty.case.evidence.get().sha256[:16] in body
    assert "5,000.00 CNY" in body  # the fine with its currency
    start = clock.today()
    assert start.isoformat() in body
    assert (start + dt.timedelta(days=90)).isoformat() in body  # the period's end
    assert (start + dt.timedelta(days=30)).isoformat() in body  # rectify by
    assert notice.response_due_on.isoformat() in body
    assert notice.appeal_deadline.isoformat() in body
    assert notice.reference in body
    document = publish_default_policy()
    assert notice.response_due_on == start + dt.timedelta(
        days=document.conduct.notice_response_days)
    assert notice.appeal_deadline > start


def test_the_english_letter_is_written_in_english(
        customer: Any, personas: dict[str, User]) -> None:
    penalty = _proposed(personas, customer, violation_type="CROSS_REGION_SALES", evidence=True)
    notice = _approve(personas, penalty, language="en")
    body = notice.body_html
    assert notice.language == "en" and '<html lang="en">' in body
    for text in ("What we found", "The evidence", "The measures taken and their period",
                 "How to put it right", "Your response and your right to appeal",
                 "Selling goods outside the authorised region",
                 "A major violation; prepayment only for 90 days and a fine",
                 "Prepayment only", "Fine: 5,000.00 CNY", "Dear 华东示范经销商",
                 "Yours faithfully"):
        assert text in body, text
    assert "跨区域窜货" not in body
    assert notice.subject.startswith("Notice of measures taken: 华东示范经销商")


def test_a_notice_in_another_language_is_refused_and_nothing_is_written(
        customer: Any, personas: dict[str, User]) -> None:
    penalty = _proposed(personas, customer)
    before = (Notice.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ValidationFailed) as refused:
        penalties.approve(Actor.for_user(personas["credit_manager"]), penalty, language="fr")
    assert refused.value.field == "language"
    assert (Notice.objects.count(), AuditEntry.objects.count()) == before
    assert Penalty.objects.get(pk=penalty.pk).status == Penalty.Status.PROPOSED


def test_the_pdf_carries_the_cjk_font_and_the_chinese_text(
        customer: Any, personas: dict[str, User]) -> None:
    notice = _approve(personas, _proposed(personas, customer,
                                          violation_type="CROSS_REGION_SALES", evidence=True))
    data = notice.pdf.read()
    assert data.startswith(b"%PDF-") and len(data) > 3000
    assert b"/BaseFont /STSong-Light" in data and b"/Encoding /UniGB-UCS2-H" in data
    text = pdf_text(data)
    for phrase in ("跨区域窜货", "华东示范经销商", "款到发货", notice.reference,
                   notice.response_due_on.isoformat(), "证据.pdf"):
        assert phrase in text, phrase


def test_the_english_pdf_has_the_english_text(customer: Any, personas: dict[str, User]) -> None:
    notice = _approve(personas, _proposed(personas, customer), language="en")
    text = pdf_text(notice.pdf.read())
    assert "Statement reconciliation or delivery receipts not returned on time" in text
    assert "Yours faithfully," in text


def test_plain_text_and_page_fragment_of_the_letter(customer: Any,
                                                    personas: dict[str, User]) -> None:
    notice = _approve(personas, _proposed(personas, customer), language="en")
    fragment = notices.letter_fragment(notice.body_html)
    assert "<html" not in fragment and "<style" not in fragment
    assert fragment.strip().startswith('<article class="notice-letter"')
    text = notices.plain_text(notice.body_html)
    assert "<" not in text and "What we found" in text and notice.reference in text


# --- delivery -------------------------------------------------------------------------------


def test_the_email_goes_out_after_commit_with_the_pdf_attached(
        customer: Any, personas: dict[str, User],
        django_capture_on_commit_callbacks: Callable[..., Any]) -> None:
    penalty = _proposed(personas, customer)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notice = _approve(personas, penalty)
        assert mail.outbox == []  # nothing is sent inside the transaction
    assert Notice.objects.get(pk=notice.pk).delivered_at is None
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["buyer@example.com"]
    assert message.subject == notice.subject
    assert message.extra_headers["X-Custguard-Notice"] == notice.reference
    name, content, mimetype = message.attachments[0]
    assert name == f"{notice.reference}.pdf" and mimetype == "application/pdf"
    assert content.startswith(b"%PDF-")
    assert message.alternatives[0][1] == "text/html"
    assert "华东示范经销商" in message.body  # the plain-text part
    stored = Notice.objects.get(pk=notice.pk)
    assert stored.delivery == Notice.Delivery.SENT and stored.delivered_at is not None
    assert AuditEntry.objects.filter(action="conduct.notice_sent",
                                     object_id=str(notice.pk)).count() == 1


def test_no_email_when_the_approval_rolls_back(
        customer: Any, personas: dict[str, User],
        django_capture_on_commit_callbacks: Callable[..., Any]) -> None:
    penalty = _proposed(personas, customer)
    with (django_capture_on_commit_callbacks(execute=True) as callbacks,
          pytest.raises(RuntimeError), transaction.atomic()):
        _approve(personas, penalty)
        raise RuntimeError("the caller failed after the approval")
    assert callbacks == [] and mail.outbox == []
    assert not Notice.objects.filter(penalty=penalty).exists()
    assert Penalty.objects.get(pk=penalty.pk).status == Penalty.Status.PROPOSED


def test_a_customer_without_an_address_is_notified_by_post(
        regions: None, personas: dict[str, User],
        django_capture_on_commit_callbacks: Callable[..., Any]) -> None:
    customer = customer_on_credit(personas, name="无邮箱客户", email="")
    with django_capture_on_commit_callbacks(execute=True):
        notice = Notice.objects.get(penalty=active_penalty(personas, customer))
    assert mail.outbox == []
    assert notice.delivery == Notice.Delivery.NO_ADDRESS and notice.recipient == ""
    assert notice.pdf.size > 1000  # the letter to print and post


def test_a_failed_email_is_recorded_on_the_notice_and_can_be_sent_again(
        customer: Any, personas: dict[str, User], settings: Any,
        django_capture_on_commit_callbacks: Callable[..., Any]) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    with django_capture_on_commit_callbacks(execute=True):
        notice = Notice.objects.get(penalty=active_penalty(personas, customer))
    notice.refresh_from_db()
    assert notice.delivery == Notice.Delivery.FAILED and notice.delivered_at is None
    assert notice.delivery_error
    assert AuditEntry.objects.filter(action="conduct.notice_failed").count() == 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cs = Actor.for_user(personas["customer_service"])
    with django_capture_on_commit_callbacks(execute=True):
        notices.resend(cs, notice)
    notice.refresh_from_db()
    assert notice.delivery == Notice.Delivery.SENT and notice.delivered_at is not None
    assert notice.delivery_error == "" and len(mail.outbox) == 1
    with pytest.raises(Conflict):  # sent now: nothing to send again
        notices.resend(cs, notice)


def test_resending_needs_an_address_and_the_permission(
        regions: None, personas: dict[str, User],
        django_capture_on_commit_callbacks: Callable[..., Any]) -> None:
    customer = customer_on_credit(personas, name="补充邮箱客户", email="")
    notice = Notice.objects.get(penalty=active_penalty(personas, customer))
    cs = Actor.for_user(personas["customer_service"])
    before = list(Notice.objects.values())
    with pytest.raises(ValidationFailed) as refused:
        notices.resend(cs, notice)
    assert refused.value.field == "recipient"
    with pytest.raises(PermissionRefused):
        notices.resend(Actor.for_user(personas["finance"]), notice)
    assert list(Notice.objects.values()) == before
    Contact.objects.create(customer=customer, name="赵敏", email="zhao@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        sent = notices.resend(cs, notice)
    assert sent.recipient == "zhao@example.com" and mail.outbox[0].to == ["zhao@example.com"]
    assert Notice.objects.get(pk=notice.pk).delivered_at is not None


# --- the customer's response ----------------------------------------------------------------


def test_the_response_is_recorded_once_with_its_time(customer: Any,
                                                     personas: dict[str, User]) -> None:
    notice = Notice.objects.get(penalty=active_penalty(personas, customer))
    am = Actor.for_user(personas["account_manager"])
    received = notice.created_at + dt.timedelta(hours=2)
    with clock.frozen_at(notice.created_at + dt.timedelta(hours=5)):
        recorded = notices.record_response(am, notice, response="  已收到，将于月底前整改  ",
                                           responded_at=received)
    assert recorded.response == "已收到，将于月底前整改" and recorded.responded_at == received
    assert recorded.response_recorded_by == "account_manager"
    entries = AuditEntry.objects.filter(action="conduct.notice_response")
    assert entries.count() == 1 and entries.get().after["late"] is False
    before = list(Notice.objects.values())
    with pytest.raises(Conflict) as refused:
        notices.record_response(am, recorded, response="第二次回复")
    assert refused.value.field == "response"
    assert list(Notice.objects.values()) == before
    assert entries.count() == 1


@pytest.mark.parametrize(("response", "when", "field"), [
    ("   ", None, "response"),
    ("ok", "future", "responded_at"),
    ("ok", "before", "responded_at"),
    ("ok", "naive", "responded_at"),
])
def test_a_bad_response_is_refused_and_nothing_changes(
        customer: Any, personas: dict[str, User], response: str, when: str | None,
        field: str) -> None:
    notice = Notice.objects.get(penalty=active_penalty(personas, customer))
    moments = {None: None, "future": clock.now() + dt.timedelta(hours=1),
               "before": notice.created_at - dt.timedelta(days=1),
               "naive": dt.datetime(2020, 1, 1, 12, 0)}
    before = (list(Notice.objects.values()), AuditEntry.objects.count())
    with pytest.raises(ValidationFailed) as refused:
        notices.record_response(Actor.for_user(personas["credit_manager"]), notice,
                                response=response, responded_at=moments[when])
    assert refused.value.field == field
    assert (list(Notice.objects.values()), AuditEntry.objects.count()) == before


def test_a_late_response_is_marked_late(customer: Any, personas: dict[str, User]) -> None:
    notice = Notice.objects.get(penalty=active_penalty(personas, customer))
    later = timezone.now() + dt.timedelta(days=20)
    with clock.frozen_at(later):
        assert notices.is_overdue(notice)
        recorded = notices.record_response(Actor.for_user(personas["customer_service"]), notice,
                                           response="迟到的回复")
    assert notices.responded_late(recorded)
    assert AuditEntry.objects.get(action="conduct.notice_response").after["late"] is True


def test_recording_a_response_needs_the_permission(customer: Any,
                                                   personas: dict[str, User]) -> None:
    notice = Notice.objects.get(penalty=active_penalty(personas, customer))
    with pytest.raises(PermissionRefused):
        notices.record_response(Actor.for_user(personas["auditor"]), notice, response="x")
    assert Notice.objects.get(pk=notice.pk).responded_at is None


# --- pages and API ----------------------------------------------------------------------------


def test_the_notice_page_shows_the_letter_and_streams_the_pdf(
        customer: Any, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    notice = Notice.objects.get(penalty=active_penalty(personas, customer))
    client = client_for(personas["customer_service"])
    page = client.get(f"/conduct/notices/{notice.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<article class="notice-letter"' in html  # the letter itself, not escaped
    assert "<!doctype" not in html.lower().split("<!doctype html>", 1)[1]
    assert "b***@example.com" in html and "buyer@example.com" not in html  # masked for CS
    pdf = client.get(f"/conduct/notices/{notice.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert f'filename="{notice.reference}.pdf"' in pdf["Content-Disposition"]
    assert b"".join(pdf.streaming_content).startswith(b"%PDF-")
    api = client.get(f"/api/v1/conduct/notices/{notice.pk}/pdf")
    assert api.status_code == 200 and api["Content-Type"] == "application/pdf"


def test_the_response_form_shows_field_errors_and_changes_nothing(
        customer: Any, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    notice = Notice.objects.get(penalty=active_penalty(personas, customer))
    client = client_for(personas["account_manager"])
    before = list(Notice.objects.values())
    future = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    page = client.post(f"/conduct/notices/{notice.pk}/response/",
                       {"response-response": "回复", "response-responded_at": future})
    assert page.status_code == 200
    assert 'data-field-error="response-responded_at"' in page.content.decode()
    page = client.post(f"/conduct/notices/{notice.pk}/response/",
                       {"response-response": "", "response-responded_at": ""})
    assert 'data-field-error="response-response"' in page.content.decode()
    assert list(Notice.objects.values()) == before
    done = client.post(f"/conduct/notices/{notice.pk}/response/",
                       {"response-response": "客户同意整改", "response-responded_at": ""})
    assert done.status_code == 302
    assert Notice.objects.get(pk=notice.pk).response == "客户同意整改"


def test_the_queue_marks_overdue_notices(customer: Any, personas: dict[str, User],
                                         client_for: Callable[[User], Client]) -> None:
    notice = Notice.objects.get(penalty=active_penalty(personas, customer))
    client = client_for(personas["credit_manager"])
    with clock.frozen_at(timezone.now() + dt.timedelta(days=30)):
        page = client.get("/conduct/notices/").content.decode()
        assert 'data-response="overdue"' in page and 'data-testid="overdue-notices"' in page
        overdue = client.get("/conduct/notices/", {"state": "overdue"}).content.decode()
        assert f'data-notice="{notice.pk}"' in overdue
        api = client.get("/api/v1/conduct/notices", {"state": "overdue"}).json()
        assert [item["reference"] for item in api["items"]] == [notice.reference]
        assert api["items"][0]["overdue"] is True
    responded = client.get("/conduct/notices/", {"state": "responded"}).content.decode()
    assert f'data-notice="{notice.pk}"' not in responded


def test_the_api_records_the_response_once(customer: Any, personas: dict[str, User],
                                           bearer_for: Callable[[User], dict[str, str]]) -> None:
    notice = Notice.objects.get(penalty=active_penalty(personas, customer))
    headers = bearer_for(personas["customer_service"])
    client = Client()
    url = f"/api/v1/conduct/notices/{notice.pk}/response"
    first = client.post(url, {"response": "接受"}, content_type="application/json", **headers)
    assert first.status_code == 200 and first.json()["response"] == "接受"
    assert first.json()["recipient"] == "b***@example.com"
    again = client.post(url, {"response": "再次"}, content_type="application/json", **headers)
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "response"
    unknown = client.post(url, {"response": "x", "extra": 1}, content_type="application/json",
                          **headers)
    assert unknown.status_code == 422
