"""What the cases, penalties, fines and clauses pages (and conduct/api/cases.py) share: the
records a user may see, and how conduct's codes read in the user's language — violation types
from the policy that decided, ladder reasons with their numbers, measures, who may approve, and
where a fine's amount came from."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from custguard.conduct.labels import CATEGORIES, MEASURES, SEVERITIES
from custguard.conduct.models import ContractClause, Evidence, Fine, Penalty, ViolationCase
from custguard.core.actors import Actor
from custguard.core.errors import DomainError
from custguard.core.models import AuditEntry, User
from custguard.core.roles import role_label
from custguard.core.services import policies
from custguard.core.tables import HtmxTable
from custguard.credit import reasons as credit_reasons
from custguard.credit.presenters import policy_document
from custguard.customers import selectors
from custguard.customers.models import Customer
from custguard.customers.views.common import ACTION_LABELS as REGISTRY_LABELS
from custguard.customers.views.common import register_value_formatter, timeline
from custguard.policy.codes import Measure, RoleCode, Severity, ViolationCategory
from custguard.policy.conduct import approver_roles
from custguard.policy.schema import PenaltyStep, PolicyDocument, ViolationType

# --- who sees what ----------------------------------------------------------------------------


def _scoped(qs: QuerySet[Any], who: User | Actor, path: str = "customer") -> QuerySet[Any]:
    if selectors.sees_all_customers(who):
        return qs
    return qs.filter(**{f"{path}__in": selectors.customers_for(who).values("pk")})


def visible_cases(who: User | Actor) -> QuerySet[ViolationCase]:
    return _scoped(ViolationCase.objects.select_related(
        "customer", "customer__region", "reported_by", "investigator", "decided_by"), who)


def visible_evidence(who: User | Actor) -> QuerySet[Evidence]:
    return _scoped(Evidence.objects.select_related("case", "case__customer"), who,
                   "case__customer")


def visible_penalties(who: User | Actor) -> QuerySet[Penalty]:
    return _scoped(Penalty.objects.select_related(
        "customer", "customer__region", "case", "approved_by", "escalated_to"), who)


def visible_fines(who: User | Actor) -> QuerySet[Fine]:
    return _scoped(Fine.objects.select_related("customer", "penalty", "penalty__case"), who)


def visible_clauses(who: User | Actor) -> QuerySet[ContractClause]:
    return _scoped(ContractClause.objects.select_related("customer"), who)


def investigators() -> QuerySet[User]:
    """Active users who may investigate cases (through a role, or as superusers)."""
    perm = Q(groups__permissions__codename="investigate_violationcase",
             groups__permissions__content_type__app_label="conduct")
    return User.objects.filter(Q(is_active=True) & (perm | Q(is_superuser=True))).distinct(
    ).order_by("username")


# --- the policy that decided ------------------------------------------------------------------


class Documents:
    """Policy documents by version number, each read once per page (a list shows records that
    several versions decided). Unknown versions fall back to the policy in force."""

    def __init__(self) -> None:
        self._by_number: dict[int | None, PolicyDocument | None] = {}

    def get(self, number: int | None) -> PolicyDocument | None:
        if number not in self._by_number:
            self._by_number[number] = _load(number)
        return self._by_number[number]

    def current(self) -> PolicyDocument | None:
        return self.get(None)


def _load(number: int | None) -> PolicyDocument | None:
    document = policy_document(number)  # parsed once per process
    if document is not None:
        return document
    try:
        return policies.policy_in_force()[1]
    except DomainError:
        return None


def chinese() -> bool:
    return (get_language() or "zh-hans").lower().startswith("zh")


def violation_type_of(document: PolicyDocument | None, code: str) -> ViolationType | None:
    if document is None:
        return None
    try:
        return document.violation_type(code)
    except KeyError:
        return None


def type_name(document: PolicyDocument | None, code: str) -> str:
    """A violation type's name in the reader's language (its code when the policy lacks it)."""
    kind = violation_type_of(document, code)
    if kind is None:
        return code
    return kind.description_zh if chinese() else kind.description_en


def step_of(document: PolicyDocument | None, code: str) -> PenaltyStep | None:
    if document is None:
        return None
    try:
        return document.penalty_step(code)
    except KeyError:
        return None


def step_description(document: PolicyDocument | None, code: str) -> str:
    step = step_of(document, code)
    if step is None:
        return ""
    return step.description_zh if chinese() else step.description_en


def severity_label(code: str) -> str:
    try:
        return str(SEVERITIES[Severity(code)])
    except ValueError:
        return code


def category_label(code: str) -> str:
    try:
        return str(CATEGORIES[ViolationCategory(code)])
    except ValueError:
        return code


def measure_label(code: str) -> str:
    try:
        return str(MEASURES[Measure(code)])
    except ValueError:
        return code


def catalogue_choices(document: PolicyDocument | None) -> list[tuple[str, Any]]:
    """The policy's violation types grouped by category, each with its severity (a form's
    choices, optgroups in the policy's order of categories)."""
    if document is None:
        return []
    groups: dict[str, list[tuple[str, str]]] = {}
    for kind in document.violation_types:
        name = kind.description_zh if chinese() else kind.description_en
        label = _("%(name)s — %(severity)s, %(points)d points") % {
            "name": name, "severity": severity_label(kind.severity.value),
            "points": kind.points}
        if kind.evidence_required:
            label = _("%(label)s (evidence required)") % {"label": label}
        groups.setdefault(category_label(kind.category.value), []).append((kind.code, label))
    return list(groups.items())


# --- reasons ----------------------------------------------------------------------------------

LADDER_REASON = re.compile(r"^(?:(MINOR|MAJOR|SEVERE|CRITICAL)_VIOLATION|"
                           r"REPEAT_(MINOR|MAJOR|SEVERE|CRITICAL)_\d+_IN_\d+D)$")


def _int(value: Any) -> int:
    try:
        return int(Decimal(str(value)))
    except (ArithmeticError, ValueError):
        return 0


def describe_reason(reason: Mapping[str, Any]) -> str:
    """A penalty's reason (policy.conduct.step_reason, penalties.replace_with) as a sentence
    with its numbers, e.g. REPEAT_MINOR_3_IN_180D → "3 confirmed violations of severity Minor
    or worse within 180 days; this step applies from the 3rd"."""
    code = str(reason.get("code", ""))
    params: Mapping[str, Any] = reason.get("params") or {}
    match = LADDER_REASON.match(code)
    if match is not None:
        severity = str(params.get("min_severity") or match.group(1) or match.group(2))
        count = _int(params.get("count"))
        return ngettext(
            "%(count)d confirmed violation of severity %(severity)s or worse within "
            "%(window)d days; this step applies from %(min_count)d",
            "%(count)d confirmed violations of severity %(severity)s or worse within "
            "%(window)d days; this step applies from %(min_count)d", count) % {
            "count": count, "severity": severity_label(severity),
            "window": _int(params.get("window_days")),
            "min_count": _int(params.get("min_count"))}
    if code == "NO_STEP_REACHED":
        count = _int(params.get("violations"))
        return ngettext("No step of the ladder reached (%(count)d confirmed violation)",
                        "No step of the ladder reached (%(count)d confirmed violations)",
                        count) % {"count": count}
    if code == "REDUCED_ON_APPEAL":
        return _("Reduced on appeal: replaces step %(step)s") % {
            "step": params.get("replaces", "—")}
    return credit_reasons.describe(reason)


@dataclass(frozen=True)
class ReasonItem:
    code: str
    text: str


def reason_items(reasons: Iterable[Mapping[str, Any]] | None) -> list[ReasonItem]:
    return [ReasonItem(code=str(r.get("code", "")), text=describe_reason(r))
            for r in reasons or []]


def reasons_summary(reasons: Iterable[Mapping[str, Any]] | None) -> str:
    return _("; ").join(item.text for item in reason_items(reasons))


# --- measures and approvers -------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureItem:
    code: str
    label: str
    detail: str


def money(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return formats.number_format(value, 2, use_l10n=True, force_grouping=True)


def measure_items(penalty: Penalty) -> list[MeasureItem]:
    """The penalty's measures in plain language, with the amounts they carry."""
    items = []
    for code in penalty.measures:
        detail = ""
        if code == Measure.FINE:
            detail = money(penalty.fine_amount)
        elif code == Measure.POINTS_DEDUCTION:
            detail = ngettext("%(n)d point", "%(n)d points", penalty.points_deduction) % {
                "n": penalty.points_deduction}
        elif code == Measure.CREDIT_LIMIT_REDUCTION:
            detail = _("%(percent)s%% of the limit left") % {
                "percent": credit_reasons.format_param("percent", penalty.credit_limit_percent)}
        items.append(MeasureItem(code=code, label=measure_label(code), detail=detail))
    return items


def measures_text(penalty: Penalty) -> str:
    return _(", ").join(f"{item.label} ({item.detail})" if item.detail else item.label
                        for item in measure_items(penalty))


def _measures(codes: Iterable[str]) -> list[Measure]:
    found = []
    for code in codes:
        try:
            found.append(Measure(code))
        except ValueError:
            continue
    return found


def allowed_roles(document: PolicyDocument | None, codes: Iterable[str]) -> list[RoleCode]:
    """The roles the policy lets approve a penalty with these measures, in the policy's order
    of roles."""
    if document is None:
        return []
    allowed = approver_roles(document, _measures(codes))
    return [role for role in RoleCode if role in allowed]


def role_labels(roles: Iterable[RoleCode]) -> list[str]:
    return [role_label(role.group) for role in roles]


class ApprovalRights:
    """Whether a user may approve (or reject) each penalty on a page: the rule of
    conduct.services.penalties.may_approve — the approval permission, and a role the policy in
    force allows for every measure (superusers always) — with the user's roles read once."""

    def __init__(self, user: User, document: PolicyDocument | None) -> None:
        self.document = document
        self.permitted = user.has_perm("conduct.approve_penalty")
        self.superuser = user.is_superuser
        self.groups = set(user.groups.values_list("name", flat=True)) if self.permitted else set()

    def roles(self, penalty: Penalty) -> list[RoleCode]:
        return allowed_roles(self.document, penalty.measures)

    def may(self, penalty: Penalty) -> bool:
        if not self.permitted:
            return False
        if self.superuser:
            return True
        return any(role.group in self.groups for role in self.roles(penalty))

    def who(self, penalty: Penalty) -> str:
        return _(", ").join(role_labels(self.roles(penalty))) or "—"


# --- where a fine came from -------------------------------------------------------------------


def fine_clauses(penalties: Sequence[Penalty]) -> dict[int, ContractClause | None]:
    """The contract clause that set each penalty's fine (None: the policy's amount), as the
    proposal recorded it. A penalty that replaced another on appeal takes the policy's amount
    (penalties.replace_with)."""
    ids = [str(p.pk) for p in penalties]
    if not ids:
        return {}
    recorded = AuditEntry.objects.filter(
        object_type="conduct.penalty", action="conduct.penalty_propose",
        object_id__in=ids).values_list("object_id", "after")
    clause_ids = {int(object_id): (after or {}).get("contract_clause")
                  for object_id, after in recorded}
    clauses = ContractClause.objects.in_bulk([pk for pk in clause_ids.values() if pk])
    return {p.pk: clauses.get(clause_ids.get(p.pk) or 0) for p in penalties}


def fine_source_text(penalty: Penalty, clause: ContractClause | None) -> str:
    if Measure.FINE not in penalty.measures or not penalty.fine_amount:
        return ""
    if clause is None:
        return _("the policy's amount")
    return _("contract %(number)s") % {"number": clause.contract_number}


# --- the notices of a penalty -----------------------------------------------------------------

# The notice pages belong to another part of conduct; a notice is linked when one of these
# pages exists (the first that does), else shown without a link.
NOTICE_URL_NAMES = ("conduct:notice_detail", "conduct:notice", "conduct:notice_pdf")


def notice_url(notice_id: int) -> str:
    for name in NOTICE_URL_NAMES:
        try:
            return reverse(name, args=[notice_id])
        except NoReverseMatch:
            continue
    return ""


# --- page helpers -----------------------------------------------------------------------------

CASE_BADGES = {ViolationCase.Status.REPORTED: "bg-yellow-lt",
               ViolationCase.Status.INVESTIGATING: "bg-azure-lt",
               ViolationCase.Status.CONFIRMED: "bg-red-lt",
               ViolationCase.Status.DISMISSED: "bg-secondary-lt"}
PENALTY_BADGES = {Penalty.Status.PROPOSED: "bg-yellow-lt", Penalty.Status.APPROVED: "bg-azure-lt",
                  Penalty.Status.NOTIFIED: "bg-azure-lt", Penalty.Status.ACTIVE: "bg-red-lt",
                  Penalty.Status.COMPLETED: "bg-green-lt",
                  Penalty.Status.LIFTED: "bg-secondary-lt",
                  Penalty.Status.OVERTURNED: "bg-secondary-lt",
                  Penalty.Status.REJECTED: "bg-secondary-lt"}
FINE_BADGES = {Fine.Status.DUE: "bg-yellow-lt", Fine.Status.PAID: "bg-green-lt",
               Fine.Status.WAIVED: "bg-secondary-lt"}
SEVERITY_BADGES = {"MINOR": "bg-yellow-lt", "MAJOR": "bg-orange-lt", "SEVERE": "bg-red-lt",
                   "CRITICAL": "bg-red"}


def badge(css: str, code: str, label: str, attribute: str = "status") -> SafeString:
    return format_html('<span class="badge {}" data-{}="{}">{}</span>', css, attribute, code,
                       label)


def case_badge(case: ViolationCase) -> SafeString:
    return badge(CASE_BADGES.get(case.status, "bg-secondary-lt"), case.status,  # type: ignore[call-overload]
                 case.get_status_display())


def penalty_badge(penalty: Penalty) -> SafeString:
    return badge(PENALTY_BADGES.get(penalty.status, "bg-secondary-lt"), penalty.status,  # type: ignore[call-overload]
                 penalty.get_status_display())


def fine_badge(fine: Fine) -> SafeString:
    return badge(FINE_BADGES.get(fine.status, "bg-secondary-lt"), fine.status,  # type: ignore[call-overload]
                 fine.get_status_display())


def severity_badge(code: str) -> SafeString:
    return badge(SEVERITY_BADGES.get(code, "bg-secondary-lt"), code, severity_label(code),
                 "severity")


def customer_cell(customer: Customer) -> SafeString:
    return format_html('<a href="{}" class="font-monospace fw-bold">{}</a><div class="small">{}'
                       "</div>", reverse("customers:detail", args=[customer.code]),
                       customer.code, customer.name)


def local_time(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


def shorten(text: str, length: int = 60) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


def refused_form(response: HttpResponse) -> HttpResponse:
    """A page shown again because its form was refused answers 422, so neither a browser's
    history nor a test mistakes it for a success."""
    response.status_code = 422
    return response


BaseTable = HtmxTable


# Audit actions of conduct as the pages' timelines word them.
ACTION_LABELS = {
    "conduct.case_report": gettext_lazy("Violation reported"),
    "conduct.evidence_add": gettext_lazy("Evidence attached"),
    "conduct.case_investigate": gettext_lazy("Investigation started"),
    "conduct.case_confirm": gettext_lazy("Violation confirmed"),
    "conduct.case_dismiss": gettext_lazy("Case dismissed"),
    "conduct.case_overturn": gettext_lazy("Violation overturned on appeal"),
    "conduct.penalty_propose": gettext_lazy("Penalty proposed by the ladder"),
    "conduct.penalty_approve": gettext_lazy("Penalty approved"),
    "conduct.penalty_reject": gettext_lazy("Penalty rejected"),
    "conduct.notice_issue": gettext_lazy("Notice issued"),
    "conduct.notice_sent": gettext_lazy("Notice e-mailed"),
    "conduct.notice_failed": gettext_lazy("Notice could not be e-mailed"),
    "conduct.notice_resend": gettext_lazy("Notice sent again"),
    "conduct.notice_response": gettext_lazy("Customer's response recorded"),
    "conduct.penalty_notify": gettext_lazy("Customer notified"),
    "conduct.penalty_activate": gettext_lazy("Penalty in force"),
    "conduct.penalty_complete": gettext_lazy("Penalty completed"),
    "conduct.penalty_lift": gettext_lazy("Penalty lifted early"),
    "conduct.penalty_overturn": gettext_lazy("Penalty overturned"),
    "conduct.penalty_reduce": gettext_lazy("Penalty reduced on appeal"),
    "conduct.rectify": gettext_lazy("Rectification recorded"),
    "conduct.effects": gettext_lazy("Restrictions on the customer changed"),
    "conduct.credit_terms": gettext_lazy("Credit terms changed by a penalty"),
    "conduct.fine_settle": gettext_lazy("Fine settled"),
    "conduct.clause_add": gettext_lazy("Contract clause added"),
    "conduct.clause_end": gettext_lazy("Contract clause ended"),
}


def timeline_rows(entries: Iterable[AuditEntry], show_pii: bool) -> list[dict[str, Any]]:
    """Audit entries ready to show (customers.views.common.timeline, which masks PII — a
    notice's recipient by `Notice.PII_FIELDS` — for the roles that must not see it), each with
    its action in words."""
    return [{"item": item, "label": action_label(item.entry.action)}
            for item in timeline(entries, show_pii)]


def action_label(code: str) -> str:
    label = ACTION_LABELS.get(code) or REGISTRY_LABELS.get(code)
    return str(label) if label is not None else code


# --- the timelines' wording of conduct's coded values -----------------------------------------


def _listed(words: Any) -> Any:
    def show(value: Any) -> str:
        if isinstance(value, list):
            return words(value)
        return str(value)
    return show


def register_formatters() -> None:
    """Timelines (a case's, a penalty's, the customer's) show a penalty's reasons and
    measures in words, and a case's severity by its label. Registered when the conduct pages
    app is ready (ConductConfig.ready)."""
    register_value_formatter("conduct.penalty", "reasons", _listed(reasons_summary))
    register_value_formatter("conduct.penalty", "measures", _listed(
        lambda codes: str(_(", ").join(measure_label(str(code)) for code in codes))))
    register_value_formatter("conduct.violationcase", "severity",
                             lambda value: severity_label(str(value)))

