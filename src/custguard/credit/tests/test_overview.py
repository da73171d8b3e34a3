"""The credit overview: its aggregates (SQL GROUP BY) against a direct computation over the
standing rows, filters, scoping, the charts' data, the table and its CSV/XLSX export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.core.services import policies
from custguard.credit.services import gate
from custguard.credit.views.overview import EXPORT_HEADERS
from custguard.customers import services
from custguard.customers.models import Customer, Region, Standing
from custguard.policy import default_policy_text

from .matrix_overview import post_history

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime(2026, 6, 15, 10, 0))
TODAY = NOW.date()
SYSTEM = Actor.system("tests")
CENT = Decimal("0.01")
GRADES = ["AAA", "AA", "A", "BBB", "BB", "B", "C", "D"]


@pytest.fixture(autouse=True)
def _fixed_day() -> Iterator[None]:
    with clock.frozen_at(NOW):
        yield
    translation.deactivate()


@pytest.fixture
def book(regions: None, personas: dict[str, User]) -> dict[str, Customer]:
    """Five customers in Beijing and Guangdong, of two account managers and none, with
    different histories: good payers, late payers, one never scored."""
    policies.publish_source(SYSTEM, default_policy_text(), note="tests")
    am, colleague = personas["account_manager"], personas["account_manager_2"]
    beijing = Region.objects.get(pk="110000")
    shenzhen = Region.objects.get(pk="440300")
    guangzhou = Region.objects.get(pk="440100")

    def make(key: str, region: Region, kind: str, manager: User | None,
             history: str | None) -> Customer:
        customer = services.create_customer(SYSTEM, region=region, name=f"总览客户{key}",
                                            kind=kind, account_manager=manager)
        if history is not None:
            post_history(customer, TODAY, late=history == "late", prefix=key,
                         amount="20000.00" if kind == "enterprise" else "8000.00")
        return customer

    made = {
        "a": make("a", beijing, "enterprise", am, "good"),
        "b": make("b", beijing, "dealer", am, "late"),
        "c": make("c", shenzhen, "enterprise", colleague, "late"),
        "d": make("d", guangzhou, "dealer", None, "good"),
        "e": make("e", guangzhou, "enterprise", None, None),
    }
    gate.check(SYSTEM, made["a"], "3000.00", reserve=True, source="erp", external_id="SO-A1")
    gate.check(SYSTEM, made["d"], "1500.00", reserve=True, source="erp", external_id="SO-D1")
    return made


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT) + 0


def expected_totals(customers: list[Customer]) -> dict[str, Any]:
    """The overview's figures computed the slow way: a loop over the standing rows."""
    by_grade: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 5)
    by_province: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 5)
    figures = defaultdict(Decimal)
    for customer in customers:
        s = Standing.objects.get(pk=customer.pk)
        values = [Decimal(1), s.credit_limit, s.posted, s.reserved, s.overdue_amount]
        region = customer.region
        province = region.parent.name if region.parent_id else region.name
        for table, key in ((by_grade, s.grade), (by_province, province)):
            table[key] = [a + b for a, b in zip(table[key], values, strict=True)]
        figures["customers"] += 1
        figures["rated"] += 1 if s.grade else 0
        figures["credit_limit"] += s.credit_limit
        figures["posted"] += s.posted
        figures["reserved"] += s.reserved
        figures["overdue"] += s.overdue_amount
        figures["over_limit"] += 1 if s.posted + s.reserved > s.credit_limit else 0
        figures["prepay_only"] += 1 if s.prepay_only else 0
    return {"by_grade": by_grade, "by_province": by_province, "figures": figures}


def row_values(totals: Any) -> list[Decimal]:
    return [Decimal(totals.customers), money(totals.credit_limit), money(totals.posted),
            money(totals.reserved), money(totals.overdue)]


def as_money(values: list[Decimal]) -> list[Decimal]:
    return [values[0], *[money(v) for v in values[1:]]]


def chart(html: str, chart_id: str) -> dict[str, Any]:
    match = re.search(rf'<script id="{chart_id}" type="application/json">(.*?)</script>', html,
                      re.S)
    assert match, chart_id
    return json.loads(match.group(1))


def overview(client: Client, **params: Any) -> Any:
    response = client.get(reverse("credit:overview"), params)
    assert response.status_code == 200
    return response


# --- the aggregates ---------------------------------------------------------------------------


def test_aggregates_match_a_direct_computation(book: dict[str, Customer],
                                               personas: dict[str, User],
                                               client_for: Callable[[User], Client]) -> None:
    response = overview(client_for(personas["credit_manager"]))
    expected = expected_totals(list(book.values()))
    grades = {row.label: row_values(row) for row in response.context["by_grade"]}
    assert [row.label for row in response.context["by_grade"]][:len(GRADES)] == GRADES
    for grade, values in expected["by_grade"].items():
        assert grades[grade] == as_money(values), grade
    assert all(values[0] == 0 for grade, values in grades.items()
               if grade not in expected["by_grade"])
    assert grades[""][0] == 1  # the customer never scored
    provinces = {row.label: row_values(row) for row in response.context["by_province"]}
    assert provinces == {name: as_money(v) for name, v in expected["by_province"].items()}
    exposures = [row.exposure for row in response.context["by_province"]]
    assert exposures == sorted(exposures, reverse=True)
    figures = response.context["figures"]
    wanted = expected["figures"]
    assert (figures.customers, figures.rated) == (5, 4)
    assert (figures.over_limit, figures.prepay_only) == (wanted["over_limit"],
                                                          wanted["prepay_only"])
    for name in ("credit_limit", "posted", "reserved", "overdue"):
        assert money(getattr(figures, name)) == money(wanted[name]), name
    assert figures.reserved == Decimal("4500.00")
    exposure = money(wanted["posted"] + wanted["reserved"])
    assert figures.utilisation == (exposure * 100 / money(wanted["credit_limit"])).quantize(
        Decimal("0.1"))
    assert figures.over_90_days == 0


def test_charts_carry_the_aggregates(book: dict[str, Customer], personas: dict[str, User],
                                     client_for: Callable[[User], Client]) -> None:
    response = overview(client_for(personas["finance"]))
    html = response.content.decode()
    rows = response.context["by_grade"]
    grade_chart = chart(html, "grade-chart")
    assert grade_chart["series"][0]["data"] == [row.customers for row in rows]
    stacked = chart(html, "grade-exposure-chart")
    current, overdue, reserved = (series["data"] for series in stacked["series"])
    for i, row in enumerate(rows):
        assert Decimal(current[i]) + Decimal(overdue[i]) + Decimal(reserved[i]) == row.exposure
        assert Decimal(overdue[i]) == row.overdue
    region_chart = chart(html, "region-chart")
    assert region_chart["yAxis"]["data"] == [r.label for r in
                                             reversed(response.context["by_province"])]
    assert "<script>" not in html


# --- filters and scoping ----------------------------------------------------------------------


def test_filters_by_region_kind_and_account_manager(book: dict[str, Customer],
                                                    personas: dict[str, User],
                                                    client_for: Callable[[User], Client]
                                                    ) -> None:
    client = client_for(personas["sales_manager"])
    guangdong = overview(client, region="440000").context
    assert guangdong["figures"].customers == 3
    assert money(guangdong["figures"].posted) == money(expected_totals(
        [book["c"], book["d"], book["e"]])["figures"]["posted"])
    assert [r.label for r in guangdong["by_province"]] == ["广东省"]
    shenzhen = overview(client, region="440300").context
    assert shenzhen["figures"].customers == 1
    dealers = overview(client, kind="dealer").context
    assert dealers["figures"].customers == 2
    own = overview(client, account_manager=personas["account_manager"].pk).context
    assert own["figures"].customers == 2


def test_an_account_manager_sees_only_their_customers(book: dict[str, Customer],
                                                      personas: dict[str, User],
                                                      client_for: Callable[[User], Client]
                                                      ) -> None:
    response = overview(client_for(personas["account_manager"]))
    assert response.context["figures"].customers == 2
    assert "account_manager" not in response.context["filter"].form.fields
    html = response.content.decode()
    codes = re.findall(r'<tr data-code="(\d{9})"', html)
    assert sorted(codes) == sorted([book["a"].code, book["b"].code])
    export = client_for(personas["account_manager"]).get(reverse("credit:overview_export"),
                                                         {"format": "csv"})
    assert book["c"].code not in export.content.decode("utf-8-sig")


def test_roles_without_the_permission_are_refused(book: dict[str, Customer],
                                                  personas: dict[str, User],
                                                  client_for: Callable[[User], Client]) -> None:
    for role in ("erp_integration", "outsider"):
        client = client_for(personas[role])
        assert client.get(reverse("credit:overview")).status_code == 403
        assert client.get(reverse("credit:overview_export")).status_code == 403
    assert client_for(personas["customer_service"]).get(
        reverse("credit:overview")).status_code == 200


# --- the table and its export -----------------------------------------------------------------


def expected_rows(customers: list[Customer]) -> list[list[str]]:
    rows = []
    for customer in sorted(customers, key=lambda c: c.code):
        s = Standing.objects.get(pk=customer.pk)
        days = max(0, (TODAY - s.oldest_open_due_on).days) if s.oldest_open_due_on else 0
        rows.append([
            customer.code, customer.name, customer.region_id, customer.region.full_name,
            s.grade, "" if s.score is None else str(s.score), *(format(money(v), "f") for v in (
                s.credit_limit, s.posted, s.reserved,
                s.credit_limit - s.posted - s.reserved, s.overdue_amount)),
            str(days), s.next_review_on.isoformat() if s.next_review_on else ""])
    return rows


def test_csv_export_is_the_filtered_table(book: dict[str, Customer], personas: dict[str, User],
                                          client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["credit_manager"])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.get(reverse("credit:overview_export"), {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [str(h) for h in EXPORT_HEADERS]
    assert rows[0][:2] == ["code", "name"]
    assert rows[1:] == expected_rows(list(book.values()))
    late = {book["b"].code, book["c"].code}
    assert all(int(row[11]) == 15 for row in rows[1:] if row[0] in late)
    guangdong = client.get(reverse("credit:overview_export"),
                           {"format": "csv", "region": "440000", "sort": "-posted"})
    body = list(csv.reader(io.StringIO(guangdong.content.decode("utf-8-sig"))))[1:]
    assert {row[0] for row in body} == {book[k].code for k in "cde"}
    assert [Decimal(row[7]) for row in body] == sorted((Decimal(row[7]) for row in body),
                                                       reverse=True)


def test_xlsx_export(book: dict[str, Customer], personas: dict[str, User],
                     client_for: Callable[[User], Client]) -> None:
    response = client_for(personas["auditor"]).get(reverse("credit:overview_export"),
                                                   {"format": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert len(rows) == 1 + len(book)
    by_code = {row[0]: row for row in rows[1:]}
    for customer in book.values():
        s = Standing.objects.get(pk=customer.pk)
        row = by_code[customer.code]
        assert row[4] == (s.grade or None)
        assert Decimal(str(row[7])) == money(s.posted)
        assert Decimal(str(row[8])) == money(s.reserved)
    assert client_for(personas["auditor"]).get(reverse("credit:overview_export"),
                                               {"format": "pdf"}).status_code == 404


def test_the_table_sorts_and_pages_with_htmx(book: dict[str, Customer],
                                             personas: dict[str, User],
                                             client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["credit_manager"])
    response = client.get(reverse("credit:overview"), {"sort": "-posted"},
                          HTTP_HX_REQUEST="true", HTTP_HX_TARGET="credit-table")
    fragment = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in fragment and 'data-chart="grade-chart"' not in fragment
    codes = re.findall(r'<tr data-code="(\d{9})"', fragment)
    posted = {c.code: Standing.objects.get(pk=c.pk).posted for c in book.values()}
    assert [posted[c] for c in codes] == sorted(posted.values(), reverse=True)
    for code in codes:
        assert f'href="{reverse("credit:customer", args=[code])}"' in fragment
