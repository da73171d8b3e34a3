"""The credit blacklist (信用黑名单): entries proposed by the daily criteria job, by a penalty or
by hand by a credit manager (criterion MANUAL, with a reason), approved by a credit manager
(not the one who proposed it by hand, who may only withdraw it), expired at their end or
lifted early with a reason (optionally with a recovery plan that restores the limit step by
step). An active entry makes the gate deny the customer's orders.

The daily job does not propose a customer again for a criterion a person decided against
(rejected, lifted, overturned) unless new evidence has come since: an invoice that crossed the
overdue threshold after the decision, or a violation confirmed after it. `explain` puts an
entry's evidence into words: the criterion's description from the policy version that
proposed it, in the reader's language, with the numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Q, Sum
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from custguard.conduct.models import (
    BlacklistEntry,
    Penalty,
    RecoveryInstallment,
    RecoveryPlan,
    ViolationCase,
)
from custguard.conduct.services import effects
from custguard.conduct.services.common import (
    confirmed_violations,
    moved,
    policy,
    reason_text,
    refuse_state,
    require,
    today,
)
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused, ValidationFailed
from custguard.core.services import audit
from custguard.customers.models import Customer
from custguard.ledger.models import Invoice
from custguard.policy.codes import BlacklistKind, Severity
from custguard.policy.conduct import BlacklistFacts, BlacklistMatch, blacklist_matches
from custguard.policy.decisions import Reason
from custguard.policy.schema import BlacklistCriterion, PolicyDocument

HUNDRED = Decimal("100.00")
MANUAL = "MANUAL"
PENALTY_PREFIX = "PENALTY_"
PENALTY_REASON = "PENALTY_BLACKLIST_PROPOSAL"
MAX_INSTALLMENTS = 60
MAX_AMOUNT = Decimal("100000000000000")  # the money columns hold 14 digits before the point
MAX_DURATION_DAYS = 3650
# Entries a person decided against: the job proposes them again only on new evidence.
DECIDED_AGAINST = (BlacklistEntry.Status.REJECTED, BlacklistEntry.Status.LIFTED,
                   BlacklistEntry.Status.OVERTURNED)


def open_entry(customer_id: int) -> BlacklistEntry | None:
    return BlacklistEntry.objects.filter(
        customer_id=customer_id,
        status__in=[BlacklistEntry.Status.PROPOSED, BlacklistEntry.Status.ACTIVE]).first()


def propose(actor: Actor, customer: Customer, *, criterion: str, reasons: Sequence[Reason],
            duration_days: int, penalty: Penalty | None = None) -> tuple[BlacklistEntry, bool]:
    """Propose an entry unless the customer already has an open one (then that one is
    returned with created=False). Joins the caller's transaction when there is one."""
    existing = open_entry(customer.pk)
    if existing is not None:
        return existing, False
    version, _document = policy()
    with audit.deferred_transaction():
        try:
            with transaction.atomic():
                entry = BlacklistEntry.objects.create(
                    customer=customer, criterion=criterion,
                    reasons=[reason.as_dict() for reason in reasons], policy_version=version,
                    penalty=penalty, duration_days=duration_days, proposed_at=clock.now(),
                    proposed_by=actor.user, proposed_by_label=actor.label[:150])
        except IntegrityError:  # proposed at the same moment by someone else
            existing = open_entry(customer.pk)
            if existing is None:
                raise
            return existing, False
        audit.record(actor, "conduct.blacklist_propose", entry, customer_id=customer.pk,
                     after={"criterion": criterion, "reasons": entry.reasons,
                            "duration_days": duration_days,
                            "penalty": penalty.pk if penalty else None})
    return entry, True


def propose_for_penalty(actor: Actor, penalty: Penalty) -> BlacklistEntry:
    _version, document = policy()
    entry, _created = propose(
        actor, penalty.customer, criterion=f"{PENALTY_PREFIX}{penalty.step_code}",
        reasons=[Reason(PENALTY_REASON,
                        {"penalty": penalty.pk, "step": penalty.step_code,
                         "violation": penalty.case.violation_type})],
        duration_days=document.blacklist.default_duration_days, penalty=penalty)
    return entry


def propose_manual(actor: Actor, customer: Customer, *, reason: str,
                   duration_days: int | None = None) -> tuple[BlacklistEntry, bool]:
    """A credit manager proposes an entry by hand (criterion MANUAL) with a reason; another
    person approves it. A customer with an open entry keeps it: that one is returned with
    created=False and nothing changes."""
    require(actor, "conduct.decide_blacklistentry")
    text = reason_text(reason)
    _version, document = policy()
    days = document.blacklist.default_duration_days if duration_days is None else duration_days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DURATION_DAYS:
        raise ValidationFailed(_("the duration is a whole number of days from 1 to %(max)d") % {
            "max": MAX_DURATION_DAYS}, field="duration_days")
    with audit.deferred_transaction():
        return propose(actor, customer, criterion=MANUAL, reasons=[Reason(MANUAL, {
            "reason": text})], duration_days=days)


def proposed_by(entry: BlacklistEntry) -> int | None:
    """The user who proposed the entry; None for a job or the system."""
    return entry.proposed_by_id


def may_approve(actor: Actor, entry: BlacklistEntry) -> bool:
    """Whether the actor may approve the proposal: a credit manager (or an administrator) who
    did not propose it by hand. (Rejecting needs only the permission: the proposer may
    withdraw a proposal.)"""
    if not actor.can("conduct.decide_blacklistentry"):
        return False
    if entry.criterion != MANUAL or actor.user is None:
        return True
    return proposed_by(entry) != actor.user.pk


def _four_eyes(actor: Actor, entry: BlacklistEntry) -> None:
    require(actor, "conduct.decide_blacklistentry")
    if not may_approve(actor, entry):
        raise PermissionRefused(_("you proposed this entry: another person approves it"))


def approve(actor: Actor, entry: BlacklistEntry, *, note: str = "") -> BlacklistEntry:
    """A credit manager approves a proposal: the entry is active from today and the gate
    denies the customer at once. A recovery plan of an earlier entry still in progress has
    failed: it is marked defaulted."""
    _four_eyes(actor, entry)
    start = today()
    with audit.deferred_transaction():
        if not moved(BlacklistEntry, entry.pk, BlacklistEntry.Status.PROPOSED,
                     BlacklistEntry.Status.ACTIVE, decided_at=clock.now(),
                     decided_by=actor.user, decision_note=note.strip(), starts_on=start,
                     ends_on=start + dt.timedelta(days=entry.duration_days)):
            raise refuse_state(_("blacklist entry"),
                               BlacklistEntry.objects.get(pk=entry.pk).get_status_display())
        entry.refresh_from_db()
        audit.record(actor, "conduct.blacklist_approve", entry, customer_id=entry.customer_id,
                     before={"status": BlacklistEntry.Status.PROPOSED},
                     after={"status": entry.status, "starts_on": entry.starts_on,
                            "ends_on": entry.ends_on}, reason=note.strip())
        for plan in RecoveryPlan.objects.filter(customer_id=entry.customer_id,
                                                status=RecoveryPlan.Status.ACTIVE):
            if moved(RecoveryPlan, plan.pk, RecoveryPlan.Status.ACTIVE,
                     RecoveryPlan.Status.DEFAULTED):
                audit.record(actor, "conduct.recovery_default", plan,
                             customer_id=plan.customer_id,
                             before={"status": RecoveryPlan.Status.ACTIVE},
                             after={"status": RecoveryPlan.Status.DEFAULTED,
                                    "blacklist_entry": entry.pk})
        effects.apply(actor, entry.customer_id, context={"blacklist_entry": entry.pk})
    return entry


def reject(actor: Actor, entry: BlacklistEntry, *, reason: str) -> BlacklistEntry:
    """Decline a proposal (or withdraw one's own), with a reason. The daily job proposes the
    customer again for the same criterion only on new evidence."""
    require(actor, "conduct.decide_blacklistentry")
    text = reason_text(reason)
    with audit.deferred_transaction():
        if not moved(BlacklistEntry, entry.pk, BlacklistEntry.Status.PROPOSED,
                     BlacklistEntry.Status.REJECTED, decided_at=clock.now(),
                     decided_by=actor.user, decision_note=text):
            raise refuse_state(_("blacklist entry"),
                               BlacklistEntry.objects.get(pk=entry.pk).get_status_display())
        audit.record(actor, "conduct.blacklist_reject", entry, customer_id=entry.customer_id,
                     before={"status": BlacklistEntry.Status.PROPOSED},
                     after={"status": BlacklistEntry.Status.REJECTED}, reason=text)
        _close_appeals(actor, entry, text)
    return BlacklistEntry.objects.get(pk=entry.pk)


def _close_appeals(actor: Actor, entry: BlacklistEntry, reason: str) -> None:
    """A rejected proposal is what an open appeal against it asked for: the appeal is closed
    in the customer's favour."""
    from custguard.conduct.models import Appeal

    for appeal in Appeal.objects.filter(blacklist_entry=entry,
                                        status__in=[Appeal.Status.FILED,
                                                    Appeal.Status.UNDER_REVIEW]):
        if moved(Appeal, appeal.pk, appeal.status, Appeal.Status.OVERTURNED,
                 decided_at=clock.now(), decision_note=reason):
            audit.record(actor, "conduct.appeal_decide", appeal, customer_id=appeal.customer_id,
                         before={"status": appeal.status},
                         after={"status": Appeal.Status.OVERTURNED,
                                "with_blacklist_reject": entry.pk}, reason=reason)


@dataclass(frozen=True)
class InstallmentPlan:
    due_on: dt.date
    amount: Decimal


def lift(actor: Actor, entry: BlacklistEntry, *, reason: str,
         installments: Sequence[InstallmentPlan] = ()) -> BlacklistEntry:
    """Lift an active entry early, with a reason; with installments, a recovery plan restores
    the credit limit in equal steps as each is paid (nothing until the first)."""
    require(actor, "conduct.decide_blacklistentry")
    text = reason_text(reason)
    plan_rows = _check_installments(installments)
    with audit.deferred_transaction():
        if not moved(BlacklistEntry, entry.pk, BlacklistEntry.Status.ACTIVE,
                     BlacklistEntry.Status.LIFTED, ended_at=clock.now(), end_reason=text):
            raise refuse_state(_("blacklist entry"),
                               BlacklistEntry.objects.get(pk=entry.pk).get_status_display())
        audit.record(actor, "conduct.blacklist_lift", entry, customer_id=entry.customer_id,
                     before={"status": BlacklistEntry.Status.ACTIVE},
                     after={"status": BlacklistEntry.Status.LIFTED,
                            "installments": len(plan_rows)}, reason=text)
        if plan_rows:
            plan = RecoveryPlan.objects.create(
                entry=entry, customer_id=entry.customer_id,
                total_amount=sum((row.amount for row in plan_rows), Decimal("0.00")),
                created_at=clock.now(), created_by_label=actor.label[:150])
            count = len(plan_rows)
            RecoveryInstallment.objects.bulk_create([
                RecoveryInstallment(plan=plan, number=number, due_on=row.due_on,
                                    amount=row.amount,
                                    limit_percent_after=(HUNDRED * number / count).quantize(
                                        Decimal("0.01")))
                for number, row in enumerate(plan_rows, start=1)])
            audit.record(actor, "conduct.recovery_plan", plan, customer_id=entry.customer_id,
                         after={"total": plan.total_amount,
                                "installments": [{"due_on": r.due_on, "amount": r.amount}
                                                 for r in plan_rows]})
        effects.apply(actor, entry.customer_id, reason=text,
                      context={"blacklist_entry": entry.pk})
    return BlacklistEntry.objects.get(pk=entry.pk)


def _check_installments(rows: Sequence[InstallmentPlan]) -> list[InstallmentPlan]:
    if len(rows) > MAX_INSTALLMENTS:
        raise ValidationFailed(_("a recovery plan has at most %(n)d installments") % {
            "n": MAX_INSTALLMENTS}, field="installments")
    checked = []
    previous: dt.date | None = None
    for index, row in enumerate(rows):
        if (not isinstance(row.amount, Decimal) or not row.amount.is_finite()
                or row.amount <= 0 or row.amount >= MAX_AMOUNT
                or row.amount != row.amount.quantize(Decimal("0.01"))):
            raise ValidationFailed(_("an installment is a positive amount in cents"),
                                   field=f"installments[{index}].amount")
        if row.due_on < today() or (previous is not None and row.due_on <= previous):
            raise ValidationFailed(_("installments fall due in order, from today on"),
                                   field=f"installments[{index}].due_on")
        previous = row.due_on
        checked.append(row)
    return checked


def pay_installment(actor: Actor, installment: RecoveryInstallment) -> RecoveryInstallment:
    """An installment was paid: the limit is restored to its step; the last completes the
    plan."""
    require(actor, "conduct.change_recoveryinstallment")
    with audit.deferred_transaction():
        plan = RecoveryPlan.objects.select_for_update().get(pk=installment.plan_id)
        if plan.status != RecoveryPlan.Status.ACTIVE:
            raise refuse_state(_("recovery plan"), plan.get_status_display())
        first_open = plan.installments.filter(paid_at__isnull=True).order_by("number").first()
        if first_open is None or first_open.pk != installment.pk:
            raise ValidationFailed(_("installments are paid in order"), field="installment")
        RecoveryInstallment.objects.filter(pk=installment.pk).update(paid_at=clock.now())
        audit.record(actor, "conduct.recovery_paid", plan, customer_id=plan.customer_id,
                     after={"installment": installment.number, "amount": installment.amount,
                            "limit_percent": installment.limit_percent_after})
        if not plan.installments.filter(paid_at__isnull=True).exists():
            RecoveryPlan.objects.filter(pk=plan.pk).update(status=RecoveryPlan.Status.COMPLETED)
            audit.record(actor, "conduct.recovery_complete", plan, customer_id=plan.customer_id,
                         before={"status": RecoveryPlan.Status.ACTIVE},
                         after={"status": RecoveryPlan.Status.COMPLETED})
        effects.apply(actor, plan.customer_id, context={"recovery_plan": plan.pk})
    return RecoveryInstallment.objects.get(pk=installment.pk)


def overturn(actor: Actor, entry: BlacklistEntry, *, reason: str) -> None:
    """An appeal found the entry wrong (inside the appeal's transaction)."""
    for previous in (BlacklistEntry.Status.ACTIVE, BlacklistEntry.Status.PROPOSED):
        if moved(BlacklistEntry, entry.pk, previous, BlacklistEntry.Status.OVERTURNED,
                 ended_at=clock.now(), end_reason=reason):
            audit.record(actor, "conduct.blacklist_overturn", entry,
                         customer_id=entry.customer_id, before={"status": previous},
                         after={"status": BlacklistEntry.Status.OVERTURNED}, reason=reason)
            effects.apply(actor, entry.customer_id, reason=reason,
                          context={"blacklist_entry": entry.pk})
            return
    raise refuse_state(_("blacklist entry"),
                       BlacklistEntry.objects.get(pk=entry.pk).get_status_display())


def expire_due(actor: Actor, on: dt.date | None = None) -> int:
    """End every active entry whose period is over (daily job); each exactly once."""
    day = on or today()
    done = 0
    while True:
        batch = list(BlacklistEntry.objects.filter(status=BlacklistEntry.Status.ACTIVE,
                                                   ends_on__lte=day).order_by("pk")[:200])
        if not batch:
            return done
        for entry in batch:
            with audit.deferred_transaction():
                if moved(BlacklistEntry, entry.pk, BlacklistEntry.Status.ACTIVE,
                         BlacklistEntry.Status.EXPIRED, ended_at=clock.now()):
                    audit.record(actor, "conduct.blacklist_expire", entry,
                                 customer_id=entry.customer_id,
                                 before={"status": BlacklistEntry.Status.ACTIVE},
                                 after={"status": BlacklistEntry.Status.EXPIRED})
                    effects.apply(actor, entry.customer_id,
                                  context={"blacklist_entry": entry.pk})
                    done += 1


def overdue_beyond(days: int, on: dt.date) -> dict[int, Decimal]:
    """Per customer, the amount more than `days` days past due (one GROUP BY)."""
    return {customer: amount for customer, (amount, _due) in _overdue(days, on).items()}


def _overdue(days: int, on: dt.date) -> dict[int, tuple[Decimal, dt.date]]:
    """Per customer, the amount more than `days` days past due and the latest due date among
    those invoices (one GROUP BY)."""
    rows = (Invoice.objects.filter(kind=Invoice.Kind.INVOICE, open_amount__gt=0,
                                   due_on__lt=on - dt.timedelta(days=days))
            .values("customer_id").order_by()
            .annotate(amount=Sum("open_amount"), latest=Max("due_on")))
    return {row["customer_id"]: (Decimal(row["amount"]).quantize(Decimal("0.01")),
                                 row["latest"])
            for row in rows}


def _decided_against(customer_ids: Iterable[int]) -> dict[int, dict[str, dt.datetime]]:
    """Per customer and reason code: the last time a person decided against an entry that
    carried it (rejected the proposal, lifted or overturned the entry)."""
    found: dict[int, dict[str, dt.datetime]] = {}
    rows = BlacklistEntry.objects.filter(customer_id__in=list(customer_ids),
                                         status__in=DECIDED_AGAINST).values_list(
        "customer_id", "reasons", "status", "decided_at", "ended_at")
    for customer_id, reasons, status, decided_at, ended_at in rows:
        when = decided_at if status == BlacklistEntry.Status.REJECTED else ended_at
        if when is None:
            continue
        codes = found.setdefault(customer_id, {})
        for reason in reasons or []:
            code = str(reason.get("code", ""))
            if code and (code not in codes or codes[code] < when):
                codes[code] = when
    return found


@dataclass(frozen=True)
class _Confirmed:
    violation_type: str
    severity: Severity
    decided_at: dt.datetime


def _confirmed_since(customer_ids: Iterable[int],
                     since: dt.datetime) -> dict[int, list[_Confirmed]]:
    found: dict[int, list[_Confirmed]] = {}
    rows = ViolationCase.objects.filter(
        customer_id__in=list(customer_ids), status=ViolationCase.Status.CONFIRMED,
        decided_at__gt=since).values_list("customer_id", "violation_type", "severity",
                                          "decided_at")
    for customer_id, code, severity, decided_at in rows:
        found.setdefault(customer_id, []).append(_Confirmed(code, Severity(severity),
                                                            decided_at))
    return found


def _new_evidence(criterion: BlacklistCriterion, decided: dt.datetime,
                  latest_due: dt.date | None, confirmed: list[_Confirmed]) -> bool:
    """Whether the customer meets the criterion on evidence that came after the decision."""
    if criterion.kind == BlacklistKind.OVERDUE:
        assert criterion.overdue_days_gt is not None
        if latest_due is None:
            return False
        crossed = latest_due + dt.timedelta(days=criterion.overdue_days_gt + 1)
        return crossed > timezone.localdate(decided)
    later = [c for c in confirmed if c.decided_at > decided]
    if criterion.kind == BlacklistKind.REPEAT_VIOLATION:
        assert criterion.min_severity is not None
        return any(c.severity.rank >= criterion.min_severity.rank for c in later)
    return any(c.violation_type in set(criterion.violation_codes or ()) for c in later)


def propose_by_criteria(actor: Actor, on: dt.date | None = None) -> int:
    """The daily job: propose an entry, with its evidence, for every customer that meets a
    criterion of the policy and has no open entry. A criterion a person decided against is
    proposed again only on new evidence. Set-based: one query per overdue threshold, one for
    the customers with recent confirmed violations, one for the earlier decisions; each
    candidate's violations are then read once."""
    day = on or today()
    _version, document = policy()
    criteria = document.blacklist.criteria
    thresholds = sorted({c.overdue_days_gt for c in criteria
                         if c.kind == BlacklistKind.OVERDUE and c.overdue_days_gt is not None})
    overdue = {days: _overdue(days, day) for days in thresholds}
    longest = max((c.window_days or 0 for c in criteria), default=0)
    with_violations = set(ViolationCase.objects.filter(
        status=ViolationCase.Status.CONFIRMED,
        occurred_on__gt=day - dt.timedelta(days=longest)).values_list("customer_id", flat=True))
    candidates = set(with_violations).union(*[set(v) for v in overdue.values()])
    already = set(BlacklistEntry.objects.filter(
        customer_id__in=candidates,
        status__in=[BlacklistEntry.Status.PROPOSED, BlacklistEntry.Status.ACTIVE])
        .values_list("customer_id", flat=True))
    candidates -= already
    decided = _decided_against(candidates)
    earliest = min((when for codes in decided.values() for when in codes.values()),
                   default=None)
    confirmed = _confirmed_since(decided, earliest) if earliest is not None else {}
    proposed = 0
    for customer in Customer.objects.filter(pk__in=candidates).order_by("pk"):
        facts = BlacklistFacts(
            as_of=day, overdue_beyond={days: amounts[customer.pk][0]
                                       if customer.pk in amounts else Decimal("0")
                                       for days, amounts in overdue.items()},
            violations=tuple(confirmed_violations(customer.pk, day))
            if customer.pk in with_violations else ())
        matches = _not_decided(blacklist_matches(document, facts), decided.get(customer.pk, {}),
                               overdue, customer.pk, confirmed.get(customer.pk, []))
        if not matches:
            continue
        with audit.deferred_transaction():
            first = matches[0]
            _entry, created = propose(
                actor, customer, criterion=first.criterion.code,
                reasons=[match.reason for match in matches],
                duration_days=max(match.duration_days for match in matches))
            proposed += int(created)
    return proposed


def _not_decided(matches: list[BlacklistMatch], decided: dict[str, dt.datetime],
                 overdue: dict[int, dict[int, tuple[Decimal, dt.date]]], customer_id: int,
                 confirmed: list[_Confirmed]) -> list[BlacklistMatch]:
    """The matches a person has not decided against, or that rest on new evidence."""
    kept = []
    for match in matches:
        when = decided.get(match.criterion.code)
        if when is not None:
            days = match.criterion.overdue_days_gt
            latest = (overdue.get(days, {}).get(customer_id, (None, None))[1]
                      if days is not None else None)
            if not _new_evidence(match.criterion, when, latest, confirmed):
                continue
        kept.append(match)
    return kept


def active_or_proposed(customer_ids: Sequence[int]) -> dict[int, str]:
    return dict(BlacklistEntry.objects.filter(
        Q(status=BlacklistEntry.Status.ACTIVE) | Q(status=BlacklistEntry.Status.PROPOSED),
        customer_id__in=customer_ids).values_list("customer_id", "status"))


# --- the evidence in words --------------------------------------------------------------------


@dataclass(frozen=True)
class Explained:
    """One reason of an entry as a reader sees it."""

    code: str
    title: str  # the criterion's description (the policy's, in the reader's language)
    detail: str  # the numbers behind it
    params: dict[str, Any]


def _money(value: object) -> str:
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    return formats.number_format(amount, 2, use_l10n=True, force_grouping=True)


def _english() -> bool:
    return (translation.get_language() or "").startswith("en")


def document_of(version: int) -> PolicyDocument | None:
    """The policy document of a version (the one that proposed an entry), if it exists."""
    from custguard.core.models import PolicyVersion
    from custguard.core.services import policies

    checksum = (PolicyVersion.objects.filter(number=version)
                .values_list("checksum", flat=True).first())
    return policies.document_of(version, checksum) if checksum else None


def criterion_of(document: PolicyDocument | None, code: str) -> BlacklistCriterion | None:
    if document is None:
        return None
    return next((c for c in document.blacklist.criteria if c.code == code), None)


def criterion_label(code: str, document: PolicyDocument | None = None) -> str:
    """A criterion code in words: the policy's description, or what made the proposal."""
    if code == MANUAL:
        return _("Proposed by a credit manager")
    if code.startswith(PENALTY_PREFIX):
        return _("Proposed by a penalty (%(step)s)") % {"step": code[len(PENALTY_PREFIX):]}
    criterion = criterion_of(document, code)
    if criterion is None:
        return code
    return criterion.description_en if _english() else criterion.description_zh


def category_of(code: str, document: PolicyDocument | None) -> str:
    """The criterion's kind as shared with partners: OVERDUE, REPEAT_VIOLATION,
    VIOLATION_TYPE, PENALTY or MANUAL."""
    if code == MANUAL:
        return MANUAL
    if code.startswith(PENALTY_PREFIX):
        return "PENALTY"
    criterion = criterion_of(document, code)
    return criterion.kind.value if criterion is not None else "OTHER"


def _violation_name(document: PolicyDocument | None, code: str) -> str:
    if document is None:
        return code
    try:
        kind = document.violation_type(code)
    except KeyError:
        return code
    return kind.description_en if _english() else kind.description_zh


def _severity_label(code: object) -> str:
    from custguard.conduct.labels import SEVERITIES

    try:
        return str(SEVERITIES[Severity(str(code))])
    except (KeyError, ValueError):
        return str(code)


def _detail(code: str, params: dict[str, Any], document: PolicyDocument | None) -> str:
    if code == MANUAL:
        return str(params.get("reason", ""))
    if code == PENALTY_REASON:
        step = str(params.get("step", ""))
        step_text = step
        if document is not None:
            try:
                found = document.penalty_step(step)
                step_text = found.description_en if _english() else found.description_zh
            except KeyError:
                pass
        return _("Penalty #%(penalty)s for %(violation)s: %(step)s") % {
            "penalty": params.get("penalty", "?"),
            "violation": _violation_name(document, str(params.get("violation", ""))),
            "step": step_text}
    if "overdue_amount" in params:
        return _("%(amount)s more than %(days)s days past due (the criterion: at least "
                 "%(minimum)s)") % {"amount": _money(params["overdue_amount"]),
                                    "days": params.get("days_past_due_gt", "?"),
                                    "minimum": _money(params.get("min_amount", "0"))}
    if "min_count" in params:
        return _("%(count)s confirmed violations of severity %(severity)s or worse within "
                 "%(window)s days (the criterion: at least %(minimum)s)") % {
            "count": params.get("count", "?"),
            "severity": _severity_label(params.get("min_severity", "")),
            "window": params.get("window_days", "?"), "minimum": params["min_count"]}
    if "violations" in params:
        names = [_violation_name(document, code.strip())
                 for code in str(params["violations"]).split(",") if code.strip()]
        return _("Confirmed within %(window)s days: %(violations)s") % {
            "window": params.get("window_days", "?"), "violations": ", ".join(names)}
    return ", ".join(f"{key}={value}" for key, value in sorted(params.items()))


def explain(entry: BlacklistEntry, document: PolicyDocument | None = None) -> list[Explained]:
    """The entry's evidence in the reader's language, with the numbers."""
    document = document if document is not None else document_of(entry.policy_version)
    found = []
    for reason in entry.reasons or []:
        code = str(reason.get("code", ""))
        params = dict(reason.get("params") or {})
        if code == PENALTY_REASON:
            title = criterion_label(entry.criterion, document)
        else:
            title = criterion_label(code, document)
        found.append(Explained(code=code, title=title, detail=_detail(code, params, document),
                               params=params))
    return found
