"""The credit overview: key figures, grade distribution, exposure and overdue by grade and by
province (ECharts), the per-customer credit table behind them (sorted and paged with htmx) and
its export — all over the customers the user may see, filtered by region, account manager and
kind."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import django_filters
import django_tables2 as tables
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tables2 import RequestConfig

from custguard.core import clock, exports
from custguard.core.forms import StyledFormMixin
from custguard.core.models import User
from custguard.core.services.policies import version_in_force
from custguard.core.tables import TEMPLATE
from custguard.credit import presenters, selectors
from custguard.customers import selectors as customer_selectors
from custguard.customers.filters import region_filter_choices
from custguard.customers.models import Customer, CustomerKind
from custguard.customers.views.common import user_of

TABLE_TARGET = "credit-table"
# Exposure colours: receivables not yet due, overdue, open orders.
CURRENT, OVERDUE, RESERVED = "#206bc4", "#d63939", "#f59f00"


class OverviewFilterForm(StyledFormMixin, forms.Form):
    pass


class OverviewFilter(django_filters.FilterSet):
    region = django_filters.ChoiceFilter(label=gettext_lazy("region"),
                                         choices=region_filter_choices, method="filter_region",
                                         empty_label=gettext_lazy("All"))
    account_manager = django_filters.ModelChoiceFilter(
        label=gettext_lazy("account manager"), queryset=User.objects.none(),
        empty_label=gettext_lazy("All"))
    kind = django_filters.ChoiceFilter(label=gettext_lazy("kind"), choices=CustomerKind.choices,
                                       empty_label=gettext_lazy("All"))

    class Meta:
        model = Customer
        fields = ["region", "account_manager", "kind"]
        form = OverviewFilterForm

    def __init__(self, data: Any = None, queryset: QuerySet[Customer] | None = None, *,
                 user: User, **kwargs: Any) -> None:
        super().__init__(data, queryset, **kwargs)
        if customer_selectors.sees_all_customers(user):
            self.filters["account_manager"].queryset = customer_selectors.account_managers()
        else:  # an account manager sees only their own customers
            del self.filters["account_manager"]

    def filter_region(self, qs: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        if not value:
            return qs
        return qs.filter(Q(region__code=value) | Q(region__parent__code=value))


MONEY_ATTRS = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}


class MoneyColumn(tables.Column):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(attrs=MONEY_ATTRS, **kwargs)

    def render(self, value: Any) -> str:
        return presenters.grouped(value)


class CreditTable(tables.Table):
    results_id = "credit-table"
    code = tables.Column(verbose_name=gettext_lazy("code"), order_by=("code",))
    name = tables.Column(verbose_name=gettext_lazy("name"), order_by=("name", "code"))
    region = tables.Column(verbose_name=gettext_lazy("region"),
                           order_by=("region__code", "code"))
    grade = tables.Column(verbose_name=gettext_lazy("grade"), order_by=("score", "code"),
                          default="—")
    score = tables.Column(verbose_name=gettext_lazy("score"), order_by=("score", "code"),
                          default="—", attrs=MONEY_ATTRS)
    credit_limit = MoneyColumn(verbose_name=gettext_lazy("credit limit"),
                               order_by=("credit_limit", "code"))
    posted = MoneyColumn(verbose_name=gettext_lazy("posted"), order_by=("posted", "code"))
    reserved = MoneyColumn(verbose_name=gettext_lazy("reserved"),
                           order_by=("reserved", "code"))
    available = MoneyColumn(verbose_name=gettext_lazy("available"),
                            order_by=("available", "code"))
    overdue = MoneyColumn(verbose_name=gettext_lazy("overdue"), order_by=("overdue", "code"))
    days_past_due = tables.Column(verbose_name=gettext_lazy("days past due"),
                                  order_by=("days_past_due", "code"), attrs=MONEY_ATTRS)
    next_review_on = tables.Column(verbose_name=gettext_lazy("next review"),
                                   order_by=("next_review_on", "code"), default="—")

    class Meta:
        model = Customer
        fields = ("code", "name", "region", "grade", "score", "credit_limit", "posted",
                  "reserved", "available", "overdue", "days_past_due", "next_review_on")
        sequence = fields
        order_by = "code"
        template_name = TEMPLATE
        empty_text = gettext_lazy("No customers match.")
        attrs = {"class": "table table-vcenter card-table table-striped table-sm",
                 "data-testid": "credit-table"}
        row_attrs = {"data-code": lambda record: record.code}

    def render_code(self, value: str) -> str:
        url = reverse("credit:customer", args=[value])
        return format_html('<a href="{}" class="font-monospace fw-bold">{}</a>', url, value)

    def render_region(self, record: Customer) -> str:
        return format_html('<span title="{}">{}</span>', record.region.code,
                           record.region.full_name)

    def render_next_review_on(self, value: dt.date) -> str:
        """A review date that has come is shown in red: the customer is due for review."""
        if value <= clock.today():
            return format_html('<span class="text-danger">{}</span>', value.isoformat())
        return value.isoformat()

    def render_days_past_due(self, value: int) -> str:
        if value > 90:
            return format_html('<span class="text-danger fw-bold">{}</span>', value)
        return str(value)


def _filtered(request: HttpRequest) -> tuple[OverviewFilter, QuerySet[Customer]]:
    user = user_of(request)
    filterset = OverviewFilter(request.GET or None,
                               queryset=customer_selectors.customers_for(user), user=user)
    return filterset, filterset.qs


def _grades() -> list[str]:
    version = version_in_force()
    policy = presenters.policy_document(version.number) if version else None
    return [band.code.value for band in policy.grades] if policy is not None else []


def _charts(by_grade: list[selectors.Totals],
            by_province: list[selectors.RegionTotals]) -> dict[str, Any]:
    grade_names = [row.label or _("Not rated") for row in by_grade]
    provinces = list(reversed(by_province))  # the largest at the top of a horizontal chart
    return {
        "grade_chart": presenters.grade_chart((row.label, row.customers) for row in by_grade),
        "grade_exposure_chart": presenters.stacked_chart(grade_names, [
            (_("Not yet due"), CURRENT, [row.current for row in by_grade]),
            (_("Overdue"), OVERDUE, [row.overdue for row in by_grade]),
            (_("Open orders (reserved)"), RESERVED, [row.reserved for row in by_grade]),
        ]),
        "region_chart": presenters.stacked_chart([row.label for row in provinces], [
            (_("Not yet due"), CURRENT, [row.current for row in provinces]),
            (_("Overdue"), OVERDUE, [row.overdue for row in provinces]),
            (_("Open orders (reserved)"), RESERVED, [row.reserved for row in provinces]),
        ], horizontal=True),
    }


@login_required
@permission_required("credit.view_creditscore", raise_exception=True)
def overview(request: HttpRequest) -> HttpResponse:
    today = clock.today()
    filterset, customers = _filtered(request)
    table = CreditTable(selectors.credit_rows(customers, today))
    RequestConfig(request, paginate={"per_page": settings.CUSTGUARD_PAGE_SIZE}).configure(table)
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request and htmx.target == TABLE_TARGET:
        return render(request, "credit/overview/table_card.html", {"table": table})
    by_grade = selectors.by_grade(customers, _grades())
    by_province = selectors.by_province(customers)
    context = {
        "filter": filterset,
        "table": table,
        "figures": selectors.key_figures(customers, today),
        "by_grade": by_grade,
        "by_province": by_province,
        **_charts(by_grade, by_province),
    }
    return render(request, "credit/overview/overview.html", context)


EXPORT_HEADERS = [
    gettext_lazy("code"), gettext_lazy("name"), gettext_lazy("region code"),
    gettext_lazy("region"), gettext_lazy("grade"), gettext_lazy("score"),
    gettext_lazy("credit limit"), gettext_lazy("posted"), gettext_lazy("reserved"),
    gettext_lazy("available"), gettext_lazy("overdue"), gettext_lazy("days past due"),
    gettext_lazy("next review"),
]


def _export_rows(rows: Iterator[Customer]) -> Iterator[list[object]]:
    for c in rows:
        yield [c.code, c.name, c.region_id, c.region.full_name, c.grade, c.score,
               presenters.to_decimal(c.credit_limit), presenters.to_decimal(c.posted),
               presenters.to_decimal(c.reserved), presenters.to_decimal(c.available),
               presenters.to_decimal(c.overdue), c.days_past_due, c.next_review_on]


@login_required
@permission_required("credit.view_creditscore", raise_exception=True)
def overview_export(request: HttpRequest) -> HttpResponse:
    """The per-customer credit table as filtered and sorted, every page, as CSV or XLSX."""
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    _filterset, customers = _filtered(request)
    table = CreditTable(selectors.credit_rows(customers, clock.today()))
    RequestConfig(request, paginate=False).configure(table)
    rows = table.data.data  # the table's ordering
    return exports.export_response("credit", [str(h) for h in EXPORT_HEADERS],
                                   _export_rows(rows.iterator(chunk_size=500)), fmt)
