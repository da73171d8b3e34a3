"""The reward catalogue: adding and changing rewards (price in points, stock, limits, the
window in which they are offered). Every change is audited with what it was before."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from custguard.core import clock, limits
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.services import audit
from custguard.policy.base import CODE_PATTERN
from custguard.rewards.models import Reward

FIELDS = ["name_zh", "name_en", "kind", "points", "stock", "per_customer_limit",
          "available_from", "available_until", "active", "description"]
MAX_POINTS = 100_000_000
MAX_STOCK = 10_000_000


@dataclass(frozen=True)
class RewardInput:
    name_zh: str
    name_en: str
    kind: str
    points: int
    stock: int | None = None
    per_customer_limit: int | None = None
    available_from: dt.date | None = None
    available_until: dt.date | None = None
    active: bool = True
    description: str = ""


def _clean(data: RewardInput) -> dict[str, object]:
    values = asdict(data)
    for name in ("name_zh", "name_en"):
        text = limits.bounded(values[name], 200, name)
        if not text:
            raise ValidationFailed(_("required"), field=name)
        values[name] = text
    if data.kind not in Reward.Kind.values:
        raise ValidationFailed(_("one of %(kinds)s") % {"kinds": ", ".join(Reward.Kind.values)},
                               field="kind")
    if isinstance(data.points, bool) or not 1 <= data.points <= MAX_POINTS:
        raise ValidationFailed(_("between 1 and %(n)s points") % {"n": MAX_POINTS},
                               field="points")
    for name in ("stock", "per_customer_limit"):
        value = values[name]
        if value is not None and not 0 <= int(value) <= MAX_STOCK:  # type: ignore[call-overload]
            raise ValidationFailed(_("between 0 and %(n)s") % {"n": MAX_STOCK}, field=name)
    if (data.available_from is not None and data.available_until is not None
            and data.available_until < data.available_from):
        raise ValidationFailed(_("the window ends on %(until)s, before it starts on %(since)s")
                               % {"until": data.available_until,
                                  "since": data.available_from}, field="available_until")
    values["description"] = limits.bounded(data.description, limits.NOTE, "description")
    return values


def create_reward(actor: Actor, code: str, data: RewardInput) -> Reward:
    if not actor.can("rewards.add_reward"):
        raise PermissionRefused(_("your role may not change the reward catalogue"))
    code = code.strip().upper()
    if not re.fullmatch(CODE_PATTERN, code):
        raise ValidationFailed(_("capital letters, digits and underscores, starting with a "
                                 "letter"), field="code")
    values = _clean(data)
    try:
        with audit.deferred_transaction():
            reward = Reward.objects.create(code=code, updated_at=clock.now(), **values)
            audit.record(actor, "rewards.reward_create", reward, after={"code": code, **values})
    except IntegrityError:
        raise Conflict(_("a reward with code %(code)s exists") % {"code": code},
                       field="code") from None
    return reward


def update_reward(actor: Actor, reward: Reward, data: RewardInput) -> Reward:
    """Change a reward; redemptions already placed keep the points they cost."""
    if not actor.can("rewards.change_reward"):
        raise PermissionRefused(_("your role may not change the reward catalogue"))
    values = _clean(data)
    with transaction.atomic(), audit.deferred():
        current = Reward.objects.select_for_update().get(pk=reward.pk)
        before = {name: getattr(current, name) for name in FIELDS}
        for name, value in values.items():
            setattr(current, name, value)
        changed_before, changed_after = audit.changes(current, FIELDS, before)
        if changed_after:
            current.updated_at = clock.now()
            current.save()
            audit.record(actor, "rewards.reward_update", current, before=changed_before,
                         after=changed_after)
    return current
