"""The conduct overview: its aggregates (SQL GROUP BY) against a direct count over the cases,
the key figures, filters, scoping, the charts' data, the table of cases and its CSV/XLSX
export with each case's latest penalty and appeal."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from custguard.conduct import selectors
from custguard.conduct.models import Appeal, Fine, Penalty, ViolationCase
from custguard.conduct.services import appeals, cases, penalties
from custguard.conduct.tests.support import confirmed_case, publish_default_policy
from custguard.conduct.views.overview import EXPORT_HEADERS, default_range
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.customers import services as registry
from custguard.customers.models import Customer, Region
from custguard.testing.shared import fresh_copy

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime(2026, 6, 15, 10, 0))
TODAY = NOW.date()
SYSTEM = Actor.system("tests")


@pytest.fixture(autouse=True)
def _fixed_day() -> Iterator[None]:
    with clock.frozen_at(NOW):
        yield
    translation.deactivate()


def days_ago(days: int) -> Any:
    return clock.frozen_at(NOW - dt.timedelta(days=days))


@pytest.fixture(scope="module")
def module_book(module_db: Callable[[], Any], module_regions: None,
                module_personas: dict[str, User]) -> dict[str, Any]:
    """Built once for the module (the tests only read it; conftest `module_db`)."""
    with module_db():
        return build_book(module_personas)


@pytest.fixture
def book(db: None, module_book: dict[str, Any]) -> dict[str, Any]:
    return fresh_copy(module_book)


@pytest.fixture
def personas(shared_personas: dict[str, User]) -> dict[str, User]:
    return shared_personas


@pytest.fixture
def client_for(shared_client_for: Callable[[User], Client]) -> Callable[[User], Client]:
    return shared_client_for


def build_book(personas: dict[str, User]) -> dict[str, Any]:
    """Five customers in Beijing and Guangdong, of two account managers and none, with cases
    at every stage over the last year and one from before it."""
    with days_ago(500):
        publish_default_policy()
    credit = Actor.for_user(personas["credit_manager"])
    sales = Actor.for_user(personas["sales_manager"])
    am, colleague = personas["account_manager"], personas["account_manager_2"]

    def make(key: str, region: str, manager: User | None) -> Customer:
        return registry.create_customer(SYSTEM, region=Region.objects.get(pk=region),
                                        name=f"行为总览客户{key}", kind="dealer",
                                        account_manager=manager)

    made = {"a": make("a", "110000", am), "b": make("b", "110000", am),
            "c": make("c", "440300", colleague), "d": make("d", "440100", None),
            "e": make("e", "440100", None)}
    world: dict[str, Any] = {"customers": made}
    with days_ago(200):  # a: a minor violation long ago, warned
        _case, warning = confirmed_case(personas, made["a"], violation_type="LATE_PAYMENT")
        assert warning is not None
        penalties.approve(credit, warning)
    with days_ago(20):  # a: a major one, overturned on appeal
        _case, prepay = confirmed_case(personas, made["a"], violation_type="CROSS_REGION_SALES",
                                       evidence=True)
        assert prepay is not None
        penalties.approve(credit, prepay)
        appeal = appeals.file(Actor.for_user(personas["customer_service"]), prepay,
                              grounds="冒用")
        appeals.decide(sales, appeal, outcome=Appeal.Status.OVERTURNED, note="核实为冒用")
    world["overturned"] = prepay
    with days_ago(40):  # b: reported, not yet looked at
        world["open"] = cases.report(Actor.for_user(am), made["b"],
                                     violation_type="LATE_RECONCILIATION",
                                     occurred_on=TODAY - dt.timedelta(days=42),
                                     description="未回传对账单").case
    with days_ago(35):  # c: a violation 100 days ago; prepayment only, in force
        _case, active = confirmed_case(personas, made["c"], violation_type="PRICE_DISRUPTION",
                                       days_ago=65, evidence=True)
        assert active is not None
        penalties.approve(credit, active)
    with days_ago(30):  # c: an appeal filed and forgotten
        world["late_appeal"] = appeals.file(Actor.for_user(personas["customer_service"]),
                                            active, grounds="价格系促销")
    with days_ago(10):  # d: a severe violation, its penalty proposed
        _case, severe = confirmed_case(personas, made["d"], violation_type="FALSE_INFORMATION",
                                       evidence=True)
        assert severe is not None and severe.status == Penalty.Status.PROPOSED
    with days_ago(400):  # e: a warning from before the last twelve months
        _case, old = confirmed_case(personas, made["e"], violation_type="UNJUSTIFIED_REJECTION",
                                    evidence=True)
        assert old is not None
        penalties.approve(credit, old)
    with days_ago(60):  # e: a report dismissed
        dismissed = cases.report(Actor.for_user(personas["finance"]), made["e"],
                                 violation_type="LATE_PAYMENT",
                                 occurred_on=TODAY - dt.timedelta(days=61),
                                 description="逾期").case
        cases.dismiss(credit, dismissed, reason="银行已按期付款")
    return world


def overview(client: Client, **params: Any) -> Any:
    response = client.get(reverse("conduct:overview"), params)
    assert response.status_code == 200, response.content[:300]
    return response


def chart(html: str, chart_id: str) -> dict[str, Any]:
    match = re.search(rf'<script id="{chart_id}" type="application/json">(.*?)</script>', html,
                      re.S)
    assert match, chart_id
    return json.loads(match.group(1))


def expected(customers: list[Customer], *, start: dt.date, end: dt.date,
             statuses: tuple[str, ...] = ("confirmed",), severity: str = "") -> dict[str, Any]:
    """The overview's figures the slow way: a loop over every case."""
    rows = [c for c in ViolationCase.objects.select_related("customer__region__parent")
            if c.customer in customers and start <= c.occurred_on <= end
            and (not statuses or c.status in statuses)
            and (not severity or c.severity == severity)]

    def region(case: ViolationCase) -> str:
        place = case.customer.region
        return place.parent.name if place.parent_id and place.parent else place.name

    ids = {c.pk for c in rows}
    measures: Counter[str] = Counter()
    for penalty in Penalty.objects.filter(case_id__in=ids):
        for code in penalty.measures:
            measures[code] += 1
    outcomes = Counter(a.status for a in Appeal.objects.all()
                       if (a.case_id in ids) or (a.penalty_id and a.penalty.case_id in ids))
    return {
        "cases": len(rows),
        "types": Counter(c.violation_type for c in rows),
        "severities": Counter(c.severity for c in rows),
        "provinces": Counter(region(c) for c in rows),
        "months": Counter(f"{c.occurred_on:%Y-%m}" for c in rows),
        "measures": measures,
        "outcomes": outcomes,
    }


def test_aggregates_match_a_direct_count(book: dict[str, Any], personas: dict[str, User],
                                         client_for: Callable[[User], Client]) -> None:
    response = overview(client_for(personas["credit_manager"]))
    context = response.context
    start, end = default_range(TODAY)
    assert (start, end) == (dt.date(2025, 7, 1), TODAY)
    want = expected(list(book["customers"].values()), start=start, end=end)
    assert context["total"] == want["cases"] == 4
    assert {row.code: row.count for row in context["types"]} == want["types"]
    assert {r.code: r.count for r in context["severities"] if r.count} == want["severities"]
    assert [r.code for r in context["severities"]] == ["MINOR", "MAJOR", "SEVERE", "CRITICAL"]
    assert {row.label: row.count for row in context["provinces"]} == want["provinces"] == {
        "北京市": 2, "广东省": 2}
    html = response.content.decode()
    months = chart(html, "month-chart")
    assert len(months["xAxis"]["data"]) == 12
    totals = [sum(values) for values in zip(*(s["data"] for s in months["series"]),
                                            strict=True)]
    assert dict(zip(months["xAxis"]["data"], totals, strict=True)) == {
        m: want["months"].get(m, 0) for m in months["xAxis"]["data"]}
    by_measure = selectors.penalties_by_measure(selectors.filtered_cases(
        Customer.objects.all(), selectors.CaseFilter(start=start, end=end)))
    assert {code: sum(groups.values()) for code, groups in by_measure.items()
            if sum(groups.values())} == want["measures"]
    assert by_measure["PREPAY_ONLY"] == {"proposed": 0, "in_force": 1, "ended": 0,
                                         "overturned": 1}
    assert by_measure["BLACKLIST_PROPOSAL"]["proposed"] == 1
    outcomes = {code: count for code, _label, count in context["outcomes"] if count}
    assert outcomes == want["outcomes"] == {"overturned": 1, "filed": 1}


def test_key_figures_describe_today(book: dict[str, Any], personas: dict[str, User],
                                    client_for: Callable[[User], Client]) -> None:
    figures = overview(client_for(personas["auditor"])).context["figures"]
    assert figures.open_cases == ViolationCase.objects.filter(
        status__in=["reported", "investigating"]).count() == 1
    assert figures.active_penalties == Penalty.objects.filter(status="active").count() == 3
    assert figures.proposed_penalties == 1
    assert (figures.active_blacklist, figures.proposed_blacklist) == (0, 0)
    assert figures.open_appeals == 1
    assert figures.overdue_appeals == 1  # filed 30 days ago, due after 10
    due = sum(f.amount for f in Fine.objects.filter(status="due"))
    assert figures.fines_due == due == Decimal("5000.00")  # the overturned one was waived


def test_charts_carry_the_aggregates(book: dict[str, Any], personas: dict[str, User],
                                     client_for: Callable[[User], Client]) -> None:
    response = overview(client_for(personas["sales_manager"]))
    html = response.content.decode()
    types = chart(html, "type-chart")
    rows = response.context["types"]
    assert types["yAxis"]["data"] == [row.label for row in reversed(rows)]
    assert "跨区域窜货" in types["yAxis"]["data"]  # the policy's Chinese name
    assert types["series"][0]["data"] == [row.count for row in reversed(rows)]
    severity = chart(html, "severity-chart")
    assert sum(item["value"] for item in severity["series"][0]["data"]) == 4
    appeal = chart(html, "appeal-chart")
    assert sorted(item["value"] for item in appeal["series"][0]["data"]) == [1, 1]
    measure = chart(html, "measure-chart")
    assert len(measure["series"]) == 4
    assert "<script>" not in html


def test_the_region_filter_takes_a_province_or_a_city(
        book: dict[str, Any], personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["credit_manager"])
    guangdong = overview(client, region="440000").context
    assert guangdong["total"] == 2
    assert [r.label for r in guangdong["provinces"]] == ["广东省"]
    assert guangdong["figures"].open_cases == 0  # b's open case is in Beijing
    assert overview(client, region="440300").context["total"] == 1  # Shenzhen


def test_the_severity_filter(book: dict[str, Any], personas: dict[str, User],
                             client_for: Callable[[User], Client]) -> None:
    start, end = default_range(TODAY)
    major = overview(client_for(personas["credit_manager"]), severity="MAJOR").context
    assert major["total"] == expected(list(book["customers"].values()), start=start, end=end,
                                      severity="MAJOR")["cases"] == 2


def test_the_state_filter(book: dict[str, Any], personas: dict[str, User],
                          client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["credit_manager"])
    assert overview(client, states="all").context["total"] == 6  # with the open and dismissed
    assert overview(client, states="open").context["total"] == 1
    assert overview(client, states="dismissed").context["total"] == 1


def test_a_longer_range_reaches_further_back(book: dict[str, Any], personas: dict[str, User],
                                             client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["credit_manager"])
    longer = overview(client, start="2025-01-01", end="2026-06-15").context
    assert longer["total"] == 5  # e's warning from 400 days ago
    assert len(chart(overview(client, start="2025-01-01").content.decode(),
                     "month-chart")["xAxis"]["data"]) == 18


def test_a_range_that_ends_before_it_starts_is_refused(
        book: dict[str, Any], personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    response = overview(client_for(personas["credit_manager"]), start="2026-06-01",
                        end="2026-01-01")
    assert 'data-field-error="end"' in response.content.decode()
    assert response.context["filters"].start == dt.date(2025, 7, 1)  # the default range
    assert response.context["total"] == 4


def test_an_account_manager_sees_only_their_own_customers(
        book: dict[str, Any], personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    own = overview(client_for(personas["account_manager"]), states="all").context
    assert own["total"] == 3  # a's warned minor and overturned major, b's open report
    assert {r.label for r in own["provinces"]} == {"北京市"}
    assert own["figures"].open_cases == 1
    assert own["figures"].active_penalties == 1  # a's old warning
    colleague = overview(client_for(personas["account_manager_2"]), states="all").context
    assert colleague["total"] == 1
    assert colleague["figures"].overdue_appeals == 1
    codes = {row.record.customer.code for row in colleague["table"].rows}
    assert codes == {book["customers"]["c"].code}


def test_the_table_pages_and_sorts_with_htmx(book: dict[str, Any], personas: dict[str, User],
                                             client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["credit_manager"])
    response = client.get(reverse("conduct:overview"), {"states": "all", "sort": "occurred_on"},
                          HTTP_HX_REQUEST="true", HTTP_HX_TARGET="conduct-table")
    html = response.content.decode()
    assert "<html" not in html and 'data-testid="conduct-table"' in html
    occurred = re.findall(r">(20\d\d-\d\d-\d\d)<", html)
    assert len(occurred) == 6 and occurred == sorted(occurred)
    assert f'data-case="{book["overturned"].case_id}"' in html


def rows_of_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_export_csv_has_every_case_with_its_penalty_and_appeal(
        book: dict[str, Any], personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["credit_manager"])
    response = client.get(reverse("conduct:overview_export"),
                          {"format": "csv", "states": "all", "sort": "occurred_on"})
    assert response["Content-Disposition"].startswith('attachment; filename="conduct-')
    rows = rows_of_csv(response)
    with translation.override("zh-hans"):
        assert rows[0] == [str(h) for h in EXPORT_HEADERS]
        overturned = str(Penalty.Status.OVERTURNED.label)
        appeal_overturned = str(Appeal.Status.OVERTURNED.label)
    body = rows[1:]
    assert len(body) == 6
    days = [row[10] for row in body]
    assert days == sorted(days)
    case = book["overturned"].case
    row = next(r for r in body if r[4] == str(case.pk))
    assert row[0] == book["customers"]["a"].code
    assert row[5:7] == ["CROSS_REGION_SALES", "跨区域窜货"]
    assert row[15] == "一般违规，款到发货90天并处违约金"
    assert row[17] == overturned and row[20] == "5000.00"
    assert row[22] == appeal_overturned
    open_row = next(r for r in body if r[4] == str(book["open"].pk))
    assert open_row[14:] == [""] * (len(EXPORT_HEADERS) - 14)


def test_export_xlsx_follows_the_filters(book: dict[str, Any], personas: dict[str, User],
                                         client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["account_manager"])
    response = client.get(reverse("conduct:overview_export"), {"format": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 3  # the header and a's two confirmed violations, newest first
    assert {row[0] for row in rows[1:]} == {book["customers"]["a"].code}
    assert [row[5] for row in rows[1:]] == ["CROSS_REGION_SALES", "LATE_PAYMENT"]
    assert rows[1][10] == dt.datetime(2026, 5, 23)  # occurred 23 days ago
    assert rows[1][20] == 5000


def test_export_refuses_an_unknown_format(book: dict[str, Any], personas: dict[str, User],
                                          client_for: Callable[[User], Client]) -> None:
    response = client_for(personas["finance"]).get(reverse("conduct:overview_export"),
                                                   {"format": "pdf"})
    assert response.status_code == 404
