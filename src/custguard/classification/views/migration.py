"""The ABC migration report (/classification/migration/): how customers moved between the
classes over a period of months — a from × to matrix, the moves per month (a table and a
stacked ECharts bar chart of upgrades, downgrades and first classes) — for every region or one;
with its CSV/XLSX export. Reads classification.selectors.migration_between."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from custguard.classification import selectors
from custguard.classification.forms import MigrationForm
from custguard.core import clock, exports

DIRECTION_COLOURS = {"up": "#2fb344", "down": "#d63939", "first": "#9ba9be"}
FROM_ROWS = ["", *selectors.CLASSES]  # "" is a customer's first class


def direction_labels() -> dict[str, str]:
    return {"up": _("Upgrades"), "down": _("Downgrades"), "first": _("First classes")}


def chart(found: selectors.Migration) -> dict[str, Any]:
    """Moves per month, stacked by direction."""
    labels = direction_labels()
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"bottom": 0},
        "grid": {"left": 40, "right": 20, "top": 20, "bottom": 60},
        "xAxis": {"type": "category", "data": [f"{m.month:%Y-%m}" for m in found.months]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [{"type": "bar", "stack": "moves", "name": labels[direction],
                    "barMaxWidth": 40, "itemStyle": {"color": DIRECTION_COLOURS[direction]},
                    "data": [m.count(direction) for m in found.months]}
                   for direction in ("up", "down", "first")],
    }


def matrix_rows(found: selectors.Migration) -> list[tuple[str, list[int], int]]:
    """(from label, customers per to class, row total) for each from class."""
    matrix = found.matrix
    rows = []
    for before in FROM_ROWS:
        counts = [matrix.get((before, after), 0) for after in selectors.CLASSES]
        rows.append((before or _("none (first class)"), counts, sum(counts)))
    return rows


def _migration(request: HttpRequest) -> tuple[MigrationForm, selectors.Migration | None]:
    form = MigrationForm(request.GET or None, today=clock.today())
    if form.is_bound and not form.is_valid():
        return form, None
    since, until, region = form.period()
    return form, selectors.migration_between(since, until, region)


@login_required
@permission_required("classification.view_classificationrun", raise_exception=True)
def migration(request: HttpRequest) -> HttpResponse:
    form, found = _migration(request)
    context: dict[str, Any] = {"form": form, "migration": found, "classes": selectors.CLASSES}
    if found is not None:
        context |= {
            "matrix": matrix_rows(found), "chart": chart(found),
            "totals": {key: found.total(key) for key in ("up", "down", "first")},
            "months": [(m, m.count("up"), m.count("down"), m.count("first"))
                       for m in reversed(found.months)],
            "query": request.GET.urlencode(),
        }
    return render(request, "classification/migration.html", context,
                  status=200 if found is not None else 422)


EXPORT_HEADERS = [gettext_lazy("month"), gettext_lazy("from"), gettext_lazy("to"),
                  gettext_lazy("direction"), gettext_lazy("customers")]


def export_rows(found: selectors.Migration) -> Iterator[list[object]]:
    labels = direction_labels()
    for month in found.months:
        for (before, after), n in sorted(month.moves.items()):
            yield [f"{month.month:%Y-%m}", before or "-", after,
                   labels[selectors.move_direction(before, after)], n]


@login_required
@permission_required("classification.view_classificationrun", raise_exception=True)
def migration_export(request: HttpRequest) -> HttpResponse:
    fmt = request.GET.get("format", "xlsx")
    if not exports.is_format(fmt):
        raise Http404
    _form, found = _migration(request)
    if found is None:
        raise Http404
    return exports.export_response(
        f"abc-migration-{found.since:%Y-%m}-{found.until:%Y-%m}",
        [str(h) for h in EXPORT_HEADERS], export_rows(found), fmt)
