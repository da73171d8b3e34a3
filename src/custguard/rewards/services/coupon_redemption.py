"""Using coupons on orders: redeem (alone, or with the order gate in one call), release when the
order is cancelled, convert when it is invoiced.

A redemption is identified like the gate's reservation by the order's (source, external_id);
posting it again returns the first answer and writes nothing. Exactly once: the coupon moves
ISSUED → REDEEMED with one conditional UPDATE and the definition's counter rises with another
(`… WHERE redeemed < total_limit`), so of two orders racing for the last use one wins and the
other is refused with COUPON_ALREADY_USED / COUPON_USED_UP and nothing written (PostgreSQL
re-checks the WHERE after the winner commits; SQLite's IMMEDIATE transactions serialize).

Gate + coupon: the gate decides on the amount after the discount; the coupon is redeemed only
when the gate reserves credit (ALLOW), in the same transaction. A held or denied order keeps
its coupon. A cancelled, expired or invoiced reservation releases or converts the redemption
through `credit.hooks.on_reservation_ended`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from custguard.core import clock, limits
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from custguard.core.services import audit
from custguard.core.services.policies import policy_in_force
from custguard.core.transactions import atomic_with_retry
from custguard.credit import reasons as reason_texts
from custguard.credit.models import Reservation
from custguard.credit.services import gate
from custguard.customers.models import Customer, Standing
from custguard.ledger.models import Invoice
from custguard.policy import coupons as rules_of
from custguard.policy.decisions import Decision, Reason
from custguard.policy.gate import GateOutcome
from custguard.policy.schema import PolicyDocument
from custguard.policy.schema_coupons import CouponDefinition
from custguard.rewards import reasons as reason_words
from custguard.rewards.models import Coupon, CouponCounter, CouponRedemption
from custguard.rewards.services.coupon_issuing import normalized_code

CENT = Decimal("0.01")
MAX_CATEGORIES = 50


class CouponRefused(ValidationFailed):
    """The coupon does not apply; `reasons` holds every refusal."""

    def __init__(self, reasons: Sequence[Reason], field: str = "coupon_code") -> None:
        text = "; ".join(reason_texts.describe(reason.as_dict()) for reason in reasons)
        super().__init__(text, field=field, code=reasons[0].code)
        self.reasons = tuple(reasons)


def clean_categories(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise ValidationFailed(_("give a list of category codes"), field="categories")
    if len(value) > MAX_CATEGORIES:
        raise ValidationFailed(_("at most %(max)s categories") % {"max": MAX_CATEGORIES},
                               field="categories")
    cleaned = []
    for item in value:
        text = str(item).strip().upper()
        if not text or len(text) > 64:
            raise ValidationFailed(_("a category code has 1 to 64 characters"),
                                   field="categories")
        cleaned.append(text)
    return tuple(cleaned)


def find_coupon(code: str, *, field: str = "coupon_code") -> Coupon:
    coupon = Coupon.objects.filter(code=normalized_code(code)[:20]).first()
    if coupon is None:
        raise ValidationFailed(str(reason_words.COUPON_TEMPLATES["COUPON_UNKNOWN"]),
                               field=field, code="COUPON_UNKNOWN")
    return coupon


def _facts(customer_id: int, policy: PolicyDocument) -> rules_of.CustomerFacts:
    standing = Standing.objects.filter(pk=customer_id).values(
        "tier", "grade", "value_segment").first() or {}
    return rules_of.CustomerFacts(
        tier=standing.get("tier") or policy.membership.entry.code,
        grade=standing.get("grade") or "", value_segment=standing.get("value_segment") or "",
        orders_so_far=Invoice.objects.filter(customer_id=customer_id).count())


def _counted(definition_code: str) -> int:
    row = CouponCounter.objects.filter(pk=definition_code).values_list("redeemed",
                                                                       flat=True).first()
    return row or 0


def evaluate(coupon: Coupon, customer: Customer, amount: Decimal,
             categories: tuple[str, ...], policy: PolicyDocument,
             today: dt.date | None = None,
             ) -> tuple[CouponDefinition | None, Decision[rules_of.CouponValue]]:
    """The decision for using `coupon` on an order of `customer` (no write)."""
    if coupon.customer_id != customer.pk:
        return None, Decision(rules_of.CouponValue(False, Decimal("0.00"), "", ""),
                              (Reason("COUPON_FOREIGN", {}),))
    definition = policy.coupons.definition(coupon.definition)
    if definition is None:
        return None, Decision(rules_of.CouponValue(False, Decimal("0.00"), "", ""),
                              (Reason("COUPON_DEFINITION_GONE", {}),))
    state = rules_of.CouponState(status=coupon.status, valid_from=coupon.valid_from,
                                 valid_until=coupon.valid_until,
                                 redeemed_of_definition=_counted(definition.code))
    order = rules_of.OrderFacts(amount=amount, categories=categories,
                                day=today or clock.today())
    return definition, rules_of.decide_coupon(definition, state, _facts(customer.pk, policy),
                                              order)


def _claim(coupon: Coupon, definition: CouponDefinition) -> None:
    """Take the coupon's use and a place under the definition's total limit, or refuse."""
    if not Coupon.objects.filter(pk=coupon.pk, status=Coupon.Status.ISSUED).update(
            status=Coupon.Status.REDEEMED):
        raise CouponRefused([Reason("COUPON_ALREADY_USED", {})])
    CouponCounter.objects.bulk_create([CouponCounter(definition=definition.code)],
                                      ignore_conflicts=True)
    counter = CouponCounter.objects.filter(pk=definition.code)
    if definition.total_limit is not None:
        counter = counter.filter(redeemed__lt=definition.total_limit)
    if not counter.update(redeemed=F("redeemed") + 1):
        raise CouponRefused([Reason("COUPON_USED_UP", {"limit": definition.total_limit or 0})])


def _give_back(redemption: CouponRedemption) -> None:
    Coupon.objects.filter(pk=redemption.coupon_id, status=Coupon.Status.REDEEMED).update(
        status=Coupon.Status.ISSUED)
    CouponCounter.objects.filter(pk=redemption.definition, redeemed__gt=0).update(
        redeemed=F("redeemed") - 1)


def _payable(amount: Decimal, discount: Decimal) -> tuple[Decimal, Decimal]:
    """The discount and what is left to pay; a coupon never takes an order to nothing (the gate
    needs an amount), so at most all but one cent comes off."""
    discount = min(discount, amount - CENT)
    return discount, amount - discount


def _record(actor: Actor, coupon: Coupon, customer: Customer, amount: Decimal,
            discount: Decimal, decision: Decision[rules_of.CouponValue], version: int,
            source: str, external_id: str, gate_outcome: str) -> CouponRedemption:
    redemption = CouponRedemption.objects.create(
        coupon=coupon, customer=customer, definition=coupon.definition, source=source,
        external_id=external_id, amount=amount, discount=discount,
        reasons=[reason.as_dict() for reason in decision.reasons],
        gate_outcome=gate_outcome, policy_version=version, redeemed_at=clock.now(),
        redeemed_by=actor.label[:150])
    audit.record(actor, "rewards.coupon_redeem", redemption, customer_id=customer.pk,
                 before={"status": Coupon.Status.ISSUED},
                 after={"coupon": coupon.code, "status": Coupon.Status.REDEEMED,
                        "amount": amount, "discount": discount, "source": source,
                        "external_id": external_id, "gate_outcome": gate_outcome,
                        "policy_version": version})
    return redemption


def _replayed(existing: CouponRedemption, coupon: Coupon, amount: Decimal) -> CouponRedemption:
    if existing.coupon_id != coupon.pk or existing.amount != amount:
        raise Conflict(_("order %(source)s/%(id)s used a coupon before with other values")
                       % {"source": existing.source, "id": existing.external_id},
                       field="external_id")
    return existing


# --- a redemption on its own ------------------------------------------------------------------


def redeem(actor: Actor, *, code: str, customer: Customer, amount: object,
           categories: object = None, source: str, external_id: str,
           ) -> tuple[CouponRedemption, bool]:
    """Use the coupon on an order without the gate. Returns the redemption and whether it was
    created (False: the same order was posted before)."""
    if not actor.can("rewards.redeem_coupon"):
        raise PermissionRefused(_("your role may not redeem coupons"))
    value = gate.clean_amount(amount)
    source, external_id = gate.clean_identity(source, external_id, required=True)
    kinds = clean_categories(categories)
    coupon = find_coupon(code)
    existing = CouponRedemption.objects.filter(source=source, external_id=external_id).first()
    if existing is not None:
        return _replayed(existing, coupon, value), False

    def work() -> CouponRedemption:
        version, policy = policy_in_force()
        definition, decision = evaluate(coupon, customer, value, kinds, policy)
        if definition is None or not decision.outcome.applies:
            raise CouponRefused(decision.reasons)
        discount, _rest = _payable(value, decision.outcome.discount)
        _claim(coupon, definition)
        return _record(actor, coupon, customer, value, discount, decision, version, source,
                       external_id, "")

    try:
        return atomic_with_retry(work), True
    except IntegrityError:
        existing = CouponRedemption.objects.filter(source=source,
                                                   external_id=external_id).first()
        if existing is None:
            raise
        return _replayed(existing, coupon, value), False


# --- the gate and the coupon in one call ------------------------------------------------------


@dataclass(frozen=True)
class GateWithCoupon:
    answer: gate.GateAnswer
    customer: Customer
    coupon: Coupon
    amount: Decimal  # the order before the discount
    discount: Decimal
    reasons: tuple[Reason, ...]
    redemption: CouponRedemption | None  # None: the gate did not accept, the coupon is unused
    replayed: bool


def check_with_coupon(actor: Actor, customer: Customer, amount: object, *, coupon_code: str,
                      categories: object = None, source: str,
                      external_id: str) -> GateWithCoupon:
    """Run the gate on the order after the coupon's discount and redeem the coupon when the
    gate reserves the credit, in one transaction. Refused with the coupon's reasons (field
    coupon_code) when it does not apply, and nothing is written."""
    if not (actor.can("rewards.redeem_coupon") and actor.can("credit.check_gate")):
        raise PermissionRefused(_("your role may not redeem coupons at the order gate"))
    value = gate.clean_amount(amount)
    source, external_id = gate.clean_identity(source, external_id, required=True)
    kinds = clean_categories(categories)
    coupon = find_coupon(coupon_code)
    existing = CouponRedemption.objects.filter(source=source, external_id=external_id).first()
    if existing is not None:
        return _replay_with_gate(actor, _replayed(existing, coupon, value), coupon, customer)

    def work() -> GateWithCoupon:
        version, policy = policy_in_force()
        definition, decision = evaluate(coupon, customer, value, kinds, policy)
        if definition is None or not decision.outcome.applies:
            raise CouponRefused(decision.reasons)
        discount, payable = _payable(value, decision.outcome.discount)
        answer = gate.check(actor, customer, payable, reserve=True, source=source,
                            external_id=external_id)
        reserved = (answer.reservation is not None
                    and answer.reservation.status == Reservation.Status.PENDING
                    and answer.check.outcome == GateOutcome.ALLOW.value)
        if not reserved:
            refusal = Reason("COUPON_GATE_REFUSED", {"outcome": answer.check.outcome})
            return GateWithCoupon(answer, customer, coupon, value, discount,
                                  (refusal, *decision.reasons), None, answer.replayed)
        _claim(coupon, definition)  # losing the race here rolls the reservation back too
        redemption = _record(actor, coupon, customer, value, discount, decision, version,
                             source, external_id, answer.check.outcome)
        return GateWithCoupon(answer, customer, coupon, value, discount, decision.reasons,
                              redemption, False)

    try:
        return atomic_with_retry(work)
    except IntegrityError:
        existing = CouponRedemption.objects.filter(source=source,
                                                   external_id=external_id).first()
        if existing is None:
            raise
        return _replay_with_gate(actor, _replayed(existing, coupon, value), coupon, customer)


def _replay_with_gate(actor: Actor, redemption: CouponRedemption, coupon: Coupon,
                      customer: Customer) -> GateWithCoupon:
    answer = gate.check(actor, customer, redemption.amount - redemption.discount,
                        reserve=True, source=redemption.source,
                        external_id=redemption.external_id)
    stored = tuple(Reason(item["code"], item.get("params", {}))
                   for item in redemption.reasons)
    return GateWithCoupon(answer, customer, coupon, redemption.amount, redemption.discount,
                          stored, redemption, True)


# --- after the order --------------------------------------------------------------------------


def _end(actor: Actor, redemption: CouponRedemption, status: str, action: str,
         reason: str = "") -> bool:
    if not CouponRedemption.objects.filter(
            pk=redemption.pk, status=CouponRedemption.Status.ACTIVE).update(
                status=status, ended_at=clock.now()):
        return False
    if status == CouponRedemption.Status.RELEASED:
        _give_back(redemption)
    audit.record(actor, action, redemption, customer_id=redemption.customer_id,
                 before={"status": CouponRedemption.Status.ACTIVE},
                 after={"status": status, "coupon": redemption.coupon_id}, reason=reason)
    return True


def release(actor: Actor, *, code: str, source: str, external_id: str,
            reason: str = "") -> CouponRedemption:
    """The order was cancelled: the coupon may be used again. Releasing twice is harmless;
    a converted (invoiced) redemption cannot be released."""
    if not actor.can("rewards.redeem_coupon"):
        raise PermissionRefused(_("your role may not release coupons"))
    text = limits.bounded(reason, limits.CHANGE_REASON, "reason")
    coupon = find_coupon(code)
    source, external_id = gate.clean_identity(source, external_id, required=True)
    redemption = CouponRedemption.objects.filter(coupon=coupon, source=source,
                                                 external_id=external_id).first()
    if redemption is None:
        raise NotFound(_("coupon %(code)s was not used on order %(source)s/%(id)s")
                       % {"code": coupon.code, "source": source, "id": external_id},
                       field="external_id")
    with transaction.atomic():
        if not _end(actor, redemption, CouponRedemption.Status.RELEASED,
                    "rewards.coupon_release", text):
            current = CouponRedemption.objects.get(pk=redemption.pk)
            if current.status == CouponRedemption.Status.CONVERTED:
                raise Conflict(_("the order was invoiced: its coupon can no longer be "
                                 "released"), field="status")
    return CouponRedemption.objects.get(pk=redemption.pk)


def reservation_ended(actor: Actor, reservation: Reservation) -> None:
    """credit.hooks: the order's reservation ended; its coupon follows (in that transaction)."""
    redemption = CouponRedemption.objects.filter(
        source=reservation.source, external_id=reservation.external_id,
        status=CouponRedemption.Status.ACTIVE).first()
    if redemption is None:
        return
    if reservation.status == Reservation.Status.POSTED:
        _end(actor, redemption, CouponRedemption.Status.CONVERTED, "rewards.coupon_convert")
    else:
        _end(actor, redemption, CouponRedemption.Status.RELEASED, "rewards.coupon_release",
             f"reservation {reservation.status}")
