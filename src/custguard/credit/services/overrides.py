"""Manual credit overrides: a credit manager sets a customer's limit and/or payment terms, or a
group's unified limit (集团统一授信), with a reason and an end date.

    request ──(at or below the threshold)──────────────► active ──► expired | revoked
       │                                                   ▲
       └──(above it)──► pending ──(a second person)── approve
                           └──► rejected | revoked (withdrawn) | expired

- A second person must approve an override whose credit limit is above the policy's
  `credit.override_approval_threshold`, or whose payment terms are longer than any grade of
  the policy earns (the longest terms a grade gives); the approver may not be the requester.
- `expires_on` is the first day the override no longer applies: it must lie after today and at
  most one year ahead. `expire_overrides()` (a daily job) ends active and pending overrides
  whose day has come; run again, it changes nothing.
- Activating an override ends the target's earlier active one (revoked, superseded) and
  changes the standing row in the same transaction: for a customer, `credit_limit`,
  `payment_terms_days`, `prepay_only` (a manual limit lifts the grade's prepay-only rule) and
  the `*_overridden` flags, exactly as rescoring computes them (`scoring.effective_terms`), so
  later rescoring keeps honouring the override; for a group, `credit_limit` and `has_limit`.
  When it ends, a customer gets the terms of its latest score back, a group loses its limit.

Every write locks the target's standing row first, then the override rows (the same order
everywhere, and the order rescoring uses), so concurrent decisions queue instead of deadlocking,
and each step is audited with before and after.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from custguard.core import clock, limits
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.services import audit
from custguard.core.services.policies import policy_in_force
from custguard.credit.models import CreditOverride, CreditScore
from custguard.credit.services import scoring
from custguard.customers.models import Customer, CustomerGroup, GroupStanding, Standing
from custguard.policy.schema import PolicyDocument

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_LIMIT = Decimal("99999999999999.99")  # what the money columns hold
MAX_TERMS_DAYS = 3650  # as a policy's grade terms
MAX_REASON = limits.REASON
Status = CreditOverride.Status
CUSTOMER_STANDING_FIELDS = ["credit_limit", "payment_terms_days", "prepay_only",
                            "limit_overridden", "terms_overridden"]


# --- checks -----------------------------------------------------------------------------------


def _require(actor: Actor, perm: str, message: str) -> None:
    if not actor.can(perm):
        raise PermissionRefused(message)


def clean_limit(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_("credit_limit must be a number"), field="credit_limit") from None
    if not amount.is_finite() or amount < 0:
        raise ValidationFailed(_("credit_limit must not be negative"), field="credit_limit")
    if amount != amount.quantize(CENT):
        raise ValidationFailed(_("credit_limit must have at most two decimal places"),
                               field="credit_limit")
    if amount > MAX_LIMIT:
        raise ValidationFailed(_("credit_limit is too large"), field="credit_limit")
    return amount.quantize(CENT)


def clean_terms(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationFailed(_("payment_terms_days must be a whole number of days"),
                               field="payment_terms_days")
    try:
        days = int(str(value).strip())
    except ValueError:
        raise ValidationFailed(_("payment_terms_days must be a whole number of days"),
                               field="payment_terms_days") from None
    if not 0 <= days <= MAX_TERMS_DAYS:
        raise ValidationFailed(_("payment_terms_days must be between 0 and %(max)s") % {
            "max": MAX_TERMS_DAYS}, field="payment_terms_days")
    return days


def _clean_text(value: str | None, field: str) -> str:
    """A request's `reason` or a decision's `note`: required, at most MAX_REASON characters."""
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(_("a reason is required") if field == "reason"
                               else _("a note is required"), field=field)
    if len(text) > MAX_REASON:
        message = (_("the reason is longer than %(max)s characters") if field == "reason"
                   else _("the note is longer than %(max)s characters"))
        raise ValidationFailed(message % {"max": MAX_REASON}, field=field)
    return text


def one_year_after(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def clean_expiry(value: object, today: dt.date) -> dt.date:
    if value is None or value == "":
        raise ValidationFailed(_("expires_on is required"), field="expires_on")
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationFailed(_("expires_on must be a date (YYYY-MM-DD)"),
                                   field="expires_on") from None
    if value <= today:
        raise ValidationFailed(_("expires_on must be after today"), field="expires_on")
    latest = one_year_after(today)
    if value > latest:
        raise ValidationFailed(_("an override may last at most one year: expires_on must be "
                                 "on or before %(latest)s") % {"latest": latest.isoformat()},
                               field="expires_on")
    return value


def approval_needed(policy: PolicyDocument, credit_limit: Decimal | None,
                    payment_terms_days: int | None) -> bool:
    """Above the policy's threshold, or longer terms than any grade earns: two people."""
    if credit_limit is not None and credit_limit > policy.credit.override_approval_threshold:
        return True
    longest = max(band.payment_terms_days for band in policy.grades)
    return payment_terms_days is not None and payment_terms_days > longest


# --- what the audit shows ---------------------------------------------------------------------


def _target_label(override: CreditOverride) -> dict[str, Any]:
    if override.customer_id is not None:
        return {"customer": override.customer.code}
    return {"group": override.group.name, "group_id": override.group_id}


def _customer_of(override: CreditOverride) -> int | None:
    """The customer an override's audit entries belong to (a group's: its parent)."""
    if override.customer_id is not None:
        return override.customer_id
    return override.group.parent_id


def _record(actor: Actor, action: str, override: CreditOverride, *, before: dict[str, Any],
            after: dict[str, Any], reason: str = "") -> None:
    audit.record(actor, action, override, customer_id=_customer_of(override),
                 before=before or None, after=_target_label(override) | after, reason=reason)


# --- locking and applying ---------------------------------------------------------------------


def _lock_target(override: CreditOverride) -> Standing | GroupStanding:
    if override.customer_id is not None:
        return Standing.objects.select_for_update().get(pk=override.customer_id)
    return GroupStanding.objects.select_for_update().get(pk=override.group_id)


def _lock(override: CreditOverride) -> tuple[Standing | GroupStanding, CreditOverride]:
    """The target's standing row, then the override itself, both locked and fresh."""
    row = _lock_target(override)
    fresh = (CreditOverride.objects.select_for_update(of=("self",))
             .select_related("customer", "group").get(pk=override.pk))
    return row, fresh


def _set_customer_terms(actor: Actor, override: CreditOverride, standing: Standing,
                        active: CreditOverride | None, reason: str) -> None:
    """Write the customer's effective terms (with `active`, or computed only) and audit."""
    latest = scoring.latest_score(standing.pk)
    if latest is None:
        # Never scored: score it now; rescoring applies the active override itself.
        scoring.rescore_customers(actor, [standing.pk], trigger=CreditScore.Trigger.MANUAL)
        standing.refresh_from_db()
        return
    before = {name: getattr(standing, name) for name in CUSTOMER_STANDING_FIELDS}
    values = scoring.effective_terms(scoring.ComputedTerms.of(latest), active,
                                     scoring.StandingTerms.of(standing))
    for name, value in values.items():
        setattr(standing, name, value)
    standing.updated_at = clock.now()
    standing.save(update_fields=[*CUSTOMER_STANDING_FIELDS, "updated_at"])
    changed_before, changed_after = audit.changes(standing, CUSTOMER_STANDING_FIELDS, before)
    if changed_after:
        audit.record(actor, "credit.override_apply", standing,
                     customer_id=standing.pk, before=changed_before,
                     after=changed_after | {"override": override.pk}, reason=reason)


def _set_group_limit(actor: Actor, override: CreditOverride, row: GroupStanding,
                     active: CreditOverride | None, reason: str) -> None:
    before = {"credit_limit": row.credit_limit, "has_limit": row.has_limit}
    if active is not None:
        assert active.credit_limit is not None
        row.credit_limit, row.has_limit = active.credit_limit, True
    else:
        row.credit_limit, row.has_limit = ZERO, False
    row.updated_at = clock.now()
    row.save(update_fields=["credit_limit", "has_limit", "updated_at"])
    changed_before, changed_after = audit.changes(row, ["credit_limit", "has_limit"], before)
    if changed_after:
        audit.record(actor, "credit.override_apply", row, customer_id=_customer_of(override),
                     before=changed_before, after=changed_after | {"override": override.pk},
                     reason=reason)


def _apply(actor: Actor, override: CreditOverride, row: Standing | GroupStanding,
           active: CreditOverride | None, reason: str) -> None:
    if isinstance(row, Standing):
        _set_customer_terms(actor, override, row, active, reason)
    else:
        _set_group_limit(actor, override, row, active, reason)


def _same_target(override: CreditOverride) -> Q:
    if override.customer_id is not None:
        return Q(customer_id=override.customer_id)
    return Q(group_id=override.group_id)


def _activate(actor: Actor, override: CreditOverride, row: Standing | GroupStanding) -> None:
    """Make `override` (locked, with its target row locked) the one in force."""
    now = clock.now()
    for earlier in (CreditOverride.objects.select_for_update()
                    .filter(_same_target(override), status=Status.ACTIVE)
                    .exclude(pk=override.pk).order_by("pk")):
        earlier.status, earlier.ended_at = Status.REVOKED, now
        earlier.save(update_fields=["status", "ended_at"])
        audit.record(actor, "credit.override_supersede", earlier,
                     customer_id=_customer_of(override),
                     before={"status": Status.ACTIVE}, after={"status": Status.REVOKED,
                                                             "superseded_by": override.pk},
                     reason=_("superseded by override #%(pk)s") % {"pk": override.pk})
    override.status = Status.ACTIVE
    override.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    _apply(actor, override, row, override, _("override #%(pk)s in force") % {"pk": override.pk})


def _end(actor: Actor, override: CreditOverride, row: Standing | GroupStanding,
         status: str, reason: str) -> None:
    """End `override` (locked); if it was in force, its target gets the computed terms back."""
    was = override.status
    override.status, override.ended_at = status, clock.now()
    override.save(update_fields=["status", "ended_at", "decided_by", "decided_at",
                                 "decision_note"])
    if was == Status.ACTIVE:
        _apply(actor, override, row, None, reason)


# --- the actions ------------------------------------------------------------------------------


def request_override(actor: Actor, *, customer: Customer | None = None,
                     group: CustomerGroup | None = None, credit_limit: object = None,
                     payment_terms_days: object = None, reason: str = "",
                     expires_on: object = None) -> CreditOverride:
    """Ask for a manual limit and/or terms of a customer, or a unified limit of a group (the
    target already scoped to what the actor may see). In force at once unless a second
    person's approval is needed."""
    _require(actor, "credit.add_creditoverride",
             _("your role may not request credit overrides"))
    if (customer is None) == (group is None):
        raise ValidationFailed(_("give either a customer or a group"), field="customer")
    limit = clean_limit(credit_limit)
    terms = clean_terms(payment_terms_days)
    if group is not None:
        if terms is not None:
            raise ValidationFailed(_("a group has a unified limit, not payment terms: set the "
                                     "terms on its members"), field="payment_terms_days")
        if limit is None:
            raise ValidationFailed(_("a group override needs its credit_limit"),
                                   field="credit_limit")
    elif limit is None and terms is None:
        raise ValidationFailed(_("give a credit_limit, payment_terms_days or both"),
                               field="credit_limit")
    text = _clean_text(reason, "reason")
    today = clock.today()
    expiry = clean_expiry(expires_on, today)
    _version, policy = policy_in_force()
    needs = approval_needed(policy, limit, terms)
    with transaction.atomic():
        override = CreditOverride(customer=customer, group=group, credit_limit=limit,
                                  payment_terms_days=terms, reason=text, expires_on=expiry,
                                  status=Status.PENDING, needs_approval=needs,
                                  requested_by=actor.user, requested_at=clock.now())
        row = _lock_target(override)
        waiting = CreditOverride.objects.filter(_same_target(override),
                                                status=Status.PENDING).first()
        if waiting is not None:
            message = (_("override #%(pk)s for the same customer is already awaiting "
                         "approval: approve, reject or withdraw it first") if customer else
                       _("override #%(pk)s for the same group is already awaiting approval: "
                         "approve, reject or withdraw it first"))
            raise Conflict(message % {"pk": waiting.pk},
                           field="customer" if customer else "group")
        override.save(force_insert=True)
        _record(actor, "credit.override_request", override, before={}, after={
            "credit_limit": limit, "payment_terms_days": terms, "expires_on": expiry,
            "needs_approval": needs, "status": override.status}, reason=text)
        if not needs:
            _activate(actor, override, row)
    return override


def _decider(actor: Actor, override: CreditOverride) -> None:
    _require(actor, "credit.approve_creditoverride",
             _("your role may not decide on credit overrides"))
    if actor.user is None:
        raise PermissionRefused(_("an override is approved or rejected by a person"))
    if override.requested_by_id is not None and override.requested_by_id == actor.user.pk:
        raise PermissionRefused(_("you requested this override: another person must decide "
                                  "on it"), field="override")


def _must_be(override: CreditOverride, *statuses: str) -> None:
    if override.status not in statuses:
        raise Conflict(_("override #%(pk)s is %(status)s") % {
            "pk": override.pk, "status": str(override.get_status_display()).lower()},
            field="status")


def approve_override(actor: Actor, override: CreditOverride, *,
                     note: str = "") -> CreditOverride:
    """A second person approves a pending override: it comes into force."""
    _decider(actor, override)
    with transaction.atomic():
        row, override = _lock(override)
        _must_be(override, Status.PENDING)
        if override.expires_on <= clock.today():
            raise Conflict(_("override #%(pk)s expired on %(day)s: request a new one") % {
                "pk": override.pk, "day": override.expires_on.isoformat()}, field="expires_on")
        override.decided_by, override.decided_at = actor.user, clock.now()
        override.decision_note = (note or "").strip()[:MAX_REASON]
        _record(actor, "credit.override_approve", override, before={"status": Status.PENDING},
                after={"status": Status.ACTIVE, "credit_limit": override.credit_limit,
                       "payment_terms_days": override.payment_terms_days},
                reason=override.decision_note)
        _activate(actor, override, row)
    return override


def reject_override(actor: Actor, override: CreditOverride, *, note: str) -> CreditOverride:
    """A second person turns a pending override down; a note says why."""
    _decider(actor, override)
    text = _clean_text(note, "note")
    with transaction.atomic():
        row, override = _lock(override)
        _must_be(override, Status.PENDING)
        override.decided_by, override.decided_at = actor.user, clock.now()
        override.decision_note = text
        _end(actor, override, row, Status.REJECTED, text)
        _record(actor, "credit.override_reject", override, before={"status": Status.PENDING},
                after={"status": Status.REJECTED}, reason=text)
    return override


def revoke_override(actor: Actor, override: CreditOverride, *, reason: str) -> CreditOverride:
    """End an override in force (its target gets the computed terms back), or withdraw one
    that is still waiting."""
    _require(actor, "credit.add_creditoverride", _("your role may not revoke credit overrides"))
    text = _clean_text(reason, "reason")
    with transaction.atomic():
        row, override = _lock(override)
        _must_be(override, Status.PENDING, Status.ACTIVE)
        was = override.status
        _end(actor, override, row, Status.REVOKED, text)
        _record(actor, "credit.override_revoke", override, before={"status": was},
                after={"status": Status.REVOKED}, reason=text)
    return override


def due_to_expire(today: dt.date) -> Iterable[CreditOverride]:
    return (CreditOverride.objects.filter(status__in=[Status.PENDING, Status.ACTIVE],
                                          expires_on__lte=today)
            .select_related("customer", "group").order_by("pk"))


def expire_overrides(actor: Actor, today: dt.date | None = None) -> int:
    """End every pending or active override whose `expires_on` has come (a daily job). Each in
    its own transaction; one already ended (by an earlier run or a person) is left alone, so a
    second run changes nothing. Returns how many were ended."""
    _require(actor, "credit.add_creditoverride", _("your role may not expire credit overrides"))
    today = today or clock.today()
    ended = 0
    for candidate in list(due_to_expire(today)):
        with transaction.atomic():
            row, override = _lock(candidate)
            if override.status not in (Status.PENDING, Status.ACTIVE) or \
                    override.expires_on > today:
                continue
            was = override.status
            reason = _("expired on %(day)s") % {"day": override.expires_on.isoformat()}
            _end(actor, override, row, Status.EXPIRED, reason)
            _record(actor, "credit.override_expire", override, before={"status": was},
                    after={"status": Status.EXPIRED}, reason=reason)
            ended += 1
    return ended


# The short names the credit module's callers use.
request = request_override
approve = approve_override
reject = reject_override
revoke = revoke_override
