"""API authentication: bearer tokens for machines, the session (with CSRF) for the browser."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer

from custguard.core.services.tokens import authenticate_secret


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = authenticate_secret(token)
        if api_token is None:
            return None
        request.user = api_token.user
        request.auth_token = api_token  # type: ignore[attr-defined]
        return api_token.user


class SessionAuth(APIKeyCookie):
    """The logged-in browser session; unsafe methods need the CSRF token (X-CSRFToken)."""

    param_name = "sessionid"

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def __call__(self, request: HttpRequest) -> Any:
        # A request that presents a bearer token is a machine's: a dead token must answer 401
        # (authenticate again), not fall through to the session's CSRF check and a 403.
        if request.headers.get("Authorization", "").lower().startswith("bearer "):
            return None
        # Without a signed-in session there are no credentials to protect from cross-site use:
        # the request is unauthenticated (401 with WWW-Authenticate), not a CSRF failure (403).
        # Only a signed-in browser's unsafe request goes through the CSRF check.
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None
