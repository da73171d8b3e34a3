"""API tokens: created once, stored as a digest, revocable, last use recorded."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils.translation import gettext as _

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused, ValidationFailed
from custguard.core.models import ApiToken, User
from custguard.core.services import audit

TOKEN_PREFIX = "cg_"  # noqa: S105 - a public marker, not a secret
# Writing last_used_at on every request would make each API read a write; once a minute is enough.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _may_manage(actor: Actor, owner: User) -> bool:
    return actor.user is not None and (actor.user.pk == owner.pk
                                       or actor.user.has_perm("core.change_apitoken"))


@transaction.atomic
def create_token(actor: Actor, *, user: User, name: str,
                 expires_days: int | None = None) -> tuple[ApiToken, str]:
    """Returns the token and its secret; the secret is never shown again."""
    if not _may_manage(actor, user) and actor.kind != "system":
        raise PermissionRefused(_("you may only create tokens for yourself"))
    name = name.strip()
    if not name:
        raise ValidationFailed(_("a token needs a name"), field="name")
    if expires_days is not None and not 1 <= expires_days <= 3650:
        raise ValidationFailed(_("expiry must be between 1 and 3650 days"), field="expires_days")
    if not user.is_active:
        raise ValidationFailed(_("the user is inactive"), field="user")
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    now = clock.now()
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=prefix, digest=digest(secret), created_at=now,
        expires_at=now + dt.timedelta(days=expires_days) if expires_days else None,
    )
    audit.record(actor, "token.create", token,
                 after={"user": user.get_username(), "name": token.name, "prefix": prefix,
                        "expires_at": token.expires_at})
    return token, secret


@transaction.atomic
def revoke_token(actor: Actor, token: ApiToken, *, reason: str = "") -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if not _may_manage(actor, token.user) and actor.kind != "system":
        raise PermissionRefused(_("you may only revoke your own tokens"))
    if token.revoked_at is not None:
        return token
    token.revoked_at = clock.now()
    token.save(update_fields=["revoked_at"])
    audit.record(actor, "token.revoke", token, before={"revoked_at": None},
                 after={"revoked_at": token.revoked_at}, reason=reason)
    return token


def authenticate_secret(secret: str) -> ApiToken | None:
    """The live token for a presented secret, recording its use; None if unknown or dead."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (ApiToken.objects.select_related("user")
             .filter(digest=digest(secret)).first())
    now = clock.now()
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        # A bookkeeping field, not a business change: not audited.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
