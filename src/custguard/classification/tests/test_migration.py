"""The ABC migration report across months: the counts per run month and move (June's first
classes, July's approved moves), the region filter, a period refused on the field, the page
with its matrix and chart, the XLSX export and the API. The world is tests/world.py (June: first
classes C C C B B B B B A A; July: p4 B → A and p0 C → B proposed), built once for the module;
each test approves what it needs inside its own rolled-back transaction."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from openpyxl import load_workbook

from custguard.classification import selectors
from custguard.classification.models import ClassProposal
from custguard.classification.services import moves
from custguard.classification.tests import world as class_world
from custguard.classification.views.migration import EXPORT_HEADERS
from custguard.core.actors import Actor
from custguard.core.errors import ValidationFailed
from custguard.core.models import User

pytestmark = pytest.mark.django_db

_fixed_day = class_world._fixed_day
bearer_for = class_world.bearer_for
client_for = class_world.client_for
module_world = class_world.module_world
personas = class_world.personas
world = class_world.world

JUNE, JULY = class_world.JUNE, class_world.JULY


@pytest.fixture
def approved(world: dict[str, Any], personas: dict[str, User]) -> dict[str, Any]:
    """The sales manager approves July's two upward moves (p4 B → A, p0 C → B)."""
    sales = Actor.for_user(personas["sales_manager"])
    for key in ("proposal", "proposal_up"):
        moves.decide(sales, ClassProposal.objects.get(pk=world[key]), approve=True)
    return world


def test_moves_are_counted_per_run_month_and_direction(approved: dict[str, Any]) -> None:
    found = selectors.migration_between(dt.date(2025, 5, 1), JULY)
    assert [m.month for m in found.months] == [dt.date(2025, 5, 1), JUNE, JULY]
    may, june, july = found.months
    assert may.moves == {}
    assert june.moves == {("", "A"): 2, ("", "B"): 5, ("", "C"): 3}
    assert (june.count("first"), june.count("up"), june.count("down")) == (10, 0, 0)
    assert july.moves == {("B", "A"): 1, ("C", "B"): 1}
    assert (july.count("up"), july.count("down"), july.count("first")) == (2, 0, 0)
    assert found.matrix == {("", "A"): 2, ("", "B"): 5, ("", "C"): 3, ("B", "A"): 1,
                            ("C", "B"): 1}
    assert (found.total("up"), found.total("first")) == (2, 10)


def test_a_rejected_or_open_proposal_is_no_move(world: dict[str, Any],
                                                 personas: dict[str, User]) -> None:
    sales = Actor.for_user(personas["sales_manager"])
    moves.decide(sales, ClassProposal.objects.get(pk=world["proposal"]), approve=False,
                 note="目标未达成")
    assert selectors.migration_between(JULY, JULY).months[0].moves == {}


def test_the_region_filter_counts_only_that_regions_customers(
        approved: dict[str, Any]) -> None:
    beijing = selectors.migration_between(JUNE, JULY, "110000")
    assert beijing.total("first") == 10 and beijing.total("up") == 2
    shanghai = selectors.migration_between(JUNE, JULY, "310000")
    assert shanghai.matrix == {}
    assert [m.month for m in shanghai.months] == [JUNE, JULY]  # empty months are shown


@pytest.mark.parametrize(("since", "until", "message"), [
    (JULY, JUNE, "must not be before"),
    (dt.date(2020, 1, 1), dt.date(2025, 7, 1), "at most 36 months"),
])
def test_a_bad_period_is_refused_on_the_field(since: dt.date, until: dt.date,
                                              message: str) -> None:
    with pytest.raises(ValidationFailed) as refused, translation.override("en"):
        selectors.migration_between(since, until)
    assert refused.value.field == "until" and message in refused.value.message


def _page(client: Client, **query: str) -> Any:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client.get("/classification/migration/", query)


def test_the_page_shows_the_matrix_the_months_and_the_chart(
        approved: dict[str, Any], personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    response = _page(client_for(personas["finance"]), since="2025-06", until="2025-07")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="figure-up">2<' in html and 'data-testid="figure-first">10<' in html
    chart = response.context["chart"]
    assert chart["xAxis"]["data"] == ["2025-06", "2025-07"]
    assert [s["data"] for s in chart["series"]] == [[0, 2], [0, 0], [10, 0]]
    matrix = {label: counts for label, counts, _total in response.context["matrix"]}
    assert matrix == {"none (first class)": [2, 5, 3], "A": [0, 0, 0], "B": [1, 0, 0],
                      "C": [0, 1, 0]}
    assert '<tr data-month="2025-07">' in html  # newest month first
    assert html.index('data-month="2025-07"') < html.index('data-month="2025-06"')


def test_the_page_defaults_to_the_last_twelve_months(
        personas: dict[str, User], client_for: Callable[[User], Client]) -> None:
    response = _page(client_for(personas["finance"]))
    found = response.context["migration"]
    assert (found.since, found.until) == (dt.date(2024, 8, 1), JULY)  # today is 2025-07-26
    assert len(found.months) == 12 and found.total("first") == 10


def test_a_bad_period_on_the_page_names_the_field_and_shows_no_figures(
        personas: dict[str, User], client_for: Callable[[User], Client]) -> None:
    response = _page(client_for(personas["finance"]), since="2025-07", until="2025-06")
    assert response.status_code == 422
    assert response.context["migration"] is None
    assert response.context["form"].errors == {
        "until": ["the last month must not be before the first month"]}
    response = _page(client_for(personas["finance"]), since="July")
    assert "since" in response.context["form"].errors


def test_the_export_has_one_row_per_month_and_move(
        approved: dict[str, Any], personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["finance"])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.get("/classification/migration/export/",
                          {"since": "2025-06", "until": "2025-07", "format": "xlsx"})
    assert response.status_code == 200
    values = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert list(values[0]) == [str(h) for h in EXPORT_HEADERS]
    assert [tuple(row) for row in values[1:]] == [
        ("2025-06", "-", "A", "First classes", 2), ("2025-06", "-", "B", "First classes", 5),
        ("2025-06", "-", "C", "First classes", 3), ("2025-07", "B", "A", "Upgrades", 1),
        ("2025-07", "C", "B", "Upgrades", 1)]
    bad = client.get("/classification/migration/export/",
                     {"since": "2025-07", "until": "2025-06", "format": "xlsx"})
    assert bad.status_code == 404


def test_the_api_gives_the_months_and_refuses_a_bad_month(
        approved: dict[str, Any], personas: dict[str, User],
        bearer_for: Callable[[User], dict[str, str]]) -> None:
    headers = bearer_for(personas["finance"]) | {"HTTP_ACCEPT_LANGUAGE": "en"}
    response = Client().get("/api/v1/classification/migration",
                            {"since": "2025-06", "until": "2025-07", "region": "110000"},
                            **headers)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["upgrades"], body["downgrades"], body["first_classes"]) == (2, 0, 10)
    july = body["months"][1]
    assert july["month"] == "2025-07" and july["moves"] == [
        {"from_class": "B", "to_class": "A", "direction": "up", "customers": 1},
        {"from_class": "C", "to_class": "B", "direction": "up", "customers": 1}]
    refused = Client().get("/api/v1/classification/migration",
                           {"since": "2025-07", "until": "2025-06"}, **headers)
    assert refused.status_code == 422
    assert "until" in json.dumps(refused.json())
