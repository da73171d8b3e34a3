"""Issuing coupons: one by hand, a batch to many customers, or automatically by a rule.

Every coupon belongs to one customer and gets an unguessable code (12 characters of an alphabet
without 0/O, 1/I: 60 bits from `secrets`). Issuing is idempotent by `key`: the same key returns
the first coupon and writes nothing. The definition's per-customer limit is kept by the
coupon's unique (customer, definition, serial): two issuers racing for the last place cannot
both take it. Refusals name the field and the reason, and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from custguard.core import clock, limits
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.services import audit
from custguard.core.services.policies import policy_in_force
from custguard.customers.models import Customer
from custguard.policy import coupons as rules_of
from custguard.policy.schema import PolicyDocument
from custguard.policy.schema_coupons import CouponDefinition
from custguard.rewards.models import Coupon, CouponBatch

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 12
KEY_MAX = 150
BATCH_MAX = 5000
ATTEMPTS = 3


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _n in range(CODE_LENGTH))


def normalized_code(value: str) -> str:
    """A code as typed or scanned: case, spaces and dashes do not matter."""
    return "".join(ch for ch in str(value).upper() if ch not in " -\t")


def shown(code: str) -> str:
    """The code in groups of four, as printed."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def definition_of(policy: PolicyDocument, code: str,
                  field: str = "definition_code") -> CouponDefinition:
    definition = policy.coupons.definition(str(code).strip())
    if definition is None:
        raise ValidationFailed(_("no coupon definition %(code)s in the policy in force")
                               % {"code": code}, field=field, code="COUPON_UNKNOWN_DEFINITION")
    return definition


def _key(value: str) -> str:
    key = str(value).strip()
    if not key or len(key) > KEY_MAX:
        raise ValidationFailed(_("give the request's key (1 to %(max)s characters)")
                               % {"max": KEY_MAX}, field="key")
    return key


@dataclass(frozen=True)
class _Issue:
    customer_id: int
    definition: CouponDefinition
    version: int
    key: str
    source: str
    rule: str
    batch: CouponBatch | None


class LimitReached(ValidationFailed):
    code = "COUPON_PER_CUSTOMER_LIMIT"


def _create(actor: Actor, spec: _Issue, today: dt.date) -> Coupon:
    """One coupon, inside the caller's transaction; refused (LimitReached, ValidationFailed)
    when the definition says no."""
    definition = spec.definition
    for attempt in range(ATTEMPTS):
        held = (Coupon.objects.filter(customer_id=spec.customer_id,
                                      definition=definition.code)
                .aggregate(last=Max("serial"))["last"] or 0)
        decision = rules_of.may_issue(definition, issued_to_customer=held, day=today)
        if not decision.outcome:
            reason = decision.reasons[0]
            if reason.code == "COUPON_PER_CUSTOMER_LIMIT":
                raise LimitReached(_("at most %(limit)s coupons of %(code)s per customer")
                                   % {"limit": definition.per_customer,
                                      "code": definition.code}, field="customer")
            raise ValidationFailed(_("coupon %(code)s could be used until %(day)s only")
                                   % {"code": definition.code,
                                      "day": definition.validity.valid_until},
                                   field="definition_code", code=reason.code)
        valid_from, valid_until = definition.validity.window(today)
        coupon = Coupon(code=new_code(), definition=definition.code,
                        customer_id=spec.customer_id, serial=held + 1,
                        valid_from=max(valid_from, today), valid_until=valid_until,
                        source=spec.source, rule=spec.rule, batch=spec.batch, key=spec.key,
                        policy_version=spec.version, issued_at=clock.now(),
                        issued_by=actor.label[:150])
        try:
            with transaction.atomic():
                coupon.save(force_insert=True)
        except IntegrityError:
            # Someone took this serial (or, once in 2^60, this code) first: count again.
            if Coupon.objects.filter(key=spec.key).exists() or attempt == ATTEMPTS - 1:
                raise
            continue
        audit.record(actor, "rewards.coupon_issue", coupon, customer_id=spec.customer_id,
                     after={"code": coupon.code, "definition": definition.code,
                            "source": spec.source, "rule": spec.rule,
                            "valid_from": coupon.valid_from,
                            "valid_until": coupon.valid_until,
                            "batch": spec.batch.pk if spec.batch else None,
                            "policy_version": spec.version})
        return coupon
    raise AssertionError("unreachable")


def _replay(key: str, customer_id: int, definition_code: str) -> Coupon | None:
    existing = Coupon.objects.filter(key=key).first()
    if existing is None:
        return None
    if (existing.customer_id, existing.definition) != (customer_id, definition_code):
        raise Conflict(_("key %(key)s was used before for another customer or coupon")
                       % {"key": key}, field="key")
    return existing


def issue(actor: Actor, *, customer: Customer, definition_code: str, key: str,
          source: str = Coupon.Source.MANUAL, rule: str = "") -> Coupon:
    """Issue one coupon of `definition_code` to `customer` (already scoped to the actor)."""
    if not actor.can("rewards.issue_coupon"):
        raise PermissionRefused(_("your role may not issue coupons"))
    key = _key(key)
    version, policy = policy_in_force()
    definition = definition_of(policy, definition_code)
    replay = _replay(key, customer.pk, definition.code)
    if replay is not None:
        return replay
    try:
        with audit.deferred_transaction():
            return _create(actor, _Issue(customer.pk, definition, version, key, source, rule,
                                         None), clock.today())
    except IntegrityError:
        replay = _replay(key, customer.pk, definition.code)
        if replay is None:
            raise
        return replay


def issue_automatic(actor: Actor, *, customer_id: int, definition_code: str, rule: str,
                    key: str) -> Coupon | None:
    """Issue a coupon for a rule (welcome, anniversary, tier reached, win-back): idempotent by
    key; None when the definition's limits refuse (the refusal is audited). Runs in the
    caller's transaction when there is one (a tier move)."""
    key = _key(key)
    version, policy = policy_in_force()
    definition = definition_of(policy, definition_code)
    replay = _replay(key, customer_id, definition.code)
    if replay is not None:
        return replay
    spec = _Issue(customer_id, definition, version, key, Coupon.Source.RULE,
                  limits.bounded(rule, 64, "rule"), None)
    try:
        with transaction.atomic():
            return _create(actor, spec, clock.today())
    except ValidationFailed as refused:
        with transaction.atomic():
            audit.record(actor, "rewards.coupon_issue_refused", object_type="rewards.coupon",
                         object_id=key, customer_id=customer_id,
                         after={"definition": definition.code, "rule": rule,
                                "reason": refused.code})
        return None


def issue_batch(actor: Actor, *, customers: Sequence[Customer], definition_code: str,
                key: str, note: str = "") -> CouponBatch:
    """One coupon of the definition to each customer, all or nothing. A customer already at
    the definition's per-customer limit refuses the whole batch, naming it."""
    if not actor.can("rewards.issue_coupon"):
        raise PermissionRefused(_("your role may not issue coupons"))
    key = _key(key)
    text = limits.bounded(note, limits.NOTE, "note")
    version, policy = policy_in_force()
    definition = definition_of(policy, definition_code)
    existing = CouponBatch.objects.filter(key=key).first()
    if existing is not None:
        return existing
    unique = list({customer.pk: customer for customer in customers}.values())
    if not unique:
        raise ValidationFailed(_("choose at least one customer"), field="customers")
    if len(unique) > BATCH_MAX:
        raise ValidationFailed(_("at most %(max)s customers in one batch")
                               % {"max": BATCH_MAX}, field="customers")
    today = clock.today()
    with audit.deferred_transaction():
        batch = CouponBatch.objects.create(definition=definition.code, count=len(unique),
                                           policy_version=version, note=text, key=key,
                                           created_at=clock.now(),
                                           created_by=actor.label[:150])
        for customer in unique:
            try:
                _create(actor, _Issue(customer.pk, definition, version,
                                      f"{key}:{customer.pk}", Coupon.Source.BATCH, "",
                                      batch), today)
            except LimitReached:
                raise ValidationFailed(
                    _("customer %(code)s holds %(limit)s coupons of %(definition)s already")
                    % {"code": customer.code, "limit": definition.per_customer,
                       "definition": definition.code},
                    field="customers", code="COUPON_PER_CUSTOMER_LIMIT") from None
        audit.record(actor, "rewards.coupon_batch", batch,
                     after={"definition": definition.code, "count": len(unique),
                            "policy_version": version}, reason=text)
    return batch


def revoke(actor: Actor, coupon: Coupon, *, reason: str) -> Coupon:
    """Withdraw an unused coupon."""
    if not actor.can("rewards.issue_coupon"):
        raise PermissionRefused(_("your role may not revoke coupons"))
    text = limits.bounded(reason, limits.REASON, "reason")
    if not text:
        raise ValidationFailed(_("say why the coupon is revoked"), field="reason")
    with audit.deferred_transaction():
        if not Coupon.objects.filter(pk=coupon.pk, status=Coupon.Status.ISSUED).update(
                status=Coupon.Status.REVOKED, ended_at=clock.now()):
            current = Coupon.objects.get(pk=coupon.pk)
            raise Conflict(_("the coupon is %(status)s") % {
                "status": current.get_status_display()}, field="status")
        audit.record(actor, "rewards.coupon_revoke", coupon, customer_id=coupon.customer_id,
                     before={"status": Coupon.Status.ISSUED},
                     after={"status": Coupon.Status.REVOKED}, reason=text)
    return Coupon.objects.get(pk=coupon.pk)


def expire_due(actor: Actor, today: dt.date | None = None) -> int:
    """Unused coupons past their last day become EXPIRED (one conditional UPDATE each, so a
    second run or a concurrent one expires nothing twice)."""
    day = today or clock.today()
    expired = 0
    for pk, customer_id in list(Coupon.objects.filter(
            status=Coupon.Status.ISSUED, valid_until__lt=day).values_list("pk", "customer_id")):
        with transaction.atomic():
            if Coupon.objects.filter(pk=pk, status=Coupon.Status.ISSUED).update(
                    status=Coupon.Status.EXPIRED, ended_at=clock.now()):
                audit.record(actor, "rewards.coupon_expire", object_type="rewards.coupon",
                             object_id=pk, customer_id=customer_id,
                             before={"status": Coupon.Status.ISSUED},
                             after={"status": Coupon.Status.EXPIRED})
                expired += 1
    return expired
