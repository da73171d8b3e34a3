"""Penalties: proposed by the ladder → approved (by a role the policy allows for every measure)
→ notified → active (its measures on the standing row at once) → completed when its period
ends | lifted early | overturned by an appeal. Fines, points and blacklist proposals follow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db.models import Q
from django.utils.translation import gettext as _

from custguard.conduct import hooks
from custguard.conduct.models import ContractClause, Fine, Penalty, ViolationCase
from custguard.conduct.services import effects
from custguard.conduct.services.common import (
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
from custguard.policy.codes import Measure, RoleCode
from custguard.policy.conduct import approver_roles, fine_for, response_due
from custguard.policy.decisions import Reason
from custguard.policy.schema import PenaltyStep

# A rectification stays owed after the penalty's period; not once it was lifted or overturned.
RECTIFIABLE = [Penalty.Status.ACTIVE, Penalty.Status.COMPLETED]


def _clause(case: ViolationCase, on: dt.date) -> ContractClause | None:
    """The customer's contract clause for this violation type (or for any violation) valid on
    the day, the specific one first."""
    clauses = ContractClause.objects.filter(
        customer_id=case.customer_id, valid_from__lte=on).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=on)).filter(
        Q(violation_type=case.violation_type) | Q(violation_type=""))
    return clauses.order_by("-violation_type", "-valid_from").first()


def propose(actor: Actor, case: ViolationCase, step: PenaltyStep, reasons: Sequence[Reason],
            version: int) -> Penalty:
    """Record the ladder's recommendation for a confirmed case (inside its transaction)."""
    clause = _clause(case, today())
    penalty = Penalty.objects.create(
        customer_id=case.customer_id, case=case, step_code=step.code,
        measures=[measure.value for measure in step.measures],
        reasons=[reason.as_dict() for reason in reasons], policy_version=version,
        fine_amount=fine_for(step, clause.fine_amount if clause else None),
        fine_clause=clause if clause is not None and Measure.FINE in step.measures else None,
        points_deduction=step.points_deduction, credit_limit_percent=step.credit_limit_percent,
        duration_days=step.duration_days, rectification_days=step.rectification_days,
        proposed_at=clock.now())
    audit.record(actor, "conduct.penalty_propose", penalty, customer_id=case.customer_id,
                 after={"case": case.pk, "step": step.code, "measures": penalty.measures,
                        "fine": penalty.fine_amount, "reasons": penalty.reasons,
                        "contract_clause": clause.pk if clause else None,
                        "policy_version": version})
    return penalty


def may_approve(actor: Actor, penalty: Penalty) -> bool:
    """Whether the actor holds a role the policy allows for every measure of the penalty."""
    if not actor.can("conduct.approve_penalty"):
        return False
    if actor.user is None:
        return actor.kind in ("job", "system")
    if actor.user.is_superuser:
        return True
    _version, document = policy()
    allowed = approver_roles(document, [Measure(code) for code in penalty.measures])
    groups = set(actor.user.groups.values_list("name", flat=True))
    return any(role.group in groups for role in allowed)


def allowed_roles(penalty: Penalty) -> list[RoleCode]:
    _version, document = policy()
    return sorted(approver_roles(document, [Measure(code) for code in penalty.measures]))


@audit.atomic
def approve(actor: Actor, penalty: Penalty, *, note: str = "",
            language: str = "zh-hans") -> Penalty:
    """Approve a proposed penalty: the customer is notified and the penalty takes effect at
    once (its lasting measures are on the standing row when this returns)."""
    from custguard.conduct.services import notices

    if not may_approve(actor, penalty):
        raise PermissionRefused(_("the policy does not let your role approve %(measures)s") % {
            "measures": ", ".join(penalty.measures)})
    now = clock.now()
    if not moved(Penalty, penalty.pk, Penalty.Status.PROPOSED, Penalty.Status.APPROVED,
                 approved_at=now, approved_by=actor.user, decision_note=note.strip()):
        raise refuse_state(_("penalty"), Penalty.objects.get(pk=penalty.pk).get_status_display())
    penalty.refresh_from_db()
    audit.record(actor, "conduct.penalty_approve", penalty, customer_id=penalty.customer_id,
                 before={"status": Penalty.Status.PROPOSED},
                 after={"status": Penalty.Status.APPROVED}, reason=note.strip())
    notice = notices.issue(actor, penalty, language=language)
    Penalty.objects.filter(pk=penalty.pk).update(status=Penalty.Status.NOTIFIED,
                                                 notified_at=notice.created_at)
    audit.record(actor, "conduct.penalty_notify", penalty, customer_id=penalty.customer_id,
                 before={"status": Penalty.Status.APPROVED},
                 after={"status": Penalty.Status.NOTIFIED, "notice": notice.reference})
    return _activate(actor, Penalty.objects.get(pk=penalty.pk))


def _activate(actor: Actor, penalty: Penalty) -> Penalty:
    """notified → active: the measures take effect from today."""
    start = today()
    end = (start + dt.timedelta(days=penalty.duration_days)
           if penalty.duration_days is not None else None)
    rectify_by = (start + dt.timedelta(days=penalty.rectification_days)
                  if penalty.rectification_days else None)
    Penalty.objects.filter(pk=penalty.pk).update(
        status=Penalty.Status.ACTIVE, starts_on=start, ends_on=end,
        rectification_due_on=rectify_by)
    penalty.refresh_from_db()
    measures = set(penalty.measures)
    if Measure.FINE in measures and penalty.fine_amount > 0:
        _version, document = policy()
        Fine.objects.create(penalty=penalty, customer_id=penalty.customer_id,
                            amount=penalty.fine_amount, clause=penalty.fine_clause,
                            due_on=response_due(document, start))
    deducted = 0
    if Measure.POINTS_DEDUCTION in measures and penalty.points_deduction:
        # Never more than the customer may spend: the points ledger takes it from its lots.
        deducted = hooks.points_keeper().deduct(actor, penalty.customer_id,
                                                penalty.points_deduction, penalty.pk)
        if deducted:
            Penalty.objects.filter(pk=penalty.pk).update(points_deducted=deducted)
    audit.record(actor, "conduct.penalty_activate", penalty, customer_id=penalty.customer_id,
                 before={"status": Penalty.Status.NOTIFIED},
                 after={"status": Penalty.Status.ACTIVE, "starts_on": start, "ends_on": end,
                        "rectify_by": rectify_by, "fine": penalty.fine_amount,
                        "points_deducted": deducted})
    effects.apply(actor, penalty.customer_id, context={"penalty": penalty.pk})
    if Measure.BLACKLIST_PROPOSAL in measures:
        from custguard.conduct.services import blacklist

        blacklist.propose_for_penalty(actor, penalty)
    return Penalty.objects.get(pk=penalty.pk)


def reject(actor: Actor, penalty: Penalty, *, reason: str) -> Penalty:
    """Decline a proposal (the approver does not agree with the recommendation)."""
    if not may_approve(actor, penalty):
        raise PermissionRefused(_("the policy does not let your role decide %(measures)s") % {
            "measures": ", ".join(penalty.measures)})
    text = reason_text(reason)
    with audit.deferred_transaction():
        if not moved(Penalty, penalty.pk, Penalty.Status.PROPOSED, Penalty.Status.REJECTED,
                     ended_at=clock.now(), end_reason=text, approved_by=actor.user):
            raise refuse_state(_("penalty"),
                               Penalty.objects.get(pk=penalty.pk).get_status_display())
        audit.record(actor, "conduct.penalty_reject", penalty, customer_id=penalty.customer_id,
                     before={"status": Penalty.Status.PROPOSED},
                     after={"status": Penalty.Status.REJECTED}, reason=text)
    return Penalty.objects.get(pk=penalty.pk)


def _end(actor: Actor, penalty: Penalty, new_status: str, action: str, reason: str) -> bool:
    """active → completed | lifted | overturned, once; the standing follows."""
    if not moved(Penalty, penalty.pk, Penalty.Status.ACTIVE, new_status, ended_at=clock.now(),
                 end_reason=reason):
        return False
    audit.record(actor, action, penalty, customer_id=penalty.customer_id,
                 before={"status": Penalty.Status.ACTIVE}, after={"status": new_status},
                 reason=reason)
    effects.apply(actor, penalty.customer_id, reason=reason, context={"penalty": penalty.pk})
    return True


def lift(actor: Actor, penalty: Penalty, *, reason: str) -> Penalty:
    """End an active penalty early, with a reason."""
    require(actor, "conduct.lift_penalty")
    text = reason_text(reason)
    with audit.deferred_transaction():
        if not _end(actor, penalty, Penalty.Status.LIFTED, "conduct.penalty_lift", text):
            raise refuse_state(_("penalty"),
                               Penalty.objects.get(pk=penalty.pk).get_status_display())
    return Penalty.objects.get(pk=penalty.pk)


def overturn(actor: Actor, penalty: Penalty, *, reason: str) -> None:
    """An appeal found the penalty wrong: its effects are reversed at once, its fine waived and
    its points given back (inside the appeal's transaction). A proposal not yet approved is
    simply rejected."""
    if moved(Penalty, penalty.pk, Penalty.Status.PROPOSED, Penalty.Status.OVERTURNED,
             ended_at=clock.now(), end_reason=reason):
        audit.record(actor, "conduct.penalty_overturn", penalty,
                     customer_id=penalty.customer_id, before={"status": "proposed"},
                     after={"status": Penalty.Status.OVERTURNED}, reason=reason)
        return
    was_active = _end(actor, penalty, Penalty.Status.OVERTURNED, "conduct.penalty_overturn",
                      reason)
    penalty.refresh_from_db()
    if not was_active and penalty.status not in (Penalty.Status.COMPLETED,
                                                 Penalty.Status.LIFTED):
        raise refuse_state(_("penalty"), penalty.get_status_display())
    if not was_active:  # it had already ended: the record is corrected all the same
        Penalty.objects.filter(pk=penalty.pk).update(status=Penalty.Status.OVERTURNED,
                                                     end_reason=reason)
        audit.record(actor, "conduct.penalty_overturn", penalty,
                     customer_id=penalty.customer_id, before={"status": penalty.status},
                     after={"status": Penalty.Status.OVERTURNED}, reason=reason)
    Fine.objects.filter(penalty=penalty, status=Fine.Status.DUE).update(
        status=Fine.Status.WAIVED, settled_at=clock.now(), settled_by_label=actor.label[:150],
        note=reason)
    if penalty.points_deducted:
        hooks.points_keeper().give_back(actor, penalty.customer_id, penalty.pk)


def replace_with(actor: Actor, penalty: Penalty, step: PenaltyStep, *, reason: str,
                 version: int) -> Penalty:
    """An appeal reduced the penalty: the lighter step replaces it, in force from today for
    its own period (inside the appeal's transaction)."""
    from custguard.conduct.services import notices

    overturn(actor, penalty, reason=reason)
    clause = _clause(penalty.case, today()) if Measure.FINE in step.measures else None
    now = clock.now()
    lighter = Penalty.objects.create(
        customer_id=penalty.customer_id, case=penalty.case, step_code=step.code,
        measures=[measure.value for measure in step.measures],
        reasons=[Reason("REDUCED_ON_APPEAL", {"replaces": penalty.step_code}).as_dict()],
        policy_version=version,
        fine_amount=fine_for(step, clause.fine_amount if clause else None),
        fine_clause=clause, points_deduction=step.points_deduction,
        credit_limit_percent=step.credit_limit_percent, duration_days=step.duration_days,
        rectification_days=step.rectification_days, proposed_at=now, approved_at=now,
        approved_by=actor.user, status=Penalty.Status.APPROVED, replaces=penalty,
        decision_note=reason)
    audit.record(actor, "conduct.penalty_reduce", lighter, customer_id=penalty.customer_id,
                 after={"replaces": penalty.pk, "step": step.code, "measures": lighter.measures,
                        "fine": lighter.fine_amount},
                 reason=reason)
    # The customer is told of the lighter measures as of any other: a notice of its own.
    earlier = penalty.notices.order_by("-created_at").first()
    notice = notices.issue(actor, lighter,
                           language=earlier.language if earlier is not None else "zh-hans")
    Penalty.objects.filter(pk=lighter.pk).update(status=Penalty.Status.NOTIFIED,
                                                 notified_at=notice.created_at)
    audit.record(actor, "conduct.penalty_notify", lighter, customer_id=lighter.customer_id,
                 before={"status": Penalty.Status.APPROVED},
                 after={"status": Penalty.Status.NOTIFIED, "notice": notice.reference})
    return _activate(actor, Penalty.objects.get(pk=lighter.pk))


def complete_due(actor: Actor, on: dt.date | None = None) -> int:
    """End every active penalty whose period is over (a daily job). Each ends with one
    conditional UPDATE in its own transaction, so running the job twice — or twice at once —
    ends each penalty exactly once."""
    day = on or today()
    done = 0
    while True:
        batch = list(Penalty.objects.filter(status=Penalty.Status.ACTIVE, ends_on__lte=day)
                     .order_by("pk")[:200])
        if not batch:
            return done
        for penalty in batch:
            with audit.deferred_transaction():
                if _end(actor, penalty, Penalty.Status.COMPLETED, "conduct.penalty_complete",
                        _("its period ended on %(day)s") % {"day": penalty.ends_on}):
                    done += 1


def record_rectification(actor: Actor, penalty: Penalty, *, note: str) -> Penalty:
    """The customer put the matter right."""
    require(actor, "conduct.change_penalty")
    text = reason_text(note, "note")
    with audit.deferred_transaction():
        updated = Penalty.objects.filter(pk=penalty.pk, rectification_due_on__isnull=False,
                                         rectified_at__isnull=True,
                                         status__in=RECTIFIABLE).update(
            rectified_at=clock.now(), rectification_note=text)
        if not updated:
            raise ValidationFailed(_("this penalty has no open rectification"), field="note")
        audit.record(actor, "conduct.rectify", penalty, customer_id=penalty.customer_id,
                     after={"rectified": True}, reason=text)
    return Penalty.objects.get(pk=penalty.pk)


def escalate(actor: Actor, penalty: Penalty) -> Penalty | None:
    """A required rectification is overdue: record the policy's violation for it, confirm it
    and let the ladder propose the next measures."""
    from custguard.conduct.services import cases

    require(actor, "conduct.investigate_violationcase")
    if (penalty.status not in RECTIFIABLE or penalty.rectification_due_on is None
            or penalty.rectified_at is not None or penalty.rectification_due_on >= today()):
        raise ValidationFailed(_("the rectification is not overdue"), field="penalty")
    if penalty.escalated_to_id is not None:
        raise refuse_state(_("rectification"), _("already escalated"))
    _version, document = policy()
    with audit.deferred_transaction():
        reported = cases.report(
            actor, penalty.customer, violation_type=document.conduct
            .rectification_overdue_violation, occurred_on=penalty.rectification_due_on,
            description=_("Rectification required by penalty %(step)s (%(day)s) was not made")
            % {"step": penalty.step_code, "day": penalty.rectification_due_on})
        if not Penalty.objects.filter(pk=penalty.pk, escalated_to__isnull=True).update(
                escalated_to=reported.case):
            raise refuse_state(_("rectification"), _("already escalated"))
        if reported.case.status == ViolationCase.Status.CONFIRMED:
            # Another penalty's rectification due the same day was escalated already: it is
            # one incident, and the ladder has run for it.
            return None
        return cases.confirm(actor, reported.case, reason=_("rectification overdue"))
