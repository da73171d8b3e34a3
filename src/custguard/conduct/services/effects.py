"""What conduct does to a customer's standing row: the combined effect of its active penalties,
an active blacklist entry and a recovery plan, written in the transaction of the change that
caused it, so the order gate enforces it at once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from custguard.conduct import hooks
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.services import audit
from custguard.credit.services import scoring
from custguard.customers.models import Standing
from custguard.policy.conduct import effects_of

HUNDRED = Decimal("100.00")
FIELDS = ["order_blocked", "service_suspended", "points_frozen", "blacklisted",
          "penalty_prepay_only", "penalty_limit_percent"]


def _recovery_percent(customer_id: int) -> Decimal | None:
    """The share of the limit an active recovery plan has restored so far."""
    from custguard.conduct.models import RecoveryPlan

    plan = RecoveryPlan.objects.filter(customer_id=customer_id,
                                       status=RecoveryPlan.Status.ACTIVE).first()
    if plan is None:
        return None
    paid = plan.installments.filter(paid_at__isnull=False).order_by("-number").first()
    return paid.limit_percent_after if paid is not None else Decimal("0.00")


def wanted(customer_id: int) -> dict[str, Any]:
    """The standing fields conduct decides, from what is in force now."""
    from custguard.conduct.models import BlacklistEntry, Penalty

    effects = effects_of(Penalty.objects.filter(customer_id=customer_id,
                                                status=Penalty.Status.ACTIVE))
    percent = effects.credit_limit_percent
    recovery = _recovery_percent(customer_id)
    if recovery is not None:
        percent = min(percent, recovery)
    return {
        "order_blocked": effects.order_blocked,
        "service_suspended": effects.service_suspended,
        "points_frozen": effects.points_frozen,
        "blacklisted": BlacklistEntry.objects.filter(
            customer_id=customer_id, status=BlacklistEntry.Status.ACTIVE).exists(),
        "penalty_prepay_only": effects.prepay_only,
        "penalty_limit_percent": Decimal(percent).quantize(Decimal("0.01")),
    }


def apply(actor: Actor, customer_id: int, *, reason: str = "",
          context: dict[str, Any] | None = None) -> bool:
    """Bring the customer's standing in line with what conduct has in force, and its credit
    terms with them (limit cut, prepay-only). Audited when anything changed. Must run inside
    the transaction of the change; returns whether the standing changed."""
    standing = Standing.objects.select_for_update().get(pk=customer_id)
    values = wanted(customer_id)
    before = {name: getattr(standing, name) for name in FIELDS}
    for name, value in values.items():
        setattr(standing, name, value)
    changed_before, changed_after = audit.changes(standing, FIELDS, before)
    if changed_after:
        standing.updated_at = clock.now()
        standing.save(update_fields=[*FIELDS, "updated_at"])
        audit.record(actor, "conduct.effects", standing, customer_id=customer_id,
                     before=changed_before, after=changed_after | (context or {}),
                     reason=reason)
        hooks.effects_changed(actor, customer_id, changed_before, changed_after)
    terms_changed = scoring.reapply_terms(actor, standing, action="conduct.credit_terms",
                                          reason=reason, context=context)
    return bool(changed_after) or terms_changed
