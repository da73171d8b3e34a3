"""Appeals (申诉) pages: the queue of appeals to review (/conduct/appeals/: filed and under
review by default, the review date first, overdue ones highlighted; filter by status, kind of
decision, customer, overdue, "mine"; sort, page, export CSV/XLSX), the form that files an
appeal against a case, a penalty or a blacklist entry (/conduct/appeals/new/?penalty=ID), and
an appeal's page: the decision appealed with its facts, the grounds, the appeal's timeline and
the start-review / decide / withdraw forms. Every write is conduct.services.appeals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext_lazy, pgettext, pgettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from custguard.conduct.labels import SEVERITIES, measure_labels
from custguard.conduct.models import Appeal, BlacklistEntry, Penalty, ViolationCase
from custguard.conduct.services import appeals
from custguard.conduct.services.common import MAX_REASON, policy
from custguard.core import clock, exports
from custguard.core.actors import Actor
from custguard.core.errors import DomainError
from custguard.core.forms import StyledFormMixin
from custguard.core.models import User
from custguard.core.tables import TEMPLATE, list_page
from custguard.customers import selectors
from custguard.customers.views.common import TimelineItem, timeline
from custguard.policy.codes import Measure, Severity
from custguard.policy.schema import PolicyDocument

Status = Appeal.Status
OPEN_FILTER, ALL = "open", "all"
STATUS_BADGES = {
    Status.FILED: "bg-blue-lt", Status.UNDER_REVIEW: "bg-yellow-lt",
    Status.UPHELD: "bg-secondary-lt", Status.OVERTURNED: "bg-green-lt",
    Status.REDUCED: "bg-teal-lt", Status.WITHDRAWN: "bg-secondary-lt",
}
KIND_LABELS = {
    "case": pgettext_lazy("appealed decision", "Violation"),
    "penalty": pgettext_lazy("appealed decision", "Penalty"),
    "blacklist_entry": pgettext_lazy("appealed decision", "Blacklist entry"),
}
# The audit actions an appeal's page shows, in words (the code stays in a data attribute).
ACTION_LABELS = {
    "conduct.appeal_file": gettext_lazy("Appeal filed"),
    "conduct.appeal_review": gettext_lazy("Review started"),
    "conduct.appeal_decide": gettext_lazy("Appeal decided"),
    "conduct.appeal_withdraw": gettext_lazy("Appeal withdrawn"),
    "conduct.case_report": gettext_lazy("Violation reported"),
    "conduct.case_investigate": gettext_lazy("Investigation started"),
    "conduct.case_confirm": gettext_lazy("Violation confirmed"),
    "conduct.case_dismiss": gettext_lazy("Violation dismissed"),
    "conduct.case_overturn": gettext_lazy("Violation overturned on appeal"),
    "conduct.evidence_add": gettext_lazy("Evidence attached"),
    "conduct.penalty_propose": gettext_lazy("Penalty proposed"),
    "conduct.penalty_approve": gettext_lazy("Penalty approved"),
    "conduct.penalty_notify": gettext_lazy("Customer notified"),
    "conduct.penalty_activate": gettext_lazy("Penalty in force"),
    "conduct.penalty_reject": gettext_lazy("Penalty proposal rejected"),
    "conduct.penalty_complete": gettext_lazy("Penalty completed"),
    "conduct.penalty_lift": gettext_lazy("Penalty lifted early"),
    "conduct.penalty_overturn": gettext_lazy("Penalty overturned on appeal"),
    "conduct.penalty_reduce": gettext_lazy("Lighter penalty in force after an appeal"),
    "conduct.rectify": gettext_lazy("Rectification recorded"),
    "conduct.blacklist_propose": gettext_lazy("Blacklist entry proposed"),
    "conduct.blacklist_approve": gettext_lazy("Blacklist entry approved"),
    "conduct.blacklist_reject": gettext_lazy("Blacklist proposal rejected"),
    "conduct.blacklist_lift": gettext_lazy("Blacklist entry lifted"),
    "conduct.blacklist_expire": gettext_lazy("Blacklist entry expired"),
    "conduct.blacklist_overturn": gettext_lazy("Blacklist entry overturned on appeal"),
}
USER_KEYS = {"reviewer", "investigator"}  # audit values that are user ids


def user_of(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def actor(request: HttpRequest) -> Actor:
    return Actor.for_user(user_of(request))


def local_time(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


def status_badge(appeal: Appeal) -> SafeString:
    return format_html('<span class="badge {}" data-status="{}">{}</span>',
                       STATUS_BADGES.get(appeal.status, "bg-secondary-lt"), appeal.status,
                       appeal.get_status_display())


def _english() -> bool:
    return not (get_language() or "zh-hans").lower().startswith("zh")


def _document() -> PolicyDocument | None:
    try:
        return policy()[1]
    except DomainError:
        return None


def target_summary(target: appeals.Target, document: PolicyDocument | None = None) -> str:
    """What was decided, in a few words: the violation, the ladder step, the criterion."""
    if isinstance(target, ViolationCase):
        name = target.violation_type
        if document is not None:
            try:
                kind = document.violation_type(target.violation_type)
                name = kind.description_en if _english() else kind.description_zh
            except KeyError:
                pass
        return f"{name} ({target.occurred_on.isoformat()})"
    if isinstance(target, Penalty):
        return f"{target.step_code}: {', '.join(measure_labels(target.measures))}"
    return target.criterion


# --- the queue --------------------------------------------------------------------------------


class AppealFilterForm(StyledFormMixin, forms.Form):
    customer = forms.CharField(
        label=gettext_lazy("Customer"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("code or name"),
                                      "type": "search"}))
    status = forms.ChoiceField(
        label=gettext_lazy("Status"), required=False,
        choices=[(OPEN_FILTER, gettext_lazy("To review (filed or under review)")),
                 (ALL, gettext_lazy("All")), *Status.choices])
    kind = forms.ChoiceField(
        label=gettext_lazy("Decision appealed"), required=False,
        choices=[("", gettext_lazy("All")), *KIND_LABELS.items()])
    overdue = forms.BooleanField(label=gettext_lazy("Overdue only"), required=False)
    mine = forms.BooleanField(label=gettext_lazy("Only appeals I review"), required=False)


def filter_appeals(request: HttpRequest,
                   user: User) -> tuple[AppealFilterForm, QuerySet[Appeal]]:
    """Without filters, the queue shows what is to be reviewed."""
    data = request.GET.copy()
    if not data.get("status"):
        data["status"] = OPEN_FILTER
    form = AppealFilterForm(data)
    qs = appeals.appeals_for(user)
    if not form.is_valid():
        return form, qs.none()
    values = form.cleaned_data
    if values["status"] == OPEN_FILTER:
        qs = appeals.open_appeals(qs)
    elif values["status"] != ALL:
        qs = qs.filter(status=values["status"])
    text = values["customer"].strip()
    if text:
        found = selectors.search_customers(selectors.customers_for(user), text)
        qs = qs.filter(customer__in=found.values("pk"))
    if values["kind"]:
        qs = qs.filter(**{f"{values['kind']}__isnull": False})
    if values["overdue"]:
        qs = appeals.overdue_appeals(qs)
    if values["mine"]:
        qs = qs.filter(reviewer=user)
    return form, qs


class AppealTable(tables.Table):
    results_id = "appeal-results"
    number = tables.Column(verbose_name="#", accessor="pk", order_by=("pk",))
    customer = tables.Column(verbose_name=gettext_lazy("Customer"), empty_values=(),
                             order_by=("customer__code", "pk"))
    decision = tables.Column(verbose_name=gettext_lazy("Decision appealed"), empty_values=(),
                             orderable=False)
    status = tables.Column(verbose_name=gettext_lazy("Status"), order_by=("status", "pk"))
    filed = tables.Column(verbose_name=gettext_lazy("Filed"), empty_values=(),
                          order_by=("filed_at", "pk"), attrs={"td": {"class": "text-nowrap"}})
    review_due_on = tables.Column(verbose_name=gettext_lazy("Decide by"),
                                  order_by=("review_due_on", "pk"),
                                  attrs={"td": {"class": "text-nowrap"}})
    reviewer = tables.Column(verbose_name=gettext_lazy("Reviewer"), empty_values=(),
                             order_by=("reviewer__username", "pk"))
    grounds = tables.Column(verbose_name=gettext_lazy("Grounds"), orderable=False)
    action = tables.Column(verbose_name="", empty_values=(), orderable=False,
                           attrs={"td": {"class": "text-end"}})

    class Meta:
        template_name = TEMPLATE
        order_by = "review_due_on"  # the most urgent first
        empty_text = gettext_lazy("No appeals match.")
        attrs = {"class": "table table-vcenter card-table table-striped",
                 "data-testid": "appeal-table"}
        row_attrs = {
            "data-appeal": lambda record: record.pk,
            "data-overdue": lambda record: "true" if appeals.is_overdue(record) else "false",
            "class": lambda record: "table-danger" if appeals.is_overdue(record) else "",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.document = _document()
        self.today = clock.today()

    def render_number(self, value: int) -> SafeString:
        return format_html('<a href="{}">#{}</a>',
                           reverse("conduct:appeal_detail", args=[value]), value)

    def render_customer(self, record: Appeal) -> SafeString:
        customer = record.customer
        return format_html('<a href="{}" class="font-monospace fw-bold">{}</a>'
                           '<div class="small">{}</div>',
                           reverse("customers:detail", args=[customer.code]), customer.code,
                           customer.name)

    def render_decision(self, record: Appeal) -> SafeString:
        target = appeals.target_of(record)
        kind = appeals.target_field(target)
        return format_html('<span data-kind="{}">{} #{}</span>'
                           '<div class="small text-secondary">{}</div>',
                           kind, KIND_LABELS[kind], target.pk,
                           target_summary(target, self.document))

    def render_status(self, record: Appeal) -> SafeString:
        return status_badge(record)

    def render_filed(self, record: Appeal) -> SafeString:
        return format_html("{}<div class='small text-secondary'>{} · {}</div>",
                           local_time(record.filed_at), record.filed_by_label,
                           record.get_channel_display())

    def render_review_due_on(self, record: Appeal) -> SafeString:
        if appeals.is_overdue(record, self.today):
            days = (self.today - record.review_due_on).days
            return format_html('{} <span class="badge bg-red-lt" data-testid="overdue">{}</span>',
                               record.review_due_on.isoformat(),
                               _("overdue by %(n)d d") % {"n": days})
        return format_html("{}", record.review_due_on.isoformat())

    def render_reviewer(self, record: Appeal) -> str:
        return record.reviewer.get_username() if record.reviewer else "—"

    def render_grounds(self, value: str) -> str:
        return value if len(value) <= 60 else value[:59] + "…"

    def render_action(self, record: Appeal) -> SafeString:
        return format_html('<a class="btn btn-sm" href="{}">{}</a>',
                           reverse("conduct:appeal_detail", args=[record.pk]),
                           pgettext("action", "Open"))


@login_required
@permission_required("conduct.view_appeal", raise_exception=True)
def appeal_list(request: HttpRequest) -> HttpResponse:
    form, qs = filter_appeals(request, user_of(request))
    table = AppealTable(qs)
    overdue = appeals.overdue_appeals(appeals.appeals_for(user_of(request))).count()
    return list_page(request, table, {"form": form, "overdue_count": overdue},
                     page="conduct/appeals/list.html",
                     results="conduct/appeals/results.html")


EXPORT_HEADERS = [
    gettext_lazy("number"), gettext_lazy("customer code"), gettext_lazy("customer"),
    gettext_lazy("decision appealed"), gettext_lazy("decision id"), gettext_lazy("decision"),
    gettext_lazy("status"), gettext_lazy("channel"), gettext_lazy("grounds"),
    gettext_lazy("filed at"), gettext_lazy("filed by"), gettext_lazy("decide by"),
    gettext_lazy("overdue"), gettext_lazy("reviewer"), gettext_lazy("decided at"),
    gettext_lazy("decision note"), gettext_lazy("lighter penalty"),
]


def _export_rows(rows: Iterator[Appeal]) -> Iterator[list[object]]:
    document = _document()
    today = clock.today()
    for a in rows:
        target = appeals.target_of(a)
        kind = appeals.target_field(target)
        yield [
            a.pk, a.customer.code, a.customer.name, KIND_LABELS[kind], target.pk,
            target_summary(target, document), a.get_status_display(),
            a.get_channel_display(), a.grounds, a.filed_at, a.filed_by_label,
            a.review_due_on, appeals.is_overdue(a, today),
            a.reviewer.get_username() if a.reviewer else "", a.decided_at, a.decision_note,
            a.replacement.step_code if a.replacement else "",
        ]


@login_required
@permission_required("conduct.view_appeal", raise_exception=True)
def appeal_export(request: HttpRequest) -> HttpResponse:
    """The queue as it is filtered and sorted, every page, as CSV or XLSX."""
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    _form, qs = filter_appeals(request, user_of(request))
    table = AppealTable(qs)
    RequestConfig(request, paginate=False).configure(table)
    return exports.export_response("conduct-appeals", [str(h) for h in EXPORT_HEADERS],
                                   _export_rows(table.data.data.iterator(chunk_size=500)), fmt)


# --- the decision appealed --------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    key: str = ""  # a data-fact attribute for tests and styles


def _money(value: Any) -> str:
    return formats.number_format(value, 2, use_l10n=True, force_grouping=True)


def _severity_label(code: str) -> str:
    try:
        return str(SEVERITIES[Severity(code)])
    except ValueError:
        return code


def decision_facts(target: appeals.Target, document: PolicyDocument | None) -> list[Fact]:
    """The facts of the decision appealed, as the reviewer needs them."""
    english = _english()
    facts: list[Fact] = [Fact(_("Status"), target.get_status_display(), "status")]
    if isinstance(target, ViolationCase):
        facts += [
            Fact(_("Violation"), target_summary(target, document), "violation"),
            Fact(_("Violation type"), target.violation_type, "violation_type"),
            Fact(_("Severity"), _severity_label(target.severity), "severity"),
            Fact(_("Points"), str(target.points), "points"),
            Fact(_("Occurred on"), target.occurred_on.isoformat(), "occurred_on"),
            Fact(_("Description"), target.description, "description"),
            Fact(_("Evidence files"), str(target.evidence.count()), "evidence"),
            Fact(_("Confirmed by"), _person(target.decided_by), "decided_by"),
            Fact(_("Confirmed at"), local_time(target.decided_at), "decided_at"),
            Fact(_("Reason"), target.decision_reason, "decision_reason"),
        ]
    elif isinstance(target, Penalty):
        step = ""
        if document is not None:
            try:
                found = document.penalty_step(target.step_code)
                step = found.description_en if english else found.description_zh
            except KeyError:
                step = ""
        facts += [
            Fact(_("Ladder step"), f"{target.step_code} {step}".strip(), "step"),
            Fact(_("Measures"), ", ".join(measure_labels(target.measures)), "measures"),
            Fact(_("Violation"), target_summary(target.case, document), "violation"),
        ]
        if Measure.FINE in target.measures:
            facts.append(Fact(_("Fine"), _money(target.fine_amount), "fine"))
        if Measure.POINTS_DEDUCTION in target.measures:
            facts.append(Fact(_("Points deducted"), str(target.points_deduction), "points"))
        if Measure.CREDIT_LIMIT_REDUCTION in target.measures:
            facts.append(Fact(_("Share of the limit left"),
                              f"{target.credit_limit_percent}%", "limit_percent"))
        facts += [
            Fact(_("In force"), _period(target.starts_on, target.ends_on), "period"),
            Fact(_("Approved by"), _person(target.approved_by), "decided_by"),
            Fact(_("Customer notified at"), local_time(target.notified_at), "notified_at"),
        ]
        if target.replaces_id:
            facts.append(Fact(_("Replaces"), f"#{target.replaces_id}", "replaces"))
    else:
        assert isinstance(target, BlacklistEntry)
        facts += [
            Fact(_("Criterion"), target.criterion, "criterion"),
            Fact(_("Evidence"), "; ".join(_reason_text(r) for r in target.reasons or []),
                 "reasons"),
            Fact(_("Proposed"), f"{local_time(target.proposed_at)} · "
                                f"{target.proposed_by_label}", "proposed"),
            Fact(_("Approved by"), _person(target.decided_by), "decided_by"),
            Fact(_("In force"), _period(target.starts_on, target.ends_on), "period"),
        ]
    return facts


def _person(user: User | None) -> str:
    return user.get_username() if user is not None else "—"


def _period(start: dt.date | None, end: dt.date | None) -> str:
    if start is None:
        return "—"
    if end is None:
        return _("from %(start)s, until lifted") % {"start": start.isoformat()}
    return _("%(start)s to %(end)s") % {"start": start.isoformat(), "end": end.isoformat()}


def _reason_text(reason: dict[str, Any]) -> str:
    params = reason.get("params") or {}
    details = ", ".join(f"{key}={value}" for key, value in params.items())
    return f"{reason.get('code', '')} ({details})" if details else str(reason.get("code", ""))


def _target_or_404(request: HttpRequest) -> appeals.Target:
    """The decision named by ?case=ID | ?penalty=ID | ?blacklist_entry=ID (or the same field
    of the posted form), if the user may see its customer."""
    for source in (request.GET, request.POST):
        for field in appeals.TARGET_FIELDS:
            if field in source:
                target = appeals.target_for(user_of(request), field, source[field])
                if target is None:
                    raise Http404
                return target
    raise Http404


# --- filing -----------------------------------------------------------------------------------


class AppealForm(StyledFormMixin, forms.Form):
    grounds = forms.CharField(
        label=gettext_lazy("Grounds"), max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("Why the customer thinks the decision is wrong, in its own "
                               "words, and what it asks for."))


@login_required
@permission_required("conduct.add_appeal", raise_exception=True)
def appeal_new(request: HttpRequest) -> HttpResponse:
    target = _target_or_404(request)
    form = AppealForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            appeal = appeals.file(actor(request), target, grounds=form.cleaned_data["grounds"],
                                  channel=Appeal.Channel.STAFF)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("Appeal #%(n)d filed: a reviewer decides by "
                                        "%(day)s.") % {"n": appeal.pk,
                                                       "day": appeal.review_due_on.isoformat()})
            return redirect("conduct:appeal_detail", appeal_id=appeal.pk)
    document = _document()
    field = appeals.target_field(target)
    return render(request, "conduct/appeals/new.html", {
        "form": form, "target": target, "field": field, "kind": KIND_LABELS[field],
        "customer": target.customer, "facts": decision_facts(target, document),
        "learned_on": appeals.learned_on(target),
        "closes_on": appeals.window_closes_on(target, document),
        "refusal": appeals.appeal_refusal(target) if request.method == "GET" else None,
        "query": f"{field}={target.pk}",
    })


# --- one appeal -------------------------------------------------------------------------------


class DecideForm(StyledFormMixin, forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"), widget=forms.RadioSelect,
        choices=[(Status.UPHELD, gettext_lazy("Upheld: the decision stands")),
                 (Status.OVERTURNED, gettext_lazy("Overturned: the decision is undone and its "
                                                  "effects end now")),
                 (Status.REDUCED, gettext_lazy("Reduced: a lighter step replaces the "
                                               "penalty"))])
    lighter_step = forms.ChoiceField(
        label=gettext_lazy("Lighter step"), required=False, choices=[],
        help_text=gettext_lazy("Only for a reduction: the step that replaces the penalty, in "
                               "force from today for its own period."))
    note = forms.CharField(label=gettext_lazy("Reasons for the decision"),
                           max_length=MAX_REASON, widget=forms.Textarea(attrs={"rows": 4}),
                           help_text=gettext_lazy("Recorded with your name in the audit log."))

    def __init__(self, *args: Any, penalty: Penalty | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["outcome"].widget.attrs["class"] = "form-check-input"
        outcome: forms.ChoiceField = self.fields["outcome"]  # type: ignore[assignment]
        if penalty is None or penalty.status not in appeals.IN_FORCE:
            outcome.choices = [c for c in outcome.choices if c[0] != Status.REDUCED]
            del self.fields["lighter_step"]
            return
        english = _english()
        step: forms.ChoiceField = self.fields["lighter_step"]  # type: ignore[assignment]
        step.choices = [("", "—")] + [
            (s.code, f"{s.code} — {s.description_en if english else s.description_zh}")
            for s in appeals.lighter_steps(penalty)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("outcome") == Status.REDUCED and not data.get("lighter_step"):
            self.add_error("lighter_step", _("Choose the lighter step."))
        return data


class NoteForm(StyledFormMixin, forms.Form):
    note = forms.CharField(label=gettext_lazy("Reason"), max_length=MAX_REASON,
                           widget=forms.Textarea(attrs={"rows": 2}))


def appeal_or_404(request: HttpRequest, pk: int) -> Appeal:
    appeal = appeals.appeals_for(user_of(request)).filter(pk=pk).first()
    if appeal is None:
        raise Http404
    return appeal


def _labelled(items: list[TimelineItem]) -> list[dict[str, Any]]:
    """Timeline items with the conduct actions in words and reviewers by name."""
    ids = {value for item in items for side in (item.entry.before, item.entry.after) if side
           for key, value in side.items() if key in USER_KEYS and isinstance(value, int)}
    names = {str(pk): name for pk, name in
             User.objects.filter(pk__in=ids).values_list("pk", "username")}
    rows = []
    for item in items:
        changes = [replace(change, before=names.get(change.before or "", change.before),
                           after=names.get(change.after or "", change.after))
                   if change.field in USER_KEYS else change for change in item.changes]
        rows.append({"item": replace(item, changes=changes),
                     "label": str(ACTION_LABELS.get(item.entry.action, item.label))})
    return rows


def _detail(request: HttpRequest, appeal: Appeal, *, decide_form: DecideForm | None = None,
            withdraw_form: NoteForm | None = None, status: int = 200) -> HttpResponse:
    user = user_of(request)
    target = appeals.target_of(appeal)
    field = appeals.target_field(target)
    document = _document()
    is_open = appeal.status in appeals.OPEN
    reviewer_role = user.has_perm("conduct.review_appeal")
    decider = appeals.is_decider(user, appeal)
    show_pii = selectors.sees_pii(user)
    penalty = target if isinstance(target, Penalty) else None
    return render(request, "conduct/appeals/detail.html", {
        "appeal": appeal, "badge": status_badge(appeal), "target": target, "field": field,
        "kind": KIND_LABELS[field], "customer": appeal.customer,
        "facts": decision_facts(target, document),
        "learned_on": appeals.learned_on(target),
        "closes_on": appeals.window_closes_on(target, document),
        "overdue": appeals.is_overdue(appeal),
        "timeline": _labelled(timeline(appeals.history(appeal), show_pii)),
        "decision_history": _labelled(timeline(appeals.decision_history(target), show_pii)),
        "can_start": is_open and appeal.status == Status.FILED and reviewer_role
        and not decider,
        "can_decide": is_open and reviewer_role and not decider,
        "decider_note": is_open and reviewer_role and decider,
        "can_withdraw": is_open and user.has_perm("conduct.add_appeal"),
        "decide_form": decide_form or DecideForm(prefix="decide", penalty=penalty),
        "withdraw_form": withdraw_form or NoteForm(prefix="withdraw"),
    }, status=status)


@login_required
@permission_required("conduct.view_appeal", raise_exception=True)
def appeal_detail(request: HttpRequest, appeal_id: int) -> HttpResponse:
    return _detail(request, appeal_or_404(request, appeal_id))


def _reviewable(request: HttpRequest, appeal_id: int) -> Appeal:
    """An appeal the user may review: whoever made the decision may not (403)."""
    appeal = appeal_or_404(request, appeal_id)
    if appeals.is_decider(user_of(request), appeal):
        raise PermissionDenied(_("You made the decision appealed: another person must review "
                                 "the appeal."))
    return appeal


@login_required
@require_POST
@permission_required("conduct.review_appeal", raise_exception=True)
def appeal_review(request: HttpRequest, appeal_id: int) -> HttpResponse:
    appeal = _reviewable(request, appeal_id)
    try:
        appeals.start_review(actor(request), appeal)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("You are reviewing appeal #%(n)d.") % {"n": appeal.pk})
    return redirect("conduct:appeal_detail", appeal_id=appeal.pk)


@login_required
@require_POST
@permission_required("conduct.review_appeal", raise_exception=True)
def appeal_decide(request: HttpRequest, appeal_id: int) -> HttpResponse:
    appeal = _reviewable(request, appeal_id)
    target = appeals.target_of(appeal)
    form = DecideForm(request.POST, prefix="decide",
                      penalty=target if isinstance(target, Penalty) else None)
    if form.is_valid():
        data = form.cleaned_data
        try:
            decided = appeals.decide(actor(request), appeal, outcome=data["outcome"],
                                     note=data["note"],
                                     lighter_step=data.get("lighter_step") or "")
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("Appeal #%(n)d decided: %(outcome)s.") % {
                "n": decided.pk, "outcome": decided.get_status_display()})
            return redirect("conduct:appeal_detail", appeal_id=appeal.pk)
    return _detail(request, appeal_or_404(request, appeal_id), decide_form=form)


@login_required
@require_POST
@permission_required("conduct.add_appeal", raise_exception=True)
def appeal_withdraw(request: HttpRequest, appeal_id: int) -> HttpResponse:
    appeal = appeal_or_404(request, appeal_id)
    form = NoteForm(request.POST, prefix="withdraw")
    if form.is_valid():
        try:
            appeals.withdraw(actor(request), appeal, note=form.cleaned_data["note"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("Appeal #%(n)d withdrawn.") % {"n": appeal.pk})
            return redirect("conduct:appeal_detail", appeal_id=appeal.pk)
    return _detail(request, appeal_or_404(request, appeal_id), withdraw_form=form)
