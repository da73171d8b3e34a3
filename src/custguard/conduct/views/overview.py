"""The conduct overview: key figures of now (open cases, penalties and blacklist entries in
force, overdue appeals, fines due); violations by type, severity, province and month,
penalties by measure and appeal outcomes (ECharts); the cases behind them, sorted and paged
with htmx, and their export with each case's latest penalty and appeal — all over the customers
the user may see, filtered by the day the violation occurred, region, severity and state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import django_tables2 as tables
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django_tables2 import RequestConfig

from custguard.conduct import selectors
from custguard.conduct.labels import MEASURES
from custguard.conduct.models import Appeal, Penalty, ViolationCase
from custguard.conduct.selectors import CaseFilter, Catalogue
from custguard.core import clock, exports
from custguard.core.forms import StyledFormMixin
from custguard.core.tables import TEMPLATE
from custguard.customers import selectors as customer_selectors
from custguard.customers.filters import region_filter_choices
from custguard.customers.models import Customer
from custguard.customers.views.common import user_of
from custguard.policy.codes import Measure, Severity

TABLE_TARGET = "conduct-table"
MAX_MONTHS = 36  # the month chart shows at most the last three years of a longer range
TOP = 15
SEVERITY_COLOURS = {"MINOR": "#f59f00", "MAJOR": "#f76707", "SEVERE": "#d63939",
                    "CRITICAL": "#a61e4d"}
GROUP_COLOURS = {"proposed": "#4299e1", "in_force": "#d63939", "ended": "#2fb344",
                 "overturned": "#ae3ec9"}
GROUP_LABELS = {
    "proposed": pgettext_lazy("penalties", "Proposed"),
    "in_force": pgettext_lazy("penalties", "In force"),
    "ended": pgettext_lazy("penalties", "Ended"),
    "overturned": pgettext_lazy("penalties", "Overturned or rejected"),
}
APPEAL_COLOURS = {"filed": "#4299e1", "under_review": "#f59f00", "upheld": "#d63939",
                  "overturned": "#2fb344", "reduced": "#f76707", "withdrawn": "#9ba9be"}
STATE_CHOICES = [
    ("confirmed", gettext_lazy("Confirmed violations")),
    ("open", gettext_lazy("Open cases (reported or under investigation)")),
    ("dismissed", gettext_lazy("Dismissed cases")),
    ("all", gettext_lazy("Every case")),
]


def default_range(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last twelve calendar months, this one included."""
    first = today.replace(day=1)
    for _month in range(11):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return first, today


def _region_choices() -> list[tuple[str, Any]]:
    return [("", _("All")), *region_filter_choices()]


def _severity_choices() -> list[tuple[str, str]]:
    return [("", _("All")), *[(s.value, selectors.severity_label(s.value)) for s in Severity]]


class OverviewForm(StyledFormMixin, forms.Form):
    start = forms.DateField(label=gettext_lazy("occurred from"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("occurred until"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))
    region = forms.ChoiceField(label=gettext_lazy("region"), required=False,
                               choices=_region_choices)
    severity = forms.ChoiceField(label=gettext_lazy("severity"), required=False,
                                 choices=_severity_choices)
    states = forms.ChoiceField(label=gettext_lazy("cases"), required=False,
                               choices=STATE_CHOICES)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", _("the end of the range lies before its start"))
        return data

    def filters(self, today: dt.date) -> CaseFilter:
        """The filters to apply: the valid fields as given, defaults for the rest (the last
        twelve months, every region and severity, confirmed violations)."""
        self.is_valid()  # an invalid field is left out of cleaned_data
        data: dict[str, Any] = getattr(self, "cleaned_data", {})
        first, last = default_range(today)
        start, end = data.get("start") or first, data.get("end") or last
        if start > end or "start" in self.errors or "end" in self.errors:
            start, end = first, last  # half a range is no range
        return CaseFilter(start=start, end=end, region=data.get("region") or "",
                          severity=data.get("severity") or "",
                          states=data.get("states") or "confirmed")


# --- the table of cases -----------------------------------------------------------------------


class CaseTable(tables.Table):
    results_id = "conduct-table"
    case = tables.Column(verbose_name="#", accessor="pk", order_by=("pk",))
    customer_code = tables.Column(verbose_name=gettext_lazy("code"), accessor="customer__code",
                                  order_by=("customer__code", "pk"))
    customer_name = tables.Column(verbose_name=gettext_lazy("customer"),
                                  accessor="customer__name",
                                  order_by=("customer__name", "pk"))
    province = tables.Column(verbose_name=gettext_lazy("region"), accessor="customer__region",
                             order_by=("customer__region__code", "pk"))
    occurred_on = tables.DateColumn(verbose_name=gettext_lazy("occurred on"), format="Y-m-d",
                                    order_by=("occurred_on", "pk"))
    violation_type = tables.Column(verbose_name=gettext_lazy("violation type"),
                                   order_by=("violation_type", "pk"))
    severity = tables.Column(verbose_name=gettext_lazy("severity"), order_by=("severity", "pk"))
    status = tables.Column(verbose_name=gettext_lazy("status"), order_by=("status", "pk"))
    penalty_step = tables.Column(verbose_name=gettext_lazy("penalty"),
                                 order_by=("penalty_step", "pk"))
    penalty_status = tables.Column(verbose_name=gettext_lazy("penalty status"),
                                   order_by=("penalty_status", "pk"))
    appeal_status = tables.Column(verbose_name=gettext_lazy("appeal"),
                                  order_by=("appeal_status", "pk"))

    class Meta:
        model = ViolationCase
        fields = ("case", "customer_code", "customer_name", "province", "occurred_on",
                  "violation_type", "severity", "status", "penalty_step", "penalty_status",
                  "appeal_status")
        sequence = fields
        order_by = "-occurred_on"
        template_name = TEMPLATE
        empty_text = gettext_lazy("No cases match.")
        attrs = {"class": "table table-vcenter card-table table-striped table-sm",
                 "data-testid": "conduct-table"}
        row_attrs = {"data-case": lambda record: record.pk,
                     "data-status": lambda record: record.status}

    def __init__(self, *args: Any, catalogue: Catalogue, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.catalogue = catalogue

    def render_case(self, value: int) -> str:
        url = reverse("conduct:case_detail", args=[value])
        return format_html('<a href="{}" data-testid="case-link">{}</a>', url, value)

    def render_customer_code(self, value: str) -> str:
        url = reverse("conduct:customer", args=[value])
        return format_html('<a href="{}" class="font-monospace fw-bold">{}</a>', url, value)

    def render_province(self, record: ViolationCase) -> str:
        region = record.customer.region
        return format_html('<span title="{}">{}</span>', region.code, region.full_name)

    def render_violation_type(self, record: ViolationCase) -> str:
        return format_html('<span data-type="{}">{}</span>', record.violation_type,
                           self.catalogue.violation_type(record.violation_type,
                                                         record.policy_version))

    def render_severity(self, value: str) -> str:
        return selectors.severity_label(value)

    def render_status(self, record: ViolationCase) -> str:
        return str(record.get_status_display())

    def render_penalty_step(self, value: str) -> str:
        return format_html('<span data-step="{}">{}</span>', value, self.catalogue.step(value))

    def render_penalty_status(self, value: str) -> str:
        return str(Penalty.Status(value).label) if value in Penalty.Status.values else value

    def render_appeal_status(self, value: str) -> str:
        return str(Appeal.Status(value).label) if value in Appeal.Status.values else value


# --- charts -----------------------------------------------------------------------------------


def _bars(categories: list[str], values: list[int], name: str, *,
          horizontal: bool = False, colour: str = "#206bc4") -> dict[str, Any]:
    category_axis = {"type": "category", "data": categories,
                     "axisLabel": {"width": 160, "overflow": "truncate"}}
    value_axis = {"type": "value", "minInterval": 1}
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 170 if horizontal else 40, "right": 30, "top": 20, "bottom": 30},
        "xAxis": value_axis if horizontal else category_axis,
        "yAxis": category_axis if horizontal else value_axis,
        "series": [{"type": "bar", "name": name, "barMaxWidth": 28,
                    "itemStyle": {"color": colour}, "data": values}],
    }


def _pie(rows: list[tuple[str, str, int, str]], name: str) -> dict[str, Any]:
    """A doughnut of (code, label, count, colour) rows; empty slices are left out."""
    return {
        "tooltip": {"trigger": "item"},
        "legend": {"bottom": 0},
        "series": [{"type": "pie", "name": name, "radius": ["40%", "70%"],
                    "label": {"formatter": "{b}: {c}"},
                    "data": [{"name": label, "value": count, "itemStyle": {"color": colour}}
                             for _code, label, count, colour in rows if count]}],
    }


def type_chart(rows: list[selectors.Counted]) -> dict[str, Any]:
    shown = list(reversed(rows[:TOP]))  # the most frequent at the top
    return _bars([row.label for row in shown], [row.count for row in shown], _("Cases"),
                 horizontal=True)


def province_chart(rows: list[selectors.Counted]) -> dict[str, Any]:
    shown = list(reversed(rows))
    return _bars([row.label for row in shown], [row.count for row in shown], _("Cases"),
                 horizontal=True, colour="#4263eb")


def severity_chart(rows: list[selectors.Counted]) -> dict[str, Any]:
    return _pie([(row.code, row.label, row.count, SEVERITY_COLOURS.get(row.code, "#9ba9be"))
                 for row in rows], _("Cases"))


def month_chart(months: list[dt.date], series: dict[str, list[int]]) -> dict[str, Any]:
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"bottom": 0},
        "grid": {"left": 40, "right": 20, "top": 20, "bottom": 50},
        "xAxis": {"type": "category", "data": [f"{m:%Y-%m}" for m in months]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [{"type": "bar", "stack": "severity", "name": selectors.severity_label(code),
                    "barMaxWidth": 36,
                    "itemStyle": {"color": SEVERITY_COLOURS.get(code, "#9ba9be")},
                    "data": values} for code, values in series.items()],
    }


def measure_chart(counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Penalties per measure (the measures used at all, mildest at the bottom)."""
    used = [code for code in reversed([m.value for m in Measure])
            if any(counts[code].values())]
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"bottom": 0},
        "grid": {"left": 170, "right": 30, "top": 20, "bottom": 50},
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "data": [str(MEASURES[Measure(c)]) for c in used],
                  "axisLabel": {"width": 160, "overflow": "truncate"}},
        "series": [{"type": "bar", "stack": "penalties", "name": str(label),
                    "barMaxWidth": 24, "itemStyle": {"color": GROUP_COLOURS[group]},
                    "data": [counts[c][group] for c in used]}
                   for group, label in GROUP_LABELS.items()],
    }


def appeal_chart(outcomes: dict[str, int]) -> dict[str, Any]:
    return _pie([(code, str(Appeal.Status(code).label), count, APPEAL_COLOURS[code])
                 for code, count in outcomes.items()], _("Appeals"))


# --- the pages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filtered:
    form: OverviewForm
    filters: CaseFilter
    customers: QuerySet[Customer]  # in scope and region (the key figures' customers)
    cases: QuerySet[ViolationCase]


def _filtered(request: HttpRequest) -> Filtered:
    today = clock.today()
    form = OverviewForm(request.GET or None)
    filters = form.filters(today)
    scoped = customer_selectors.customers_for(user_of(request))
    return Filtered(form=form, filters=filters,
                    customers=selectors.in_region(scoped, filters.region),
                    cases=selectors.filtered_cases(scoped, filters))


def _table(request: HttpRequest, cases: QuerySet[ViolationCase], catalogue: Catalogue, *,
           paginate: bool = True) -> CaseTable:
    table = CaseTable(selectors.with_outcomes(cases), catalogue=catalogue)
    RequestConfig(request, paginate={"per_page": settings.CUSTGUARD_PAGE_SIZE}
                  if paginate else False).configure(table)
    return table


@login_required
@permission_required("conduct.view_violationcase", raise_exception=True)
def overview(request: HttpRequest) -> HttpResponse:
    today = clock.today()
    found = _filtered(request)
    catalogue = Catalogue()
    table = _table(request, found.cases, catalogue)
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request and htmx.target == TABLE_TARGET:
        return render(request, "conduct/overview/table_card.html",
                      {"table": table, "form": found.form})
    months = selectors.months_between(found.filters.start, found.filters.end)[-MAX_MONTHS:]
    types = selectors.by_type(found.cases, catalogue)
    severities = selectors.by_severity(found.cases)
    provinces = selectors.by_province(found.cases, top=TOP)
    measures = selectors.penalties_by_measure(found.cases)
    outcomes = selectors.appeal_outcomes(found.cases)
    context = {
        "form": found.form,
        "filters": found.filters,
        "table": table,
        "figures": selectors.key_figures(found.customers, today),
        "total": sum(row.count for row in severities),
        "types": types,
        "severities": severities,
        "provinces": provinces,
        "penalties": sum(sum(groups.values()) for groups in measures.values()),
        "appeals": sum(outcomes.values()),
        "outcomes": [(code, Appeal.Status(code).label, count)
                     for code, count in outcomes.items()],
        "type_chart": type_chart(types),
        "severity_chart": severity_chart(severities),
        "province_chart": province_chart(provinces),
        "month_chart": month_chart(months, selectors.by_month(found.cases, months)),
        "measure_chart": measure_chart(measures),
        "appeal_chart": appeal_chart(outcomes),
    }
    return render(request, "conduct/overview/overview.html", context)


EXPORT_HEADERS = [
    gettext_lazy("customer code"), gettext_lazy("customer"), gettext_lazy("region code"),
    gettext_lazy("region"), gettext_lazy("case"), gettext_lazy("violation type code"),
    gettext_lazy("violation type"), gettext_lazy("category"), gettext_lazy("severity"),
    gettext_lazy("points"), gettext_lazy("occurred on"), gettext_lazy("reported at"),
    gettext_lazy("status"), gettext_lazy("decided at"), gettext_lazy("penalty"),
    gettext_lazy("ladder step"), gettext_lazy("measures"), gettext_lazy("penalty status"),
    gettext_lazy("starts on"), gettext_lazy("ends on"), gettext_lazy("fine"),
    gettext_lazy("appeal"), gettext_lazy("appeal status"), gettext_lazy("appeal filed at"),
    gettext_lazy("appeal decided at"),
]


def export_rows(rows: Iterator[selectors.CaseRow], catalogue: Catalogue
                ) -> Iterator[list[object]]:
    separator = "、" if selectors.is_chinese() else ", "
    for row in rows:
        case, penalty, appeal = row.case, row.penalty, row.appeal
        region = case.customer.region
        yield [
            case.customer.code, case.customer.name, region.code, region.full_name, case.pk,
            case.violation_type, catalogue.violation_type(case.violation_type,
                                                          case.policy_version),
            catalogue.category(case.violation_type, case.policy_version),
            selectors.severity_label(case.severity), case.points, case.occurred_on,
            case.reported_at, case.get_status_display(), case.decided_at,
            penalty.pk if penalty else None,
            catalogue.step(penalty.step_code, penalty.policy_version) if penalty else "",
            separator.join(selectors.measure_label(m) for m in penalty.measures)
            if penalty else "",
            penalty.get_status_display() if penalty else "",
            penalty.starts_on if penalty else None, penalty.ends_on if penalty else None,
            penalty.fine_amount if penalty else None,
            appeal.pk if appeal else None, appeal.get_status_display() if appeal else "",
            appeal.filed_at if appeal else None, appeal.decided_at if appeal else None,
        ]


@login_required
@permission_required("conduct.view_violationcase", raise_exception=True)
def overview_export(request: HttpRequest) -> HttpResponse:
    """The cases behind the overview as filtered and sorted, every page, as CSV or XLSX."""
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    found = _filtered(request)
    catalogue = Catalogue()
    table = _table(request, found.cases, catalogue, paginate=False)
    rows = selectors.case_rows(table.data.data)  # the table's ordering
    return exports.export_response("conduct", [str(h) for h in EXPORT_HEADERS],
                                   export_rows(rows, catalogue), fmt)
