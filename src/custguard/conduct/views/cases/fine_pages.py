"""Fines (/conduct/fines/): the fines of the penalties, by default those still due, filtered,
sorted, paged and exportable, each with where its amount came from; finance settles one as paid
or waives it. A customer's contract penalty clauses (/conduct/clauses/<code>/): the list, the
form to add one, and ending one. The writes are conduct.services.fines and clauses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from custguard.conduct.models import ContractClause, Fine
from custguard.conduct.services import clauses, fines
from custguard.conduct.views.cases.common import (
    BaseTable,
    Documents,
    catalogue_choices,
    customer_cell,
    fine_badge,
    fine_clauses,
    fine_source_text,
    local_time,
    money,
    refused_form,
    shorten,
    type_name,
    visible_clauses,
    visible_fines,
)
from custguard.core import clock, exports
from custguard.core.actors import Actor
from custguard.core.errors import DomainError, PermissionRefused
from custguard.core.forms import StyledFormMixin
from custguard.core.models import User
from custguard.core.tables import list_page
from custguard.customers import selectors
from custguard.customers.models import Customer
from custguard.customers.views.common import get_customer_or_404, user_of

Status = Fine.Status
ALL = "all"
MAX_TEXT = 4000


def actor(request: HttpRequest) -> Actor:
    return Actor.for_user(user_of(request))


def _refused(error: DomainError) -> None:
    if isinstance(error, PermissionRefused):
        raise PermissionDenied(error.message) from error


# --- fines ------------------------------------------------------------------------------------


class FineFilterForm(StyledFormMixin, forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False,
                               choices=[*Status.choices, (ALL, gettext_lazy("All"))])
    overdue = forms.BooleanField(label=gettext_lazy("Past their due date only"),
                                 required=False)
    customer = forms.CharField(
        label=gettext_lazy("Customer"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("code or name"),
                                      "type": "search"}))


def filter_fines(request: HttpRequest, user: User) -> tuple[FineFilterForm, QuerySet[Fine]]:
    """Without filters, the list shows the fines still due."""
    data = request.GET.copy()
    if not data.get("status"):
        data["status"] = Status.DUE
    form = FineFilterForm(data)
    qs = visible_fines(user)
    if not form.is_valid():
        return form, qs.none()
    values = form.cleaned_data
    if values["status"] and values["status"] != ALL:
        qs = qs.filter(status=values["status"])
    if values["overdue"]:
        qs = qs.filter(status=Status.DUE, due_on__lt=clock.today())
    text = values["customer"].strip()
    if text:
        found = selectors.search_customers(selectors.customers_for(user), text)
        qs = qs.filter(customer__in=found.values("pk"))
    return form, qs


class SettleForm(StyledFormMixin, forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Settle as"),
                               choices=[(Status.PAID, Status.PAID.label),
                                        (Status.WAIVED, Status.WAIVED.label)])
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=MAX_TEXT,
                           help_text=gettext_lazy("Required to waive a fine; for a payment, "
                                                  "e.g. the receipt number."))


class FineTable(BaseTable):
    results_id = "fine-results"
    number = tables.Column(verbose_name="#", accessor="pk", order_by=("pk",))
    customer = tables.Column(verbose_name=gettext_lazy("Customer"), empty_values=(),
                             order_by=("customer__code", "pk"))
    penalty = tables.Column(verbose_name=gettext_lazy("Penalty"), empty_values=(),
                            order_by=("penalty", "pk"))
    amount = tables.Column(verbose_name=gettext_lazy("Amount"), order_by=("amount", "pk"),
                           attrs={"td": {"class": "text-end text-nowrap"}})
    source = tables.Column(verbose_name=gettext_lazy("Set by"), empty_values=(),
                           orderable=False)
    due_on = tables.Column(verbose_name=gettext_lazy("Due on"), order_by=("due_on", "pk"),
                           attrs={"td": {"class": "text-nowrap"}})
    status = tables.Column(verbose_name=gettext_lazy("Status"), order_by=("status", "pk"))
    settled = tables.Column(verbose_name=gettext_lazy("Settled"), empty_values=(),
                            order_by=("settled_at", "pk"),
                            attrs={"td": {"class": "text-nowrap"}})
    note = tables.Column(verbose_name=gettext_lazy("Note"), orderable=False)
    action = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta(BaseTable.Meta):
        order_by = "due_on"
        empty_text = gettext_lazy("No fines match.")
        attrs = {"class": "table table-vcenter card-table table-striped",
                 "data-testid": "fine-table"}
        row_attrs = {"data-fine": lambda record: record.pk}

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.today = clock.today()
        self.can_settle = user_of(request).has_perm("conduct.change_fine")
        self._clauses: dict[int, ContractClause | None] | None = None

    def _clause(self, record: Fine) -> ContractClause | None:
        if self._clauses is None:
            page = getattr(self, "page", None)
            self._clauses = fine_clauses(
                [row.record.penalty for row in page.object_list] if page is not None else [])
        if record.penalty_id not in self._clauses:
            self._clauses.update(fine_clauses([record.penalty]))
        return self._clauses[record.penalty_id]

    def render_number(self, value: int) -> str:
        return f"#{value}"

    def render_customer(self, record: Fine) -> SafeString:
        return customer_cell(record.customer)

    def render_penalty(self, record: Fine) -> SafeString:
        return format_html('<a href="{}">#{}</a> <span class="font-monospace small">{}</span>',
                           reverse("conduct:penalty_detail", args=[record.penalty_id]),
                           record.penalty_id, record.penalty.step_code)

    def render_amount(self, value: Any) -> str:
        return money(value)

    def render_source(self, record: Fine) -> str:
        return fine_source_text(record.penalty, self._clause(record))

    def render_due_on(self, record: Fine) -> SafeString:
        if record.status == Status.DUE and record.due_on < self.today:
            return format_html('<span class="text-danger fw-bold" data-overdue="true">{}</span>',
                               record.due_on.isoformat())
        return format_html("{}", record.due_on.isoformat())

    def render_status(self, record: Fine) -> SafeString:
        return fine_badge(record)

    def render_settled(self, record: Fine) -> SafeString | str:
        if record.settled_at is None:
            return "—"
        return format_html("{}<div class='small text-secondary'>{}</div>",
                           local_time(record.settled_at), record.settled_by_label)

    def render_note(self, value: str) -> str:
        return shorten(value)

    def render_action(self, record: Fine) -> SafeString | str:
        if not self.can_settle or record.status != Status.DUE:
            return ""
        return format_html(
            '<form method="post" action="{}" class="d-flex gap-1" data-confirm="{}">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<input type="hidden" name="next" value="{}">'
            '<select name="settle-status" class="form-select form-select-sm" aria-label="{}">'
            '<option value="paid">{}</option><option value="waived">{}</option></select>'
            '<input type="text" name="settle-note" class="form-control form-control-sm" '
            'placeholder="{}" aria-label="{}" maxlength="{}">'
            '<button class="btn btn-sm btn-primary" type="submit" data-testid="settle">{}'
            "</button></form>",
            reverse("conduct:fine_settle", args=[record.pk]),
            _("Settle this fine? This cannot be undone."), get_token(self.request),
            self.request.get_full_path(), _("Settle as"), Status.PAID.label,
            Status.WAIVED.label, _("note (required to waive)"), _("Note"), MAX_TEXT,
            _("Settle"))


@login_required
@permission_required("conduct.view_fine", raise_exception=True)
def fine_list(request: HttpRequest) -> HttpResponse:
    form, qs = filter_fines(request, user_of(request))
    table = FineTable(qs, request=request)
    return list_page(request, table, {"form": form},
                     page="conduct/cases/fine_list.html",
                     results="conduct/cases/fine_results.html")


FINE_HEADERS = [
    gettext_lazy("number"), gettext_lazy("customer code"), gettext_lazy("customer"),
    gettext_lazy("penalty"), gettext_lazy("ladder step"), gettext_lazy("amount"),
    gettext_lazy("fine set by"), gettext_lazy("due on"), gettext_lazy("status"),
    gettext_lazy("settled at"), gettext_lazy("settled by"), gettext_lazy("note"),
]


def _fine_rows(rows: Iterator[Fine]) -> Iterator[list[object]]:
    batch: list[Fine] = []

    def flush() -> Iterator[list[object]]:
        sources = fine_clauses([f.penalty for f in batch])
        for f in batch:
            yield [f.pk, f.customer.code, f.customer.name, f.penalty_id, f.penalty.step_code,
                   f.amount, fine_source_text(f.penalty, sources.get(f.penalty_id)), f.due_on,
                   f.get_status_display(), f.settled_at, f.settled_by_label, f.note]
        batch.clear()

    for fine in rows:
        batch.append(fine)
        if len(batch) >= 500:
            yield from flush()
    yield from flush()


@login_required
@permission_required("conduct.view_fine", raise_exception=True)
def fine_export(request: HttpRequest) -> HttpResponse:
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    _form, qs = filter_fines(request, user_of(request))
    table = FineTable(qs, request=request)
    RequestConfig(request, paginate=False).configure(table)
    return exports.export_response("fines", [str(h) for h in FINE_HEADERS],
                                   _fine_rows(table.data.data.iterator(chunk_size=500)), fmt)


def _back(request: HttpRequest) -> str:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse("conduct:fines")


@login_required
@require_POST
@permission_required("conduct.change_fine", raise_exception=True)
def fine_settle(request: HttpRequest, fine_id: int) -> HttpResponse:
    """Settle from the fines list; a refusal is shown there with the list as it was."""
    fine = visible_fines(user_of(request)).filter(pk=fine_id).first()
    if fine is None:
        raise Http404
    form = SettleForm(request.POST, prefix="settle")
    if form.is_valid():
        try:
            fines.settle(actor(request), fine, status=form.cleaned_data["status"],
                         note=form.cleaned_data["note"])
        except DomainError as error:
            _refused(error)
            messages.error(request, _("Fine #%(pk)s: %(reason)s") % {"pk": fine.pk,
                                                                      "reason": error.message})
        else:
            messages.success(request, _("Fine #%(pk)s settled as %(status)s.") % {
                "pk": fine.pk, "status": Status(form.cleaned_data["status"]).label})
    else:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, _("Fine #%(pk)s: %(reason)s") % {"pk": fine.pk,
                                                                  "reason": errors})
    return redirect(_back(request))


# --- contract clauses -------------------------------------------------------------------------


class ClauseForm(StyledFormMixin, forms.Form):
    contract_number = forms.CharField(label=gettext_lazy("Contract number"), max_length=64)
    violation_type = forms.ChoiceField(
        label=gettext_lazy("Violation type"), required=False,
        help_text=gettext_lazy("Leave empty for a fine that applies to any violation."))
    fine_amount = forms.DecimalField(label=gettext_lazy("Fine"), min_value=0, max_digits=16,
                                     decimal_places=2)
    valid_from = forms.DateField(label=gettext_lazy("Valid from"),
                                 widget=forms.DateInput(attrs={"type": "date"}))
    valid_to = forms.DateField(label=gettext_lazy("Valid until"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}),
                               help_text=gettext_lazy("The last day it applies; empty: until "
                                                      "it is ended."))

    def __init__(self, *args: Any, documents: Documents, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["violation_type"].choices = [  # type: ignore[attr-defined]
            ("", _("Any violation")), *catalogue_choices(documents.current())]


class EndClauseForm(StyledFormMixin, forms.Form):
    last_day = forms.DateField(label=gettext_lazy("Last day it applies"),
                               widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=MAX_TEXT)


def clause_state(clause: ContractClause, today: dt.date) -> str:
    if clause.valid_from > today:
        return "scheduled"
    if clause.valid_to is not None and clause.valid_to < today:
        return "ended"
    return "in_force"


CLAUSE_STATES = {"scheduled": (gettext_lazy("Not yet valid"), "bg-azure-lt"),
                 "ended": (gettext_lazy("Ended"), "bg-secondary-lt"),
                 "in_force": (gettext_lazy("In force"), "bg-green-lt")}


def _clauses_page(request: HttpRequest, customer: Customer, *,
                  add: ClauseForm | None = None,
                  end: tuple[int, EndClauseForm] | None = None) -> HttpResponse:
    user = user_of(request)
    documents = Documents()
    today = clock.today()
    rows = []
    for clause in visible_clauses(user).filter(customer=customer).order_by("-valid_from", "-pk"):
        state = clause_state(clause, today)
        label, css = CLAUSE_STATES[state]
        form = (end[1] if end is not None and end[0] == clause.pk
                else EndClauseForm(prefix="end", auto_id=f"id_end{clause.pk}_%s",
                                   initial={"last_day": today}))
        rows.append({"clause": clause, "state": state, "label": label, "css": css,
                     "type": (type_name(documents.current(), clause.violation_type)
                              if clause.violation_type else _("Any violation")),
                     "end_form": form, "can_end": state != "ended"})
    return render(request, "conduct/cases/clause_list.html", {
        "customer": customer, "rows": rows,
        "can_add": user.has_perm("conduct.add_contractclause"),
        "can_end": user.has_perm("conduct.change_contractclause"),
        "form": add or ClauseForm(prefix="clause", documents=documents,
                                  initial={"valid_from": today}),
    })


@login_required
@permission_required("conduct.view_contractclause", raise_exception=True)
def clause_list(request: HttpRequest, customer_code: str) -> HttpResponse:
    return _clauses_page(request, get_customer_or_404(request, customer_code))


CLAUSE_HEADERS = [
    gettext_lazy("customer code"), gettext_lazy("customer"), gettext_lazy("contract number"),
    gettext_lazy("violation type code"), gettext_lazy("violation type"), gettext_lazy("fine"),
    gettext_lazy("valid from"), gettext_lazy("valid until"), gettext_lazy("status"),
    gettext_lazy("created at"),
]


@login_required
@permission_required("conduct.view_contractclause", raise_exception=True)
def clause_export(request: HttpRequest, customer_code: str) -> HttpResponse:
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    customer = get_customer_or_404(request, customer_code)
    documents = Documents()
    today = clock.today()
    qs = visible_clauses(user_of(request)).filter(customer=customer).order_by("-valid_from",
                                                                              "-pk")
    rows = ([c.customer.code, c.customer.name, c.contract_number, c.violation_type,
             type_name(documents.current(), c.violation_type) if c.violation_type
             else _("Any violation"), c.fine_amount, c.valid_from, c.valid_to,
             CLAUSE_STATES[clause_state(c, today)][0], c.created_at] for c in qs)
    return exports.export_response(f"contract-clauses-{customer.code}",
                                   [str(h) for h in CLAUSE_HEADERS], rows, fmt)


@login_required
@require_POST
@permission_required("conduct.add_contractclause", raise_exception=True)
def clause_add(request: HttpRequest, customer_code: str) -> HttpResponse:
    customer = get_customer_or_404(request, customer_code)
    form = ClauseForm(request.POST, prefix="clause", documents=Documents())
    if form.is_valid():
        data = form.cleaned_data
        try:
            clause = clauses.add(actor(request), customer,
                                 contract_number=data["contract_number"],
                                 violation_type=data["violation_type"],
                                 fine_amount=data["fine_amount"], valid_from=data["valid_from"],
                                 valid_to=data["valid_to"])
        except DomainError as error:
            _refused(error)
            form.add_domain_error(error)
        else:
            messages.success(request, _("Clause of contract %(number)s added.") % {
                "number": clause.contract_number})
            return redirect("conduct:clauses", customer_code=customer.code)
    return refused_form(_clauses_page(request, customer, add=form))


@login_required
@require_POST
@permission_required("conduct.change_contractclause", raise_exception=True)
def clause_end(request: HttpRequest, clause_id: int) -> HttpResponse:
    clause = visible_clauses(user_of(request)).filter(pk=clause_id).first()
    if clause is None:
        raise Http404
    form = EndClauseForm(request.POST, prefix="end", auto_id=f"id_end{clause.pk}_%s")
    if form.is_valid():
        try:
            clauses.end(actor(request), clause, last_day=form.cleaned_data["last_day"],
                        reason=form.cleaned_data["reason"])
        except DomainError as error:
            _refused(error)
            form.add_domain_error(error)
        else:
            messages.success(request, _("Clause of contract %(number)s ends on %(day)s.") % {
                "number": clause.contract_number, "day": form.cleaned_data["last_day"]})
            return redirect("conduct:clauses", customer_code=clause.customer.code)
    return refused_form(_clauses_page(request, clause.customer, end=(clause.pk, form)))

