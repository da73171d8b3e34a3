"""The credit-hold queue (/credit/holds/): orders the gate put on hold, waiting for a credit
manager, with the gate's reasons in plain language and the customer's available credit now;
filter, sort, paginate, export; and the page where a credit manager approves or rejects one
(reason required). The decision itself is credit.services.gate.approve_hold / reject_hold."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Case, DecimalField, F, Prefetch, QuerySet, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from custguard.core import clock, exports, limits
from custguard.core.actors import Actor
from custguard.core.errors import DomainError
from custguard.core.forms import StyledFormMixin
from custguard.core.models import AuditEntry
from custguard.core.tables import list_page
from custguard.credit import reasons as reason_text
from custguard.credit.models import GateCheck, Reservation
from custguard.credit.services import gate
from custguard.credit.views.gate_checks import (
    BaseTable,
    customer_cell,
    local_time,
    matching_customers,
    money,
    reason_lines,
    scoped,
    user_of,
)
from custguard.customers.models import GroupStanding, Standing

MONEY_OUT = DecimalField(max_digits=20, decimal_places=2)
AGE_CHOICES = [
    ("", gettext_lazy("Any time")),
    ("1", gettext_lazy("More than 1 hour")),
    ("24", gettext_lazy("More than 1 day")),
    ("72", gettext_lazy("More than 3 days")),
]


def held_reservations(user: Any) -> QuerySet[Reservation]:
    """Held orders of the customers the user may see, with the customer's available credit now
    (and the group's, when it has a unified limit) and the gate answers in order."""
    standing = "customer__standing__"
    group = "customer__group__standing__"
    qs = (Reservation.objects.filter(status=Reservation.Status.HELD)
          .select_related("customer", "customer__standing", "customer__group__standing")
          .annotate(
              available_now=F(f"{standing}credit_limit") - F(f"{standing}posted")
              - F(f"{standing}reserved"),
              group_available_now=Case(
                  When(**{f"{group}has_limit": True},
                       then=F(f"{group}credit_limit") - F(f"{group}posted")
                       - F(f"{group}reserved")),
                  default=None, output_field=MONEY_OUT))
          .prefetch_related(Prefetch("checks", queryset=GateCheck.objects.order_by("pk"),
                                     to_attr="ordered_checks")))
    return scoped(qs, user)


def hold_reasons(reservation: Reservation) -> list[dict[str, Any]]:
    """The reasons of the gate answer that put the order on hold."""
    checks = getattr(reservation, "ordered_checks", None)
    if checks is None:
        checks = list(reservation.checks.order_by("pk")[:1])
    return list(checks[0].reasons) if checks else []


def group_available(reservation: Reservation) -> Decimal | None:
    group = reservation.customer.group
    if group is None:
        return None
    try:
        standing: GroupStanding = group.standing
    except GroupStanding.DoesNotExist:
        return None
    return standing.available if standing.has_limit else None


def customer_available(reservation: Reservation) -> Decimal | None:
    try:
        standing: Standing = reservation.customer.standing
    except Standing.DoesNotExist:
        return None
    return standing.available


# --- the queue --------------------------------------------------------------------------------


class HoldFilterForm(StyledFormMixin, forms.Form):
    customer = forms.CharField(
        label=gettext_lazy("Customer"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("code or name"),
                                      "type": "search"}))
    age = forms.ChoiceField(label=gettext_lazy("Waiting"), required=False, choices=AGE_CHOICES)


def filter_holds(form: HoldFilterForm, qs: QuerySet[Reservation],
                 user: Any) -> QuerySet[Reservation]:
    if not form.is_bound:
        return qs
    if not form.is_valid():
        return qs.none()
    data = form.cleaned_data
    qs = matching_customers(qs, user, data["customer"])
    if data["age"]:
        qs = qs.filter(created_at__lte=clock.now() - dt.timedelta(hours=int(data["age"])))
    return qs


class HoldTable(BaseTable):
    customer = tables.Column(verbose_name=gettext_lazy("Customer"), empty_values=(),
                             order_by=("customer__code", "created_at"))
    amount = tables.Column(verbose_name=gettext_lazy("Amount"), order_by=("amount", "pk"),
                           attrs={"td": {"class": "text-end text-nowrap"}})
    reasons = tables.Column(verbose_name=gettext_lazy("Why it is held"), orderable=False,
                            empty_values=())
    available_now = tables.Column(verbose_name=gettext_lazy("Available now"),
                                  order_by=("available_now", "pk"), empty_values=(),
                                  attrs={"td": {"class": "text-end text-nowrap"}})
    group_available_now = tables.Column(verbose_name=gettext_lazy("Group available now"),
                                        order_by=("group_available_now", "pk"),
                                        empty_values=(),
                                        attrs={"td": {"class": "text-end text-nowrap"}})
    created_at = tables.Column(verbose_name=gettext_lazy("Waiting"),
                               order_by=("-created_at", "-pk"),
                               attrs={"td": {"class": "text-nowrap"}})
    order = tables.Column(verbose_name=gettext_lazy("Order"), empty_values=(),
                          order_by=("source", "external_id"))
    actions = tables.Column(verbose_name="", empty_values=(), orderable=False,
                            attrs={"td": {"class": "text-end"}})

    class Meta(BaseTable.Meta):
        model = Reservation
        fields = ("customer", "amount", "reasons", "available_now", "group_available_now",
                  "created_at", "order", "actions")
        sequence = fields
        order_by = "-created_at"  # the "waiting" column, descending: longest waiting first
        empty_text = gettext_lazy("No orders are on credit hold.")
        attrs = {**BaseTable.Meta.attrs, "data-testid": "hold-table"}
        row_attrs = {"data-reservation": lambda record: record.pk}

    results_id = "hold-results"

    def render_customer(self, record: Reservation) -> SafeString:
        return customer_cell(record)

    def render_amount(self, value: Decimal) -> str:
        return money(value)

    def render_reasons(self, record: Reservation) -> SafeString:
        return reason_lines(hold_reasons(record))

    def render_available_now(self, record: Reservation) -> str:
        return money(record.available_now)  # type: ignore[attr-defined]

    def render_group_available_now(self, record: Reservation) -> str:
        return money(record.group_available_now)  # type: ignore[attr-defined]

    def render_created_at(self, value: dt.datetime) -> SafeString:
        return format_html('<span title="{}">{}</span>', local_time(value),
                           timesince(value, clock.now()))

    def render_order(self, record: Reservation) -> SafeString:
        return format_html('<span class="font-monospace">{}/{}</span>', record.source,
                           record.external_id)

    def render_actions(self, record: Reservation) -> SafeString:
        return format_html('<a class="btn btn-sm" href="{}" data-testid="review-hold">{}</a>',
                           reverse("credit:hold_detail", args=[record.pk]), _("Review"))


def _holds(request: HttpRequest) -> tuple[HoldFilterForm, HoldTable]:
    user = user_of(request)
    form = HoldFilterForm(request.GET or None)
    table = HoldTable(filter_holds(form, held_reservations(user), user))
    return form, table


@login_required
@permission_required("credit.view_reservation", raise_exception=True)
def hold_list(request: HttpRequest) -> HttpResponse:
    form, table = _holds(request)
    return list_page(request, table, {"form": form},
                     page="credit/holds/hold_list.html",
                     results="credit/holds/hold_results.html")


EXPORT_HEADERS = [
    gettext_lazy("customer code"), gettext_lazy("customer"), gettext_lazy("amount"),
    gettext_lazy("reasons"), gettext_lazy("reason codes"), gettext_lazy("available credit now"),
    gettext_lazy("available group credit now"), gettext_lazy("held since"),
    gettext_lazy("hours waiting"), gettext_lazy("source"), gettext_lazy("external id"),
    gettext_lazy("expires at"),
]


def _export_rows(holds: Iterator[Reservation]) -> Iterator[list[object]]:
    now = clock.now()
    for r in holds:
        stored = hold_reasons(r)
        waited = Decimal((now - r.created_at).total_seconds() / 3600).quantize(Decimal("0.1"))
        yield [
            r.customer.code, r.customer.name, r.amount, reason_text.summary(stored),
            ", ".join(str(item.get("code")) for item in stored),
            r.available_now, r.group_available_now,  # type: ignore[attr-defined]
            r.created_at, waited, r.source, r.external_id, r.expires_at,
        ]


@login_required
@permission_required("credit.view_reservation", raise_exception=True)
def hold_export(request: HttpRequest) -> HttpResponse:
    """The queue as it is filtered and sorted, every page, as CSV or XLSX."""
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    _form, table = _holds(request)
    RequestConfig(request, paginate=False).configure(table)
    holds = table.data.data  # the table's ordering; the prefetch needs a list
    return exports.export_response("credit-holds", [str(h) for h in EXPORT_HEADERS],
                                   _export_rows(iter(list(holds))), fmt)


# --- one held order: review and decide --------------------------------------------------------


class HoldDecisionForm(StyledFormMixin, forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"), widget=forms.RadioSelect,
        choices=[("approve", gettext_lazy("Approve: reserve the credit and let the order go "
                                          "through")),
                 ("reject", gettext_lazy("Reject: the order may not go on credit"))])
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=limits.REASON,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Recorded with your name in the audit log."))

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Say why."))
        return reason


def _reservation_or_404(request: HttpRequest, pk: int) -> Reservation:
    qs = scoped(Reservation.objects.select_related(
        "customer", "customer__standing", "customer__group__standing", "decided_by"),
        user_of(request))
    reservation = qs.filter(pk=pk).first()
    if reservation is None:
        raise Http404
    return reservation


def _detail_page(request: HttpRequest, reservation: Reservation,
                 form: HoldDecisionForm | None = None) -> HttpResponse:
    checks = list(reservation.checks.order_by("pk"))
    stored = list(checks[0].reasons) if checks else []
    history = AuditEntry.objects.filter(object_type="credit.reservation",
                                        object_id=str(reservation.pk)).order_by("seq")
    can_decide = (reservation.status == Reservation.Status.HELD
                  and request.user.has_perm("credit.decide_hold"))
    return render(request, "credit/holds/hold_detail.html", {
        "reservation": reservation,
        "customer": reservation.customer,
        "check": checks[0] if checks else None,
        "reasons": reason_text.describe_all(stored),
        "available": customer_available(reservation),
        "group_available": group_available(reservation),
        "group": reservation.customer.group,
        "waiting": timesince(reservation.created_at, clock.now()),
        "history": history,
        "can_decide": can_decide,
        "form": form or HoldDecisionForm(),
    })


@login_required
@permission_required("credit.view_reservation", raise_exception=True)
def hold_detail(request: HttpRequest, reservation_id: int) -> HttpResponse:
    return _detail_page(request, _reservation_or_404(request, reservation_id))


@login_required
@permission_required("credit.decide_hold", raise_exception=True)
@require_POST
def hold_decide(request: HttpRequest, reservation_id: int) -> HttpResponse:
    reservation = _reservation_or_404(request, reservation_id)
    form = HoldDecisionForm(request.POST)
    if form.is_valid():
        actor = Actor.for_user(user_of(request))
        decision, reason = form.cleaned_data["decision"], form.cleaned_data["reason"]
        try:
            if decision == "approve":
                gate.approve_hold(actor, reservation, reason=reason)
            else:
                gate.reject_hold(actor, reservation, reason=reason)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            values = {"amount": money(reservation.amount), "code": reservation.customer.code,
                      "order": f"{reservation.source}/{reservation.external_id}"}
            if decision == "approve":
                messages.success(request, _("Order %(order)s of %(code)s approved: %(amount)s "
                                            "reserved.") % values)
            else:
                messages.success(request, _("Order %(order)s of %(code)s rejected.") % values)
            return redirect("credit:holds")
    return _detail_page(request, _reservation_or_404(request, reservation_id), form)
