"""The live API tokens a worker has just checked, with their user and permissions.

An API request used to cost three queries before its view ran a single one: the token with its
user, the user's own permissions and the permissions of the user's groups (ModelBackend loads
them again for every request, because every request gets a new User). This worker-local cache
keeps, per token digest, the rows those queries returned, for `CUSTGUARD_AUTH_CACHE_SECONDS`
(default 2; 0 turns it off). Every hit still checks expiry against the clock, and builds a
fresh ApiToken and User for the request (nothing is shared between concurrent requests).

A change that matters — a token saved (revoked), a user saved (deactivated), a group or
permission changed, a user's groups or permissions changed — clears this worker's cache at once
(signals, connected in core/apps.py); the other workers see it within the cache's lifetime.
docs/configuration.md says so.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend

from custguard.core.models import ApiToken, User


@dataclass
class _Entry:
    token: dict[str, Any]
    user: dict[str, Any]
    user_permissions: frozenset[str]
    group_permissions: frozenset[str]
    loaded_at: float  # time.monotonic()


_entries: dict[str, _Entry] = {}
_lock = threading.Lock()
_MAX_ENTRIES = 10_000  # a worker never holds more: past it the cache starts over


def lifetime() -> float:
    return float(settings.CUSTGUARD_AUTH_CACHE_SECONDS)


def clear(*_args: Any, **_kwargs: Any) -> None:
    """Forget every cached token (a signal receiver, hence the arguments)."""
    with _lock:
        _entries.clear()


def _fields(instance: Any) -> dict[str, Any]:
    return {field.attname: getattr(instance, field.attname)
            for field in instance._meta.concrete_fields}


def _build(model: type[Any], values: dict[str, Any]) -> Any:
    instance = model(**values)
    instance._state.adding = False
    instance._state.db = "default"
    return instance


def _request_copy(entry: _Entry) -> ApiToken:
    user = _build(User, entry.user)
    # ModelBackend's own caches, filled as it would fill them itself.
    user._user_perm_cache = entry.user_permissions  # type: ignore[attr-defined]
    user._group_perm_cache = entry.group_permissions  # type: ignore[attr-defined]
    user._perm_cache = entry.user_permissions | entry.group_permissions  # type: ignore[attr-defined]
    token = _build(ApiToken, entry.token)
    token.user = user
    return token


def get(digest: str) -> ApiToken | None:
    """A fresh copy of the cached token (its `.user` with permissions), or None."""
    seconds = lifetime()
    if seconds <= 0:
        return None
    entry = _entries.get(digest)
    if entry is None or time.monotonic() - entry.loaded_at >= seconds:
        return None
    return _request_copy(entry)


def put(digest: str, token: ApiToken) -> ApiToken:
    """Cache a live token just read from the database; return the request's copy of it."""
    if lifetime() <= 0:
        return token
    user = token.user
    backend = ModelBackend()
    entry = _Entry(token=_fields(token), user=_fields(user),
                   user_permissions=frozenset(backend.get_user_permissions(user)),
                   group_permissions=frozenset(backend.get_group_permissions(user)),
                   loaded_at=time.monotonic())
    with _lock:
        if len(_entries) >= _MAX_ENTRIES:
            _entries.clear()
        _entries[digest] = entry
    return _request_copy(entry)


def used(digest: str, when: Any) -> None:
    """Record in the cached row that the token's last use was written at `when`."""
    entry = _entries.get(digest)
    if entry is not None:
        entry.token["last_used_at"] = when
