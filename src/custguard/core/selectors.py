"""Reads of users, tokens, the audit log and policy versions."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused
from custguard.core.models import ApiToken, AuditEntry, User


def audit_entries_for(actor: Actor) -> QuerySet[AuditEntry]:
    if not actor.can("core.view_auditentry"):
        raise PermissionRefused(_("your role may not read the audit log"))
    return AuditEntry.objects.all()


def filter_audit(qs: QuerySet[AuditEntry], *, actor: str = "", action: str = "",
                 object_type: str = "", object_id: str = "", customer_id: int | None = None,
                 date_from: dt.date | None = None, date_to: dt.date | None = None,
                 ) -> QuerySet[AuditEntry]:
    if actor:
        qs = qs.filter(actor_label__icontains=actor)
    if action:
        qs = qs.filter(action__startswith=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if date_from:
        qs = qs.filter(at__date__gte=date_from)
    if date_to:
        qs = qs.filter(at__date__lte=date_to)
    return qs


def customer_timeline(customer_id: int) -> QuerySet[AuditEntry]:
    """Every audited event about one customer, newest first (visible to whoever sees the
    customer)."""
    return AuditEntry.objects.filter(
        Q(customer_id=customer_id)).order_by("-seq")


def tokens_for(user: User) -> QuerySet[ApiToken]:
    qs = ApiToken.objects.select_related("user")
    return qs if user.has_perm("core.change_apitoken") else qs.filter(user=user)


def audit_actions() -> list[str]:
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())


def audit_object_types() -> list[str]:
    return list(AuditEntry.objects.order_by("object_type").values_list(
        "object_type", flat=True).distinct())
