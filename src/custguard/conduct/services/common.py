"""Helpers shared by the conduct services."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from custguard.core import clock, limits
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.services.policies import policy_in_force
from custguard.policy.codes import Severity
from custguard.policy.conduct import ViolationFact
from custguard.policy.schema import PolicyDocument

MAX_REASON = limits.NOTE


def require(actor: Actor, perm: str) -> None:
    if not actor.can(perm):
        raise PermissionRefused(_("your role may not do this"))


def reason_text(value: str, field: str = "reason") -> str:
    """A reason a person must give: required, trimmed, bounded."""
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(_("say why"), field=field)
    if len(text) > MAX_REASON:
        raise ValidationFailed(_("at most %(n)d characters") % {"n": MAX_REASON}, field=field)
    return text


def policy() -> tuple[int, PolicyDocument]:
    return policy_in_force()


def moved(model: type, pk: int, from_status: str, to_status: str, **fields: object) -> bool:
    """One conditional UPDATE: of two concurrent transitions only one wins."""
    return bool(model.objects.filter(pk=pk, status=from_status).update(  # type: ignore[attr-defined]
        status=to_status, **fields))


def refuse_state(what: str, status: str) -> Conflict:
    return Conflict(_("the %(what)s is %(status)s: that step is not allowed now") % {
        "what": what, "status": status}, field="status")


def confirmed_violations(customer_id: int, until: dt.date | None = None) -> list[ViolationFact]:
    """The customer's confirmed violations, as the policy functions see them."""
    from custguard.conduct.models import ViolationCase

    rows = ViolationCase.objects.filter(customer_id=customer_id,
                                        status=ViolationCase.Status.CONFIRMED)
    if until is not None:
        rows = rows.filter(occurred_on__lte=until)
    return [ViolationFact(code=code, severity=Severity(severity), points=points,
                          occurred_on=occurred_on)
            for code, severity, points, occurred_on in rows.values_list(
                "violation_type", "severity", "points", "occurred_on")]


def today() -> dt.date:
    return clock.today()
