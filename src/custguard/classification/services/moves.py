"""Deciding the proposed class moves (the sales-company manager approves or rejects each),
setting a class by hand, and the account manager's answer to a reminder."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from custguard.classification.models import (
    ClassChange,
    ClassProposal,
    ClassReminder,
    CustomerClass,
)
from custguard.classification.services import treatments
from custguard.core import clock, limits
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.services import audit
from custguard.core.services.policies import policy_in_force
from custguard.policy.decisions import Reason


def _note(text: str, field: str, required: bool) -> str:
    note = limits.bounded(text, limits.REASON, field)
    if required and not note:
        raise ValidationFailed(_("say why"), field=field)
    return note


def decide(actor: Actor, proposal: ClassProposal, *, approve: bool,
           note: str = "") -> ClassProposal:
    """Approve (the customer moves at once) or reject (a reason is required) a proposal."""
    if not actor.can("classification.decide_classproposal"):
        raise PermissionRefused(_("your role may not decide class moves"))
    text = _note(note, "note", required=not approve)
    status = ClassProposal.Status.APPROVED if approve else ClassProposal.Status.REJECTED
    now = clock.now()
    with transaction.atomic(), audit.deferred():
        current = (CustomerClass.objects.select_for_update()
                   .filter(customer_id=proposal.customer_id).values_list("abc", flat=True)
                   .first())
        if approve and current != proposal.from_class:
            raise Conflict(_("the customer is in class %(now)s now, not %(from)s: the move no "
                             "longer applies") % {"now": current or "-",
                                                  "from": proposal.from_class},
                           field="status")
        if not ClassProposal.objects.filter(pk=proposal.pk,
                                            status=ClassProposal.Status.PROPOSED).update(
                status=status, decided_at=now, decided_by=actor.user, note=text):
            current = ClassProposal.objects.get(pk=proposal.pk)
            raise Conflict(_("the proposal is %(status)s already") % {
                "status": current.get_status_display()}, field="status")
        proposal.refresh_from_db()
        audit.record(actor, f"classification.proposal_{status}", proposal,
                     customer_id=proposal.customer_id,
                     before={"status": ClassProposal.Status.PROPOSED},
                     after={"status": status, "from": proposal.from_class,
                            "to": proposal.to_class}, reason=text)
        if approve:
            change = ClassChange.objects.create(
                customer_id=proposal.customer_id, run=proposal.run,
                kind=ClassChange.Kind.APPROVED, from_class=proposal.from_class,
                to_class=proposal.to_class,
                reasons=[Reason("CLASS_MOVE_APPROVED").as_dict(), *proposal.reasons],
                policy_version=proposal.policy_version, proposal=proposal, decided_at=now,
                decided_by=actor.label[:150])
            CustomerClass.objects.update_or_create(
                customer_id=proposal.customer_id,
                defaults={"abc": proposal.to_class, "since": clock.today(), "change": change})
            _version, policy = policy_in_force()
            treatments.apply(actor, policy.classification, [proposal.customer_id])
            audit.record(actor, "classification.class_change", change,
                         customer_id=proposal.customer_id,
                         before={"class": proposal.from_class},
                         after={"class": proposal.to_class, "proposal": proposal.pk})
    return proposal


def answer_reminder(actor: Actor, reminder: ClassReminder, *, answer: str) -> ClassReminder:
    """The account manager records what is being done about the customer's fall (once)."""
    if not actor.can("classification.change_classreminder"):
        raise PermissionRefused(_("your role may not answer class reminders"))
    text = limits.bounded(answer, limits.NOTE, "answer")
    if not text:
        raise ValidationFailed(_("say what is being done"), field="answer")
    with transaction.atomic(), audit.deferred():
        if not ClassReminder.objects.filter(pk=reminder.pk, answered_at__isnull=True).update(
                answered_at=clock.now(), answered_by=actor.label[:150], answer=text):
            raise Conflict(_("the reminder was answered already"), field="answer")
        audit.record(actor, "classification.reminder_answer", reminder,
                     customer_id=reminder.customer_id, after={"answer": text})
    return ClassReminder.objects.get(pk=reminder.pk)
