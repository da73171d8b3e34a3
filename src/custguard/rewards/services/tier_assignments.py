"""Manual membership tiers: proposed with a reason and an expiry (at most the policy's
manual_max_days away), approved by a second person (never the proposer) or rejected. An
approved tier is active at once and wins over the rules until its last day; the daily job then
expires it and the customer takes the tier its facts qualify it for. Every step audited.

Two approvers racing for the same proposal: the proposal row is locked and moved from
proposed in one conditional UPDATE, so exactly one approval is recorded.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from custguard.core import clock, limits
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from custguard.core.services import audit
from custguard.core.services.policies import policy_in_force
from custguard.customers.models import Customer
from custguard.policy.decisions import Reason
from custguard.rewards.models import TierAssignment, TierChange, TierStatus
from custguard.rewards.services import tier_evaluation, tier_notices

Status = TierAssignment.Status


def _require(actor: Actor, perm: str, message: str) -> None:
    if not actor.can(perm):
        raise PermissionRefused(message)


def parse_day(value: object, field: str = "expires_on") -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationFailed(_("not a date (YYYY-MM-DD)"), field=field) from None


def _reason(value: object, field: str = "reason") -> str:
    text = str(value or "").strip()
    if not text:
        raise ValidationFailed(_("a reason is required"), field=field)
    if len(text) > limits.REASON:
        raise ValidationFailed(_("at most %(n)d characters") % {"n": limits.REASON},
                               field=field)
    return text


def propose(actor: Actor, customer: Customer, *, tier: str, expires_on: object,
            reason: object) -> TierAssignment:
    """Propose a manual tier for the customer until expires_on (its last day)."""
    _require(actor, "rewards.assign_tier", _("your role may not assign membership tiers"))
    version, policy = policy_in_force()
    section = policy.membership
    code = str(tier or "").strip()
    if section.tier(code) is None:
        raise ValidationFailed(_("must be one of %(expected)s") % {
            "expected": ", ".join(t.code for t in section.tiers)}, field="tier")
    last_day = parse_day(expires_on)
    today = clock.today()
    latest = today + dt.timedelta(days=section.manual_max_days)
    if not today < last_day <= latest:
        # the last day is 1 to manual_max_days days from today
        raise ValidationFailed(_("expiry must be between 1 and %(max)s days") % {
            "max": section.manual_max_days}, field="expires_on")
    text = _reason(reason)
    with transaction.atomic(), audit.deferred():
        try:
            with transaction.atomic():
                assignment = TierAssignment.objects.create(
                    customer=customer, tier=code, reason=text, expires_on=last_day,
                    policy_version=version, proposed_at=clock.now(), proposed_by=actor.user,
                    proposed_label=actor.label[:150])
        except IntegrityError:
            raise Conflict(_("a manual tier for this customer is already waiting for "
                             "approval")) from None
        audit.record(actor, "rewards.tier_assignment_propose", assignment,
                     customer_id=customer.pk, after={"tier": code, "expires_on": last_day},
                     reason=text)
    return assignment


def _locked(assignment_id: int) -> TierAssignment:
    found = (TierAssignment.objects.select_for_update().select_related("customer")
             .filter(pk=assignment_id).first())
    if found is None:
        raise NotFound(_("tier assignment %(id)s not found") % {"id": assignment_id})
    return found


def _decider(actor: Actor, assignment: TierAssignment) -> None:
    _require(actor, "rewards.approve_tier",
             _("your role may not approve or reject membership tiers"))
    if assignment.status != Status.PROPOSED:
        raise Conflict(_("this manual tier was already decided (%(status)s)") % {
            "status": assignment.get_status_display()})
    same = (actor.user is not None and assignment.proposed_by_id == actor.user.pk) or (
        actor.user is None and assignment.proposed_label == actor.label[:150])
    if same:
        raise PermissionRefused(_("the person who proposed a manual tier may not approve "
                                  "it; a second person must"))


def _decide(assignment: TierAssignment, actor: Actor, status: str, note: str) -> None:
    moved = TierAssignment.objects.filter(pk=assignment.pk, status=Status.PROPOSED).update(
        status=status, decided_at=clock.now(), decided_by=actor.user, decision_note=note)
    if not moved:  # decided by someone else since it was read
        raise Conflict(_("this manual tier was already decided"))
    assignment.refresh_from_db()


def approve(actor: Actor, assignment_id: int, note: object = "") -> TierAssignment:
    """Approve: the manual tier is the customer's at once (any earlier one ends)."""
    with transaction.atomic(), audit.deferred():
        assignment = _locked(assignment_id)
        _decider(actor, assignment)
        today = clock.today()
        if assignment.expires_on <= today:
            raise Conflict(_("this manual tier would have expired already; propose a new "
                             "one"))
        version, policy = policy_in_force()
        section = policy.membership
        if section.tier(assignment.tier) is None:
            raise Conflict(_("the policy no longer has tier %(tier)s") % {
                "tier": assignment.tier})
        text = str(note or "").strip()[:limits.REASON]
        status = TierStatus.objects.select_for_update().filter(
            customer_id=assignment.customer_id).first()
        if status is not None and status.assignment_id is not None:
            TierAssignment.objects.filter(pk=status.assignment_id,
                                          status=Status.ACTIVE).update(
                status=Status.ENDED, ended_at=clock.now())
            status.assignment = None
            status.save(update_fields=["assignment"])
        _decide(assignment, actor, Status.ACTIVE, text)
        was = status.tier if status is not None else ""
        if status is None:
            status = TierStatus(customer_id=assignment.customer_id)
        if status.tier != assignment.tier:
            status.since, status.changed_on = today, today
        status.tier, status.below_since, status.assignment = assignment.tier, None, assignment
        status.save()
        change = TierChange(
            customer_id=assignment.customer_id, assignment=assignment,
            kind=TierChange.Kind.MANUAL, from_tier=was, to_tier=assignment.tier,
            reasons=[Reason("TIER_MANUAL", {"tier": assignment.tier,
                                            "expires_on": assignment.expires_on.isoformat()})
                     .as_dict()],
            policy_version=version, effective_on=today, decided_at=clock.now(),
            decided_by=actor.label[:150])
        reached = tier_evaluation.entitlements_reached(actor, [change], section)
        change.save()
        tier_evaluation.issue_entitlements(actor, reached)
        tier_evaluation.set_standings(actor, {assignment.customer_id: (
            assignment.tier, tier_evaluation.bonus_days(section, assignment.tier))})
        tier_notices.queue(section, [change])
        audit.record(actor, "rewards.tier_assignment_approve", assignment,
                     customer_id=assignment.customer_id,
                     after={"tier": assignment.tier, "from": was,
                            "expires_on": assignment.expires_on}, reason=text)
        tier_evaluation.audit_change(actor, change)
    tier_notices.send_pending(actor, [change.pk])
    return assignment


def reject(actor: Actor, assignment_id: int, reason: object) -> TierAssignment:
    text = _reason(reason)
    with transaction.atomic(), audit.deferred():
        assignment = _locked(assignment_id)
        _decider(actor, assignment)
        _decide(assignment, actor, Status.REJECTED, text)
        audit.record(actor, "rewards.tier_assignment_reject", assignment,
                     customer_id=assignment.customer_id, after={"tier": assignment.tier},
                     reason=text)
    return assignment


def expire_due(actor: Actor, today: dt.date | None = None) -> int:
    """End every active manual tier whose last day has passed; each customer then takes the
    tier its facts qualify it for. Returns how many expired."""
    today = today or clock.today()
    due = list(TierAssignment.objects.filter(status=Status.ACTIVE, expires_on__lt=today)
               .order_by("customer_id").values_list("pk", "customer_id"))
    if not due:
        return 0
    with transaction.atomic(), audit.deferred():
        ids = [pk for pk, _customer in due]
        customers = [customer for _pk, customer in due]
        TierStatus.objects.filter(assignment_id__in=ids).update(assignment=None)
        expired = TierAssignment.objects.filter(pk__in=ids, status=Status.ACTIVE).update(
            status=Status.EXPIRED, ended_at=clock.now())
        for pk, customer_id in due:
            audit.record(actor, "rewards.tier_assignment_expire", object_type=(
                TierAssignment._meta.label_lower), object_id=pk, customer_id=customer_id,
                after={"status": Status.EXPIRED})
        tier_evaluation.evaluate(actor, today=today, customer_ids=customers,
                                 ended=frozenset(customers))
    return expired
