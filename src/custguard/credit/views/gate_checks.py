"""The gate's answers page (/credit/gate/): every answer the order gate gave, filtered by
customer, outcome and date, sortable, paginated and exportable. Also the helpers the credit-hold
pages share: customer scoping, money and reason display."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django_tables2 import RequestConfig

from custguard.core import exports
from custguard.core.forms import StyledFormMixin
from custguard.core.models import User
from custguard.core.tables import HtmxTable, list_page
from custguard.credit import reasons as reason_text
from custguard.credit.models import GateCheck
from custguard.customers import selectors

OUTCOME_BADGES = {
    GateCheck.Outcome.ALLOW: "bg-green-lt",
    GateCheck.Outcome.HOLD: "bg-yellow-lt",
    GateCheck.Outcome.PREPAY_REQUIRED: "bg-orange-lt",
    GateCheck.Outcome.DENY: "bg-red-lt",
}


# --- shared with the credit-hold pages --------------------------------------------------------


def user_of(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def scoped(qs: QuerySet[Any], user: User) -> QuerySet[Any]:
    """Rows (with a `customer`) of the customers the user may see."""
    if selectors.sees_all_customers(user):
        return qs
    return qs.filter(customer__in=selectors.customers_for(user).values("pk"))


def matching_customers(qs: QuerySet[Any], user: User, text: str) -> QuerySet[Any]:
    """Rows of the customers whose code starts with, or whose name or phone contains, `text`."""
    text = text.strip()
    if not text:
        return qs
    found = selectors.search_customers(selectors.customers_for(user), text)
    return qs.filter(customer__in=found.values("pk"))


def money(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return formats.number_format(value, 2, use_l10n=True, force_grouping=True)


def reason_lines(stored: Iterable[dict[str, Any]]) -> SafeString:
    """The reasons in plain language, one per line, the code kept in a data attribute."""
    items = reason_text.describe_all(stored)
    return format_html_join("", '<div data-reason="{}">{}</div>',
                            ((item.code, item.text) for item in items))


def customer_cell(record: Model) -> SafeString:
    customer = record.customer  # type: ignore[attr-defined]
    url = reverse("customers:detail", args=[customer.code])
    return format_html('<a href="{}" class="font-monospace fw-bold">{}</a><div class="small">{}'
                       "</div>", url, customer.code, customer.name)


def local_time(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


BaseTable = HtmxTable


# --- the gate's answers -----------------------------------------------------------------------


class GateCheckFilterForm(StyledFormMixin, forms.Form):
    customer = forms.CharField(
        label=_("Customer"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("code or name"), "type": "search"}))
    outcome = forms.ChoiceField(label=_("Outcome"), required=False,
                                choices=[("", _("All")), *GateCheck.Outcome.choices])
    date_from = forms.DateField(label=_("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


def filter_checks(form: GateCheckFilterForm, qs: QuerySet[GateCheck],
                  user: User) -> QuerySet[GateCheck]:
    if not form.is_bound:
        return qs
    if not form.is_valid():
        return qs.none()
    data = form.cleaned_data
    qs = matching_customers(qs, user, data["customer"])
    if data["outcome"]:
        qs = qs.filter(outcome=data["outcome"])
    tz = timezone.get_current_timezone()
    if data["date_from"]:
        qs = qs.filter(at__gte=dt.datetime.combine(data["date_from"], dt.time.min, tz))
    if data["date_to"]:
        qs = qs.filter(at__lt=dt.datetime.combine(data["date_to"] + dt.timedelta(days=1),
                                                  dt.time.min, tz))
    return qs


class GateCheckTable(BaseTable):
    at = tables.Column(verbose_name=_("Time"), order_by=("at", "pk"),
                       attrs={"td": {"class": "text-nowrap"}})
    customer = tables.Column(verbose_name=_("Customer"), empty_values=(),
                             order_by=("customer__code", "-at"))
    amount = tables.Column(verbose_name=_("Amount"), order_by=("amount", "-at"),
                           attrs={"td": {"class": "text-end text-nowrap"}})
    outcome = tables.Column(verbose_name=_("Outcome"), order_by=("outcome", "-at"))
    reasons = tables.Column(verbose_name=_("Reasons"), orderable=False, empty_values=())
    available_customer = tables.Column(verbose_name=_("Available"),
                                       order_by=("available_customer", "-at"),
                                       attrs={"td": {"class": "text-end text-nowrap"}})
    available_group = tables.Column(verbose_name=_("Group available"), empty_values=(),
                                    order_by=("available_group", "-at"),
                                    attrs={"td": {"class": "text-end text-nowrap"}})
    grade = tables.Column(verbose_name=_("Grade"), order_by=("grade", "-at"), default="—")
    policy_version = tables.Column(verbose_name=_("Policy"), order_by=("policy_version", "-at"))
    order = tables.Column(verbose_name=_("Order"), empty_values=(), order_by=("source",
                                                                              "external_id"))
    actor_label = tables.Column(verbose_name=_("Asked by"), order_by=("actor_label", "-at"))

    class Meta(BaseTable.Meta):
        model = GateCheck
        fields = ("at", "customer", "amount", "outcome", "reasons", "available_customer",
                  "available_group", "grade", "policy_version", "order", "actor_label")
        sequence = fields
        order_by = "-at"
        empty_text = _("No gate answers match.")
        attrs = {**BaseTable.Meta.attrs, "data-testid": "gate-check-table"}
        row_attrs = {"data-outcome": lambda record: record.outcome}

    results_id = "gate-results"

    def render_at(self, value: dt.datetime) -> str:
        return local_time(value)

    def render_customer(self, record: GateCheck) -> SafeString:
        return customer_cell(record)

    def render_amount(self, value: Decimal) -> str:
        return money(value)

    def render_outcome(self, record: GateCheck) -> SafeString:
        return format_html('<span class="badge {}" data-outcome="{}">{}</span>',
                           OUTCOME_BADGES.get(record.outcome, "bg-secondary-lt"),
                           record.outcome, record.get_outcome_display())

    def render_reasons(self, record: GateCheck) -> SafeString:
        return reason_lines(record.reasons)

    def render_available_customer(self, value: Decimal) -> str:
        return money(value)

    def render_available_group(self, record: GateCheck) -> str:
        return money(record.available_group)

    def render_order(self, record: GateCheck) -> SafeString | str:
        if not record.external_id:
            return "—"
        status = record.reservation.get_status_display() if record.reservation else ""
        return format_html('<span class="font-monospace">{}/{}</span><div class="small '
                           'text-secondary">{}</div>', record.source, record.external_id, status)


def _checks(request: HttpRequest) -> tuple[GateCheckFilterForm, GateCheckTable]:
    user = user_of(request)
    form = GateCheckFilterForm(request.GET or None)
    qs = scoped(GateCheck.objects.select_related("customer", "reservation"), user)
    table = GateCheckTable(filter_checks(form, qs, user))
    return form, table


@login_required
@permission_required("credit.view_gatecheck", raise_exception=True)
def check_list(request: HttpRequest) -> HttpResponse:
    form, table = _checks(request)
    return list_page(request, table, {"form": form},
                     page="credit/gate/check_list.html",
                     results="credit/gate/check_results.html")


EXPORT_HEADERS = [
    _("time"), _("customer code"), _("customer"), _("amount"), _("outcome"), _("reasons"),
    _("reason codes"), _("available credit"), _("available group credit"), _("grade"),
    _("policy version"), _("reservation requested"), _("source"), _("external id"),
    _("reservation status"), _("asked by"),
]


def _export_rows(checks: Iterator[GateCheck]) -> Iterator[list[object]]:
    for c in checks:
        yield [
            c.at, c.customer.code, c.customer.name, c.amount, c.get_outcome_display(),
            reason_text.summary(c.reasons), ", ".join(str(r.get("code")) for r in c.reasons),
            c.available_customer, c.available_group, c.grade, c.policy_version, c.reserve,
            c.source, c.external_id,
            c.reservation.get_status_display() if c.reservation else "", c.actor_label,
        ]


@login_required
@permission_required("credit.view_gatecheck", raise_exception=True)
def check_export(request: HttpRequest) -> HttpResponse:
    """The list as it is filtered and sorted, every page, as CSV or XLSX."""
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    _form, table = _checks(request)
    RequestConfig(request, paginate=False).configure(table)
    checks = table.data.data  # the table's ordering
    return exports.export_response("gate-checks", [str(h) for h in EXPORT_HEADERS],
                                   _export_rows(checks.iterator(chunk_size=500)), fmt)
