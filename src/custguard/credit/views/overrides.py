"""Manual credit overrides (/credit/overrides/): the list (by default those awaiting approval),
filtered by status, customer and group, sortable, paged and exportable; the request form for a
customer or a group; an override's page with its history and the approve / reject / revoke
forms. The writes are credit.services.overrides."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from custguard.core import clock, exports
from custguard.core.errors import DomainError
from custguard.core.forms import StyledFormMixin
from custguard.core.models import AuditEntry, User
from custguard.core.tables import list_page
from custguard.credit.models import CreditOverride
from custguard.credit.services import overrides
from custguard.credit.views.reviews import (
    BaseTable,
    actor,
    customer_link,
    local_time,
    money,
    user_of,
)
from custguard.customers import selectors
from custguard.customers.models import CustomerGroup

Status = CreditOverride.Status
ALL = "all"
STATUS_BADGES = {Status.PENDING: "bg-yellow-lt", Status.ACTIVE: "bg-green-lt",
                 Status.REJECTED: "bg-red-lt", Status.EXPIRED: "bg-secondary-lt",
                 Status.REVOKED: "bg-secondary-lt"}


def visible_overrides(user: User) -> QuerySet[CreditOverride]:
    """Overrides of the customers and groups the user may see."""
    qs = CreditOverride.objects.select_related("customer", "group", "group__parent",
                                               "requested_by", "decided_by")
    if selectors.sees_all_customers(user):
        return qs
    return qs.filter(Q(customer__in=selectors.customers_for(user).values("pk"))
                     | Q(group__in=selectors.groups_for(user).values("pk")))


def override_or_404(request: HttpRequest, pk: int) -> CreditOverride:
    override = visible_overrides(user_of(request)).filter(pk=pk).first()
    if override is None:
        raise Http404
    return override


def status_badge(override: CreditOverride) -> SafeString:
    return format_html('<span class="badge {}" data-status="{}">{}</span>',
                       STATUS_BADGES.get(override.status, "bg-secondary-lt"),  # type: ignore[call-overload]
                       override.status, override.get_status_display())


def target_cell(override: CreditOverride) -> SafeString:
    if override.customer is not None:
        return customer_link(override.customer)
    group = override.group
    assert group is not None
    return format_html('<a href="{}">{}</a><div class="small text-secondary">{}</div>',
                       reverse("customers:group_detail", args=[group.pk]), group.name,
                       _("group (unified limit)"))


# --- the list ---------------------------------------------------------------------------------


class OverrideFilterForm(StyledFormMixin, forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False,
                               choices=[*Status.choices, (ALL, gettext_lazy("All"))])
    customer = forms.CharField(
        label=gettext_lazy("Customer"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("code or name"),
                                      "type": "search"}))
    group = forms.ModelChoiceField(label=gettext_lazy("Group"), required=False,
                                   queryset=CustomerGroup.objects.none(),
                                   empty_label=gettext_lazy("All"))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        field: forms.ModelChoiceField = self.fields["group"]  # type: ignore[assignment,type-arg]
        field.queryset = selectors.groups_for(user).order_by("name")


def filter_overrides(request: HttpRequest,
                     user: User) -> tuple[OverrideFilterForm, QuerySet[CreditOverride]]:
    """Without filters, the list shows what awaits approval."""
    data = request.GET.copy()
    if not data.get("status"):
        data["status"] = Status.PENDING
    form = OverrideFilterForm(data, user=user)
    qs = visible_overrides(user)
    if not form.is_valid():
        return form, qs.none()
    values = form.cleaned_data
    if values["status"] and values["status"] != ALL:
        qs = qs.filter(status=values["status"])
    text = values["customer"].strip()
    if text:
        found = selectors.search_customers(selectors.customers_for(user), text)
        qs = qs.filter(Q(customer__in=found.values("pk"))
                       | Q(group__members__in=found.values("pk"))).distinct()
    if values["group"]:
        qs = qs.filter(group=values["group"])
    return form, qs


class OverrideTable(BaseTable):
    results_id = "override-results"
    number = tables.Column(verbose_name="#", accessor="pk", order_by=("pk",))
    target = tables.Column(verbose_name=gettext_lazy("Customer or group"), empty_values=(),
                           order_by=("customer__code", "group__name", "pk"))
    credit_limit = tables.Column(verbose_name=gettext_lazy("Credit limit"),
                                 order_by=("credit_limit", "pk"), empty_values=(),
                                 attrs={"td": {"class": "text-end text-nowrap"}})
    payment_terms_days = tables.Column(verbose_name=gettext_lazy("Terms (days)"),
                                       order_by=("payment_terms_days", "pk"), empty_values=(),
                                       attrs={"td": {"class": "text-end"}})
    status = tables.Column(verbose_name=gettext_lazy("Status"), order_by=("status", "pk"))
    requested = tables.Column(verbose_name=gettext_lazy("Requested"), empty_values=(),
                              order_by=("-requested_at", "-pk"),
                              attrs={"td": {"class": "text-nowrap"}})
    expires_on = tables.Column(verbose_name=gettext_lazy("Ends on"),
                               order_by=("expires_on", "pk"),
                               attrs={"td": {"class": "text-nowrap"}})
    reason = tables.Column(verbose_name=gettext_lazy("Reason"), orderable=False)
    action = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta(BaseTable.Meta):
        order_by = "requested"  # the column sorts newest first
        empty_text = gettext_lazy("No overrides match.")
        attrs = {"class": "table table-vcenter card-table table-striped",
                 "data-testid": "override-table"}
        row_attrs = {"data-override": lambda record: record.pk}

    def render_number(self, value: int) -> SafeString:
        return format_html('<a href="{}">#{}</a>',
                           reverse("credit:override_detail", args=[value]), value)

    def render_target(self, record: CreditOverride) -> SafeString:
        return target_cell(record)

    def render_credit_limit(self, value: Decimal | None) -> str:
        return money(value) if value is not None else "—"

    def render_payment_terms_days(self, value: int | None) -> str:
        return str(value) if value is not None else "—"

    def render_status(self, record: CreditOverride) -> SafeString:
        badge = status_badge(record)
        if record.status == Status.PENDING and record.needs_approval:
            return format_html("{}<div class='small text-secondary'>{}</div>", badge,
                               _("needs a second person"))
        return badge

    def render_requested(self, record: CreditOverride) -> SafeString:
        who = record.requested_by.get_username() if record.requested_by else "—"
        return format_html("{}<div class='small text-secondary'>{}</div>",
                           local_time(record.requested_at), who)

    def render_expires_on(self, value: Any) -> str:
        return value.isoformat()

    def render_reason(self, value: str) -> str:
        return value if len(value) <= 60 else value[:59] + "…"

    def render_action(self, record: CreditOverride) -> SafeString:
        return format_html('<a class="btn btn-sm" href="{}">{}</a>',
                           reverse("credit:override_detail", args=[record.pk]),
                           pgettext("action", "Open"))


@login_required
@permission_required("credit.view_creditoverride", raise_exception=True)
def override_list(request: HttpRequest) -> HttpResponse:
    form, qs = filter_overrides(request, user_of(request))
    table = OverrideTable(qs)
    return list_page(request, table, {"form": form},
                     page="credit/overrides/override_list.html",
                     results="credit/overrides/override_results.html")


EXPORT_HEADERS = [
    gettext_lazy("number"), gettext_lazy("customer code"), gettext_lazy("customer"),
    gettext_lazy("group"), gettext_lazy("credit limit"), gettext_lazy("payment terms (days)"),
    gettext_lazy("status"), gettext_lazy("needs a second approval"), gettext_lazy("reason"),
    gettext_lazy("requested by"), gettext_lazy("requested at"), gettext_lazy("ends on"),
    gettext_lazy("decided by"), gettext_lazy("decided at"), gettext_lazy("decision note"),
    gettext_lazy("ended at"),
]


def _export_rows(rows: Iterator[CreditOverride]) -> Iterator[list[object]]:
    for o in rows:
        yield [
            o.pk, o.customer.code if o.customer else "", o.customer.name if o.customer else "",
            o.group.name if o.group else "", o.credit_limit, o.payment_terms_days,
            o.get_status_display(), o.needs_approval, o.reason,
            o.requested_by.get_username() if o.requested_by else "", o.requested_at,
            o.expires_on, o.decided_by.get_username() if o.decided_by else "", o.decided_at,
            o.decision_note, o.ended_at,
        ]


@login_required
@permission_required("credit.view_creditoverride", raise_exception=True)
def override_export(request: HttpRequest) -> HttpResponse:
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    _form, qs = filter_overrides(request, user_of(request))
    table = OverrideTable(qs)
    RequestConfig(request, paginate=False).configure(table)
    return exports.export_response("credit-overrides", [str(h) for h in EXPORT_HEADERS],
                                   _export_rows(table.data.data.iterator(chunk_size=500)), fmt)


# --- requesting -------------------------------------------------------------------------------


class OverrideRequestForm(StyledFormMixin, forms.Form):
    TARGETS = [("customer", gettext_lazy("A customer")),
               ("group", gettext_lazy("A group (unified limit)"))]

    target = forms.ChoiceField(label=gettext_lazy("For"), choices=TARGETS,
                               widget=forms.RadioSelect, initial="customer")
    customer = forms.CharField(label=gettext_lazy("Customer code"), required=False,
                               max_length=9)
    group = forms.ModelChoiceField(label=gettext_lazy("Group"), required=False,
                                   queryset=CustomerGroup.objects.none())
    credit_limit = forms.DecimalField(
        label=gettext_lazy("Credit limit"), required=False, min_value=0, max_digits=16,
        decimal_places=2, help_text=gettext_lazy("Leave empty to keep the computed limit "
                                                 "(customers only)."))
    payment_terms_days = forms.IntegerField(
        label=gettext_lazy("Payment terms (days)"), required=False, min_value=0,
        max_value=overrides.MAX_TERMS_DAYS,
        help_text=gettext_lazy("Customers only; leave empty to keep the computed terms."))
    expires_on = forms.DateField(
        label=gettext_lazy("Ends on"), widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("The first day the override no longer applies: after today, "
                               "at most one year ahead."))
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=overrides.MAX_REASON,
                             widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        field: forms.ModelChoiceField = self.fields["group"]  # type: ignore[assignment,type-arg]
        field.queryset = selectors.groups_for(user).order_by("name")
        self.fields["target"].widget.attrs["class"] = "form-check-input"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("target") == "customer":
            code = (data.get("customer") or "").strip()
            customer = (selectors.customers_for(self.user).filter(code=code).first()
                        if code else None)
            if not code:
                self.add_error("customer", _("Enter the customer's code."))
            elif customer is None:
                self.add_error("customer", _("No customer has the code %(code)s.") % {
                    "code": code})
            data["customer_obj"] = customer
        elif data.get("target") == "group" and not data.get("group"):
            self.add_error("group", _("Choose the group."))
        return data

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        target: dict[str, Any] = (
            {"customer": data["customer_obj"]} if data["target"] == "customer"
            else {"group": data["group"]})
        return target | {"credit_limit": data["credit_limit"],
                         "payment_terms_days": data["payment_terms_days"],
                         "reason": data["reason"], "expires_on": data["expires_on"]}


def _initial(request: HttpRequest) -> dict[str, Any]:
    initial: dict[str, Any] = {"target": "customer",
                               "expires_on": overrides.one_year_after(clock.today())}
    if request.GET.get("group", "").isdigit():
        initial.update(target="group", group=int(request.GET["group"]))
    elif request.GET.get("customer"):
        initial["customer"] = request.GET["customer"][:9]
    return initial


@login_required
@permission_required("credit.add_creditoverride", raise_exception=True)
def override_new(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    form = OverrideRequestForm(request.POST or None, user=user, initial=_initial(request))
    if request.method == "POST" and form.is_valid():
        try:
            override = overrides.request_override(actor(request), **form.service_kwargs())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            if override.status == Status.ACTIVE:
                messages.success(request, _("Override #%(pk)s is in force.") % {
                    "pk": override.pk})
            else:
                messages.info(request, _("Override #%(pk)s awaits a second person's "
                                         "approval.") % {"pk": override.pk})
            return redirect("credit:override_detail", override_id=override.pk)
    return render(request, "credit/overrides/override_form.html", {"form": form})


# --- one override -----------------------------------------------------------------------------


class DecisionForm(StyledFormMixin, forms.Form):
    note = forms.CharField(label=gettext_lazy("Note"), required=False,
                           max_length=overrides.MAX_REASON,
                           widget=forms.Textarea(attrs={"rows": 2}))


class RevokeForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=overrides.MAX_REASON,
                             widget=forms.Textarea(attrs={"rows": 2}))


def _detail(request: HttpRequest, override: CreditOverride, *,
            decision: DecisionForm | None = None,
            revoke: RevokeForm | None = None) -> HttpResponse:
    user = user_of(request)
    pending = override.status == Status.PENDING
    own = override.requested_by_id == user.pk
    history = AuditEntry.objects.filter(
        object_type="credit.creditoverride", object_id=str(override.pk)).order_by("seq")
    return render(request, "credit/overrides/override_detail.html", {
        "override": override,
        "badge": status_badge(override),
        "history": history,
        "can_decide": pending and not own and user.has_perm("credit.approve_creditoverride"),
        "own_request": pending and own,
        "can_revoke": override.status in (Status.PENDING, Status.ACTIVE)
        and user.has_perm("credit.add_creditoverride"),
        "decision_form": decision or DecisionForm(prefix="decision"),
        "revoke_form": revoke or RevokeForm(prefix="revoke"),
    })


@login_required
@permission_required("credit.view_creditoverride", raise_exception=True)
def override_detail(request: HttpRequest, override_id: int) -> HttpResponse:
    return _detail(request, override_or_404(request, override_id))


def _decide(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    override = override_or_404(request, pk)
    form = DecisionForm(request.POST, prefix="decision")
    if form.is_valid():
        note = form.cleaned_data["note"]
        try:
            if action == "approve":
                overrides.approve_override(actor(request), override, note=note)
                messages.success(request, _("Override #%(pk)s approved and in force.") % {
                    "pk": pk})
            else:
                overrides.reject_override(actor(request), override, note=note)
                messages.success(request, _("Override #%(pk)s rejected.") % {"pk": pk})
        except DomainError as error:
            form.add_domain_error(error)
        else:
            return redirect("credit:override_detail", override_id=pk)
    return _detail(request, override, decision=form)


@login_required
@require_POST
@permission_required("credit.approve_creditoverride", raise_exception=True)
def override_approve(request: HttpRequest, override_id: int) -> HttpResponse:
    return _decide(request, override_id, "approve")


@login_required
@require_POST
@permission_required("credit.approve_creditoverride", raise_exception=True)
def override_reject(request: HttpRequest, override_id: int) -> HttpResponse:
    return _decide(request, override_id, "reject")


@login_required
@require_POST
@permission_required("credit.add_creditoverride", raise_exception=True)
def override_revoke(request: HttpRequest, override_id: int) -> HttpResponse:
    pk = override_id
    override = override_or_404(request, pk)
    form = RevokeForm(request.POST, prefix="revoke")
    if form.is_valid():
        try:
            overrides.revoke_override(actor(request), override,
                                      reason=form.cleaned_data["reason"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("Override #%(pk)s ended.") % {"pk": pk})
            return redirect("credit:override_detail", override_id=pk)
    return _detail(request, override, revoke=form)
