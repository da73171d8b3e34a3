"""Violation cases (/conduct/cases/): the queue of cases to investigate (by default those reported
or under investigation), filtered by type, severity, region, investigator and date, sortable,
paged and exportable; the report form (the case and its evidence files in one submit); a case's
page with its evidence, timeline and the investigate / confirm / dismiss forms; and the
evidence download, streamed to whoever may see the customer. The writes are
conduct.services.cases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import django_tables2 as tables
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from custguard.conduct.labels import SEVERITIES
from custguard.conduct.models import Evidence, Penalty, ViolationCase
from custguard.conduct.services import cases
from custguard.conduct.views.cases.common import (
    BaseTable,
    Documents,
    case_badge,
    catalogue_choices,
    category_label,
    customer_cell,
    investigators,
    local_time,
    measures_text,
    penalty_badge,
    refused_form,
    severity_badge,
    severity_label,
    shorten,
    timeline_rows,
    type_name,
    violation_type_of,
    visible_cases,
    visible_evidence,
)
from custguard.core import clock, exports, filetypes, limits
from custguard.core.actors import Actor
from custguard.core.errors import DomainError, PermissionRefused
from custguard.core.forms import StyledFormMixin
from custguard.core.models import AuditEntry, User
from custguard.core.services import audit
from custguard.core.tables import list_page
from custguard.customers import selectors
from custguard.customers.filters import region_filter_choices
from custguard.customers.views.common import user_of
from custguard.policy.codes import Severity

Status = ViolationCase.Status
OPEN = "open"
ALL = "all"
MINE, UNASSIGNED = "mine", "unassigned"
MAX_TEXT = 4000


def actor(request: HttpRequest) -> Actor:
    return Actor.for_user(user_of(request))


def case_or_404(request: HttpRequest, pk: int) -> ViolationCase:
    case = visible_cases(user_of(request)).filter(pk=pk).first()
    if case is None:
        raise Http404
    return case


# --- the queue --------------------------------------------------------------------------------


class CaseFilterForm(StyledFormMixin, forms.Form):
    STATUSES = [(OPEN, gettext_lazy("To investigate (reported or investigating)")),
                *Status.choices, (ALL, gettext_lazy("All"))]
    INVESTIGATORS = [("", gettext_lazy("Anyone")), (MINE, gettext_lazy("Mine")),
                     (UNASSIGNED, gettext_lazy("Not assigned yet"))]

    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False, choices=STATUSES)
    violation_type = forms.ChoiceField(label=gettext_lazy("Violation type"), required=False)
    severity = forms.ChoiceField(
        label=gettext_lazy("Severity"), required=False,
        choices=[("", gettext_lazy("All")), *[(s.value, SEVERITIES[s]) for s in Severity]])
    region = forms.ChoiceField(label=gettext_lazy("Region"), required=False)
    investigator = forms.ChoiceField(label=gettext_lazy("Investigator"), required=False,
                                     choices=INVESTIGATORS)
    customer = forms.CharField(
        label=gettext_lazy("Customer"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("code or name"),
                                      "type": "search"}))
    occurred_from = forms.DateField(label=gettext_lazy("Occurred from"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}))
    occurred_to = forms.DateField(label=gettext_lazy("Occurred until"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, documents: Documents, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["violation_type"].choices = [  # type: ignore[attr-defined]
            ("", _("All")), *catalogue_choices(documents.current())]
        self.fields["region"].choices = [  # type: ignore[attr-defined]
            ("", _("All")), *region_filter_choices()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("occurred_from"), data.get("occurred_to")
        if start and end and end < start:
            self.add_error("occurred_to", _("The end comes before the start."))
        return data


def filter_cases(request: HttpRequest, user: User,
                 documents: Documents) -> tuple[CaseFilterForm, QuerySet[ViolationCase]]:
    """Without filters, the queue shows the cases still to be investigated."""
    data = request.GET.copy()
    if not data.get("status"):
        data["status"] = OPEN
    form = CaseFilterForm(data, documents=documents)
    qs = visible_cases(user).annotate(evidence_count=Count("evidence"))
    if not form.is_valid():
        return form, qs.none()
    values = form.cleaned_data
    status = values["status"]
    if status == OPEN:
        qs = qs.filter(status__in=[Status.REPORTED, Status.INVESTIGATING])
    elif status and status != ALL:
        qs = qs.filter(status=status)
    if values["violation_type"]:
        qs = qs.filter(violation_type=values["violation_type"])
    if values["severity"]:
        qs = qs.filter(severity=values["severity"])
    if values["region"]:
        qs = qs.filter(Q(customer__region__code=values["region"])
                       | Q(customer__region__parent__code=values["region"]))
    if values["investigator"] == MINE:
        qs = qs.filter(investigator=user)
    elif values["investigator"] == UNASSIGNED:
        qs = qs.filter(investigator__isnull=True)
    text = values["customer"].strip()
    if text:
        found = selectors.search_customers(selectors.customers_for(user), text)
        qs = qs.filter(customer__in=found.values("pk"))
    if values["occurred_from"]:
        qs = qs.filter(occurred_on__gte=values["occurred_from"])
    if values["occurred_to"]:
        qs = qs.filter(occurred_on__lte=values["occurred_to"])
    return form, qs


class CaseTable(BaseTable):
    results_id = "case-results"
    number = tables.Column(verbose_name="#", accessor="pk", order_by=("pk",))
    customer = tables.Column(verbose_name=gettext_lazy("Customer"), empty_values=(),
                             order_by=("customer__code", "pk"))
    violation_type = tables.Column(verbose_name=gettext_lazy("Violation type"),
                                   order_by=("violation_type", "pk"))
    severity = tables.Column(verbose_name=gettext_lazy("Severity"), empty_values=(),
                             order_by=("severity", "pk"))
    occurred_on = tables.Column(verbose_name=gettext_lazy("Occurred on"),
                                order_by=("occurred_on", "pk"),
                                attrs={"td": {"class": "text-nowrap"}})
    status = tables.Column(verbose_name=gettext_lazy("Status"), order_by=("status", "pk"))
    investigator = tables.Column(verbose_name=gettext_lazy("Investigator"), empty_values=(),
                                 order_by=("investigator__username", "pk"))
    evidence_count = tables.Column(verbose_name=gettext_lazy("Evidence"),
                                   order_by=("evidence_count", "pk"),
                                   attrs={"td": {"class": "text-end"}})
    reported = tables.Column(verbose_name=gettext_lazy("Reported"), empty_values=(),
                             order_by=("-reported_at", "-pk"),
                             attrs={"td": {"class": "text-nowrap"}})
    description = tables.Column(verbose_name=gettext_lazy("Description"), orderable=False)
    action = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta(BaseTable.Meta):
        order_by = "reported"  # newest first
        empty_text = gettext_lazy("No cases match.")
        attrs = {"class": "table table-vcenter card-table table-striped",
                 "data-testid": "case-table"}
        row_attrs = {"data-case": lambda record: record.pk}

    def __init__(self, *args: Any, documents: Documents, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.documents = documents

    def render_number(self, value: int) -> SafeString:
        return format_html('<a href="{}">#{}</a>', reverse("conduct:case_detail", args=[value]),
                           value)

    def render_customer(self, record: ViolationCase) -> SafeString:
        return customer_cell(record.customer)

    def render_violation_type(self, record: ViolationCase) -> SafeString:
        document = self.documents.get(record.policy_version)
        return format_html('{}<div class="small text-secondary font-monospace">{}</div>',
                           type_name(document, record.violation_type), record.violation_type)

    def render_severity(self, record: ViolationCase) -> SafeString:
        return severity_badge(record.severity)

    def render_occurred_on(self, value: Any) -> str:
        return value.isoformat()

    def render_status(self, record: ViolationCase) -> SafeString:
        return case_badge(record)

    def render_investigator(self, record: ViolationCase) -> str:
        return record.investigator.get_username() if record.investigator else "—"

    def render_reported(self, record: ViolationCase) -> SafeString:
        return format_html("{}<div class='small text-secondary'>{}</div>",
                           local_time(record.reported_at), record.reported_by_label)

    def render_description(self, value: str) -> str:
        return shorten(value)

    def render_action(self, record: ViolationCase) -> SafeString:
        return format_html('<a class="btn btn-sm" href="{}">{}</a>',
                           reverse("conduct:case_detail", args=[record.pk]),
                           pgettext("action", "Open"))


@login_required
@permission_required("conduct.view_violationcase", raise_exception=True)
def case_list(request: HttpRequest) -> HttpResponse:
    documents = Documents()
    form, qs = filter_cases(request, user_of(request), documents)
    table = CaseTable(qs, documents=documents)
    return list_page(request, table, {"form": form},
                     page="conduct/cases/case_list.html",
                     results="conduct/cases/case_results.html")


EXPORT_HEADERS = [
    gettext_lazy("number"), gettext_lazy("customer code"), gettext_lazy("customer"),
    gettext_lazy("region"), gettext_lazy("violation type code"), gettext_lazy("violation type"),
    gettext_lazy("category"), gettext_lazy("severity"), gettext_lazy("points"),
    gettext_lazy("occurred on"), gettext_lazy("status"), gettext_lazy("description"),
    gettext_lazy("source"), gettext_lazy("external id"), gettext_lazy("reported by"),
    gettext_lazy("reported at"), gettext_lazy("investigator"), gettext_lazy("evidence files"),
    gettext_lazy("decided by"), gettext_lazy("decided at"), gettext_lazy("decision reason"),
    gettext_lazy("policy version"),
]


def _export_rows(rows: Iterator[ViolationCase], documents: Documents) -> Iterator[list[object]]:
    for c in rows:
        document = documents.get(c.policy_version)
        kind = violation_type_of(document, c.violation_type)
        yield [
            c.pk, c.customer.code, c.customer.name, c.customer.region.full_name,
            c.violation_type, type_name(document, c.violation_type),
            category_label(kind.category.value) if kind else "", severity_label(c.severity),
            c.points, c.occurred_on, c.get_status_display(), c.description, c.source,
            c.external_id, c.reported_by_label, c.reported_at,
            c.investigator.get_username() if c.investigator else "",
            getattr(c, "evidence_count", None),
            c.decided_by.get_username() if c.decided_by else "", c.decided_at,
            c.decision_reason, c.policy_version,
        ]


@login_required
@permission_required("conduct.view_violationcase", raise_exception=True)
def case_export(request: HttpRequest) -> HttpResponse:
    """The queue as it is filtered and sorted, every page, as CSV or XLSX."""
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    documents = Documents()
    _form, qs = filter_cases(request, user_of(request), documents)
    table = CaseTable(qs, documents=documents)
    RequestConfig(request, paginate=False).configure(table)
    return exports.export_response(
        "violation-cases", [str(h) for h in EXPORT_HEADERS],
        _export_rows(table.data.data.iterator(chunk_size=500), documents), fmt)


# --- reporting --------------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (each checked by the evidence service)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)] if data else []


def _evidence_help() -> str:
    return _("Up to %(mb)d MB each; accepted: %(types)s.") % {
        "mb": settings.CUSTGUARD_EVIDENCE_MAX_MB,
        "types": ", ".join(kind.lower() for kind in settings.CUSTGUARD_EVIDENCE_TYPES)}


class ReportForm(StyledFormMixin, forms.Form):
    customer = forms.CharField(label=gettext_lazy("Customer code"), max_length=9)
    violation_type = forms.ChoiceField(label=gettext_lazy("Violation type"))
    occurred_on = forms.DateField(label=gettext_lazy("Occurred on"),
                                  widget=forms.DateInput(attrs={"type": "date"}))
    description = forms.CharField(
        label=gettext_lazy("What happened"), max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Where, when, who, and how it was found out."))
    files = MultipleFileField(label=gettext_lazy("Evidence files"), required=False)

    def __init__(self, *args: Any, user: User, documents: Documents, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["violation_type"].choices = [  # type: ignore[attr-defined]
            ("", "—"), *catalogue_choices(documents.current())]
        self.fields["files"].help_text = _evidence_help()
        self.fields["files"].widget.attrs["multiple"] = True

    def clean_customer(self) -> Any:
        code = self.cleaned_data["customer"].strip()
        customer = selectors.customers_for(self.user).filter(code=code).first()
        if customer is None:
            raise forms.ValidationError(_("No customer has the code %(code)s.") % {
                "code": code})
        return customer


def _stored_evidence_cleanup(stored: list[Evidence]) -> None:
    """Files saved for a submit that was then refused are removed with it."""
    for evidence in stored:
        evidence.file.delete(save=False)


FIELD_OF = {"file": "files", "violation_type": "violation_type", "occurred_on": "occurred_on",
            "description": "description", "external_id": None, "source": None}


def _report(request: HttpRequest, form: ReportForm) -> HttpResponse | None:
    """Report the case and attach each file, all or nothing."""
    data = form.cleaned_data
    files: list[UploadedFile] = data["files"]
    stored: list[Evidence] = []
    current = ""
    try:
        with audit.deferred_transaction():
            reported = cases.report(actor(request), data["customer"],
                                    violation_type=data["violation_type"],
                                    occurred_on=data["occurred_on"],
                                    description=data["description"])
            if reported.created:
                for upload in files:
                    current = upload.name or ""
                    stored.append(cases.add_evidence(
                        actor(request), reported.case, upload,
                        content_type=upload.content_type or "application/octet-stream"))
    except BaseException as error:
        # nothing of the submit is kept: the transaction is rolled back, the files removed
        _stored_evidence_cleanup(stored)
        if isinstance(error, PermissionRefused):
            raise PermissionDenied(error.message) from error
        if not isinstance(error, DomainError):
            raise
        field = FIELD_OF.get(error.field or "")
        if field == "files" and current:
            form.add_error("files", _("%(name)s: %(reason)s") % {"name": current,
                                                                 "reason": error.message})
        else:
            form.add_error(field, error.message)
        return None
    case = reported.case
    if not reported.created:
        messages.warning(request, _(
            "This incident was reported before as case #%(pk)s: nothing new was recorded. "
            "Add new evidence on the case's page.") % {"pk": case.pk})
    else:
        messages.success(request, ngettext(
            "Case #%(pk)s reported with %(n)d evidence file.",
            "Case #%(pk)s reported with %(n)d evidence files.", len(stored)) % {
            "pk": case.pk, "n": len(stored)})
    return redirect("conduct:case_detail", case_id=case.pk)


@login_required
@permission_required("conduct.add_violationcase", raise_exception=True)
def case_new(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    documents = Documents()
    initial = {"occurred_on": clock.today()}
    if request.GET.get("customer"):
        initial["customer"] = request.GET["customer"][:9]
    form = ReportForm(request.POST or None, request.FILES or None, user=user,
                      documents=documents, initial=initial)
    if request.method == "POST" and form.is_valid():
        response = _report(request, form)
        if response is not None:
            return response
    response = render(request, "conduct/cases/case_form.html", {
        "form": form, "can_add_evidence": user.has_perm("conduct.add_evidence")})
    return refused_form(response) if request.method == "POST" else response


# --- one case ---------------------------------------------------------------------------------


class EvidenceForm(StyledFormMixin, forms.Form):
    file = forms.FileField(label=gettext_lazy("File"))
    note = forms.CharField(label=gettext_lazy("Note"), required=False,
                           max_length=limits.SHORT_TEXT)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _evidence_help()


class InvestigateForm(StyledFormMixin, forms.Form):
    investigator = forms.ModelChoiceField(label=gettext_lazy("Investigator"),
                                          queryset=User.objects.none())

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: forms.ModelChoiceField = self.fields["investigator"]  # type: ignore[assignment,type-arg]
        field.queryset = investigators()
        field.initial = user.pk


class ReasonForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=MAX_TEXT,
                             widget=forms.Textarea(attrs={"rows": 3}))


def case_timeline(case: ViolationCase, show_pii: bool) -> list[dict[str, Any]]:
    """The case's audit entries with its evidence's and its penalties' (oldest first)."""
    evidence = [str(pk) for pk in case.evidence.values_list("pk", flat=True)]
    penalty_ids = [str(pk) for pk in case.penalties.values_list("pk", flat=True)]
    entries = AuditEntry.objects.filter(
        Q(object_type="conduct.violationcase", object_id=str(case.pk))
        | Q(object_type="conduct.evidence", object_id__in=evidence)
        | Q(object_type="conduct.penalty", object_id__in=penalty_ids)).order_by("seq")
    return timeline_rows(entries, show_pii)


def _detail(request: HttpRequest, case: ViolationCase, **forms_: forms.Form) -> HttpResponse:
    user = user_of(request)
    documents = Documents()
    document = documents.get(case.policy_version)
    kind = violation_type_of(document, case.violation_type)
    is_open = case.status in (Status.REPORTED, Status.INVESTIGATING)
    may_decide = is_open and user.has_perm("conduct.investigate_violationcase")
    penalties = list(case.penalties.order_by("proposed_at", "pk"))
    return render(request, "conduct/cases/case_detail.html", {
        "case": case,
        "badge": case_badge(case),
        "severity": severity_badge(case.severity),
        "type_name": type_name(document, case.violation_type),
        "category": category_label(kind.category.value) if kind else "",
        "evidence_required": bool(kind and kind.evidence_required),
        "evidence": list(case.evidence.all()),
        "penalties": [{"penalty": p, "badge": penalty_badge(p), "measures": measures_text(p)}
                      for p in penalties],
        "timeline": case_timeline(case, selectors.sees_pii(user)),
        "can_add_evidence": is_open and user.has_perm("conduct.add_evidence"),
        "can_investigate": may_decide and case.status == Status.REPORTED,
        "can_decide": may_decide,
        "evidence_form": forms_.get("evidence") or EvidenceForm(prefix="evidence"),
        "investigate_form": forms_.get("investigate") or InvestigateForm(prefix="investigate",
                                                                         user=user),
        "confirm_form": forms_.get("confirm") or ReasonForm(prefix="confirm"),
        "dismiss_form": forms_.get("dismiss") or ReasonForm(prefix="dismiss"),
    })


@login_required
@permission_required("conduct.view_violationcase", raise_exception=True)
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    return _detail(request, case_or_404(request, case_id))


def _refused(error: DomainError) -> None:
    """A refusal of the role (the service checked again) is a 403 like the view's own."""
    if isinstance(error, PermissionRefused):
        raise PermissionDenied(error.message) from error


@login_required
@require_POST
@permission_required("conduct.add_evidence", raise_exception=True)
def evidence_add(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_or_404(request, case_id)
    form = EvidenceForm(request.POST, request.FILES, prefix="evidence")
    if form.is_valid():
        upload: UploadedFile = form.cleaned_data["file"]
        known = set(case.evidence.values_list("pk", flat=True))
        try:
            evidence = cases.add_evidence(
                actor(request), case, upload, note=form.cleaned_data["note"],
                content_type=upload.content_type or "application/octet-stream")
        except DomainError as error:
            _refused(error)
            form.add_error("file" if error.field == "file" else None, error.message)
        else:
            if evidence.pk in known:
                messages.info(request, _("This file is already attached (%(name)s).") % {
                    "name": evidence.original_name})
            else:
                messages.success(request, _("%(name)s attached.") % {
                    "name": evidence.original_name})
            return redirect("conduct:case_detail", case_id=case.pk)
    return refused_form(_detail(request, case, evidence=form))


@login_required
@require_POST
@permission_required("conduct.investigate_violationcase", raise_exception=True)
def case_investigate(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_or_404(request, case_id)
    user = user_of(request)
    form = InvestigateForm(request.POST, prefix="investigate", user=user)
    if form.is_valid():
        try:
            cases.investigate(actor(request), case,
                              investigator=form.cleaned_data["investigator"])
        except DomainError as error:
            _refused(error)
            form.add_domain_error(error)
        else:
            messages.success(request, _("Case #%(pk)s is under investigation.") % {
                "pk": case.pk})
            return redirect("conduct:case_detail", case_id=case.pk)
    return refused_form(_detail(request, case, investigate=form))


@login_required
@require_POST
@permission_required("conduct.investigate_violationcase", raise_exception=True)
def case_confirm(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_or_404(request, case_id)
    form = ReasonForm(request.POST, prefix="confirm")
    if form.is_valid():
        try:
            penalty = cases.confirm(actor(request), case, reason=form.cleaned_data["reason"])
        except DomainError as error:
            _refused(error)
            form.add_domain_error(error)
        else:
            return _after_confirm(request, case, penalty)
    return refused_form(_detail(request, case, confirm=form))


def _after_confirm(request: HttpRequest, case: ViolationCase,
                   penalty: Penalty | None) -> HttpResponse:
    if penalty is None:
        messages.success(request, _("Case #%(pk)s confirmed; the ladder recommends no "
                                    "measure.") % {"pk": case.pk})
        return redirect("conduct:case_detail", case_id=case.pk)
    messages.success(request, _("Case #%(pk)s confirmed; the ladder proposes %(measures)s.")
                     % {"pk": case.pk, "measures": measures_text(penalty)})
    return redirect("conduct:penalty_detail", penalty_id=penalty.pk)


@login_required
@require_POST
@permission_required("conduct.investigate_violationcase", raise_exception=True)
def case_dismiss(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_or_404(request, case_id)
    form = ReasonForm(request.POST, prefix="dismiss")
    if form.is_valid():
        try:
            cases.dismiss(actor(request), case, reason=form.cleaned_data["reason"])
        except DomainError as error:
            _refused(error)
            form.add_domain_error(error)
        else:
            messages.success(request, _("Case #%(pk)s dismissed.") % {"pk": case.pk})
            return redirect("conduct:case_detail", case_id=case.pk)
    return refused_form(_detail(request, case, dismiss=form))


# --- evidence download ------------------------------------------------------------------------


def evidence_response(evidence: Evidence) -> FileResponse:
    """The stored file as a download (never shown inline) under its original name: served as
    the type its sniffed content was checked to be, and browsers are told not to sniff it."""
    try:
        handle = evidence.file.open("rb")
    except (FileNotFoundError, ValueError) as error:
        raise Http404 from error
    response = FileResponse(handle, content_type=evidence.content_type
                            or "application/octet-stream")
    response["Content-Disposition"] = filetypes.attachment_disposition(
        evidence.original_name, fallback_stem=f"evidence-{evidence.pk}")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@permission_required("conduct.view_evidence", raise_exception=True)
def evidence_download(request: HttpRequest, evidence_id: int) -> FileResponse:
    evidence = visible_evidence(user_of(request)).filter(pk=evidence_id).first()
    if evidence is None:
        raise Http404
    return evidence_response(evidence)

