"""Reads of users, tokens, the audit log and policy versions."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Iterator
from typing import overload

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from custguard.core import pii
from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused
from custguard.core.models import ApiToken, AuditEntry, User


def audit_entries_for(actor: Actor) -> QuerySet[AuditEntry]:
    if not actor.can("core.view_auditentry"):
        raise PermissionRefused(_("your role may not read the audit log"))
    return AuditEntry.objects.all()


def shown_entry(entry: AuditEntry, show_pii: bool) -> AuditEntry:
    """An entry as a reader sees it: a copy with its before/after values' personal fields
    masked (by the models' `PII_FIELDS`, core/pii.py) for readers without `core.view_pii`.
    The stored entry, and so the chain's hash, is never touched; `pii_masked` tells the page
    to say so."""
    shown = copy.copy(entry)
    shown.pii_masked = False  # type: ignore[attr-defined]
    if not show_pii:
        shown.before = pii.mask_values(entry.object_type, entry.before)
        shown.after = pii.mask_values(entry.object_type, entry.after)
        shown.pii_masked = (shown.before != entry.before  # type: ignore[attr-defined]
                            or shown.after != entry.after)
    return shown


def shown_entries(entries: Iterable[AuditEntry], show_pii: bool) -> list[AuditEntry]:
    return [shown_entry(entry, show_pii) for entry in entries]


class ShownAuditEntries:
    """Audit entries as `actor` may see them (`shown_entry`), lazily: a page, the API's
    pagination or an export slices or iterates it and only those rows are read and masked.
    The audit log's page, its export and the API all read entries through this."""

    def __init__(self, qs: QuerySet[AuditEntry], actor: Actor) -> None:
        self.qs, self.show_pii = qs, pii.sees_pii(actor)

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, item: int) -> AuditEntry: ...
    @overload
    def __getitem__(self, item: slice) -> list[AuditEntry]: ...
    def __getitem__(self, item: int | slice) -> AuditEntry | list[AuditEntry]:
        if isinstance(item, slice):
            return shown_entries(self.qs[item], self.show_pii)
        return shown_entry(self.qs[item], self.show_pii)

    def __iter__(self) -> Iterator[AuditEntry]:
        for entry in self.qs.iterator(chunk_size=500):
            yield shown_entry(entry, self.show_pii)


def shown_audit_entries(actor: Actor, qs: QuerySet[AuditEntry]) -> ShownAuditEntries:
    return ShownAuditEntries(qs, actor)


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
    qs = ApiToken.objects.select_related("user", "parent")
    return qs if user.has_perm("core.change_apitoken") else qs.filter(user=user)


def audit_actions() -> list[str]:
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())


def audit_object_types() -> list[str]:
    return list(AuditEntry.objects.order_by("object_type").values_list(
        "object_type", flat=True).distinct())
