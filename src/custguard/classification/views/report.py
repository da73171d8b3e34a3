"""The monthly classification report (/classification/report/): choose a month's run and see
its customers per class and sales region (a table and a stacked ECharts bar chart), the moves
it made, the proposals still waiting and the reminders overdue — kept when the run closed, or
counted now while it is open; its CSV/XLSX export; and "run now" for whoever may run the
classification (classification.services.runs.run_month)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from custguard.classification import selectors
from custguard.classification.forms import MonthForm
from custguard.classification.services import runs
from custguard.classification.tables import move_html
from custguard.core import clock, exports
from custguard.core.errors import DomainError
from custguard.core.transactions import atomic_with_retry
from custguard.customers.views.common import actor

CLASS_COLOURS = {"A": "#2fb344", "B": "#4299e1", "C": "#9ba9be"}


def region_label(row: selectors.RegionRow) -> str:
    if row.region == "*":
        return _("All regions")
    return f"{row.region} {row.name}".strip()


def chart(report: selectors.Report) -> dict[str, Any]:
    """Customers per sales region, stacked by class."""
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"bottom": 0},
        "grid": {"left": 40, "right": 20, "top": 20, "bottom": 60},
        "xAxis": {"type": "category", "data": [region_label(row) for row in report.regions],
                  "axisLabel": {"interval": 0, "rotate": 30 if len(report.regions) > 8 else 0}},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [{"type": "bar", "stack": "class", "name": _("Class %(abc)s") % {"abc": abc},
                    "barMaxWidth": 40, "itemStyle": {"color": CLASS_COLOURS[abc]},
                    "data": [row.counts.get(abc, 0) for row in report.regions]}
                   for abc in selectors.CLASSES],
    }


def _report(request: HttpRequest) -> tuple[MonthForm, selectors.Report | None]:
    form = MonthForm(request.GET or None)
    if request.GET.get("month") and not form.is_valid():
        raise Http404  # a month without a run
    month = form.chosen()
    if month is None:
        return form, None
    try:
        run = selectors.run_of(month)
    except DomainError as error:
        raise Http404 from error
    return form, selectors.report_of(run)


@login_required
@permission_required("classification.view_classificationrun", raise_exception=True)
def report(request: HttpRequest) -> HttpResponse:
    form, found = _report(request)
    context: dict[str, Any] = {"form": form, "report": found,
                               "this_month": clock.today().replace(day=1)}
    if found is not None:
        context |= {
            "rows": [(region_label(row), row) for row in found.regions],
            "moves": [(move_html(m.from_class, m.to_class), m) for m in found.moves],
            "chart": chart(found),
        }
    return render(request, "classification/report.html", context)


EXPORT_HEADERS = [
    gettext_lazy("month"), gettext_lazy("figure"), gettext_lazy("region code"),
    gettext_lazy("region"), gettext_lazy("class"), gettext_lazy("move"),
    gettext_lazy("customers"),
]


def export_rows(found: selectors.Report) -> Iterator[list[object]]:
    month = f"{found.run.month:%Y-%m}"
    by_class = str(_("customers by class and region"))
    for region, name, abc, n in found.by_region:
        yield [month, by_class, region, name, abc, "", n]
    moved = str(_("class changes"))
    for item in found.moves:
        yield [month, moved, "", "", "", item.move, item.customers]
    yield [month, str(_("proposals waiting for a decision")), "", "", "", "",
           found.pending_proposals]
    yield [month, str(_("reminders overdue")), "", "", "", "", found.overdue_reminders]


@login_required
@permission_required("classification.view_classificationrun", raise_exception=True)
def report_export(request: HttpRequest) -> HttpResponse:
    fmt = request.GET.get("format", "xlsx")
    if not exports.is_format(fmt):
        raise Http404
    _form, found = _report(request)
    if found is None:
        raise Http404
    return exports.export_response(f"classification-{found.run.month:%Y-%m}",
                                   [str(h) for h in EXPORT_HEADERS], export_rows(found), fmt)


@login_required
@require_POST
@permission_required("classification.run_classification", raise_exception=True)
def run_now(request: HttpRequest) -> HttpResponse:
    """Run this month's classification now (again: only what differs changes)."""
    today = clock.today()
    try:
        result = atomic_with_retry(lambda: runs.run_month(actor(request), today))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("classification:report")
    messages.success(request, _(
        "The classification of %(month)s ran: %(customers)d customers, %(assigned)d classes "
        "set, %(reminded)d reminders, %(proposed)d moves proposed.") % {
        "month": f"{result.run.month:%Y-%m}", "customers": result.run.customers,
        "assigned": result.assigned, "reminded": result.reminded,
        "proposed": result.proposed})
    return redirect(f"{reverse('classification:report')}?month={result.run.month:%Y-%m}")
