"""The points pages: a customer's points page (summary, chart, lots, entries with their reasons,
filter, sorting and paging, the adjust form with its confirmation and its refusals naming the
field), the link from the customer profile, and the points overview with its XLSX export. The
world is tests/world.py, built once for the module."""

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

from custguard.classification.models import CustomerClass
from custguard.classification.services import runs
from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.core.services.policies import policy_in_force
from custguard.customers.models import Standing
from custguard.rewards import selectors
from custguard.rewards.models import LotUse, PointsAccount, PointsEntry, PointsLot
from custguard.rewards.services import coupon_issuing, tier_evaluation
from custguard.rewards.tests import world as points_world
from custguard.rewards.tests.world import AVAILABLE, OTHER_AVAILABLE, PENDING
from custguard.testing.shared import table_rows

pytestmark = pytest.mark.django_db

# The shared world's fixtures (tests/world.py).
client_for = points_world.client_for
module_points_world = points_world.module_points_world
personas = points_world.personas
world = points_world.world

Get = Callable[..., Any]


def state() -> dict[str, Any]:
    return table_rows(PointsEntry, PointsLot, LotUse, PointsAccount, Standing) | {
        "audit": AuditEntry.objects.count()}


@pytest.fixture
def as_role(personas: dict[str, User], client_for: Callable[[User], Client]) -> Get:
    def client(role: str) -> Client:
        made = client_for(personas[role])
        made.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return made
    return client


def page_of(world: dict[str, Any]) -> str:
    return f"/rewards/customers/{world['points_code']}/"


def text_of(html: str, name: str) -> str:
    """The text inside the element with data-testid=name (tags stripped)."""
    found = re.search(rf'data-testid="{name}"[^>]*>(.*?)</(?:div|td|dd|span)>', html, re.S)
    assert found, f"no element {name}"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def entry_rows(html: str) -> list[tuple[str, str]]:
    """(entry id, kind) of each row of the entries table, in order."""
    return re.findall(r'data-entry="(\d+)" data-kind="(\w+)"', html)


# --- a customer's points page -----------------------------------------------------------------


def test_the_points_page_shows_the_summary_the_chart_the_lots_and_the_entries(
        as_role: Get, world: dict[str, Any]) -> None:
    response = as_role("account_manager").get(page_of(world))
    assert response.status_code == 200
    html = response.content.decode()
    assert text_of(html, "figure-available") == f"{AVAILABLE}"
    assert text_of(html, "figure-pending") == f"{PENDING}"
    assert text_of(html, "figure-debt") == "0"
    assert text_of(html, "figure-next-expiry") == "2027-06-30"
    assert text_of(html, "next-expiry-points") == "570 points expire after this day"
    assert "worth 230.00" in html
    assert "In all: 1,610 earned, 140 spent, 900 expired" in html
    # the chart of the last twelve months: July 2024 to June 2025
    chart = json.loads(re.search(r'<script id="points-month-chart" type="application/json">'
                                 r"(.*?)</script>", html, re.S).group(1))
    assert chart["xAxis"]["data"][0] == "2024-07" and chart["xAxis"]["data"][-1] == "2025-06"
    series = {s["name"]: s["data"] for s in chart["series"]}
    assert series["Earned"][-1] == 610 and series["Spent"][-1] == 40
    assert series["Spent"][7] == 100 and series["Expired"][9] == 900  # Feb, Apr 2025
    assert len(re.findall(r'data-lot="\d+"', html)) == 2
    assert [kind for _pk, kind in entry_rows(html)] == [
        "adjust", "earn", "adjust", "expire", "adjust", "adjust"]  # newest first
    assert "Paid by the due date: 10 bonus points (10% extra)" in html
    assert "900 points (1 lots) expired unused" in html
    assert 'data-testid="adjust-form"' not in html  # account managers may not adjust
    assert 'data-testid="points-page"' not in html


def test_the_page_is_chinese_by_default(client_for: Callable[[User], Client],
                                        personas: dict[str, User],
                                        world: dict[str, Any]) -> None:
    html = client_for(personas["finance"]).get(page_of(world)).content.decode()
    assert "可用积分" in html and "待生效积分" in html and "人工调整" in html


def test_another_account_managers_customer_is_not_found(as_role: Get,
                                                        world: dict[str, Any]) -> None:
    assert as_role("account_manager_2").get(page_of(world)).status_code == 404
    assert as_role("account_manager").get(
        f"/rewards/customers/{world['other_code']}/").status_code == 404


@pytest.mark.parametrize(("query", "kinds"), [
    ({"kind": "expire"}, ["expire"]),
    ({"date_from": "2025-06-01"}, ["adjust", "earn", "adjust"]),
    ({"date_to": "2025-02-28"}, ["adjust", "adjust"]),
    ({"kind": "adjust", "date_from": "2025-01-01", "date_to": "2025-03-31"}, ["adjust"]),
])
def test_the_entries_are_filtered_by_kind_and_date(as_role: Get, world: dict[str, Any],
                                                   query: dict[str, str],
                                                   kinds: list[str]) -> None:
    html = as_role("auditor").get(page_of(world), query).content.decode()
    assert [kind for _pk, kind in entry_rows(html)] == kinds


def test_htmx_asks_for_the_entries_alone(as_role: Get, world: dict[str, Any]) -> None:
    response = as_role("auditor").get(page_of(world), {"kind": "expire"}, HTTP_HX_REQUEST="true",
                                      HTTP_HX_TARGET="points-entries")
    html = response.content.decode()
    assert [kind for _pk, kind in entry_rows(html)] == ["expire"]
    assert "<html" not in html and 'data-testid="points-summary"' not in html
    assert "1 points entry" in html


def test_a_range_that_ends_before_it_starts_is_named(as_role: Get,
                                                     world: dict[str, Any]) -> None:
    html = as_role("auditor").get(page_of(world), {"date_from": "2025-06-01",
                                                   "date_to": "2025-01-01"}).content.decode()
    assert re.search(r'data-field-error="date_to">the end of the range lies before its start',
                     html)
    assert len(entry_rows(html)) == 3  # the valid half of the filter still applies


def test_the_entries_are_sorted_and_paged(as_role: Get, world: dict[str, Any],
                                          settings: Any) -> None:
    settings.CUSTGUARD_PAGE_SIZE = 4
    client = as_role("auditor")
    by_points = client.get(page_of(world), {"sort": "points"}).content.decode()
    ids = [int(pk) for pk, _kind in entry_rows(by_points)]
    points = dict(PointsEntry.objects.filter(pk__in=ids).values_list("pk", "points"))
    assert [points[pk] for pk in ids] == [-900, -100, -40, 110]
    second = client.get(page_of(world), {"sort": "points", "page": 2}).content.decode()
    assert len(entry_rows(second)) == 2
    assert "Showing 5 to 6 of 6" in second


# --- adjusting --------------------------------------------------------------------------------


def adjust_url(world: dict[str, Any]) -> str:
    return f"{page_of(world)}adjust/"


def test_points_are_added_from_the_form(as_role: Get, world: dict[str, Any]) -> None:
    client = as_role("customer_service")
    assert 'data-testid="adjust-form"' in client.get(page_of(world)).content.decode()
    response = client.post(adjust_url(world), {"adjust-points": "75",
                                               "adjust-note": "apology"}, follow=True)
    assert response.redirect_chain == [(page_of(world), 302)]
    html = response.content.decode()
    assert f"75 points added to {world['points_code']}." in html
    assert text_of(html, "figure-available") == f"{AVAILABLE + 75}"


def test_taking_points_is_confirmed_first_and_nothing_is_written_until_then(
        as_role: Get, world: dict[str, Any]) -> None:
    client = as_role("sales_manager")
    before = state()
    asked = client.post(adjust_url(world), {"adjust-points": "-60", "adjust-note": "returned"})
    assert asked.status_code == 200
    html = asked.content.decode()
    assert "Take 60 points from this customer?" in html
    assert text_of(html, "confirm-available") == f"{AVAILABLE}"
    assert text_of(html, "confirm-after") == f"{AVAILABLE - 60}"
    assert state() == before
    done = client.post(adjust_url(world), {"adjust-points": "-60", "adjust-note": "returned",
                                           "adjust-confirmed": "on"})
    assert done.status_code == 302
    assert Standing.objects.get(pk=world["customer"].pk).points_balance == AVAILABLE - 60


@pytest.mark.parametrize(("data", "field", "reason"), [
    ({"adjust-points": "0", "adjust-note": "nothing"}, "adjust-points",
     "an adjustment of 0 points changes nothing"),
    ({"adjust-points": "-461", "adjust-note": "too many", "adjust-confirmed": "on"},
     "adjust-points", "the customer may spend 460 points; 461 cannot be taken"),
    ({"adjust-points": "ten", "adjust-note": "words"}, "adjust-points",
     "Enter a whole number."),
    ({"adjust-points": "10000001", "adjust-note": "too many"}, "adjust-points",
     "Ensure this value is less than or equal to 10000000."),
    ({"adjust-points": "10", "adjust-note": ""}, "adjust-note", "This field is required."),
    ({"adjust-points": "10", "adjust-note": "x" * 2001}, "adjust-note",
     "Ensure this value has at most 2000 characters (it has 2001)."),
], ids=["zero", "more-than-available", "text", "over-the-maximum", "no-reason", "long-reason"])
def test_a_refused_adjustment_names_the_field_and_writes_nothing(
        as_role: Get, world: dict[str, Any], data: dict[str, str], field: str,
        reason: str) -> None:
    before = state()
    response = as_role("sales_manager").post(adjust_url(world), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert f'data-field-error="{field}">{reason}' in html.replace("&#x27;", "'")
    assert 'data-testid="points-summary"' in html  # the page, shown again
    assert state() == before


def test_roles_that_may_not_adjust_get_no_form_and_a_403(as_role: Get,
                                                         world: dict[str, Any]) -> None:
    before = state()
    client = as_role("finance")
    html = client.get(page_of(world)).content.decode()
    assert 'data-testid="adjust-form"' not in html
    assert "Your role may not adjust points." in html
    assert client.post(adjust_url(world), {"adjust-points": "5",
                                           "adjust-note": "n"}).status_code == 403
    assert state() == before


def test_the_customer_profile_links_the_points_page(as_role: Get,
                                                    world: dict[str, Any]) -> None:
    html = as_role("finance").get(f"/customers/{world['points_code']}/").content.decode()
    assert f'href="{page_of(world)}" data-testid="points-page"' in html
    erp = as_role("erp_integration").get(f"/customers/{world['points_code']}/")
    assert 'data-testid="points-page"' not in erp.content.decode()


def test_the_points_page_shows_the_class_with_its_history_and_the_segment(
        as_role: Get, world: dict[str, Any]) -> None:
    before = as_role("finance").get(page_of(world)).content.decode()
    assert 'data-testid="class-card"' in before and 'data-class=""' in before  # no run yet
    assert 'data-testid="class-changes"' not in before
    runs.run_month(Actor.job("classification.monthly_run"))
    html = as_role("finance").get(page_of(world)).content.decode()
    abc = CustomerClass.objects.get(customer__code=world["points_code"]).abc
    assert f'data-class="{abc}"' in html
    changes = re.search(r'data-testid="class-changes">(.*?)</table>', html, re.S)
    assert changes and changes.group(1).count("<tr>") == 1
    assert f'data-move="--{abc}"' in changes.group(1) and "Initial class" in changes.group(1)
    assert 'data-testid="segment-card"' in html
    erp = as_role("erp_integration").get(page_of(world))
    assert erp.status_code == 403  # the ERP has no pages


def test_the_points_page_shows_the_tier_with_its_progress_and_the_coupons(
        as_role: Get, world: dict[str, Any]) -> None:
    before = as_role("finance").get(page_of(world)).content.decode()
    assert 'data-tier=""' in before  # not evaluated yet (the progress to silver shows)
    assert "The customer has no coupons." in before
    tier_evaluation.evaluate(Actor.job("rewards.evaluate_tiers"))
    coupon = coupon_issuing.issue(Actor.system("tests"), customer=world["customer"],
                                  definition_code="WELCOME_FIRST_ORDER", key="VIEW-1")
    html = as_role("finance").get(page_of(world)).content.decode()
    section = policy_in_force()[1].membership
    assert f'data-tier="{section.entry.code}"' in html  # 10,000.00 paid: the entry tier
    progress = re.search(r'data-testid="tier-progress">(.*?)</div>\s*</div>\s*</div>', html,
                         re.S)
    assert progress and f"Progress to {section.tiers[1].name_en}" in progress.group(1)
    assert re.findall(r'data-rule="(\w+)" data-met="(\w+)"', progress.group(1))[0] == (
        "paid_spend", "no")
    assert f'data-coupon="{coupon.code}" data-status="ISSUED"' in html
    manager = as_role("account_manager").get(page_of(world)).content.decode()
    assert 'data-testid="tier-card"' in manager and 'data-testid="coupons-card"' in manager


# --- the overview and its export --------------------------------------------------------------


def test_the_overview_shows_the_liability_by_expiry_month_and_the_top_balances(
        as_role: Get, world: dict[str, Any]) -> None:
    html = as_role("finance").get("/rewards/overview/").content.decode()
    rows = re.findall(r'<tr data-month="([\d-]+)"><td>[\d-]+</td><td class="text-end">([\d,]+)'
                      r'</td><td class="text-end">([\d,]+)</td><td class="text-end">([\d,.]+)',
                      html)
    assert rows == [("2026-11", "300", "0", "150.00"), ("2027-06", "460", "110", "285.00")]
    assert text_of(html, "figure-outstanding") == "870"
    assert text_of(html, "figure-liability") == "435.00"
    assert re.findall(r'<tr data-customer="(\d+)"', html) == [world["points_code"],
                                                             world["other_code"]]
    assert 'data-chart="liability-chart"' in html
    assert 'data-nav="points_overview"' in html


def test_an_account_manager_sees_the_liability_of_their_own_customers(
        as_role: Get, world: dict[str, Any]) -> None:
    html = as_role("account_manager").get("/rewards/overview/").content.decode()
    assert re.findall(r'<tr data-month="([\d-]+)"', html) == ["2027-06"]
    assert text_of(html, "figure-outstanding") == f"{AVAILABLE + PENDING}"
    assert re.findall(r'<tr data-customer="(\d+)"', html) == [world["points_code"]]


def test_the_export_is_a_real_workbook_with_the_months_and_a_total(
        as_role: Get, world: dict[str, Any]) -> None:
    response = as_role("finance").get("/rewards/overview/export/", {"format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "points-liability-" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = [tuple(cell for cell in row) for row in sheet.iter_rows(values_only=True)]
    assert rows == [
        ("expiry month", "available points", "pending points", "outstanding points", "value"),
        ("2026-11", OTHER_AVAILABLE, 0, OTHER_AVAILABLE, 150),
        ("2027-06", AVAILABLE, PENDING, AVAILABLE + PENDING, 285),
        ("Total", AVAILABLE + OTHER_AVAILABLE, PENDING, 870, 435),
    ]


def test_the_export_refuses_an_unknown_format(as_role: Get) -> None:
    assert as_role("finance").get("/rewards/overview/export/",
                                  {"format": "pdf"}).status_code == 404


# --- the selectors behind the pages -----------------------------------------------------------


def test_the_months_add_up_to_the_account_totals(world: dict[str, Any]) -> None:
    customer = world["customer"]
    months = selectors.last_months(dt.date(2025, 6, 30), 40)  # back to March 2022
    monthly = selectors.points_by_month(customer, months)
    account = PointsAccount.objects.get(pk=customer.pk)
    assert (sum(monthly.earned), sum(monthly.spent), sum(monthly.expired)) == (
        account.earned_total, account.spent_total, account.expired_total)


def test_the_overview_chart_adds_up_the_months_of_the_customers_the_user_sees(
        as_role: Get, world: dict[str, Any]) -> None:
    months = selectors.last_months(dt.date(2025, 6, 30), 12)
    own = selectors.points_by_month(world["customer"], months)
    other = selectors.points_by_month(world["other"], months)
    assert not own.empty and not other.empty
    finance = as_role("finance").get("/rewards/overview/").context
    chart = finance["month_chart"]
    assert chart["xAxis"]["data"] == [f"{m:%Y-%m}" for m in months]
    assert [s["data"] for s in chart["series"]] == [
        [a + b for a, b in zip(own.earned, other.earned, strict=True)],
        [a + b for a, b in zip(own.spent, other.spent, strict=True)],
        [a + b for a, b in zip(own.expired, other.expired, strict=True)]]
    manager = as_role("account_manager").get("/rewards/overview/").context  # p's manager only
    assert [s["data"] for s in manager["month_chart"]["series"]] == [
        own.earned, own.spent, own.expired]


def test_without_a_policy_points_have_no_value() -> None:
    assert selectors.value_of(None, 100) is None
