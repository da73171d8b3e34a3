"""Appeals (申诉) against a violation, a penalty or a blacklist entry: filed within the
policy's window → under review by someone who did not decide → upheld | overturned (effects
reversed on the standing row at once) | reduced (a lighter step replaces the penalty) |
withdrawn. Every step is in the audit chain.

Rules beyond the issue's text (docs/conduct.md, "Appeals"):

- The window runs from the day the customer learned of the decision: a penalty's notice, a
  case's confirmation (or the notice of one of its penalties, when later), a blacklist entry's
  approval (its proposal while it is only proposed). A notice's own "appeal by" date is
  honoured when it is later than the computed one, so the customer is never held to an
  earlier date than the letter said.
- One open appeal per decision (a database constraint); a decision reviewed on appeal
  (upheld, overturned, reduced) is final, and so is a penalty that replaced another on appeal;
  after a withdrawal the customer may appeal again within the window.
- Overturning a penalty also overturns the blacklist entry it proposed; overturning a case
  overturns its penalties (and their entries) and rescores the customer. Open appeals against
  what is overturned with it are closed as overturned, with a reference to this one.
- Reduced is for a penalty still in force; the lighter step is one whose most severe measure
  ranks lower than the penalty's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from custguard.conduct.models import Appeal, BlacklistEntry, Notice, Penalty, ViolationCase
from custguard.conduct.services import blacklist, effects, penalties
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
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.core.services import audit
from custguard.credit.models import CreditScore
from custguard.credit.services import scoring
from custguard.customers import selectors
from custguard.policy.codes import Measure
from custguard.policy.conduct import appeal_deadline, review_due
from custguard.policy.schema import PenaltyStep, PolicyDocument

Target = ViolationCase | Penalty | BlacklistEntry
OPEN = [Appeal.Status.FILED, Appeal.Status.UNDER_REVIEW]
OUTCOMES = [Appeal.Status.UPHELD, Appeal.Status.OVERTURNED, Appeal.Status.REDUCED]
TARGET_FIELDS = ("case", "penalty", "blacklist_entry")
MODELS: dict[str, type[Target]] = {"case": ViolationCase, "penalty": Penalty,
                                   "blacklist_entry": BlacklistEntry}
APPEALABLE: dict[str, tuple[str, ...]] = {
    "case": (ViolationCase.Status.CONFIRMED,),
    "penalty": (Penalty.Status.NOTIFIED, Penalty.Status.ACTIVE, Penalty.Status.COMPLETED),
    "blacklist_entry": (BlacklistEntry.Status.PROPOSED, BlacklistEntry.Status.ACTIVE),
}
IN_FORCE = (Penalty.Status.NOTIFIED, Penalty.Status.ACTIVE)


# --- the decision appealed --------------------------------------------------------------------


def target_field(target: Target) -> str:
    """The input naming the decision: "case", "penalty" or "blacklist_entry"."""
    if isinstance(target, ViolationCase):
        return "case"
    if isinstance(target, Penalty):
        return "penalty"
    return "blacklist_entry"


def target_of(appeal: Appeal) -> Target:
    target = appeal.case or appeal.penalty or appeal.blacklist_entry
    assert target is not None  # the appeal_one_target constraint
    return target


def _day(moment: dt.datetime | None) -> dt.date | None:
    return timezone.localdate(moment) if moment is not None else None


def learned_on(target: Target) -> dt.date | None:
    """The day the customer learned of the decision: a penalty's notice, a case's
    confirmation, a blacklist entry's approval (its proposal while only proposed)."""
    if isinstance(target, ViolationCase):
        return _day(target.decided_at)
    if isinstance(target, Penalty):
        return _day(target.notified_at or target.approved_at)
    return _day(target.decided_at or target.proposed_at)


def decider_id(target: Target) -> int | None:
    """The person who decided: the case's confirmer, the penalty's approver, the entry's
    approver (nobody for an entry a job proposed and nobody approved yet)."""
    if isinstance(target, ViolationCase):
        return target.decided_by_id
    if isinstance(target, Penalty):
        return target.approved_by_id
    return target.decided_by_id


def window_closes_on(target: Target, document: PolicyDocument | None = None) -> dt.date | None:
    """The last day an appeal may be filed (None: the decision is not made yet)."""
    start = learned_on(target)
    if start is None:
        return None
    if document is None:
        _version, document = policy()
    closes = appeal_deadline(document, start)
    notices = Notice.objects.none()
    if isinstance(target, Penalty):
        notices = Notice.objects.filter(penalty=target)
    elif isinstance(target, ViolationCase):
        notices = Notice.objects.filter(penalty__case=target)
    told = notices.aggregate(last=Max("appeal_deadline"))["last"]
    return max(closes, told) if told is not None else closes


def _check_appealable(target: Target, document: PolicyDocument, day: dt.date) -> dt.date:
    """Refuse a decision that cannot be appealed now; return the window's last day."""
    field = target_field(target)
    if target.status not in APPEALABLE[field]:
        messages = {
            "case": _("only a confirmed violation can be appealed"),
            "penalty": _("only a penalty the customer was notified of can be appealed"),
            "blacklist_entry": _("only a proposed or active blacklist entry can be appealed"),
        }
        raise ValidationFailed(messages[field], field=field)
    if isinstance(target, Penalty) and target.replaces_id is not None:
        raise Conflict(_("this penalty replaced another on appeal: the appeal's decision is "
                         "final"), field=field)
    reviewed = (Appeal.objects.filter(**{field: target}, status__in=OUTCOMES)
                .order_by("-decided_at").first())
    if reviewed is not None:
        raise Conflict(_("this decision was reviewed on appeal #%(n)d (%(outcome)s): that "
                         "decision is final") % {"n": reviewed.pk,
                                                 "outcome": reviewed.get_status_display()},
                       field=field)
    closes = window_closes_on(target, document)
    assert closes is not None  # an appealable decision has been made
    if day > closes:
        raise ValidationFailed(
            _("the appeal window closed on %(day)s (%(n)d days after the customer learned of "
              "the decision on %(start)s)") % {"day": closes.isoformat(),
                                               "n": document.appeals.window_days,
                                               "start": learned_on(target)},
            field=field)
    if Appeal.objects.filter(**{field: target}, status__in=OPEN).exists():
        raise Conflict(_("an appeal against this decision is already open"), field=field)
    return closes


def appeal_refusal(target: Target) -> ValidationFailed | Conflict | None:
    """Why the decision cannot be appealed today (None: it can) — for pages that offer the
    form."""
    _version, document = policy()
    try:
        _check_appealable(target, document, today())
    except (ValidationFailed, Conflict) as error:
        return error
    return None


# --- filing -----------------------------------------------------------------------------------


def file(actor: Actor, target: Target, *, grounds: str,
         channel: str = Appeal.Channel.STAFF) -> Appeal:
    """File an appeal within the policy's window of the customer learning of the decision.
    One open appeal per decision. The caller has scoped the target to the actor."""
    require(actor, "conduct.add_appeal")
    field = target_field(target)
    text = reason_text(grounds, "grounds")
    if channel not in Appeal.Channel.values:
        raise ValidationFailed(_("unknown channel"), field="channel")
    _version, document = policy()
    day = today()
    with audit.deferred_transaction():
        # The decision's row is locked so a concurrent filing (or a change of its state)
        # waits for this one; the partial unique index stays the last word.
        target = MODELS[field].objects.select_for_update(no_key=True).get(pk=target.pk)
        closes = _check_appealable(target, document, day)
        try:
            with transaction.atomic():
                appeal = Appeal.objects.create(
                    customer_id=target.customer_id, **{field: target}, channel=channel,
                    grounds=text, filed_at=clock.now(), filed_by_label=actor.label[:150],
                    review_due_on=review_due(document, day))
        except IntegrityError:  # filed at the same moment by someone else
            raise Conflict(_("an appeal against this decision is already open"),
                           field=field) from None
        audit.record(actor, "conduct.appeal_file", appeal, customer_id=target.customer_id,
                     after={field: target.pk, "status": Appeal.Status.FILED,
                            "channel": channel, "grounds": text,
                            "review_due_on": appeal.review_due_on,
                            "window_closes_on": closes})
    return appeal


# --- reviewing --------------------------------------------------------------------------------


def _who(actor: Actor | User) -> tuple[User | None, bool]:
    if isinstance(actor, Actor):
        return actor.user, actor.can("conduct.review_appeal")
    return actor, actor.has_perm("conduct.review_appeal")


def is_decider(user: User | None, appeal: Appeal) -> bool:
    """Whether `user` made the decision appealed (and so may not review it)."""
    decider = decider_id(target_of(appeal))
    return user is not None and decider is not None and decider == user.pk


def may_review(who: Actor | User, appeal: Appeal) -> bool:
    """Whether `who` may start reviewing or decide this appeal now."""
    user, allowed = _who(who)
    return (allowed and user is not None and appeal.status in OPEN
            and not is_decider(user, appeal))


def _check_reviewer(actor: Actor, appeal: Appeal) -> None:
    require(actor, "conduct.review_appeal")
    if actor.user is None:
        raise PermissionRefused(_("an appeal is reviewed by a person"), field="reviewer")
    if is_decider(actor.user, appeal):
        raise PermissionRefused(_("you decided this yourself: another person must review the "
                                  "appeal"), field="reviewer")


def _locked(appeal: Appeal) -> Appeal:
    # FOR UPDATE OF the appeal only: the decision's row sits on the nullable side of a join.
    return Appeal.objects.select_for_update(of=("self",)).select_related(
        "case", "penalty", "blacklist_entry").get(pk=appeal.pk)


def start_review(actor: Actor, appeal: Appeal) -> Appeal:
    """filed → under review, by the actor."""
    require(actor, "conduct.review_appeal")
    with audit.deferred_transaction():
        appeal = _locked(appeal)
        _check_reviewer(actor, appeal)
        if not moved(Appeal, appeal.pk, Appeal.Status.FILED, Appeal.Status.UNDER_REVIEW,
                     reviewer=actor.user, review_started_at=clock.now()):
            raise refuse_state(_("appeal"), appeal.get_status_display())
        audit.record(actor, "conduct.appeal_review", appeal, customer_id=appeal.customer_id,
                     before={"status": Appeal.Status.FILED},
                     after={"status": Appeal.Status.UNDER_REVIEW,
                            "reviewer": actor.user.pk if actor.user else None})
    return Appeal.objects.get(pk=appeal.pk)


def lighter_steps(penalty: Penalty, document: PolicyDocument | None = None
                  ) -> list[PenaltyStep]:
    """The ladder's steps (of the policy in force) a penalty could be reduced to: those whose
    most severe measure ranks below the penalty's, mildest first."""
    if document is None:
        _version, document = policy()
    current = _severity(penalty)
    return [step for step in document.penalty_ladder if step.severity.rank < current.rank]


def _severity(penalty: Penalty) -> Measure:
    return max((Measure(code) for code in penalty.measures), key=lambda measure: measure.rank)


def decide(actor: Actor, appeal: Appeal, *, outcome: str, note: str,
           lighter_step: str = "") -> Appeal:
    """Decide an appeal under review (or a filed one, which the reviewer takes up at once).
    Overturned: the decision is undone and its effects reversed now. Reduced (penalties still
    in force): the lighter ladder step replaces the penalty."""
    require(actor, "conduct.review_appeal")
    text = reason_text(note, "note")
    if outcome not in OUTCOMES:
        raise ValidationFailed(_("choose upheld, overturned or reduced"), field="outcome")
    with audit.deferred_transaction():
        appeal = _locked(appeal)
        _check_reviewer(actor, appeal)
        if appeal.status not in OPEN:
            raise refuse_state(_("appeal"), appeal.get_status_display())
        previous, previous_reviewer = appeal.status, appeal.reviewer_id
        now = clock.now()
        replacement, overturned = _carry_out(actor, appeal, outcome, text, lighter_step)
        Appeal.objects.filter(pk=appeal.pk).update(
            status=outcome, decided_at=now, decision_note=text, reviewer=actor.user,
            review_started_at=appeal.review_started_at or now, replacement=replacement)
        assert actor.user is not None
        after: dict[str, object] = {"status": outcome, "reviewer": actor.user.pk}
        if replacement is not None:
            after |= {"replacement": replacement.pk, "lighter_step": replacement.step_code}
        audit.record(actor, "conduct.appeal_decide", appeal, customer_id=appeal.customer_id,
                     before={"status": previous, "reviewer": previous_reviewer}, after=after,
                     reason=text)
        _close_moot(actor, appeal, overturned, text)
    return Appeal.objects.get(pk=appeal.pk)


Overturned = tuple[list[int], list[int]]  # penalties, blacklist entries overturned with it


def _carry_out(actor: Actor, appeal: Appeal, outcome: str, note: str,
               lighter_step: str) -> tuple[Penalty | None, Overturned]:
    if outcome == Appeal.Status.UPHELD:
        return None, ([], [])
    if outcome == Appeal.Status.REDUCED:
        return _reduce(actor, appeal, note, lighter_step)
    if appeal.penalty is not None:
        penalties.overturn(actor, appeal.penalty, reason=note)
        return None, ([], _overturn_entries_of(actor, [appeal.penalty.pk], note))
    if appeal.blacklist_entry is not None:
        _overturn_entry(actor, appeal.blacklist_entry, note)
        return None, ([], [])
    assert appeal.case is not None
    return None, _overturn_case(actor, appeal.case, note)


def _reduce(actor: Actor, appeal: Appeal, note: str,
            lighter_step: str) -> tuple[Penalty, Overturned]:
    penalty = appeal.penalty
    if penalty is None:
        raise ValidationFailed(_("only a penalty can be reduced"), field="outcome")
    penalty = Penalty.objects.select_for_update(no_key=True).get(pk=penalty.pk)
    if penalty.status not in IN_FORCE:
        raise ValidationFailed(_("the penalty is %(status)s: a penalty no longer in force can "
                                 "be upheld or overturned, not reduced") % {
            "status": penalty.get_status_display()}, field="outcome")
    version, document = policy()
    code = (lighter_step or "").strip().upper()
    if not code:
        raise ValidationFailed(_("choose the lighter step that replaces the penalty"),
                               field="lighter_step")
    try:
        step = document.penalty_step(code)
    except KeyError:
        raise ValidationFailed(_("%(step)s is not a step of the ladder") % {"step": code},
                               field="lighter_step") from None
    current = _severity(penalty)
    if step.severity.rank >= current.rank:
        raise ValidationFailed(
            _("%(step)s is not lighter than the penalty: its most severe measure is "
              "%(measure)s, the penalty's %(current)s") % {
                "step": step.code, "measure": step.severity.value, "current": current.value},
            field="lighter_step")
    replacement = penalties.replace_with(actor, penalty, step, reason=note, version=version)
    entries: list[int] = []
    if Measure.BLACKLIST_PROPOSAL not in step.measures:
        entries = _overturn_entries_of(actor, [penalty.pk], note)
    return replacement, ([], entries)


def _overturn_entry(actor: Actor, entry: BlacklistEntry, note: str) -> None:
    """An open entry is overturned by the blacklist service; one that ended while the appeal
    was open (expired, lifted) has its record corrected all the same."""
    entry = BlacklistEntry.objects.get(pk=entry.pk)
    if entry.status in (BlacklistEntry.Status.PROPOSED, BlacklistEntry.Status.ACTIVE):
        blacklist.overturn(actor, entry, reason=note)
        return
    ended = (BlacklistEntry.Status.EXPIRED, BlacklistEntry.Status.LIFTED)
    if entry.status not in ended or not moved(BlacklistEntry, entry.pk, entry.status,
                                               BlacklistEntry.Status.OVERTURNED,
                                               end_reason=note):
        raise refuse_state(_("blacklist entry"), entry.get_status_display())
    audit.record(actor, "conduct.blacklist_overturn", entry, customer_id=entry.customer_id,
                 before={"status": entry.status},
                 after={"status": BlacklistEntry.Status.OVERTURNED}, reason=note)
    effects.apply(actor, entry.customer_id, reason=note, context={"blacklist_entry": entry.pk})


def _overturn_entries_of(actor: Actor, penalty_ids: Sequence[int], note: str) -> list[int]:
    """The open blacklist entries these penalties proposed are overturned with them."""
    entries = list(BlacklistEntry.objects.filter(
        penalty_id__in=penalty_ids,
        status__in=[BlacklistEntry.Status.PROPOSED, BlacklistEntry.Status.ACTIVE]))
    for entry in entries:
        blacklist.overturn(actor, entry, reason=note)
    return [entry.pk for entry in entries]


def _overturn_case(actor: Actor, case: ViolationCase, note: str) -> Overturned:
    """The violation did not happen: the case is dismissed, every penalty it brought is
    overturned with it (and the blacklist entries they proposed), and the customer is
    rescored without it."""
    if not moved(ViolationCase, case.pk, ViolationCase.Status.CONFIRMED,
                 ViolationCase.Status.DISMISSED, decision_reason=note):
        raise refuse_state(_("case"), ViolationCase.objects.get(pk=case.pk).get_status_display())
    audit.record(actor, "conduct.case_overturn", case, customer_id=case.customer_id,
                 before={"status": ViolationCase.Status.CONFIRMED},
                 after={"status": ViolationCase.Status.DISMISSED}, reason=note)
    overturned = []
    for penalty in case.penalties.exclude(status__in=[
            Penalty.Status.OVERTURNED, Penalty.Status.REJECTED]).order_by("pk"):
        penalties.overturn(actor, penalty, reason=note)
        overturned.append(penalty.pk)
    entries = _overturn_entries_of(actor, overturned, note)
    effects.apply(actor, case.customer_id, reason=note, context={"case": case.pk})
    scoring.rescore_customers(actor, [case.customer_id], trigger=CreditScore.Trigger.FACT)
    return overturned, entries


def _close_moot(actor: Actor, appeal: Appeal, overturned: Overturned, note: str) -> None:
    """Open appeals against what was overturned along with this decision got what they asked
    for: they are closed as overturned, with a reference to this appeal."""
    penalty_ids, entry_ids = overturned
    if not penalty_ids and not entry_ids:
        return
    now = clock.now()
    moot = (Appeal.objects.filter(status__in=OPEN)
            .filter(Q(penalty_id__in=penalty_ids) | Q(blacklist_entry_id__in=entry_ids))
            .exclude(pk=appeal.pk).order_by("pk"))
    for other in moot:
        if moved(Appeal, other.pk, other.status, Appeal.Status.OVERTURNED, decided_at=now,
                 decision_note=note):
            audit.record(actor, "conduct.appeal_decide", other, customer_id=other.customer_id,
                         before={"status": other.status},
                         after={"status": Appeal.Status.OVERTURNED, "with_appeal": appeal.pk},
                         reason=note)


# --- withdrawing ------------------------------------------------------------------------------


def withdraw(actor: Actor, appeal: Appeal, *, note: str) -> Appeal:
    """The customer withdraws an open appeal (the decision stands; it may appeal again within
    the window)."""
    require(actor, "conduct.add_appeal")
    text = reason_text(note, "note")
    with audit.deferred_transaction():
        for previous in OPEN:
            if moved(Appeal, appeal.pk, previous, Appeal.Status.WITHDRAWN,
                     decided_at=clock.now(), decision_note=text):
                audit.record(actor, "conduct.appeal_withdraw", appeal,
                             customer_id=appeal.customer_id, before={"status": previous},
                             after={"status": Appeal.Status.WITHDRAWN}, reason=text)
                return Appeal.objects.get(pk=appeal.pk)
        raise refuse_state(_("appeal"), Appeal.objects.get(pk=appeal.pk).get_status_display())


# --- reads ------------------------------------------------------------------------------------


def appeals_for(who: User | Actor) -> QuerySet[Appeal]:
    """Appeals of the customers `who` may see (account managers: their own customers')."""
    qs = Appeal.objects.select_related(
        "customer", "case", "case__decided_by", "penalty", "penalty__approved_by",
        "penalty__case", "blacklist_entry", "blacklist_entry__decided_by", "reviewer",
        "replacement")
    if selectors.sees_all_customers(who):
        return qs
    return qs.filter(customer__in=selectors.customers_for(who).values("pk"))


def target_for(who: User | Actor, field: str, pk: object) -> Target | None:
    """A decision of a customer `who` may see, by the input naming it and its id."""
    model = MODELS.get(field)
    if model is None or not str(pk).isdigit() or len(str(pk)) > 18:
        return None
    qs = model.objects.select_related("customer")  # type: ignore[attr-defined]
    if not selectors.sees_all_customers(who):
        qs = qs.filter(customer__in=selectors.customers_for(who).values("pk"))
    found: Target | None = qs.filter(pk=int(str(pk))).first()
    return found


def open_appeals(qs: QuerySet[Appeal] | None = None) -> QuerySet[Appeal]:
    return (qs if qs is not None else Appeal.objects.all()).filter(status__in=OPEN)


def overdue_appeals(qs: QuerySet[Appeal] | None = None,
                    on: dt.date | None = None) -> QuerySet[Appeal]:
    """Open appeals past their review date."""
    return open_appeals(qs).filter(review_due_on__lt=on or today())


def not_overdue(qs: QuerySet[Appeal], on: dt.date | None = None) -> QuerySet[Appeal]:
    return qs.exclude(status__in=OPEN, review_due_on__lt=on or today())


def is_overdue(appeal: Appeal, on: dt.date | None = None) -> bool:
    return appeal.status in OPEN and appeal.review_due_on < (on or today())


def overdue(on: dt.date | None = None) -> list[Appeal]:
    """Open appeals past their review date, the longest overdue first."""
    return list(overdue_appeals(on=on).select_related("customer").order_by("review_due_on",
                                                                         "pk"))


def history(appeal: Appeal) -> QuerySet[AuditEntry]:
    """The appeal's own audit entries, in order."""
    return AuditEntry.objects.filter(object_type="conduct.appeal",
                                     object_id=str(appeal.pk)).order_by("seq")


def decision_history(target: Target) -> QuerySet[AuditEntry]:
    """The audit entries of the decision appealed, in order."""
    return AuditEntry.objects.filter(object_type=target._meta.label_lower,
                                     object_id=str(target.pk)).order_by("seq")
