"""The classification pages: the approvals inbox (filters, sorting, paging through htmx, bulk
approve), a proposal's page (approve; reject with a note, and a reject without one refused on
the field with nothing changed), the reminders and their answer form, the monthly report (table,
chart, moves, a closed run's kept figures) with its XLSX export, "run now", the customer's class
page, the class card on the customer page and the navigation. The world is tests/world.py,
built once for the module."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from custguard.classification.models import (
    ClassChange,
    ClassificationRun,
    ClassProposal,
    ClassReminder,
    CustomerClass,
)
from custguard.classification.tests import world as class_world
from custguard.classification.tests.world import AFTER_DEADLINE, state
from custguard.classification.views.report import EXPORT_HEADERS
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.customers import services as customer_services
from custguard.customers.models import Region

pytestmark = pytest.mark.django_db

# The shared world's fixtures (tests/world.py).
_fixed_day = class_world._fixed_day
client_for = class_world.client_for
module_world = class_world.module_world
personas = class_world.personas
world = class_world.world

Get = Callable[[str], Client]


@pytest.fixture
def as_role(personas: dict[str, User], client_for: Callable[[User], Client]) -> Get:
    def client(role: str) -> Client:
        made = client_for(personas[role])
        made.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return made
    return client


def rows(html: str, attribute: str) -> list[str]:
    return re.findall(rf'{attribute}="([^"]+)"', html)


def abc(code: str) -> str:
    return CustomerClass.objects.get(customer__code=code).abc


# --- the approvals inbox ----------------------------------------------------------------------


def test_the_inbox_lists_the_waiting_moves_with_their_reasons(as_role: Get,
                                                              world: dict[str, Any]) -> None:
    response = as_role("sales_manager").get("/classification/proposals/")
    assert response.status_code == 200
    html = response.content.decode()
    assert sorted(rows(html, "data-proposal")) == sorted(
        [world["proposal"], world["proposal_up"], world["proposal_other"]])
    assert 'data-move="B-A"' in html and 'data-move="C-B"' in html and 'data-move="B-C"' in html
    assert "Ranked 1 of 10 in sales region 11" in html
    assert "5,050,000.00" in html  # paid sales as money
    assert 'data-testid="bulk-approve"' in html and 'data-testid="select"' in html


def test_an_account_manager_sees_only_their_customers_moves_and_cannot_decide(
        as_role: Get, world: dict[str, Any]) -> None:
    html = as_role("account_manager").get("/classification/proposals/").content.decode()
    assert sorted(rows(html, "data-proposal")) == sorted([world["proposal"],
                                                          world["proposal_up"]])
    assert 'data-testid="bulk-approve"' not in html
    colleague = as_role("account_manager_2").get("/classification/proposals/").content.decode()
    assert rows(colleague, "data-proposal") == [world["proposal_other"]]
    assert as_role("account_manager").get(
        f"/classification/proposals/{world['proposal_other']}/").status_code == 404


@pytest.mark.parametrize(("query", "expected"), [
    ("move=B-A", ["proposal"]),
    ("move=C-B", ["proposal_up"]),
    ("run=2025-06", []),
    ("run=2025-07&region=110000", ["proposal", "proposal_other", "proposal_up"]),
    ("region=440000", []),
    ("customer=分类客户03", ["proposal_other"]),
    ("status=approved", []),
])
def test_the_inbox_filters(as_role: Get, world: dict[str, Any], query: str,
                           expected: list[str]) -> None:
    html = as_role("sales_manager").get(f"/classification/proposals/?{query}").content.decode()
    assert sorted(rows(html, "data-proposal")) == sorted(world[key] for key in expected)


def test_the_inbox_sorts_and_pages_through_htmx(as_role: Get, world: dict[str, Any],
                                                settings: Any) -> None:
    settings.CUSTGUARD_PAGE_SIZE = 2
    client = as_role("sales_manager")
    first = client.get("/classification/proposals/?sort=-score", HTTP_HX_REQUEST="true")
    html = first.content.decode()
    assert "<html" not in html  # the results fragment only
    assert rows(html, "data-proposal") == [world["proposal"], world["proposal_up"]]  # 70, 38.89
    second = client.get("/classification/proposals/?sort=-score&page=2",
                        HTTP_HX_REQUEST="true").content.decode()
    assert rows(second, "data-proposal") == [world["proposal_other"]]


def test_approving_on_the_page_moves_the_customer(as_role: Get, world: dict[str, Any]) -> None:
    response = as_role("sales_manager").post(
        f"/classification/proposals/{world['proposal']}/approve/",
        {"note": "", "next": "/classification/proposals/"})
    assert response.status_code == 302 and response["Location"] == "/classification/proposals/"
    assert abc(world["customer_code"]) == "A"
    assert ClassProposal.objects.get(pk=world["proposal"]).status == "approved"
    assert ClassChange.objects.filter(proposal_id=world["proposal"], kind="approved").exists()


def test_a_reject_without_a_note_is_refused_on_the_field_and_changes_nothing(
        as_role: Get, world: dict[str, Any]) -> None:
    before = state()
    response = as_role("sales_manager").post(
        f"/classification/proposals/{world['proposal']}/reject/", {"note": "  "})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-field-error="note"' in html
    assert "say why" in html
    assert state() == before


def test_rejecting_with_a_note_keeps_the_class(as_role: Get, world: dict[str, Any]) -> None:
    response = as_role("sales_manager").post(
        f"/classification/proposals/{world['proposal']}/reject/", {"note": "增长不可持续"})
    assert response.status_code == 302
    proposal = ClassProposal.objects.get(pk=world["proposal"])
    assert (proposal.status, proposal.note) == ("rejected", "增长不可持续")
    assert abc(world["customer_code"]) == "B"
    page = as_role("sales_manager").get(f"/classification/proposals/{world['proposal']}/")
    html = page.content.decode()
    assert 'data-testid="decision-form"' not in html and "增长不可持续" in html


def test_deciding_twice_shows_the_conflict(as_role: Get, world: dict[str, Any]) -> None:
    client = as_role("sales_manager")
    client.post(f"/classification/proposals/{world['proposal']}/approve/", {})
    response = client.post(f"/classification/proposals/{world['proposal']}/reject/",
                           {"note": "太晚了"})
    assert response.status_code == 200
    assert 'data-testid="decision-error"' in response.content.decode()
    assert ClassProposal.objects.get(pk=world["proposal"]).status == "approved"


def test_the_proposal_page_shows_the_reasons_and_the_confirmed_form(
        as_role: Get, world: dict[str, Any]) -> None:
    html = as_role("sales_manager").get(
        f"/classification/proposals/{world['proposal']}/").content.decode()
    assert 'data-reason="CLASS_ABOVE_SHARE"' in html and 'data-reason="CLASS_RANKED_A"' in html
    assert "Ranked above the share of its class: proposed one class up" in html
    assert 'data-testid="decision-form"' in html and "data-confirm=" in html
    viewer = as_role("auditor").get(f"/classification/proposals/{world['proposal']}/")
    assert 'data-testid="decision-form"' not in viewer.content.decode()


def test_bulk_approve_approves_the_selected_and_skips_the_decided(
        as_role: Get, world: dict[str, Any]) -> None:
    client = as_role("sales_manager")
    client.post(f"/classification/proposals/{world['proposal_other']}/reject/",
                {"note": "维持B类"})
    response = client.post("/classification/proposals/approve/", {
        "proposal": [world["proposal"], world["proposal_up"], world["proposal_other"], "x"],
        "next": "/classification/proposals/?move=B-A"})
    assert response.status_code == 302
    assert response["Location"] == "/classification/proposals/?move=B-A"
    statuses = dict(ClassProposal.objects.values_list("pk", "status"))
    assert statuses[int(world["proposal"])] == statuses[int(world["proposal_up"])] == "approved"
    assert statuses[int(world["proposal_other"])] == "rejected"
    assert (abc(world["p4"]), abc(world["p0"]), abc(world["p3"])) == ("A", "B", "B")
    message = client.get("/classification/proposals/").content.decode()
    assert "Proposals approved: 2; skipped: 1" in message


def test_bulk_approve_without_a_selection_changes_nothing(as_role: Get,
                                                          world: dict[str, Any]) -> None:
    before = state()
    response = as_role("sales_manager").post("/classification/proposals/approve/", {})
    assert response.status_code == 302
    assert state() == before


# --- reminders --------------------------------------------------------------------------------


def test_the_reminders_list_by_state(as_role: Get, world: dict[str, Any]) -> None:
    client = as_role("account_manager")
    html = client.get("/classification/reminders/").content.decode()
    assert rows(html, "data-reminder") == [world["reminder"]]
    assert 'data-state="open"' in html and "below the share of class A" in html
    assert rows(client.get("/classification/reminders/?state=overdue").content.decode(),
                "data-reminder") == []
    with clock.frozen_at(AFTER_DEADLINE):
        late = client.get("/classification/reminders/?state=overdue").content.decode()
    assert rows(late, "data-reminder") == [world["reminder"]]
    assert 'data-state="overdue"' in late
    other = as_role("account_manager_2").get("/classification/reminders/").content.decode()
    assert rows(other, "data-reminder") == []


def test_answering_a_reminder_on_its_page(as_role: Get, world: dict[str, Any]) -> None:
    client = as_role("account_manager")
    url = f"/classification/reminders/{world['reminder']}/"
    assert 'data-testid="answer-form"' in client.get(url).content.decode()
    before = state()
    refused = client.post(f"{url}answer/", {"answer": ""})
    assert 'data-field-error="answer"' in refused.content.decode()
    assert state() == before
    response = client.post(f"{url}answer/", {"answer": "已约见客户，下月补货"})
    assert response.status_code == 302
    reminder = ClassReminder.objects.get(pk=world["reminder"])
    assert reminder.answer == "已约见客户，下月补货" and reminder.answered_by == "account_manager"
    html = as_role("sales_manager").get("/classification/reminders/?state=answered").content
    assert "已约见客户，下月补货" in html.decode()
    assert as_role("account_manager_2").post(f"{url}answer/",
                                             {"answer": "x"}).status_code == 404


# --- the report -------------------------------------------------------------------------------


def test_the_report_of_the_open_month_is_counted_now(as_role: Get, world: dict[str, Any]) -> None:
    response = as_role("auditor").get("/classification/report/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="figure-pending">3<' in html
    assert 'data-testid="figure-overdue">0<' in html
    assert re.search(r'data-region="11"><td>11 北京市</td><td[^>]*>2</td><td[^>]*>5</td>'
                     r'<td[^>]*>3</td>', html)
    chart = json.loads(re.search(r'<script id="class-chart" type="application/json">(.*?)'
                                 r"</script>", html, re.S).group(1))
    assert [series["data"] for series in chart["series"]] == [[2], [5], [3]]
    assert all(series["stack"] == "class" for series in chart["series"])
    assert chart["xAxis"]["data"] == ["11 北京市"]
    assert "counted now" in html
    assert 'data-testid="run-now"' not in html  # the auditor may not run it


def test_a_closed_months_report_shows_the_figures_kept(as_role: Get,
                                                       world: dict[str, Any]) -> None:
    CustomerClass.objects.update(abc="C")  # what is counted now no longer matters
    html = as_role("sales_manager").get("/classification/report/?month=2025-06").content.decode()
    assert "the figures are those kept then" in html
    assert 'data-move="-→A"' in html
    assert 'data-testid="figure-class-A">2<' in html
    assert 'data-testid="run-now"' in html


def test_the_xlsx_export_is_a_workbook_of_the_reports_rows(as_role: Get,
                                                           world: dict[str, Any]) -> None:
    response = as_role("finance").get("/classification/report/export/",
                                      {"month": "2025-06", "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == [str(h) for h in EXPORT_HEADERS]
    by_class = [row for row in values[1:] if row[4]]
    assert [(r[0], r[2], r[3], r[4], r[6]) for r in by_class] == [
        ("2025-06", "11", "北京市", "A", 2), ("2025-06", "11", "北京市", "B", 5),
        ("2025-06", "11", "北京市", "C", 3)]
    moves = {row[5]: row[6] for row in values[1:] if row[5]}
    assert moves == {"-→A": 2, "-→B": 5, "-→C": 3}
    assert values[-2][6] == 0 and values[-1][6] == 0  # pending, overdue at the close
    assert as_role("finance").get("/classification/report/export/",
                                  {"month": "2024-01"}).status_code == 404


def test_run_now_runs_this_month_after_the_confirmation(as_role: Get,
                                                         world: dict[str, Any]) -> None:
    client = as_role("sales_manager")
    with clock.frozen_at(AFTER_DEADLINE):  # August: a new month
        response = client.post("/classification/run/")
    assert response.status_code == 302
    assert response["Location"] == "/classification/report/?month=2025-08"
    run = ClassificationRun.objects.get(month=dt.date(2025, 8, 1))
    assert run.customers == 10 and run.ran_by == "sales_manager"
    page = client.get(response["Location"]).content.decode()
    assert "The classification of 2025-08 ran: 10 customers" in page


def test_run_now_on_a_closed_month_says_why(as_role: Get, world: dict[str, Any]) -> None:
    ClassificationRun.objects.filter(month=dt.date(2025, 7, 1)).update(status="closed")
    before = state()
    response = as_role("sales_manager").post("/classification/run/", follow=True)
    assert "the classification of 2025-07 is closed" in response.content.decode()
    assert state() == before


# --- the customer's class ---------------------------------------------------------------------


def test_the_customer_page_has_the_class_card(as_role: Get, world: dict[str, Any],
                                              personas: dict[str, User]) -> None:
    html = as_role("account_manager").get(
        f"/customers/{world['p8']}/").content.decode()
    assert 'data-testid="class-card"' in html and 'data-class="A"' in html
    assert "since 2025-06-25" in html
    assert f'href="/classification/customers/{world["p8"]}/"' in html
    fresh = customer_services.create_customer(
        Actor.for_user(personas["sales_manager"]), region=Region.objects.get(pk="110000"),
        name="未分类客户", kind="dealer", account_manager=personas["account_manager"])
    unclassified = as_role("account_manager").get(f"/customers/{fresh.code}/").content.decode()
    assert 'data-class=""' in unclassified and "Not classified yet" in unclassified
    erp = as_role("erp_integration").get(f"/customers/{world['p8']}/").content.decode()
    assert 'data-class="A"' in erp and 'data-testid="class-page"' not in erp  # no history


def test_the_class_page_shows_the_history_the_pending_move_and_the_reminders(
        as_role: Get, world: dict[str, Any]) -> None:
    client = as_role("sales_manager")
    client.post(f"/classification/proposals/{world['proposal']}/approve/", {})
    html = client.get(f"/classification/customers/{world['p4']}/").content.decode()
    assert rows(html, "data-kind") == ["approved", "initial"]
    assert "The proposed move was approved" in html and "First classification" in html
    pending = client.get(f"/classification/customers/{world['p8']}/").content.decode()
    assert 'data-reminder="' in pending and "None." in pending
    up = client.get(f"/classification/customers/{world['p0']}/").content.decode()
    assert 'data-move="C-B"' in up
    assert as_role("account_manager").get(
        f"/classification/customers/{world['p3']}/").status_code == 404


def test_the_navigation_has_the_classification_pages(as_role: Get,
                                                     world: dict[str, Any]) -> None:
    html = as_role("account_manager").get("/classification/reminders/").content.decode()
    for key in ("classification", "class_proposals", "class_reminders", "class_report"):
        assert f'data-nav="{key}"' in html
    erp = as_role("erp_integration").get("/customers/").content.decode()
    assert 'data-nav="classification"' not in erp
