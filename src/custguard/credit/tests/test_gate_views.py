"""The credit-hold queue and the gate answers pages: what they show (reasons in plain language,
available credit, age), filters, sorting, paging, exports, scoping, and the decision form
(reason required, field errors, the decision recorded with who and why)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.credit.models import GateCheck, Reservation
from custguard.credit.services import gate
from custguard.customers.models import Customer

from .gate_support import (
    counters,
    group_counters,
    make_customer,
    make_group,
    publish_default_policy,
    snapshot,
)

pytestmark = pytest.mark.django_db

D = Decimal
ERP = Actor.system("erp")


def login(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def reserve(customer: Customer, amount: str, external_id: str) -> gate.GateAnswer:
    return gate.check(ERP, customer, amount, reserve=True, source="erp",
                      external_id=external_id)


def rows(html: str, attribute: str) -> list[str]:
    return re.findall(rf'<tr {attribute}="([^"]+)"', html)


@pytest.fixture
def world(personas: dict[str, User]) -> Iterator[dict[str, Any]]:
    """Two held orders, one allowed, one check-only answer; the test itself runs 30 hours
    after the first order (the clock is frozen there)."""
    publish_default_policy()
    start = clock.now()
    own = make_customer("页面客户", limit="1000.00", account_manager=personas["account_manager"])
    parent = make_customer("页面母公司", limit="50000.00")
    member = make_customer("页面子公司", limit="50000.00")
    group = make_group("页面集团", parent, [member], limit="8000.00")
    old = reserve(own, "1200.00", "SO-OLD").reservation  # 200 over the limit: held
    with clock.frozen_at(start + dt.timedelta(hours=29, minutes=55)):
        new = reserve(member, "9000.00", "SO-NEW").reservation  # over the group limit
        reserve(member, "100.00", "SO-OK")  # allowed
        gate.check(ERP, own, "50.00")  # a check-only answer
    with clock.frozen_at(start + dt.timedelta(hours=30)):
        yield {"own": own, "member": member, "group": group, "old": old, "new": new}


# --- the queue --------------------------------------------------------------------------------


def test_the_queue_shows_held_orders_with_reasons_available_credit_and_age(
        world: dict[str, Any], personas: dict[str, User]) -> None:
    response = login(personas["credit_manager"]).get(reverse("credit:holds"))
    assert response.status_code == 200
    html = response.content.decode()
    old, new = world["old"], world["new"]
    # longest waiting first
    assert rows(html, "data-reservation") == [str(old.pk), str(new.pk)]
    assert "Limit exceeded by 150.00 (available 1,000.00" in html
    assert "Group limit exceeded by 600.00 (group available 8,000.00" in html
    assert 'data-reason="GROUP_LIMIT_EXCEEDED"' in html
    assert "1\xa0day, 5\xa0hours" in html  # the old order's age (29 h 59 min)
    assert "7,900.00" in html  # the group's available credit now
    assert "2 orders on hold" in html
    assert reverse("credit:hold_detail", args=[old.pk]) in html


def test_the_queue_filters_by_customer_and_age_and_sorts(world: dict[str, Any],
                                                         personas: dict[str, User]) -> None:
    client = login(personas["credit_manager"])
    url = reverse("credit:holds")
    old, new = world["old"], world["new"]
    by_code = client.get(url, {"customer": world["member"].code}).content.decode()
    assert rows(by_code, "data-reservation") == [str(new.pk)]
    by_name = client.get(url, {"customer": "页面客户"}).content.decode()
    assert rows(by_name, "data-reservation") == [str(old.pk)]
    by_age = client.get(url, {"age": "24"}).content.decode()
    assert rows(by_age, "data-reservation") == [str(old.pk)]
    by_amount = client.get(url, {"sort": "-amount"}).content.decode()
    assert rows(by_amount, "data-reservation") == [str(new.pk), str(old.pk)]
    partial = client.get(url, {"sort": "amount"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial
    assert rows(partial, "data-reservation") == [str(old.pk), str(new.pk)]


def test_the_queue_paginates(world: dict[str, Any], personas: dict[str, User],
                             settings: Any) -> None:
    settings.CUSTGUARD_PAGE_SIZE = 1
    client = login(personas["credit_manager"])
    first = client.get(reverse("credit:holds")).content.decode()
    second = client.get(reverse("credit:holds"), {"page": 2}).content.decode()
    assert rows(first, "data-reservation") == [str(world["old"].pk)]
    assert rows(second, "data-reservation") == [str(world["new"].pk)]


def test_an_account_manager_sees_only_the_holds_of_their_customers(
        world: dict[str, Any], personas: dict[str, User]) -> None:
    own = login(personas["account_manager"]).get(reverse("credit:holds")).content.decode()
    assert rows(own, "data-reservation") == [str(world["old"].pk)]
    other = login(personas["account_manager_2"]).get(reverse("credit:holds")).content.decode()
    assert rows(other, "data-reservation") == []
    detail = reverse("credit:hold_detail", args=[world["new"].pk])
    assert login(personas["account_manager"]).get(detail).status_code == 404


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_queue_exports_as_filtered(world: dict[str, Any], personas: dict[str, User],
                                       fmt: str) -> None:
    response = login(personas["auditor"]).get(reverse("credit:hold_export"),
                                               {"format": fmt, "age": "1"})
    assert response.status_code == 200
    if fmt == "csv":
        table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    else:
        sheet = load_workbook(io.BytesIO(response.content)).active
        table = [[cell if cell is not None else "" for cell in row]
                 for row in sheet.iter_rows(values_only=True)]
    header, *data = table
    assert header[:4] == ["customer code", "customer", "amount", "reasons"]
    assert len(data) == 1
    row = dict(zip(header, data[0], strict=True))
    assert row["customer code"] == world["own"].code
    assert D(str(row["amount"])) == D("1200.00")
    assert row["reason codes"] == "LIMIT_EXCEEDED"
    assert str(row["reasons"]).startswith("Limit exceeded by 150.00")
    assert D(str(row["available credit now"])) == D("1000.00")
    assert D(str(row["hours waiting"])) >= D("30.0")
    assert login(personas["auditor"]).get(reverse("credit:hold_export"),
                                          {"format": "pdf"}).status_code == 404


# --- deciding ---------------------------------------------------------------------------------


def test_the_detail_page_shows_the_reasons_and_the_decision_form(
        world: dict[str, Any], personas: dict[str, User]) -> None:
    url = reverse("credit:hold_detail", args=[world["new"].pk])
    html = login(personas["credit_manager"]).get(url).content.decode()
    assert 'data-reason="GROUP_LIMIT_EXCEEDED"' in html
    assert 'data-testid="decision-form"' in html and "data-confirm=" in html
    assert "7,900.00" in html  # the group's available credit now
    # a reader without the permission sees the order but no form
    auditor = login(personas["auditor"]).get(url).content.decode()
    assert 'data-reason="GROUP_LIMIT_EXCEEDED"' in auditor
    assert 'data-testid="decision-form"' not in auditor


def test_the_history_and_the_customer_timeline_show_the_gate_s_codes_in_words(
        world: dict[str, Any], personas: dict[str, User]) -> None:
    """Audit actions, the gate's outcome and its reasons are shown by their labels; the codes
    stay in data attributes."""
    client = login(personas["credit_manager"])
    detail = client.get(reverse("credit:hold_detail", args=[world["old"].pk])).content.decode()
    assert '<span data-action="gate.hold">Order put on credit hold</span>' in detail
    page = client.get(reverse("customers:detail", args=[world["own"].code])).content.decode()
    assert "Order put on credit hold" in page
    assert "Limit exceeded by 150.00 (available 1,000.00" in page
    assert "LIMIT_EXCEEDED" not in page and "code=" not in page
    # in Chinese (the default), so that a label cannot be mistaken for its code
    chinese = Client()
    chinese.force_login(personas["credit_manager"])
    page = chinese.get(reverse("customers:detail", args=[world["own"].code])).content.decode()
    outcome = re.search(r'data-field="outcome">([^<]*)</dt>\s*<dd[^>]*>(.*?)</dd>', page)
    assert outcome is not None and outcome.groups() == ("结果", "冻结待审")
    assert "订单冻结待审" in page and "超出信用额度 150.00" in page


@pytest.mark.parametrize(("data", "errors"), [
    ({"decision": "approve", "reason": "  "}, ["reason"]),
    ({"decision": "approve"}, ["reason"]),
    ({"reason": "可以"}, ["decision"]),
    ({"decision": "maybe", "reason": "可以"}, ["decision"]),
])
def test_a_decision_without_its_fields_shows_field_errors_and_changes_nothing(
        world: dict[str, Any], personas: dict[str, User], data: dict[str, str],
        errors: list[str]) -> None:
    before = snapshot()
    response = login(personas["credit_manager"]).post(
        reverse("credit:hold_decide", args=[world["new"].pk]), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert re.findall(r'data-field-error="(\w+)"', html) == errors
    assert snapshot() == before


def test_approving_reserves_the_amount_and_records_who_and_why(
        world: dict[str, Any], personas: dict[str, User]) -> None:
    member, new = world["member"], world["new"]
    client = login(personas["credit_manager"])
    response = client.post(reverse("credit:hold_decide", args=[new.pk]),
                           {"decision": "approve", "reason": "集团担保"})
    assert response.status_code == 302 and response["Location"] == reverse("credit:holds")
    reservation = Reservation.objects.get(pk=new.pk)
    assert reservation.status == "pending"
    assert reservation.decided_by == personas["credit_manager"]
    assert reservation.decision_reason == "集团担保"
    assert counters(member) == (D("0.00"), D("9100.00"))
    assert group_counters(world["group"]) == (D("0.00"), D("9100.00"))
    entry = AuditEntry.objects.get(action="gate.hold_approve")
    assert entry.actor_user == personas["credit_manager"] and entry.reason == "集团担保"
    followed = client.get(response["Location"]).content.decode()
    assert "approved" in followed
    assert rows(followed, "data-reservation") == [str(world["old"].pk)]
    detail = client.get(reverse("credit:hold_detail", args=[new.pk])).content.decode()
    assert 'data-status="pending"' in detail and "集团担保" in detail
    assert 'data-testid="decision-form"' not in detail


def test_rejecting_and_deciding_twice(world: dict[str, Any],
                                      personas: dict[str, User]) -> None:
    old = world["old"]
    client = login(personas["admin"])
    url = reverse("credit:hold_decide", args=[old.pk])
    assert client.post(url, {"decision": "reject", "reason": "逾期"}).status_code == 302
    assert Reservation.objects.get(pk=old.pk).status == "rejected"
    assert counters(world["own"]) == (D("0.00"), D("0.00"))
    before = snapshot()
    again = client.post(url, {"decision": "approve", "reason": "改主意"})
    assert again.status_code == 200
    assert "no longer on credit hold" in again.content.decode()
    assert snapshot() == before


# --- the gate answers page --------------------------------------------------------------------


def test_the_gate_answers_page_filters_by_customer_outcome_and_date(
        world: dict[str, Any], personas: dict[str, User]) -> None:
    client = login(personas["sales_manager"])
    url = reverse("credit:gate_checks")
    everything = client.get(url).content.decode()
    assert rows(everything, "data-outcome") == ["allow", "allow", "hold", "hold"]
    assert "4 answers" in everything
    held = client.get(url, {"outcome": "hold"}).content.decode()
    assert rows(held, "data-outcome") == ["hold", "hold"]
    assert "Limit exceeded by 150.00" in held
    own = client.get(url, {"customer": world["own"].code}).content.decode()
    assert rows(own, "data-outcome") == ["allow", "hold"]
    today = clock.today()
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    only_yesterday = client.get(url, {"date_from": yesterday, "date_to": yesterday})
    html = only_yesterday.content.decode()
    expected = GateCheck.objects.filter(at__date=today - dt.timedelta(days=1)).count()
    assert len(rows(html, "data-outcome")) == expected
    wrong = client.get(url, {"date_from": today.isoformat(),
                             "date_to": yesterday}).content.decode()
    assert 'data-field-error="date_to"' in wrong and rows(wrong, "data-outcome") == []
    by_amount = client.get(url, {"sort": "amount"}).content.decode()
    assert "50.00" in by_amount


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_gate_answers_export(world: dict[str, Any], personas: dict[str, User],
                                 fmt: str) -> None:
    response = login(personas["finance"]).get(reverse("credit:gate_check_export"),
                                              {"format": fmt, "outcome": "hold"})
    assert response.status_code == 200
    if fmt == "csv":
        table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    else:
        sheet = load_workbook(io.BytesIO(response.content)).active
        table = [list(row) for row in sheet.iter_rows(values_only=True)]
    header, *data = table
    assert len(data) == 2
    assert {row[header.index("reason codes")] for row in data} == {
        "LIMIT_EXCEEDED", "GROUP_LIMIT_EXCEEDED"}


def test_the_account_manager_sees_only_their_customers_answers(
        world: dict[str, Any], personas: dict[str, User]) -> None:
    html = login(personas["account_manager"]).get(reverse("credit:gate_checks")).content.decode()
    assert rows(html, "data-outcome") == ["allow", "hold"]
    html2 = login(personas["account_manager_2"]).get(
        reverse("credit:gate_checks")).content.decode()
    assert rows(html2, "data-outcome") == []


def test_the_pages_speak_chinese_by_default(world: dict[str, Any],
                                            personas: dict[str, User],
                                            client_for: Callable[[User], Client]) -> None:
    response = client_for(personas["credit_manager"]).get(reverse("credit:holds"))
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.content.decode()
