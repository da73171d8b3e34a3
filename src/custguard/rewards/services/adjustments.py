"""Points changed by a person or the ERP (an adjustment), and by conduct (a penalty's points
deduction and its return when the penalty is overturned)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from custguard.core import clock, limits
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.services import audit
from custguard.core.services.policies import policy_in_force
from custguard.customers.models import Customer
from custguard.policy import points as rules_of
from custguard.policy.decisions import Reason
from custguard.rewards.models import PointsEntry
from custguard.rewards.services import accounts

MAX_ADJUSTMENT = 10_000_000


def _clean_points(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            raise ValidationFailed(_("enter a whole number of points"), field="points") from None
    if value == 0:
        raise ValidationFailed(_("an adjustment of 0 points changes nothing"), field="points")
    if abs(value) > MAX_ADJUSTMENT:
        raise ValidationFailed(_("at most %(n)s points at a time") % {"n": MAX_ADJUSTMENT},
                               field="points")
    return value


def adjust(actor: Actor, customer: Customer, points: object, *, note: str,
           source: str = "", external_id: str = "") -> tuple[PointsEntry, bool]:
    """Add points (a new lot, available at once, expiring as the policy says) or take them
    (from the lots that expire first; never more than the customer may spend). With
    (source, external_id) a repeat returns the first entry and changes nothing. Returns the
    entry and whether it was created."""
    if not actor.can("rewards.adjust_points"):
        raise PermissionRefused(_("your role may not adjust points"))
    value = _clean_points(points)
    text = limits.bounded(note, limits.REASON, "note")
    if not text:
        raise ValidationFailed(_("say why the points change"), field="note")
    source, external_id = source.strip(), external_id.strip()
    if len(source) > 50:
        raise ValidationFailed(_("at most %(n)d characters") % {"n": 50}, field="source")
    if len(external_id) > 100:
        raise ValidationFailed(_("at most %(n)d characters") % {"n": 100}, field="external_id")
    if external_id and not source:
        raise ValidationFailed(_("an external id needs its source"), field="source")
    if external_id:
        existing = PointsEntry.objects.filter(source=source, external_id=external_id).first()
        if existing is not None:
            return _replayed(existing, customer, value), False
    try:
        with audit.deferred_transaction():
            return _adjust(actor, customer, value, text, source, external_id), True
    except IntegrityError:
        existing = PointsEntry.objects.filter(source=source, external_id=external_id).first()
        if existing is None:
            raise
        return _replayed(existing, customer, value), False


def _replayed(existing: PointsEntry, customer: Customer, value: int) -> PointsEntry:
    if existing.customer_id != customer.pk or existing.points != value:
        raise Conflict(_("adjustment %(source)s/%(id)s was posted before with other values")
                       % {"source": existing.source, "id": existing.external_id},
                       field="external_id")
    return existing


def _adjust(actor: Actor, customer: Customer, value: int, note: str, source: str,
            external_id: str) -> PointsEntry:
    version, policy = policy_in_force()
    today = clock.today()
    holding = accounts.lock(customer.pk)
    if value < 0 and -value > max(0, holding.available):
        raise ValidationFailed(
            _("the customer may spend %(available)s points; %(asked)s cannot be taken") % {
                "available": max(0, holding.available), "asked": -value}, field="points")
    row = accounts.entry(actor, customer.pk, PointsEntry.Kind.ADJUST, value, on=today,
                         reasons=[Reason("POINTS_ADJUSTED")], version=version, note=note,
                         source=source, external_id=external_id)
    if value > 0:
        _lot, change = accounts.new_lot(row, value, earned_on=today, available_on=today,
                                        expires_on=rules_of.expires_on(policy.points, today),
                                        today=today)
        change.earned += value
        change = accounts.pay_off_debt(row, holding, change)
    else:
        change, _taken = accounts.take(row, -value)
        change.spent += -value
    accounts.apply(customer.pk, change)
    accounts.audited(actor, row, source=source, external_id=external_id)
    return row


class ConductKeeper:
    """The points keeper conduct calls (`conduct.hooks`), inside the penalty's transaction."""

    def deduct(self, actor: Actor, customer_id: int, points: int, penalty_id: int) -> int:
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("a points deduction runs inside the penalty's transaction")
        holding = accounts.lock(customer_id)
        taking = min(points, max(0, holding.available))
        if taking <= 0:
            return 0
        row = accounts.entry(actor, customer_id, PointsEntry.Kind.DEDUCT, -taking,
                             on=clock.today(), penalty_id=penalty_id,
                             reasons=[Reason("POINTS_PENALTY_DEDUCTION",
                                             {"asked": points, "deducted": taking})])
        change, _taken = accounts.take(row, taking)
        change.spent += taking
        accounts.apply(customer_id, change)
        accounts.audited(actor, row, penalty=penalty_id)
        return taking

    def give_back(self, actor: Actor, customer_id: int, penalty_id: int) -> int:
        deducted = PointsEntry.objects.filter(penalty_id=penalty_id,
                                              kind=PointsEntry.Kind.DEDUCT).first()
        if deducted is None or PointsEntry.objects.filter(
                penalty_id=penalty_id, kind=PointsEntry.Kind.RESTORE).exists():
            return 0
        accounts.lock(customer_id)
        row = accounts.entry(actor, customer_id, PointsEntry.Kind.RESTORE, 0,
                             on=clock.today(), penalty_id=penalty_id,
                             reasons=[Reason("POINTS_PENALTY_OVERTURNED")])
        change, given = accounts.give_back(row, deducted, clock.today())
        accounts.given(row, given)
        change.spent -= given
        accounts.apply(customer_id, change)
        accounts.audited(actor, row, penalty=penalty_id)
        return given
