"""The credit blacklist (/conduct/blacklist/): the queue of proposals (the daily job's, the
penalties' and the credit managers' own) with their evidence in words; the list of entries,
filtered by status, criterion and customer, sorted, paged and exported; an entry's page with
approve / reject / lift; the lift form with an optional recovery plan of N installments; a
recovery plan's page where finance marks installments paid; a manual proposal; and the
matches found in partner companies' blacklist files, each reviewed with a note.
The writes are conduct.services.blacklist and conduct.services.sharing."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from custguard.conduct.models import (
    BlacklistEntry,
    PartnerMatch,
    RecoveryInstallment,
    RecoveryPlan,
)
from custguard.conduct.services import blacklist, sharing
from custguard.conduct.services.common import MAX_REASON, policy
from custguard.core import exports
from custguard.core.errors import DomainError, ValidationFailed
from custguard.core.forms import StyledFormMixin
from custguard.core.models import AuditEntry, User
from custguard.core.tables import list_page
from custguard.credit.views.reviews import (
    BaseTable,
    actor,
    customer_link,
    local_time,
    money,
    user_of,
)
from custguard.customers import selectors
from custguard.customers.models import Customer, Standing

Status = BlacklistEntry.Status
ALL = "all"
STATUS_BADGES = {Status.PROPOSED: "bg-yellow-lt", Status.ACTIVE: "bg-red",
                 Status.EXPIRED: "bg-secondary-lt", Status.LIFTED: "bg-green-lt",
                 Status.OVERTURNED: "bg-green-lt", Status.REJECTED: "bg-secondary-lt"}
PLAN_BADGES = {RecoveryPlan.Status.ACTIVE: "bg-azure-lt",
               RecoveryPlan.Status.COMPLETED: "bg-green-lt",
               RecoveryPlan.Status.DEFAULTED: "bg-red-lt"}
MATCH_BADGES = {PartnerMatch.Status.OPEN: "bg-yellow-lt",
                PartnerMatch.Status.REVIEWED: "bg-secondary-lt"}
DEFAULT_ROWS, MAX_ROWS = 3, blacklist.MAX_INSTALLMENTS
HISTORY_LABELS = {
    "conduct.blacklist_propose": gettext_lazy("Blacklist entry proposed"),
    "conduct.blacklist_approve": gettext_lazy("Blacklist entry approved"),
    "conduct.blacklist_reject": gettext_lazy("Blacklist proposal rejected"),
    "conduct.blacklist_lift": gettext_lazy("Blacklist entry lifted"),
    "conduct.blacklist_overturn": gettext_lazy("Blacklist entry overturned on appeal"),
    "conduct.blacklist_expire": gettext_lazy("Blacklist entry expired"),
    "conduct.recovery_plan": gettext_lazy("Recovery plan agreed"),
    "conduct.recovery_paid": gettext_lazy("Installment paid"),
    "conduct.recovery_complete": gettext_lazy("Recovery plan completed"),
    "conduct.recovery_default": gettext_lazy("Recovery plan defaulted"),
    "conduct.notice_issue": gettext_lazy("Notice issued"),
    "conduct.notice_sent": gettext_lazy("Notice e-mailed"),
    "conduct.notice_failed": gettext_lazy("Notice e-mail failed"),
    "conduct.notice_resend": gettext_lazy("Notice e-mail sent again"),
    "conduct.notice_response": gettext_lazy("Customer's response recorded"),
    "conduct.partner_match": gettext_lazy("Found in a partner's blacklist file"),
    "conduct.partner_review": gettext_lazy("Partner match reviewed"),
}


def history(object_type: str, pk: int) -> list[tuple[AuditEntry, str]]:
    """The audit entries of one object, oldest first, with their action in words."""
    entries = AuditEntry.objects.filter(object_type=object_type, object_id=str(pk)).order_by(
        "seq")
    return [(entry, str(HISTORY_LABELS.get(entry.action, entry.action))) for entry in entries]


def _scoped(qs: QuerySet[Any], user: User) -> QuerySet[Any]:
    if selectors.sees_all_customers(user):
        return qs
    return qs.filter(customer__in=selectors.customers_for(user).values("pk"))


def visible_entries(user: User) -> QuerySet[BlacklistEntry]:
    return _scoped(BlacklistEntry.objects.select_related(
        "customer", "customer__standing", "decided_by", "penalty"), user)


def entry_or_404(request: HttpRequest, pk: int) -> BlacklistEntry:
    entry = visible_entries(user_of(request)).filter(pk=pk).first()
    if entry is None:
        raise Http404
    return entry


def status_badge(entry: BlacklistEntry) -> SafeString:
    return format_html('<span class="badge {}" data-status="{}">{}</span>',
                       STATUS_BADGES.get(entry.status, "bg-secondary-lt"),  # type: ignore[call-overload]
                       entry.status, entry.get_status_display())


def plan_badge(plan: RecoveryPlan) -> SafeString:
    return format_html('<span class="badge {}" data-status="{}">{}</span>',
                       PLAN_BADGES.get(plan.status, "bg-secondary-lt"),  # type: ignore[call-overload]
                       plan.status, plan.get_status_display())


class _Documents:
    """Policy documents by version, each read once per request."""

    def __init__(self) -> None:
        self.cache: dict[int, Any] = {}

    def __call__(self, version: int) -> Any:
        if version not in self.cache:
            self.cache[version] = blacklist.document_of(version)
        return self.cache[version]


def evidence_html(entry: BlacklistEntry, documents: _Documents) -> SafeString:
    document = documents(entry.policy_version)
    items = blacklist.explain(entry, document)
    if not items:
        return format_html('<div data-reason="{}">{}</div>', entry.criterion,
                           blacklist.criterion_label(entry.criterion, document))
    return format_html_join(
        "", '<div class="mb-1" data-reason="{}"><div>{}</div>'
            '<div class="small text-secondary">{}</div></div>',
        ((item.code, item.title, item.detail) for item in items))


def criterion_choices() -> list[tuple[str, str]]:
    """The criteria of the policy in force, then the manual and the penalties' proposals."""
    try:
        _version, document = policy()
        criteria = [(c.code, blacklist.criterion_label(c.code, document))
                    for c in document.blacklist.criteria]
    except ValidationFailed:  # no policy published yet
        criteria = []
    return [("", str(_("All"))), *criteria,
            (blacklist.MANUAL, str(_("Proposed by a credit manager"))),
            (blacklist.PENALTY_PREFIX, str(_("Proposed by a penalty")))]


def _customer_by_code(user: User, code: str) -> Customer | None:
    code = (code or "").strip()
    return selectors.customers_for(user).filter(code=code).first() if code else None


# --- lists ------------------------------------------------------------------------------------


class EntryFilterForm(StyledFormMixin, forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False,
                               choices=[(ALL, gettext_lazy("All")), *Status.choices])
    criterion = forms.ChoiceField(label=gettext_lazy("Criterion"), required=False)
    customer = forms.CharField(
        label=gettext_lazy("Customer"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("code or name"),
                                      "type": "search"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["criterion"].choices = criterion_choices()  # type: ignore[attr-defined]


def filter_entries(request: HttpRequest, user: User, *, proposals: bool = False,
                   ) -> tuple[EntryFilterForm, QuerySet[BlacklistEntry]]:
    data = request.GET.copy()
    if proposals:
        data["status"] = Status.PROPOSED
    elif not data.get("status"):
        data["status"] = ALL
    form = EntryFilterForm(data)
    qs = visible_entries(user)
    if not form.is_valid():
        return form, qs.none()
    values = form.cleaned_data
    if values["status"] and values["status"] != ALL:
        qs = qs.filter(status=values["status"])
    criterion = values["criterion"]
    if criterion == blacklist.PENALTY_PREFIX:
        qs = qs.filter(criterion__startswith=blacklist.PENALTY_PREFIX)
    elif criterion:
        qs = qs.filter(criterion=criterion)
    text = values["customer"].strip()
    if text:
        found = selectors.search_customers(selectors.customers_for(user), text)
        qs = qs.filter(customer__in=found.values("pk"))
    return form, qs


class EntryTable(BaseTable):
    results_id = "blacklist-results"
    number = tables.Column(verbose_name="#", accessor="pk", order_by=("pk",))
    customer = tables.Column(verbose_name=gettext_lazy("Customer"), empty_values=(),
                             order_by=("customer__code", "pk"))
    criterion = tables.Column(verbose_name=gettext_lazy("Criterion and evidence"),
                              empty_values=(), order_by=("criterion", "pk"))
    overdue = tables.Column(verbose_name=gettext_lazy("Overdue now"), empty_values=(),
                            accessor="customer__standing__overdue_amount",
                            order_by=("customer__standing__overdue_amount", "pk"),
                            attrs={"td": {"class": "text-end text-nowrap"}})
    status = tables.Column(verbose_name=gettext_lazy("Status"), order_by=("status", "pk"))
    proposed = tables.Column(verbose_name=gettext_lazy("Proposed"), empty_values=(),
                             order_by=("-proposed_at", "-pk"),
                             attrs={"td": {"class": "text-nowrap"}})
    period = tables.Column(verbose_name=gettext_lazy("Period"), empty_values=(),
                           order_by=("starts_on", "pk"), attrs={"td": {"class": "text-nowrap"}})
    action = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta(BaseTable.Meta):
        order_by = "proposed"
        empty_text = gettext_lazy("No blacklist entries match.")
        attrs = {"class": "table table-vcenter card-table table-striped",
                 "data-testid": "blacklist-table"}
        row_attrs = {"data-entry": lambda record: record.pk}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.documents = _Documents()

    def render_number(self, value: int) -> SafeString:
        return format_html('<a href="{}">#{}</a>',
                           reverse("conduct:blacklist_entry", args=[value]), value)

    def render_customer(self, record: BlacklistEntry) -> SafeString:
        return customer_link(record.customer)

    def render_criterion(self, record: BlacklistEntry) -> SafeString:
        return evidence_html(record, self.documents)

    def render_overdue(self, value: Decimal | None) -> str:
        return money(value) if value else "—"

    def render_status(self, record: BlacklistEntry) -> SafeString:
        return status_badge(record)

    def render_proposed(self, record: BlacklistEntry) -> SafeString:
        return format_html("{}<div class='small text-secondary'>{}</div>",
                           local_time(record.proposed_at), record.proposed_by_label)

    def render_period(self, record: BlacklistEntry) -> str:
        if record.starts_on is None:
            return _("%(days)d days once approved") % {"days": record.duration_days}
        end = record.ends_on.isoformat() if record.ends_on else "…"
        return f"{record.starts_on.isoformat()} – {end}"

    def render_action(self, record: BlacklistEntry) -> SafeString:
        return format_html('<a class="btn btn-sm" href="{}">{}</a>',
                           reverse("conduct:blacklist_entry", args=[record.pk]),
                           pgettext("action", "Open"))


def _list(request: HttpRequest, *, proposals: bool) -> HttpResponse:
    form, qs = filter_entries(request, user_of(request), proposals=proposals)
    table = EntryTable(qs)
    if proposals:
        table.exclude = ("status", "period")
    list_url = reverse("conduct:blacklist_proposals" if proposals else "conduct:blacklist")
    return list_page(request, table, {"form": form, "proposals": proposals, "list_url": list_url},
                     page="conduct/blacklist/entry_list.html",
                     results="conduct/blacklist/entry_results.html")


@login_required
@permission_required("conduct.view_blacklistentry", raise_exception=True)
def proposal_list(request: HttpRequest) -> HttpResponse:
    return _list(request, proposals=True)


@login_required
@permission_required("conduct.view_blacklistentry", raise_exception=True)
def entry_list(request: HttpRequest) -> HttpResponse:
    return _list(request, proposals=False)


EXPORT_HEADERS = [
    gettext_lazy("number"), gettext_lazy("customer code"), gettext_lazy("customer"),
    gettext_lazy("criterion"), gettext_lazy("evidence"), gettext_lazy("status"),
    gettext_lazy("policy version"), gettext_lazy("duration (days)"),
    gettext_lazy("proposed at"), gettext_lazy("proposed by"), gettext_lazy("decided by"),
    gettext_lazy("decided at"), gettext_lazy("decision note"), gettext_lazy("starts on"),
    gettext_lazy("ends on"), gettext_lazy("ended at"), gettext_lazy("reason it ended"),
]


def _export_rows(rows: Iterator[BlacklistEntry]) -> Iterator[list[object]]:
    documents = _Documents()
    for e in rows:
        document = documents(e.policy_version)
        yield [
            e.pk, e.customer.code, e.customer.name,
            blacklist.criterion_label(e.criterion, document),
            "; ".join(f"{item.title}: {item.detail}" for item in blacklist.explain(e, document)),
            e.get_status_display(), e.policy_version, e.duration_days, e.proposed_at,
            e.proposed_by_label, e.decided_by.get_username() if e.decided_by else "",
            e.decided_at, e.decision_note, e.starts_on, e.ends_on, e.ended_at, e.end_reason,
        ]


@login_required
@permission_required("conduct.view_blacklistentry", raise_exception=True)
def entry_export(request: HttpRequest) -> HttpResponse:
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    _form, qs = filter_entries(request, user_of(request))
    table = EntryTable(qs)
    RequestConfig(request, paginate=False).configure(table)
    return exports.export_response("blacklist", [str(h) for h in EXPORT_HEADERS],
                                   _export_rows(table.data.data.iterator(chunk_size=500)), fmt)


# --- a manual proposal ------------------------------------------------------------------------


class ProposalForm(StyledFormMixin, forms.Form):
    customer = forms.CharField(label=gettext_lazy("Customer code"), max_length=9)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=MAX_REASON,
                             widget=forms.Textarea(attrs={"rows": 4}),
                             help_text=gettext_lazy("What the customer did and the evidence; "
                                                    "another person approves the proposal."))
    duration_days = forms.IntegerField(
        label=gettext_lazy("Duration (days)"), required=False, min_value=1,
        max_value=blacklist.MAX_DURATION_DAYS,
        help_text=gettext_lazy("Leave empty for the policy's default."))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_customer(self) -> Customer:
        code = self.cleaned_data["customer"].strip()
        customer = _customer_by_code(self.user, code)
        if customer is None:
            raise forms.ValidationError(_("No customer has the code %(code)s.") % {
                "code": code})
        return customer


@login_required
@permission_required("conduct.decide_blacklistentry", raise_exception=True)
def proposal_new(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    initial = {"customer": request.GET.get("customer", "")[:9]}
    form = ProposalForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            entry, created = blacklist.propose_manual(
                actor(request), form.cleaned_data["customer"],
                reason=form.cleaned_data["reason"],
                duration_days=form.cleaned_data["duration_days"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            if created:
                messages.success(request, _("Blacklist entry #%(pk)s proposed: another person "
                                            "approves or rejects it.") % {"pk": entry.pk})
            else:
                messages.info(request, _("The customer already has an open blacklist entry "
                                         "(#%(pk)s, %(status)s): nothing was proposed.") % {
                    "pk": entry.pk, "status": entry.get_status_display()})
            return redirect("conduct:blacklist_entry", blacklist_entry_id=entry.pk)
    return render(request, "conduct/blacklist/proposal_form.html", {"form": form})


# --- one entry --------------------------------------------------------------------------------


class DecisionForm(StyledFormMixin, forms.Form):
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=MAX_REASON,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=gettext_lazy("Required to reject."))


def _standing(customer_id: int) -> Standing | None:
    return Standing.objects.filter(pk=customer_id).first()


def _detail(request: HttpRequest, entry: BlacklistEntry, *,
            decision: DecisionForm | None = None, status: int = 200) -> HttpResponse:
    user = user_of(request)
    plan = RecoveryPlan.objects.filter(entry=entry).first()
    can_decide = (entry.status == Status.PROPOSED
                  and user.has_perm("conduct.decide_blacklistentry"))
    can_approve = can_decide and blacklist.may_approve(actor(request), entry)
    return render(request, "conduct/blacklist/entry_detail.html", {
        "entry": entry,
        "customer": entry.customer,
        "badge": status_badge(entry),
        "criterion": blacklist.criterion_label(entry.criterion,
                                               blacklist.document_of(entry.policy_version)),
        "evidence": blacklist.explain(entry),
        "standing": _standing(entry.customer_id),
        "plan": plan,
        "plan_badge": plan_badge(plan) if plan else "",
        "can_decide": can_decide,
        "can_approve": can_approve,
        "own_proposal": can_decide and not can_approve,
        "can_lift": entry.status == Status.ACTIVE
        and user.has_perm("conduct.decide_blacklistentry"),
        "decision_form": decision or DecisionForm(prefix="decision"),
        "history": history("conduct.blacklistentry", entry.pk),
        "currency": settings.CUSTGUARD_CURRENCY,
    }, status=status)


@login_required
@permission_required("conduct.view_blacklistentry", raise_exception=True)
def entry_detail(request: HttpRequest, blacklist_entry_id: int) -> HttpResponse:
    return _detail(request, entry_or_404(request, blacklist_entry_id))


def _decide(request: HttpRequest, entry_id: int, action: str) -> HttpResponse:
    entry = entry_or_404(request, entry_id)
    form = DecisionForm(request.POST, prefix="decision")
    if form.is_valid():
        note = form.cleaned_data["note"]
        try:
            if action == "approve":
                blacklist.approve(actor(request), entry, note=note)
                messages.success(request, _("Blacklist entry #%(pk)s is in force: the order "
                                            "gate denies the customer.") % {"pk": entry.pk})
            else:
                blacklist.reject(actor(request), entry, reason=note)
                messages.success(request, _("Blacklist proposal #%(pk)s rejected.") % {
                    "pk": entry.pk})
        except DomainError as error:
            if error.field == "reason":
                form.add_error("note", error.message)
            else:
                form.add_domain_error(error)
        else:
            return redirect("conduct:blacklist_entry", blacklist_entry_id=entry.pk)
    return _detail(request, entry_or_404(request, entry_id), decision=form)


@login_required
@require_POST
@permission_required("conduct.decide_blacklistentry", raise_exception=True)
def entry_approve(request: HttpRequest, proposed_entry_id: int) -> HttpResponse:
    return _decide(request, proposed_entry_id, "approve")


@login_required
@require_POST
@permission_required("conduct.decide_blacklistentry", raise_exception=True)
def entry_reject(request: HttpRequest, proposed_entry_id: int) -> HttpResponse:
    return _decide(request, proposed_entry_id, "reject")


# --- lifting, with a recovery plan ------------------------------------------------------------


class LiftForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=MAX_REASON,
                             widget=forms.Textarea(attrs={"rows": 3}))


class InstallmentForm(StyledFormMixin, forms.Form):
    due_on = forms.DateField(label=gettext_lazy("Due on"), required=False,
                             widget=forms.DateInput(attrs={"type": "date"}))
    amount = forms.DecimalField(label=gettext_lazy("Amount"), required=False, min_value=0,
                                max_digits=16, decimal_places=2)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        has_day, has_amount = data.get("due_on") is not None, data.get("amount") is not None
        if has_day and not has_amount:
            self.add_error("amount", _("Enter the amount of this installment."))
        if has_amount and not has_day:
            self.add_error("due_on", _("Enter the day this installment falls due."))
        return data


InstallmentFormSet = forms.formset_factory(InstallmentForm, extra=0, max_num=MAX_ROWS,
                                           absolute_max=MAX_ROWS, validate_max=True)
_INSTALLMENT_FIELD = re.compile(r"^installments\[(\d+)\]\.(\w+)$")


def _rows(request: HttpRequest) -> int:
    try:
        wanted = int(request.GET.get("rows", DEFAULT_ROWS))
    except ValueError:
        wanted = DEFAULT_ROWS
    return max(1, min(MAX_ROWS, wanted))


def _lift_page(request: HttpRequest, entry: BlacklistEntry, form: LiftForm,
               formset: Any, rows: int, status: int = 200) -> HttpResponse:
    return render(request, "conduct/blacklist/lift_form.html", {
        "entry": entry, "customer": entry.customer, "form": form, "formset": formset,
        "rows": rows, "more_rows": min(MAX_ROWS, rows + 3), "standing": _standing(
            entry.customer_id), "currency": settings.CUSTGUARD_CURRENCY,
    }, status=status)


@login_required
@permission_required("conduct.decide_blacklistentry", raise_exception=True)
def entry_lift(request: HttpRequest, active_entry_id: int) -> HttpResponse:
    entry = entry_or_404(request, active_entry_id)
    if request.method != "POST" and entry.status != Status.ACTIVE:
        messages.info(request, _("Only an entry in force can be lifted; this one is %(status)s.")
                      % {"status": entry.get_status_display()})
        return redirect("conduct:blacklist_entry", blacklist_entry_id=entry.pk)
    if request.method != "POST":
        rows = _rows(request)
        return _lift_page(request, entry, LiftForm(prefix="lift"),
                          InstallmentFormSet(prefix="installments",
                                             initial=[{} for _ in range(rows)]), rows)
    form = LiftForm(request.POST, prefix="lift")
    formset = InstallmentFormSet(request.POST, prefix="installments")
    rows = max(1, formset.total_form_count()) if formset.management_form.is_valid() else 1
    if form.is_valid() and formset.is_valid():
        filled = [(index, row.cleaned_data) for index, row in enumerate(formset.forms)
                  if row.cleaned_data.get("due_on") is not None]
        plan = [blacklist.InstallmentPlan(due_on=data["due_on"], amount=data["amount"])
                for _index, data in filled]
        try:
            blacklist.lift(actor(request), entry, reason=form.cleaned_data["reason"],
                           installments=plan)
        except DomainError as error:
            _place_error(error, form, formset, [index for index, _data in filled])
        else:
            if plan:
                messages.success(request, _("Blacklist entry #%(pk)s lifted with a recovery plan "
                                            "of %(n)d installments: the credit limit comes back "
                                            "step by step as they are paid.") % {
                    "pk": entry.pk, "n": len(plan)})
            else:
                messages.success(request, _("Blacklist entry #%(pk)s lifted.") % {
                    "pk": entry.pk})
            return redirect("conduct:blacklist_entry", blacklist_entry_id=entry.pk)
    return _lift_page(request, entry, form, formset, rows)


def _place_error(error: DomainError, form: LiftForm, formset: Any,
                 positions: list[int]) -> None:
    """A service error on `installments[i].field` goes to the i-th filled row of the form."""
    found = _INSTALLMENT_FIELD.match(error.field or "")
    if found and int(found.group(1)) < len(positions):
        row = formset.forms[positions[int(found.group(1))]]
        name = found.group(2)
        row.add_error(name if name in row.fields else None, error.message)
    elif error.field == "installments":
        form.add_error(None, error.message)
    else:
        form.add_domain_error(error)


# --- recovery plans ---------------------------------------------------------------------------


def plan_or_404(request: HttpRequest, pk: int) -> RecoveryPlan:
    plan = _scoped(RecoveryPlan.objects.select_related("customer", "entry"),
                   user_of(request)).filter(pk=pk).first()
    if plan is None:
        raise Http404
    return plan


@login_required
@permission_required("conduct.view_recoveryplan", raise_exception=True)
def plan_detail(request: HttpRequest, recovery_plan_id: int) -> HttpResponse:
    plan = plan_or_404(request, recovery_plan_id)
    installments = list(plan.installments.order_by("number"))
    next_open = next((i for i in installments if i.paid_at is None), None)
    paid = sum((i.amount for i in installments if i.paid_at is not None), Decimal("0.00"))
    return render(request, "conduct/blacklist/plan_detail.html", {
        "plan": plan, "customer": plan.customer, "entry": plan.entry,
        "badge": plan_badge(plan), "installments": installments,
        "next_open": next_open if plan.status == RecoveryPlan.Status.ACTIVE else None,
        "can_pay": user_of(request).has_perm("conduct.change_recoveryinstallment"),
        "paid": paid, "remaining": plan.total_amount - paid,
        "standing": _standing(plan.customer_id), "currency": settings.CUSTGUARD_CURRENCY,
        "history": history("conduct.recoveryplan", plan.pk),
    })


@login_required
@require_POST
@permission_required("conduct.change_recoveryinstallment", raise_exception=True)
def installment_pay(request: HttpRequest, recovery_plan_id: int,
                    installment_id: int) -> HttpResponse:
    plan = plan_or_404(request, recovery_plan_id)
    installment = RecoveryInstallment.objects.filter(plan=plan, pk=installment_id).first()
    if installment is None:
        raise Http404
    try:
        paid = blacklist.pay_installment(actor(request), installment)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Installment %(n)d marked paid: the credit limit is "
                                    "restored to %(percent)s%%.") % {
            "n": paid.number, "percent": paid.limit_percent_after})
    return redirect("conduct:recovery_plan", recovery_plan_id=plan.pk)


# --- partner matches --------------------------------------------------------------------------


def visible_matches(user: User) -> QuerySet[PartnerMatch]:
    return _scoped(PartnerMatch.objects.select_related("customer", "reviewed_by"), user)


def match_or_404(request: HttpRequest, pk: int) -> PartnerMatch:
    match = visible_matches(user_of(request)).filter(pk=pk).first()
    if match is None:
        raise Http404
    return match


def match_badge(match: PartnerMatch) -> SafeString:
    return format_html('<span class="badge {}" data-status="{}">{}</span>',
                       MATCH_BADGES.get(match.status, "bg-secondary-lt"),  # type: ignore[call-overload]
                       match.status, match.get_status_display())


MATCH_KINDS = {"id_number": gettext_lazy("ID / credit code"), "phone": gettext_lazy("phone")}


class MatchFilterForm(StyledFormMixin, forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False,
                               choices=[*PartnerMatch.Status.choices,
                                        (ALL, gettext_lazy("All"))])
    partner = forms.CharField(label=gettext_lazy("Partner"), required=False, max_length=100)
    customer = forms.CharField(
        label=gettext_lazy("Customer"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("code or name"),
                                      "type": "search"}))


def filter_matches(request: HttpRequest,
                   user: User) -> tuple[MatchFilterForm, QuerySet[PartnerMatch]]:
    data = request.GET.copy()
    if not data.get("status"):
        data["status"] = PartnerMatch.Status.OPEN
    form = MatchFilterForm(data)
    qs = visible_matches(user)
    if not form.is_valid():
        return form, qs.none()
    values = form.cleaned_data
    if values["status"] != ALL:
        qs = qs.filter(status=values["status"])
    if values["partner"].strip():
        qs = qs.filter(partner__icontains=values["partner"].strip())
    text = values["customer"].strip()
    if text:
        found = selectors.search_customers(selectors.customers_for(user), text)
        qs = qs.filter(customer__in=found.values("pk"))
    return form, qs


class MatchTable(BaseTable):
    results_id = "match-results"
    partner = tables.Column(verbose_name=gettext_lazy("Partner"), order_by=("partner", "pk"))
    customer = tables.Column(verbose_name=gettext_lazy("Customer"), empty_values=(),
                             order_by=("customer__code", "pk"))
    identifier_kind = tables.Column(verbose_name=gettext_lazy("Matched on"),
                                    order_by=("identifier_kind", "pk"))
    partner_category = tables.Column(verbose_name=gettext_lazy("Partner's reason"),
                                     order_by=("partner_category", "pk"))
    partner_listed_on = tables.Column(verbose_name=gettext_lazy("Listed by the partner on"),
                                      order_by=("partner_listed_on", "pk"))
    imported_at = tables.Column(verbose_name=gettext_lazy("Imported"),
                                order_by=("-imported_at", "-pk"),
                                attrs={"td": {"class": "text-nowrap"}})
    status = tables.Column(verbose_name=gettext_lazy("Status"), order_by=("status", "pk"))
    action = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta(BaseTable.Meta):
        order_by = "imported_at"
        empty_text = gettext_lazy("No partner matches.")
        attrs = {"class": "table table-vcenter card-table table-striped",
                 "data-testid": "match-table"}
        row_attrs = {"data-match": lambda record: record.pk}

    def render_customer(self, record: PartnerMatch) -> SafeString:
        return customer_link(record.customer)

    def render_identifier_kind(self, value: str) -> str:
        return str(MATCH_KINDS.get(value, value))

    def render_partner_listed_on(self, value: dt.date | None) -> str:
        return value.isoformat() if value else "—"

    def render_imported_at(self, value: dt.datetime) -> str:
        return local_time(value)

    def render_status(self, record: PartnerMatch) -> SafeString:
        return match_badge(record)

    def render_action(self, record: PartnerMatch) -> SafeString:
        return format_html('<a class="btn btn-sm" href="{}">{}</a>',
                           reverse("conduct:partner_match", args=[record.pk]),
                           pgettext("action", "Open"))


@login_required
@permission_required("conduct.view_partnermatch", raise_exception=True)
def match_list(request: HttpRequest) -> HttpResponse:
    form, qs = filter_matches(request, user_of(request))
    table = MatchTable(qs)
    return list_page(request, table, {"form": form},
                     page="conduct/blacklist/match_list.html",
                     results="conduct/blacklist/match_results.html")


MATCH_EXPORT_HEADERS = [
    gettext_lazy("partner"), gettext_lazy("customer code"), gettext_lazy("customer"),
    gettext_lazy("matched on"), gettext_lazy("partner's reason"),
    gettext_lazy("listed by the partner on"), gettext_lazy("file SHA-256"),
    gettext_lazy("imported at"), gettext_lazy("status"), gettext_lazy("reviewed by"),
    gettext_lazy("reviewed at"), gettext_lazy("note"),
]


def _match_rows(rows: Iterator[PartnerMatch]) -> Iterator[list[object]]:
    for m in rows:
        yield [m.partner, m.customer.code, m.customer.name,
               str(MATCH_KINDS.get(m.identifier_kind, m.identifier_kind)), m.partner_category,
               m.partner_listed_on, m.file_digest, m.imported_at, m.get_status_display(),
               m.reviewed_by.get_username() if m.reviewed_by else "", m.reviewed_at, m.note]


@login_required
@permission_required("conduct.view_partnermatch", raise_exception=True)
def match_export(request: HttpRequest) -> HttpResponse:
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    _form, qs = filter_matches(request, user_of(request))
    table = MatchTable(qs)
    RequestConfig(request, paginate=False).configure(table)
    return exports.export_response("partner-matches", [str(h) for h in MATCH_EXPORT_HEADERS],
                                   _match_rows(table.data.data.iterator(chunk_size=500)), fmt)


class ReviewForm(StyledFormMixin, forms.Form):
    note = forms.CharField(label=gettext_lazy("Note"), max_length=MAX_REASON,
                           widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=gettext_lazy("What you checked and decided (a partner's "
                                                  "listing never blacklists a customer by "
                                                  "itself)."))


def _match_page(request: HttpRequest, match: PartnerMatch, form: ReviewForm | None = None,
                ) -> HttpResponse:
    user = user_of(request)
    return render(request, "conduct/blacklist/match_detail.html", {
        "match": match, "customer": match.customer, "badge": match_badge(match),
        "kind": MATCH_KINDS.get(match.identifier_kind, match.identifier_kind),
        "open_entry": blacklist.open_entry(match.customer_id),
        "other_matches": visible_matches(user).filter(customer=match.customer).exclude(
            pk=match.pk).order_by("-imported_at")[:20],
        "can_review": match.status == PartnerMatch.Status.OPEN
        and user.has_perm("conduct.change_partnermatch"),
        "can_propose": user.has_perm("conduct.decide_blacklistentry"),
        "form": form or ReviewForm(prefix="review"),
        "history": history("conduct.partnermatch", match.pk),
    })


@login_required
@permission_required("conduct.view_partnermatch", raise_exception=True)
def match_detail(request: HttpRequest, partner_match_id: int) -> HttpResponse:
    return _match_page(request, match_or_404(request, partner_match_id))


@login_required
@require_POST
@permission_required("conduct.change_partnermatch", raise_exception=True)
def match_review(request: HttpRequest, partner_match_id: int) -> HttpResponse:
    match = match_or_404(request, partner_match_id)
    form = ReviewForm(request.POST, prefix="review")
    if form.is_valid():
        try:
            sharing.review(actor(request), match, note=form.cleaned_data["note"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("Partner match marked reviewed."))
            return redirect("conduct:partner_match", partner_match_id=match.pk)
    return _match_page(request, match_or_404(request, partner_match_id), form)
