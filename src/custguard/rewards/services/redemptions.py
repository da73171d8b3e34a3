"""Redeeming points for rewards from the catalogue, fulfilling and cancelling redemptions.

A redemption is idempotent by (source, external_id): the ERP, the portal and the staff form
each send a key, and a repeat returns the first redemption. It is refused, with the reason and
nothing written, when the customer's points are frozen or it is blacklisted, when it may spend
fewer points than the reward costs, when the reward is not offered that day, is out of stock
or the customer has reached its limit. The stock falls in one conditional UPDATE, so the last
item goes to one customer only.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError
from django.db.models import F, Sum
from django.utils.translation import gettext as _

from custguard.core import clock, limits
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.services import audit
from custguard.core.services.policies import policy_in_force
from custguard.customers.models import Customer
from custguard.policy import points as rules_of
from custguard.policy.decisions import Reason
from custguard.rewards.models import PointsEntry, Redemption, Reward
from custguard.rewards.services import accounts

MAX_QUANTITY = 999


def _quantity(value: object) -> int:
    try:
        quantity = int(str(value).strip())
    except ValueError:
        raise ValidationFailed(_("enter a whole number"), field="quantity") from None
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationFailed(_("between 1 and %(n)s") % {"n": MAX_QUANTITY},
                               field="quantity")
    return quantity


def _identity(source: str, external_id: str) -> tuple[str, str]:
    source, external_id = source.strip(), external_id.strip()
    if not source or len(source) > 50:
        raise ValidationFailed(_("give the source (1 to 50 characters)"), field="source")
    if not external_id or len(external_id) > 100:
        raise ValidationFailed(_("give the request's key (1 to 100 characters)"),
                               field="external_id")
    return source, external_id


def _replayed(existing: Redemption, customer: Customer, reward: Reward,
              quantity: int) -> Redemption:
    if (existing.customer_id, existing.reward_id, existing.quantity) != (
            customer.pk, reward.pk, quantity):
        raise Conflict(_("redemption %(source)s/%(id)s was placed before with other values")
                       % {"source": existing.source, "id": existing.external_id},
                       field="external_id")
    return existing


def redeem(actor: Actor, customer: Customer, reward: Reward, quantity: object, *,
           source: str, external_id: str) -> tuple[Redemption, bool]:
    """Spend the customer's points on `quantity` of `reward`. Returns the redemption and
    whether it was created (False: the same key was placed before)."""
    if not actor.can("rewards.add_redemption"):
        raise PermissionRefused(_("your role may not redeem points"))
    count = _quantity(quantity)
    source, external_id = _identity(source, external_id)
    existing = Redemption.objects.filter(source=source, external_id=external_id).first()
    if existing is not None:
        return _replayed(existing, customer, reward, count), False
    try:
        with audit.deferred_transaction():
            return _redeem(actor, customer, reward, count, source, external_id), True
    except IntegrityError:
        existing = Redemption.objects.filter(source=source, external_id=external_id).first()
        if existing is None:
            raise
        return _replayed(existing, customer, reward, count), False


def _offered(reward: Reward, today: object) -> None:
    if not reward.active:
        raise ValidationFailed(_("reward %(code)s is no longer offered") % {
            "code": reward.code}, field="reward", code="REWARD_INACTIVE")
    if ((reward.available_from is not None and today < reward.available_from)  # type: ignore[operator]
            or (reward.available_until is not None
                and today > reward.available_until)):  # type: ignore[operator]
        raise ValidationFailed(_("reward %(code)s is not offered today") % {
            "code": reward.code}, field="reward", code="REWARD_NOT_OFFERED")


def _redeem(actor: Actor, customer: Customer, reward: Reward, count: int, source: str,
            external_id: str) -> Redemption:
    version, policy = policy_in_force()
    today = clock.today()
    reward = Reward.objects.get(pk=reward.pk)
    _offered(reward, today)
    holding = accounts.lock(customer.pk)
    refusal = rules_of.blocked(holding.points_frozen, holding.blacklisted)
    if refusal is not None:
        message = (_("the customer is blacklisted: it may not redeem points")
                   if refusal.code == "POINTS_BLACKLISTED" else
                   _("the customer's points are frozen by a conduct measure"))
        raise ValidationFailed(message, field="customer", code=refusal.code)
    cost = reward.points * count
    if holding.available < cost:
        raise ValidationFailed(
            _("%(cost)s points needed, the customer may spend %(available)s") % {
                "cost": cost, "available": max(0, holding.available)},
            field="quantity", code="POINTS_NOT_ENOUGH")
    if reward.per_customer_limit is not None:
        taken = (Redemption.objects.filter(customer=customer, reward=reward)
                 .exclude(status=Redemption.Status.CANCELLED)
                 .aggregate(total=Sum("quantity"))["total"] or 0)
        if taken + count > reward.per_customer_limit:
            raise ValidationFailed(
                _("at most %(limit)s per customer; %(taken)s redeemed already") % {
                    "limit": reward.per_customer_limit, "taken": taken},
                field="quantity", code="REWARD_LIMIT_REACHED")
    if reward.stock is not None and not Reward.objects.filter(
            pk=reward.pk, stock__gte=count).update(stock=F("stock") - count):
        raise ValidationFailed(_("reward %(code)s is out of stock") % {"code": reward.code},
                               field="quantity", code="REWARD_OUT_OF_STOCK")
    row = accounts.entry(actor, customer.pk, PointsEntry.Kind.REDEEM, -cost, on=today,
                         reasons=[Reason("POINTS_REDEEMED", {"reward": reward.code,
                                                             "quantity": count})],
                         version=version, source=source, external_id=external_id)
    change, _taken = accounts.take(row, cost)
    change.spent += cost
    accounts.apply(customer.pk, change)
    cash = (rules_of.value_of(policy.points, cost) if reward.kind == Reward.Kind.CASH_BACK
            else None)
    redemption = Redemption.objects.create(
        customer=customer, reward=reward, quantity=count, points=cost, cash_amount=cash,
        entry=row, source=source, external_id=external_id, placed_at=clock.now(),
        placed_by=actor.label[:150])
    accounts.audited(actor, row, redemption=redemption.pk, reward=reward.code,
                     quantity=count, cash_amount=cash)
    return redemption


def _moved(redemption: Redemption, status: str, **fields: object) -> bool:
    return bool(Redemption.objects.filter(pk=redemption.pk, status=Redemption.Status.PLACED)
                .update(status=status, ended_at=clock.now(), **fields))


def _not_placed(redemption: Redemption) -> Conflict:
    current = Redemption.objects.get(pk=redemption.pk)
    return Conflict(_("the redemption is %(status)s already") % {
        "status": current.get_status_display()}, field="status")


def fulfil(actor: Actor, redemption: Redemption, *, reference: str = "") -> Redemption:
    """The reward was delivered (or the ERP booked the credit note `reference`)."""
    if not actor.can("rewards.fulfil_redemption"):
        raise PermissionRefused(_("your role may not fulfil redemptions"))
    text = limits.bounded(reference, 100, "reference")
    if redemption.reward.kind == Reward.Kind.CASH_BACK and not text:
        raise ValidationFailed(_("give the ERP's credit note number"), field="reference")
    with audit.deferred_transaction():
        if not _moved(redemption, Redemption.Status.FULFILLED, reference=text,
                      ended_by=actor.label[:150]):
            raise _not_placed(redemption)
        audit.record(actor, "rewards.redemption_fulfil", redemption,
                     customer_id=redemption.customer_id,
                     before={"status": Redemption.Status.PLACED},
                     after={"status": Redemption.Status.FULFILLED, "reference": text})
    return Redemption.objects.get(pk=redemption.pk)


def cancel(actor: Actor, redemption: Redemption, *, reason: str) -> Redemption:
    """Cancel a placed redemption: its points go back to the lots they came from and the
    stock is restored."""
    if not actor.can("rewards.fulfil_redemption"):
        raise PermissionRefused(_("your role may not cancel redemptions"))
    text = limits.bounded(reason, limits.REASON, "reason")
    if not text:
        raise ValidationFailed(_("say why the redemption is cancelled"), field="reason")
    with audit.deferred_transaction():
        accounts.lock(redemption.customer_id)
        if not _moved(redemption, Redemption.Status.CANCELLED, end_reason=text,
                      ended_by=actor.label[:150]):
            raise _not_placed(redemption)
        taken = PointsEntry.objects.get(pk=redemption.entry_id)
        row = accounts.entry(actor, redemption.customer_id, PointsEntry.Kind.REFUND,
                             0, on=clock.today(), note=text,
                             reasons=[Reason("POINTS_REDEMPTION_CANCELLED",
                                             {"reward": redemption.reward.code})])
        change, given = accounts.give_back(row, taken, clock.today())
        accounts.given(row, given)
        change.spent -= given
        accounts.apply(redemption.customer_id, change)
        Reward.objects.filter(pk=redemption.reward_id, stock__isnull=False).update(
            stock=F("stock") + redemption.quantity)
        accounts.audited(actor, row, redemption=redemption.pk)
    return Redemption.objects.get(pk=redemption.pk)


def cash_value(points: int) -> Decimal:
    """What `points` are worth in money under the policy in force."""
    _version, policy = policy_in_force()
    return rules_of.value_of(policy.points, points)
