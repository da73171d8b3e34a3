"""Who performs a write. Services take an Actor explicitly, so jobs and API clients are
audited exactly like people, without depending on a request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from custguard.core.models import ApiToken, User

ActorKind = Literal["user", "token", "job", "system"]


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    label: str
    user: User | None = None
    token: ApiToken | None = None

    @classmethod
    def for_user(cls, user: User) -> Actor:
        return cls(kind="user", label=user.get_username(), user=user)

    @classmethod
    def for_token(cls, token: ApiToken) -> Actor:
        return cls(kind="token", label=f"{token.user.get_username()}/{token.prefix}",
                   user=token.user, token=token)

    @classmethod
    def job(cls, name: str, user: User | None = None) -> Actor:
        return cls(kind="job", label=name, user=user)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(kind="system", label=name)

    def can(self, perm: str) -> bool:
        if self.kind in ("job", "system") and self.user is None:
            return True
        return self.user is not None and self.user.has_perm(perm)


def actor_from_request(request: object) -> Actor:
    token = getattr(request, "auth_token", None)
    if token is not None:
        return Actor.for_token(token)
    user = request.user  # type: ignore[attr-defined]
    return Actor.for_user(user)
