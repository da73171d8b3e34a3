"""A customer's conduct page: the restrictions in force now (what the order gate enforces) with
the penalty or blacklist entry behind each, the violation cases, penalties with their state and
period, fines, notices and the customer's responses, the blacklist history with recovery plans,
appeals and the contract's penalty clauses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from custguard.conduct import selectors
from custguard.conduct.models import (
    Appeal,
    BlacklistEntry,
    ContractClause,
    Fine,
    Notice,
    Penalty,
    RecoveryPlan,
    ViolationCase,
)
from custguard.conduct.selectors import Catalogue
from custguard.conduct.services import appeals
from custguard.core import clock
from custguard.core.services.policies import policy_in_force
from custguard.customers.models import Standing
from custguard.customers.selectors import sees_pii
from custguard.customers.views.common import get_customer_or_404, shown, user_of

# Each list shows the newest rows; a customer with more says how many there are.
LIMIT = 50

STATUS_BADGES: dict[str, str] = {
    # cases
    ViolationCase.Status.REPORTED: "bg-azure-lt",
    ViolationCase.Status.INVESTIGATING: "bg-yellow-lt",
    ViolationCase.Status.CONFIRMED: "bg-red-lt",
    ViolationCase.Status.DISMISSED: "bg-secondary-lt",
    # penalties (and blacklist entries, which share most states)
    Penalty.Status.PROPOSED: "bg-azure-lt",
    Penalty.Status.APPROVED: "bg-orange-lt",
    Penalty.Status.NOTIFIED: "bg-orange-lt",
    Penalty.Status.ACTIVE: "bg-red-lt",
    Penalty.Status.COMPLETED: "bg-green-lt",
    Penalty.Status.LIFTED: "bg-teal-lt",
    Penalty.Status.OVERTURNED: "bg-purple-lt",
    Penalty.Status.REJECTED: "bg-secondary-lt",
    BlacklistEntry.Status.EXPIRED: "bg-green-lt",
    # appeals
    Appeal.Status.FILED: "bg-azure-lt",
    Appeal.Status.UNDER_REVIEW: "bg-yellow-lt",
    Appeal.Status.UPHELD: "bg-red-lt",
    Appeal.Status.REDUCED: "bg-orange-lt",
    Appeal.Status.WITHDRAWN: "bg-secondary-lt",
    # fines
    Fine.Status.DUE: "bg-orange-lt",
    Fine.Status.PAID: "bg-green-lt",
    Fine.Status.WAIVED: "bg-secondary-lt",
}
SEVERITY_BADGES = {"MINOR": "bg-yellow-lt", "MAJOR": "bg-orange-lt", "SEVERE": "bg-red-lt",
                   "CRITICAL": "bg-red text-red-fg"}


# A penalty in these states may be appealed (within the policy's window).
APPEALABLE = [Penalty.Status.NOTIFIED, Penalty.Status.ACTIVE, Penalty.Status.COMPLETED]


def badge(status: str) -> str:
    return STATUS_BADGES.get(status, "bg-secondary-lt")


@dataclass(frozen=True)
class CaseLine:
    case: ViolationCase
    type_label: str
    severity_label: str
    severity_badge: str
    badge: str


@dataclass(frozen=True)
class PenaltyLine:
    penalty: Penalty
    step_label: str
    measures: list[str]
    badge: str
    rectification_overdue: bool
    fine: Fine | None
    appealable: bool  # the customer may appeal it today


@dataclass(frozen=True)
class FineLine:
    fine: Fine
    badge: str
    overdue: bool


@dataclass(frozen=True)
class NoticeLine:
    notice: Notice
    recipient: str  # masked for roles that may not see PII
    response_overdue: bool  # unanswered past its date while the penalty is in force


@dataclass(frozen=True)
class EntryLine:
    entry: BlacklistEntry
    criterion_label: str
    badge: str
    plan: RecoveryPlan | None
    paid: int
    installments: int


@dataclass(frozen=True)
class AppealLine:
    appeal: Appeal
    target: str  # "case" | "penalty" | "blacklist_entry"
    target_label: str
    badge: str
    overdue: bool


@dataclass(frozen=True)
class ClauseLine:
    clause: ContractClause
    type_label: str  # "" = every violation type
    in_force: bool


@dataclass(frozen=True)
class Section:
    """The newest LIMIT rows of a list and how many there are in all."""

    rows: list[Any]
    total: int

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.rows))


def _section(qs: QuerySet[Any], build: Any) -> Section:
    rows = list(qs[: LIMIT + 1])
    total = len(rows) if len(rows) <= LIMIT else qs.count()
    return Section([build(row) for row in rows[:LIMIT]], total)


def _appealable(penalty: Penalty, today: dt.date, window_days: int) -> bool:
    """Whether the customer may appeal the penalty today: the appeals service says so. Only
    penalties notified within the policy's window (or of a notice whose own deadline has not
    passed) are asked, so a long history costs no queries."""
    if penalty.status not in APPEALABLE or penalty.replaces_id is not None:
        return False
    moment = penalty.notified_at or penalty.approved_at
    if moment is None:
        return False
    recent = timezone.localdate(moment) >= today - dt.timedelta(days=window_days)
    told = getattr(penalty, "appeal_by", None)  # penalties_of annotates it
    if not recent and (told is None or told < today):
        return False
    return appeals.appeal_refusal(penalty) is None


def _penalty_line(penalty: Penalty, catalogue: Catalogue, today: dt.date,
                  window_days: int) -> PenaltyLine:
    due = penalty.rectification_due_on
    return PenaltyLine(
        penalty=penalty, step_label=catalogue.step(penalty.step_code, penalty.policy_version),
        measures=[selectors.measure_label(code) for code in penalty.measures],
        badge=badge(penalty.status),
        rectification_overdue=bool(due and penalty.rectified_at is None
                                   and penalty.escalated_to_id is None and due < today
                                   and penalty.status in selectors.IN_FORCE),
        fine=getattr(penalty, "fine", None),
        appealable=_appealable(penalty, today, window_days))


def _entry_line(entry: BlacklistEntry, catalogue: Catalogue) -> EntryLine:
    plan = getattr(entry, "recovery_plan", None)
    installments = list(plan.installments.all()) if plan is not None else []
    return EntryLine(entry=entry, criterion_label=catalogue.criterion(entry.criterion,
                                                                      entry.policy_version),
                     badge=badge(entry.status), plan=plan,
                     paid=sum(1 for i in installments if i.paid_at is not None),
                     installments=len(installments))


def _appeal_line(appeal: Appeal, catalogue: Catalogue, today: dt.date) -> AppealLine:
    if appeal.case is not None:
        target, label = "case", catalogue.violation_type(appeal.case.violation_type,
                                                         appeal.case.policy_version)
    elif appeal.penalty is not None:
        target, label = "penalty", catalogue.step(appeal.penalty.step_code,
                                                  appeal.penalty.policy_version)
    else:
        entry = appeal.blacklist_entry
        assert entry is not None
        target, label = "blacklist_entry", catalogue.criterion(entry.criterion,
                                                               entry.policy_version)
    return AppealLine(appeal=appeal, target=target, target_label=label,
                      badge=badge(appeal.status),
                      overdue=appeal.status in selectors.OPEN_APPEAL
                      and appeal.review_due_on < today)


def _clause_lines(clauses: Iterable[ContractClause], catalogue: Catalogue,
                  today: dt.date) -> list[ClauseLine]:
    return [ClauseLine(clause=c, type_label=catalogue.violation_type(c.violation_type)
                       if c.violation_type else "",
                       in_force=c.valid_from <= today and (c.valid_to is None
                                                           or c.valid_to >= today))
            for c in clauses]


@login_required
@permission_required("conduct.view_violationcase", raise_exception=True)
def customer_conduct(request: HttpRequest, conduct_code: str) -> HttpResponse:
    """The conduct page of the customer whose code is `conduct_code` (the URL's name for it
    matches the permission matrix's world key)."""
    customer = get_customer_or_404(request, conduct_code)
    user = user_of(request)
    today = clock.today()
    catalogue = Catalogue()
    standing = Standing.objects.filter(pk=customer.pk).first()
    show_pii = sees_pii(user)
    window_days = policy_in_force()[1].appeals.window_days
    context: dict[str, Any] = {
        "customer": customer,
        "standing": standing,
        "today": today,
        "summary": selectors.summary_of(customer, today),
        "restrictions": selectors.restrictions_of(customer, standing, catalogue),
        "cases": _section(selectors.cases_of(customer), lambda case: CaseLine(
            case=case, type_label=catalogue.violation_type(case.violation_type,
                                                           case.policy_version),
            severity_label=selectors.severity_label(case.severity),
            severity_badge=SEVERITY_BADGES.get(case.severity, "bg-secondary-lt"),
            badge=badge(case.status))),
        "penalties": _section(selectors.penalties_of(customer),
                              lambda p: _penalty_line(p, catalogue, today, window_days)),
        "fines": _section(selectors.fines_of(customer), lambda fine: FineLine(
            fine=fine, badge=badge(fine.status),
            overdue=fine.status == Fine.Status.DUE and fine.due_on < today)),
        "notices": _section(selectors.notices_of(customer), lambda notice: NoticeLine(
            notice=notice, recipient=shown("email", notice.recipient, show_pii),
            response_overdue=notice.responded_at is None and notice.response_due_on < today
            and notice.penalty.status in selectors.IN_FORCE)),
        "blacklist": _section(selectors.blacklist_of(customer),
                              lambda entry: _entry_line(entry, catalogue)),
        "appeals": _section(selectors.appeals_of(customer),
                            lambda appeal: _appeal_line(appeal, catalogue, today)),
        "clauses": _clause_lines(selectors.clauses_of(customer)[:LIMIT], catalogue, today),
        "may_see_credit": user.has_perm("credit.view_creditscore"),
    }
    return render(request, "conduct/customer/detail.html", context)
