"""Penalties (/conduct/penalties/): the queue of penalties to approve (by default those the
ladder proposed), each with its recommended step, its measures in plain language, the ladder's
reasons with their numbers, and its fine with where the amount came from; the approve button
only for roles the policy allows, else who may. A penalty's page (measures, period, fine,
points, rectification, notices, timeline; approve / reject / lift), and the rectifications due
(/conduct/rectifications/), overdue ones first, with "record rectification" and "escalate".
The writes are conduct.services.penalties."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from custguard.conduct.labels import MEASURES
from custguard.conduct.models import ContractClause, Fine, Notice, Penalty
from custguard.conduct.services import penalties
from custguard.conduct.services.common import refuse_state
from custguard.conduct.views.cases.common import (
    ApprovalRights,
    BaseTable,
    Documents,
    allowed_roles,
    customer_cell,
    fine_clauses,
    fine_source_text,
    local_time,
    measure_items,
    measures_text,
    money,
    notice_url,
    penalty_badge,
    reason_items,
    reasons_summary,
    refused_form,
    role_labels,
    step_description,
    timeline_rows,
    type_name,
    visible_penalties,
)
from custguard.core import clock, exports
from custguard.core.actors import Actor
from custguard.core.errors import DomainError, PermissionRefused
from custguard.core.forms import StyledFormMixin
from custguard.core.models import AuditEntry, User
from custguard.core.tables import list_page
from custguard.customers import selectors
from custguard.customers.filters import region_filter_choices
from custguard.customers.views.common import user_of
from custguard.policy.codes import Measure

Status = Penalty.Status
ALL = "all"
MAX_TEXT = 4000
# A rectification obligation outlives the penalty's period: it is due while the penalty is in
# force or has run its course, and falls away when the penalty is lifted or overturned.
RECTIFYING = [Status.ACTIVE, Status.COMPLETED]


def actor(request: HttpRequest) -> Actor:
    return Actor.for_user(user_of(request))


def penalty_or_404(request: HttpRequest, pk: int) -> Penalty:
    penalty = visible_penalties(user_of(request)).filter(pk=pk).first()
    if penalty is None:
        raise Http404
    return penalty


def with_measure(qs: QuerySet[Penalty], code: str) -> QuerySet[Penalty]:
    """Penalties that take the measure (the JSON list as text holds the quoted code, on SQLite
    and PostgreSQL alike)."""
    return qs.annotate(measures_text=Cast("measures", CharField())).filter(
        measures_text__contains=f'"{code}"')


def _refused(error: DomainError) -> None:
    if isinstance(error, PermissionRefused):
        raise PermissionDenied(error.message) from error


def _form_post(url: str, request: HttpRequest, label: str, confirm: str, *,
               css: str = "btn-sm btn-primary", fields: SafeString | str = "",
               testid: str = "") -> SafeString:
    """A small POST form (a button, maybe a field) for a table row."""
    return format_html(
        '<form method="post" action="{}" class="d-flex gap-1 align-items-center" '
        'data-confirm="{}"><input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<input type="hidden" name="next" value="{}">{}'
        '<button class="btn {}" type="submit" data-testid="{}">{}</button></form>',
        url, confirm, get_token(request), request.get_full_path(), fields, css, testid, label)


def _next_or(request: HttpRequest, fallback: str) -> str:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


# --- the approval queue -----------------------------------------------------------------------


class PenaltyFilterForm(StyledFormMixin, forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False,
                               choices=[*Status.choices, (ALL, gettext_lazy("All"))])
    measure = forms.ChoiceField(
        label=gettext_lazy("Measure"), required=False,
        choices=[("", gettext_lazy("All")), *[(m.value, MEASURES[m]) for m in Measure]])
    region = forms.ChoiceField(label=gettext_lazy("Region"), required=False)
    customer = forms.CharField(
        label=gettext_lazy("Customer"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("code or name"),
                                      "type": "search"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [  # type: ignore[attr-defined]
            ("", _("All")), *region_filter_choices()]


def _region_and_customer(qs: QuerySet[Penalty], user: User, region: str,
                         text: str) -> QuerySet[Penalty]:
    if region:
        qs = qs.filter(Q(customer__region__code=region)
                       | Q(customer__region__parent__code=region))
    text = text.strip()
    if text:
        found = selectors.search_customers(selectors.customers_for(user), text)
        qs = qs.filter(customer__in=found.values("pk"))
    return qs


def filter_penalties(request: HttpRequest,
                     user: User) -> tuple[PenaltyFilterForm, QuerySet[Penalty]]:
    """Without filters, the queue shows the proposals awaiting approval."""
    data = request.GET.copy()
    if not data.get("status"):
        data["status"] = Status.PROPOSED
    form = PenaltyFilterForm(data)
    qs = visible_penalties(user)
    if not form.is_valid():
        return form, qs.none()
    values = form.cleaned_data
    if values["status"] and values["status"] != ALL:
        qs = qs.filter(status=values["status"])
    if values["measure"]:
        qs = with_measure(qs, values["measure"])
    return form, _region_and_customer(qs, user, values["region"], values["customer"])


class PenaltyTable(BaseTable):
    results_id = "penalty-results"
    number = tables.Column(verbose_name="#", accessor="pk", order_by=("pk",))
    customer = tables.Column(verbose_name=gettext_lazy("Customer"), empty_values=(),
                             order_by=("customer__code", "pk"))
    violation = tables.Column(verbose_name=gettext_lazy("Violation"), empty_values=(),
                              order_by=("case__violation_type", "pk"))
    step = tables.Column(verbose_name=gettext_lazy("Recommended step"), empty_values=(),
                         order_by=("step_code", "pk"))
    measures = tables.Column(verbose_name=gettext_lazy("Measures"), empty_values=(),
                             orderable=False)
    reasons = tables.Column(verbose_name=gettext_lazy("Why"), empty_values=(),
                            orderable=False)
    fine = tables.Column(verbose_name=gettext_lazy("Fine"), empty_values=(),
                         order_by=("fine_amount", "pk"),
                         attrs={"td": {"class": "text-end text-nowrap"}})
    status = tables.Column(verbose_name=gettext_lazy("Status"), order_by=("status", "pk"))
    proposed = tables.Column(verbose_name=gettext_lazy("Proposed"), empty_values=(),
                             order_by=("-proposed_at", "-pk"),
                             attrs={"td": {"class": "text-nowrap"}})
    action = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta(BaseTable.Meta):
        order_by = "proposed"  # newest first
        empty_text = gettext_lazy("No penalties match.")
        attrs = {"class": "table table-vcenter card-table table-striped",
                 "data-testid": "penalty-table"}
        row_attrs = {"data-penalty": lambda record: record.pk}

    def __init__(self, *args: Any, request: HttpRequest, documents: Documents,
                 rights: ApprovalRights, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.documents = documents
        self.rights = rights
        self._clauses: dict[int, ContractClause | None] | None = None

    def clause_of(self, record: Penalty) -> ContractClause | None:
        if self._clauses is None:  # the fine sources of the whole page, in two queries
            page = getattr(self, "page", None)
            rows = [row.record for row in page.object_list] if page is not None else []
            self._clauses = fine_clauses(rows)
        if record.pk not in self._clauses:
            self._clauses.update(fine_clauses([record]))
        return self._clauses[record.pk]

    def render_number(self, value: int) -> SafeString:
        return format_html('<a href="{}">#{}</a>',
                           reverse("conduct:penalty_detail", args=[value]), value)

    def render_customer(self, record: Penalty) -> SafeString:
        return customer_cell(record.customer)

    def render_violation(self, record: Penalty) -> SafeString:
        case = record.case
        return format_html('<a href="{}">{}</a><div class="small text-secondary">{}</div>',
                           reverse("conduct:case_detail", args=[case.pk]),
                           type_name(self.documents.get(case.policy_version),
                                     case.violation_type), case.occurred_on.isoformat())

    def render_step(self, record: Penalty) -> SafeString:
        return format_html('<span class="font-monospace">{}</span>'
                           '<div class="small text-secondary">{}</div>', record.step_code,
                           step_description(self.documents.get(record.policy_version),
                                            record.step_code))

    def render_measures(self, record: Penalty) -> SafeString:
        return format_html_join(
            "", '<div data-measure="{}">{}{}</div>',
            ((item.code, item.label,
              format_html(' <span class="text-secondary">({})</span>', item.detail)
              if item.detail else "")
             for item in measure_items(record)))

    def render_reasons(self, record: Penalty) -> SafeString:
        return format_html_join("", '<div class="small" data-reason="{}">{}</div>',
                                ((item.code, item.text) for item in reason_items(record.reasons)))

    def render_fine(self, record: Penalty) -> SafeString | str:
        if Measure.FINE not in record.measures or not record.fine_amount:
            return "—"
        return format_html('{}<div class="small text-secondary">{}</div>',
                           money(record.fine_amount),
                           fine_source_text(record, self.clause_of(record)))

    def render_status(self, record: Penalty) -> SafeString:
        return penalty_badge(record)

    def render_proposed(self, record: Penalty) -> str:
        return local_time(record.proposed_at)

    def render_action(self, record: Penalty) -> SafeString:
        open_link = format_html('<a class="btn btn-sm" href="{}">{}</a>',
                                reverse("conduct:penalty_detail", args=[record.pk]),
                                pgettext("action", "Open"))
        if record.status != Status.PROPOSED:
            return open_link
        if self.rights.may(record):
            approve = _form_post(
                reverse("conduct:penalty_approve", args=[record.pk]), self.request,
                _("Approve"), _("Approve this penalty? The customer is notified and the "
                                "measures take effect at once."), testid="approve")
            return format_html('<div class="d-flex gap-1">{}{}</div>', open_link, approve)
        return format_html('{}<div class="small text-secondary" data-testid="approvers">{}</div>',
                           open_link, _("May approve: %(roles)s") % {
                               "roles": self.rights.who(record)})


def _rights(user: User, documents: Documents) -> ApprovalRights:
    return ApprovalRights(user, documents.current())


@login_required
@permission_required("conduct.view_penalty", raise_exception=True)
def penalty_list(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    documents = Documents()
    form, qs = filter_penalties(request, user)
    table = PenaltyTable(qs, request=request, documents=documents,
                         rights=_rights(user, documents))
    return list_page(request, table, {"form": form},
                     page="conduct/cases/penalty_list.html",
                     results="conduct/cases/penalty_results.html")


EXPORT_HEADERS = [
    gettext_lazy("number"), gettext_lazy("customer code"), gettext_lazy("customer"),
    gettext_lazy("case"), gettext_lazy("violation type"), gettext_lazy("ladder step"),
    gettext_lazy("measures"), gettext_lazy("reasons"), gettext_lazy("fine"),
    gettext_lazy("fine set by"), gettext_lazy("points deducted"),
    gettext_lazy("share of the limit left (%)"), gettext_lazy("status"),
    gettext_lazy("proposed at"), gettext_lazy("approved by"), gettext_lazy("approved at"),
    gettext_lazy("starts on"), gettext_lazy("ends on"), gettext_lazy("rectify by"),
    gettext_lazy("rectified at"), gettext_lazy("ended at"), gettext_lazy("reason it ended"),
    gettext_lazy("policy version"),
]


def _export_rows(rows: Iterator[Penalty], documents: Documents) -> Iterator[list[object]]:
    batch: list[Penalty] = []

    def flush() -> Iterator[list[object]]:
        clauses = fine_clauses(batch)
        for p in batch:
            yield [
                p.pk, p.customer.code, p.customer.name, p.case_id,
                type_name(documents.get(p.case.policy_version), p.case.violation_type),
                p.step_code, measures_text(p), reasons_summary(p.reasons),
                p.fine_amount if Measure.FINE in p.measures else None,
                fine_source_text(p, clauses.get(p.pk)), p.points_deduction,
                p.credit_limit_percent, p.get_status_display(), p.proposed_at,
                p.approved_by.get_username() if p.approved_by else "", p.approved_at,
                p.starts_on, p.ends_on, p.rectification_due_on, p.rectified_at, p.ended_at,
                p.end_reason, p.policy_version,
            ]
        batch.clear()

    for penalty in rows:
        batch.append(penalty)
        if len(batch) >= 500:
            yield from flush()
    yield from flush()


@login_required
@permission_required("conduct.view_penalty", raise_exception=True)
def penalty_export(request: HttpRequest) -> HttpResponse:
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    user = user_of(request)
    documents = Documents()
    _form, qs = filter_penalties(request, user)
    table = PenaltyTable(qs, request=request, documents=documents,
                         rights=_rights(user, documents))
    RequestConfig(request, paginate=False).configure(table)
    return exports.export_response(
        "penalties", [str(h) for h in EXPORT_HEADERS],
        _export_rows(table.data.data.iterator(chunk_size=500), documents), fmt)


# --- one penalty ------------------------------------------------------------------------------


class ApproveForm(StyledFormMixin, forms.Form):
    LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]

    language = forms.ChoiceField(label=gettext_lazy("Language of the notice"),
                                 choices=LANGUAGES, initial="zh-hans")
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=MAX_TEXT,
                           widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=MAX_TEXT,
                             widget=forms.Textarea(attrs={"rows": 2}))


class RectifyForm(StyledFormMixin, forms.Form):
    note = forms.CharField(label=gettext_lazy("What the customer did"), max_length=MAX_TEXT,
                           widget=forms.Textarea(attrs={"rows": 2}))


def penalty_timeline(penalty: Penalty, show_pii: bool) -> list[dict[str, Any]]:
    notice_ids = [str(pk) for pk in penalty.notices.values_list("pk", flat=True)]
    fine_ids = [str(pk) for pk in Fine.objects.filter(penalty=penalty).values_list("pk",
                                                                                   flat=True)]
    entries = AuditEntry.objects.filter(
        Q(object_type="conduct.penalty", object_id=str(penalty.pk))
        | Q(object_type="conduct.notice", object_id__in=notice_ids)
        | Q(object_type="conduct.fine", object_id__in=fine_ids)).order_by("seq")
    return timeline_rows(entries, show_pii)


def rectification_state(penalty: Penalty, today: Any) -> str:
    """open | overdue | done | none."""
    if penalty.rectification_due_on is None:
        return "none"
    if penalty.rectified_at is not None:
        return "done"
    return "overdue" if penalty.rectification_due_on < today else "open"


def _detail(request: HttpRequest, penalty: Penalty, **forms_: forms.Form) -> HttpResponse:
    user = user_of(request)
    documents = Documents()
    today = clock.today()
    may_approve = penalties.may_approve(actor(request), penalty)
    roles = allowed_roles(documents.current(), penalty.measures)
    clause = fine_clauses([penalty]).get(penalty.pk)
    state = rectification_state(penalty, today)
    proposed = penalty.status == Status.PROPOSED
    notices_ = [{"notice": n, "url": notice_url(n.pk)}
                for n in Notice.objects.filter(penalty=penalty).order_by("created_at", "pk")]
    fine = Fine.objects.filter(penalty=penalty).first()
    return render(request, "conduct/cases/penalty_detail.html", {
        "penalty": penalty,
        "badge": penalty_badge(penalty),
        "case": penalty.case,
        "violation": type_name(documents.get(penalty.case.policy_version),
                               penalty.case.violation_type),
        "step": step_description(documents.get(penalty.policy_version), penalty.step_code),
        "measures": measure_items(penalty),
        "reasons": reason_items(penalty.reasons),
        "has_fine": Measure.FINE in penalty.measures and penalty.fine_amount > 0,
        "fine_source": fine_source_text(penalty, clause),
        "clause": clause,
        "fine": fine,
        "rectification": state,
        "notices": notices_,
        "replaced_by": Penalty.objects.filter(replaces=penalty).first(),
        "timeline": penalty_timeline(penalty, selectors.sees_pii(user)),
        "can_approve": proposed and may_approve,
        "approvers": role_labels(roles),
        "show_approvers_note": proposed and not may_approve,
        "can_lift": penalty.status == Status.ACTIVE and user.has_perm("conduct.lift_penalty"),
        "can_rectify": state in ("open", "overdue") and penalty.status in RECTIFYING
        and user.has_perm("conduct.change_penalty"),
        "can_escalate": state == "overdue" and penalty.escalated_to_id is None
        and penalty.status in RECTIFYING
        and user.has_perm("conduct.investigate_violationcase"),
        "approve_form": forms_.get("approve") or ApproveForm(prefix="approve"),
        "reject_form": forms_.get("reject") or ReasonForm(prefix="reject"),
        "lift_form": forms_.get("lift") or ReasonForm(prefix="lift"),
        "rectify_form": forms_.get("rectify") or RectifyForm(prefix="rectify"),
        "escalate_error": forms_.get("escalate"),
    })


@login_required
@permission_required("conduct.view_penalty", raise_exception=True)
def penalty_detail(request: HttpRequest, penalty_id: int) -> HttpResponse:
    return _detail(request, penalty_or_404(request, penalty_id))


def _require_approver(request: HttpRequest, penalty: Penalty) -> None:
    """The policy decides which roles approve which measures: anyone else gets a 403 saying
    who may."""
    if not penalties.may_approve(actor(request), penalty):
        roles = _(", ").join(role_labels(allowed_roles(Documents().current(),
                                                       penalty.measures))) or "—"
        raise PermissionDenied(_("The policy lets only these roles decide a penalty with "
                                 "%(measures)s: %(roles)s.") % {
            "measures": measures_text(penalty), "roles": roles})


@login_required
@require_POST
@permission_required("conduct.approve_penalty", raise_exception=True)
def penalty_approve(request: HttpRequest, penalty_id: int) -> HttpResponse:
    penalty = penalty_or_404(request, penalty_id)
    _require_approver(request, penalty)
    form = ApproveForm(request.POST, prefix="approve")
    if not request.POST.get("approve-language"):  # the queue's one-click approval
        form = ApproveForm({"approve-language": "zh-hans",
                            "approve-note": request.POST.get("approve-note", "")},
                           prefix="approve")
    if form.is_valid():
        try:
            penalties.approve(actor(request), penalty, note=form.cleaned_data["note"],
                              language=form.cleaned_data["language"])
        except DomainError as error:
            _refused(error)
            form.add_domain_error(error)
        else:
            messages.success(request, _("Penalty #%(pk)s approved: the customer is notified "
                                        "and the measures are in force.") % {"pk": penalty.pk})
            return redirect(_next_or(request, reverse("conduct:penalty_detail",
                                                      args=[penalty.pk])))
    return refused_form(_detail(request, penalty, approve=form))


@login_required
@require_POST
@permission_required("conduct.approve_penalty", raise_exception=True)
def penalty_reject(request: HttpRequest, penalty_id: int) -> HttpResponse:
    penalty = penalty_or_404(request, penalty_id)
    _require_approver(request, penalty)
    form = ReasonForm(request.POST, prefix="reject")
    if form.is_valid():
        try:
            penalties.reject(actor(request), penalty, reason=form.cleaned_data["reason"])
        except DomainError as error:
            _refused(error)
            form.add_domain_error(error)
        else:
            messages.success(request, _("Penalty #%(pk)s rejected.") % {"pk": penalty.pk})
            return redirect("conduct:penalty_detail", penalty_id=penalty.pk)
    return refused_form(_detail(request, penalty, reject=form))


@login_required
@require_POST
@permission_required("conduct.lift_penalty", raise_exception=True)
def penalty_lift(request: HttpRequest, active_penalty_id: int) -> HttpResponse:
    penalty = penalty_or_404(request, active_penalty_id)
    form = ReasonForm(request.POST, prefix="lift")
    if form.is_valid():
        try:
            penalties.lift(actor(request), penalty, reason=form.cleaned_data["reason"])
        except DomainError as error:
            _refused(error)
            form.add_domain_error(error)
        else:
            messages.success(request, _("Penalty #%(pk)s lifted: its restrictions no longer "
                                        "apply.") % {"pk": penalty.pk})
            return redirect("conduct:penalty_detail", penalty_id=penalty.pk)
    return refused_form(_detail(request, penalty, lift=form))


@login_required
@require_POST
@permission_required("conduct.change_penalty", raise_exception=True)
def penalty_rectify(request: HttpRequest, active_penalty_id: int) -> HttpResponse:
    penalty = penalty_or_404(request, active_penalty_id)
    form = RectifyForm(request.POST, prefix="rectify")
    if form.is_valid():
        if penalty.status not in RECTIFYING:
            form.add_error(None, refuse_state(_("penalty"),
                                              penalty.get_status_display()).message)
        else:
            try:
                penalties.record_rectification(actor(request), penalty,
                                               note=form.cleaned_data["note"])
            except DomainError as error:
                _refused(error)
                form.add_domain_error(error)
            else:
                messages.success(request, _("Rectification of penalty #%(pk)s recorded.") % {
                    "pk": penalty.pk})
                return redirect(_next_or(request, reverse("conduct:penalty_detail",
                                                          args=[penalty.pk])))
    return refused_form(_detail(request, penalty, rectify=form))


@login_required
@require_POST
@permission_required("conduct.investigate_violationcase", raise_exception=True)
def penalty_escalate(request: HttpRequest, active_penalty_id: int) -> HttpResponse:
    penalty = penalty_or_404(request, active_penalty_id)
    if penalty.status not in RECTIFYING:
        return refused_form(_detail(request, penalty, escalate=refuse_state(
            _("penalty"), penalty.get_status_display()).message))
    try:
        proposed = penalties.escalate(actor(request), penalty)
    except DomainError as error:
        _refused(error)
        return refused_form(_detail(request, penalty, escalate=error.message))
    penalty.refresh_from_db()
    if proposed is not None:
        messages.success(request, _("Escalated as case #%(case)s; the ladder proposes "
                                    "%(measures)s.") % {"case": penalty.escalated_to_id,
                                                        "measures": measures_text(proposed)})
        return redirect("conduct:penalty_detail", penalty_id=proposed.pk)
    messages.success(request, _("Escalated as case #%(case)s.") % {
        "case": penalty.escalated_to_id})
    return redirect("conduct:case_detail", case_id=penalty.escalated_to_id)


# --- rectifications due -----------------------------------------------------------------------


class RectificationFilterForm(StyledFormMixin, forms.Form):
    overdue = forms.BooleanField(label=gettext_lazy("Overdue only"), required=False)
    region = forms.ChoiceField(label=gettext_lazy("Region"), required=False)
    customer = forms.CharField(
        label=gettext_lazy("Customer"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("code or name"),
                                      "type": "search"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [  # type: ignore[attr-defined]
            ("", _("All")), *region_filter_choices()]


def filter_rectifications(request: HttpRequest, user: User
                          ) -> tuple[RectificationFilterForm, QuerySet[Penalty]]:
    form = RectificationFilterForm(request.GET or None)
    qs = visible_penalties(user).filter(status__in=RECTIFYING,
                                        rectification_due_on__isnull=False,
                                        rectified_at__isnull=True)
    if not form.is_bound:
        return form, qs
    if not form.is_valid():
        return form, qs.none()
    values = form.cleaned_data
    if values["overdue"]:
        qs = qs.filter(rectification_due_on__lt=clock.today())
    return form, _region_and_customer(qs, user, values["region"], values["customer"])


class RectificationTable(BaseTable):
    results_id = "rectification-results"
    due = tables.Column(verbose_name=gettext_lazy("Rectify by"), empty_values=(),
                        order_by=("rectification_due_on", "pk"),
                        attrs={"td": {"class": "text-nowrap"}})
    number = tables.Column(verbose_name=gettext_lazy("Penalty"), accessor="pk",
                           order_by=("pk",))
    customer = tables.Column(verbose_name=gettext_lazy("Customer"), empty_values=(),
                             order_by=("customer__code", "pk"))
    violation = tables.Column(verbose_name=gettext_lazy("Violation"), empty_values=(),
                              order_by=("case__violation_type", "pk"))
    measures = tables.Column(verbose_name=gettext_lazy("Measures"), empty_values=(),
                             orderable=False)
    status = tables.Column(verbose_name=gettext_lazy("Status"), order_by=("status", "pk"))
    escalated = tables.Column(verbose_name=gettext_lazy("Escalated"), empty_values=(),
                              order_by=("escalated_to", "pk"))
    action = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta(BaseTable.Meta):
        order_by = "due"
        empty_text = gettext_lazy("No rectification is due.")
        attrs = {"class": "table table-vcenter card-table table-striped",
                 "data-testid": "rectification-table"}
        row_attrs = {
            "data-penalty": lambda record: record.pk,
            "class": lambda record, table: ("table-danger"
                                            if record.rectification_due_on < table.today
                                            else ""),
            "data-overdue": lambda record, table: ("true"
                                                   if record.rectification_due_on < table.today
                                                   else "false"),
        }

    def __init__(self, *args: Any, request: HttpRequest, documents: Documents,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.documents = documents
        self.today = clock.today()
        user = user_of(request)
        self.can_rectify = user.has_perm("conduct.change_penalty")
        self.can_escalate = user.has_perm("conduct.investigate_violationcase")

    def render_due(self, record: Penalty) -> SafeString:
        due = record.rectification_due_on
        if due < self.today:
            days = (self.today - due).days
            return format_html('<span class="text-danger fw-bold">{}</span>'
                               '<div class="small text-danger">{}</div>', due.isoformat(),
                               ngettext("overdue by %(days)d day", "overdue by %(days)d days",
                                        days) % {"days": days})
        return format_html("{}", due.isoformat())

    def render_number(self, value: int) -> SafeString:
        return format_html('<a href="{}">#{}</a>',
                           reverse("conduct:penalty_detail", args=[value]), value)

    def render_customer(self, record: Penalty) -> SafeString:
        return customer_cell(record.customer)

    def render_violation(self, record: Penalty) -> SafeString:
        case = record.case
        return format_html('<a href="{}">{}</a>', reverse("conduct:case_detail", args=[case.pk]),
                           type_name(self.documents.get(case.policy_version),
                                     case.violation_type))

    def render_measures(self, record: Penalty) -> str:
        return measures_text(record)

    def render_status(self, record: Penalty) -> SafeString:
        return penalty_badge(record)

    def render_escalated(self, record: Penalty) -> SafeString | str:
        if record.escalated_to_id is None:
            return "—"
        return format_html('<a href="{}">#{}</a>',
                           reverse("conduct:case_detail", args=[record.escalated_to_id]),
                           record.escalated_to_id)

    def render_action(self, record: Penalty) -> SafeString:
        parts: list[SafeString] = []
        if self.can_rectify:
            field = format_html(
                '<input type="text" name="rectify-note" class="form-control form-control-sm" '
                'required maxlength="{}" placeholder="{}" aria-label="{}">', MAX_TEXT,
                _("what the customer did"), _("What the customer did"))
            parts.append(_form_post(
                reverse("conduct:penalty_rectify", args=[record.pk]), self.request,
                _("Record rectification"), _("Record that the customer rectified this?"),
                css="btn-sm", fields=field, testid="rectify"))
        if (self.can_escalate and record.escalated_to_id is None
                and record.rectification_due_on < self.today):
            parts.append(_form_post(
                reverse("conduct:penalty_escalate", args=[record.pk]), self.request,
                _("Escalate"), _("Record the overdue rectification as a violation and run the "
                                 "ladder again?"), css="btn-sm btn-outline-danger",
                testid="escalate"))
        if not parts:
            return format_html('<a class="btn btn-sm" href="{}">{}</a>',
                               reverse("conduct:penalty_detail", args=[record.pk]),
                               pgettext("action", "Open"))
        return format_html('<div class="d-flex flex-column gap-1">{}</div>',
                           mark_safe("".join(parts)))  # noqa: S308 - each part is escaped


@login_required
@permission_required("conduct.view_penalty", raise_exception=True)
def rectification_list(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    form, qs = filter_rectifications(request, user)
    table = RectificationTable(qs, request=request, documents=Documents())
    return list_page(request, table, {"form": form},
                     page="conduct/cases/rectification_list.html",
                     results="conduct/cases/rectification_results.html")


RECTIFICATION_HEADERS = [
    gettext_lazy("penalty"), gettext_lazy("customer code"), gettext_lazy("customer"),
    gettext_lazy("violation type"), gettext_lazy("measures"), gettext_lazy("status"),
    gettext_lazy("rectify by"), gettext_lazy("days overdue"), gettext_lazy("escalated as case"),
]


@login_required
@permission_required("conduct.view_penalty", raise_exception=True)
def rectification_export(request: HttpRequest) -> HttpResponse:
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    documents = Documents()
    _form, qs = filter_rectifications(request, user_of(request))
    table = RectificationTable(qs, request=request, documents=documents)
    RequestConfig(request, paginate=False).configure(table)
    today = clock.today()

    def rows() -> Iterator[list[object]]:
        for p in table.data.data.iterator(chunk_size=500):
            due = p.rectification_due_on
            yield [p.pk, p.customer.code, p.customer.name,
                   type_name(documents.get(p.case.policy_version), p.case.violation_type),
                   measures_text(p), p.get_status_display(), due,
                   max((today - due).days, 0), p.escalated_to_id]

    return exports.export_response("rectifications",
                                   [str(h) for h in RECTIFICATION_HEADERS], rows(), fmt)

