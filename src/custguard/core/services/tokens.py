"""API tokens: created once, stored as a digest, revocable, last use recorded."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused, ValidationFailed
from custguard.core.models import ApiToken, User
from custguard.core.services import audit, token_cache

TOKEN_PREFIX = "cg_"  # noqa: S105 - a public marker, not a secret
# Writing last_used_at on every request would make each API read a write; once a minute is enough.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _may_manage(actor: Actor, owner: User) -> bool:
    return actor.user is not None and (actor.user.pk == owner.pk
                                       or actor.user.has_perm("core.change_apitoken"))


def max_days() -> int:
    """The longest a token may live (CUSTGUARD_TOKEN_MAX_DAYS)."""
    return int(settings.CUSTGUARD_TOKEN_MAX_DAYS)


def _alive(token: ApiToken, now: dt.datetime) -> bool:
    return token.revoked_at is None and (token.expires_at is None or token.expires_at > now)


@transaction.atomic
def create_token(actor: Actor, *, user: User, name: str,
                 expires_days: int | None = None) -> tuple[ApiToken, str]:
    """Returns the token and its secret; the secret is never shown again.

    Every token expires, after `expires_days` or else the maximum (CUSTGUARD_TOKEN_MAX_DAYS).
    A token made by an actor that is itself a token is its child: for the same user only (so
    it can do nothing its parent cannot), expiring no later than the parent, and revoked with
    it."""
    if not _may_manage(actor, user) and actor.kind != "system":
        raise PermissionRefused(_("you may only create tokens for yourself"))
    name = name.strip()
    if not name:
        raise ValidationFailed(_("a token needs a name"), field="name")
    limit = max_days()
    if expires_days is not None and not 1 <= expires_days <= limit:
        raise ValidationFailed(_("expiry must be between 1 and %(max)s days") % {"max": limit},
                               field="expires_days")
    if not user.is_active:
        raise ValidationFailed(_("the user is inactive"), field="user")
    now = clock.now()
    expires_at = now + dt.timedelta(days=expires_days or limit)
    parent = None
    if actor.token is not None:
        # locked, so that the parent cannot be revoked while its child is being made
        parent = ApiToken.objects.select_for_update().get(pk=actor.token.pk)
        if not _alive(parent, now):
            raise PermissionRefused(_("the token you act with is revoked or expired"))
        if parent.user_id != user.pk:
            raise PermissionRefused(_("a token may only make tokens for its own user"),
                                    field="user")
        if parent.expires_at is not None and expires_at > parent.expires_at:
            if expires_days is not None:
                raise ValidationFailed(
                    _("a token made with a token may not outlive it: it expires on %(date)s")
                    % {"date": parent.expires_at.date().isoformat()}, field="expires_days")
            expires_at = parent.expires_at
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=prefix, digest=digest(secret), created_at=now,
        expires_at=expires_at, parent=parent,
    )
    after: dict[str, object] = {"user": user.get_username(), "name": token.name,
                                "prefix": prefix, "expires_at": token.expires_at}
    if parent is not None:
        after["parent"] = parent.prefix
    audit.record(actor, "token.create", token, after=after)
    return token, secret


@transaction.atomic
def revoke_token(actor: Actor, token: ApiToken, *, reason: str = "") -> ApiToken:
    """Revoke a token and, in the same transaction, every live token made with it (and with
    those, recursively), each with its own audit entry."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if not _may_manage(actor, token.user) and actor.kind != "system":
        raise PermissionRefused(_("you may only revoke your own tokens"))
    # Lock the whole tree before the first audit entry: the audit head is the last lock.
    descendants: list[ApiToken] = []
    level = [token.pk]
    while level:
        children = list(ApiToken.objects.select_for_update().filter(parent_id__in=level)
                        .order_by("pk"))
        descendants += children
        level = [child.pk for child in children]
    now = clock.now()
    if token.revoked_at is None:
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
        audit.record(actor, "token.revoke", token, before={"revoked_at": None},
                     after={"revoked_at": now}, reason=reason)
    prefixes = {token.pk: token.prefix} | {child.pk: child.prefix for child in descendants}
    for child in descendants:
        if child.revoked_at is not None:
            continue
        child.revoked_at = now
        child.save(update_fields=["revoked_at"])
        audit.record(actor, "token.revoke", child, before={"revoked_at": None},
                     after={"revoked_at": now, "with_parent": prefixes[child.parent_id]},
                     reason=reason)
    return token


def authenticate_secret(secret: str) -> ApiToken | None:
    """The live token for a presented secret, recording its use; None if unknown or dead.

    The token, its user and the user's permissions come from this worker's cache when it
    checked the same token a moment ago (token_cache.py: why, and how changes reach it)."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    key = digest(secret)
    token = token_cache.get(key)
    if token is None:
        try:  # not .first(): it would order by the key
            token = ApiToken.objects.select_related("user").get(digest=key)
        except ApiToken.DoesNotExist:
            return None
        if token.revoked_at is not None or not token.user.is_active:
            return None
        token = token_cache.put(key, token)
    now = clock.now()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        # A bookkeeping field, not a business change: not audited.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
        token_cache.used(key, now)
    return token
