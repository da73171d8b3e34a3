"""Tokens made with a token: never outliving or outranking their parent, revoked with it, and
every token's expiry bounded by CUSTGUARD_TOKEN_MAX_DAYS."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.utils import timezone, translation

from custguard.core.actors import Actor
from custguard.core.clock import frozen_at
from custguard.core.errors import PermissionRefused, ValidationFailed
from custguard.core.models import ApiToken, AuditEntry, User
from custguard.core.services import tokens
from custguard.core.services.audit import verify_chain

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/tokens"
CUSTOMERS = "/api/v1/customers"
T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def mint(secret: str, **body: Any) -> Any:
    """POST /tokens acting with the token `secret` (as a machine would: no CSRF token)."""
    return Client(enforce_csrf_checks=True).post(
        TOKENS, {"name": "child", **body}, content_type="application/json", **bearer(secret))


def state() -> list[dict[str, Any]]:
    return [*ApiToken.objects.order_by("pk").values(), AuditEntry.objects.count()]


@pytest.fixture
def parent(personas: dict[str, User]) -> tuple[ApiToken, str]:
    user = personas["finance"]
    with frozen_at(T0):
        return tokens.create_token(Actor.for_user(user), user=user, name="erp",
                                   expires_days=30)


def test_a_child_token_never_outlives_its_parent(parent: tuple[ApiToken, str]) -> None:
    token, secret = parent
    assert token.expires_at == T0 + dt.timedelta(days=30)
    with frozen_at(T0 + dt.timedelta(days=1)):
        unbounded = mint(secret)  # no expiry asked: the parent's
        assert unbounded.status_code == 201, unbounded.content
        before = state()
        longer = mint(secret, expires_days=60)
        refused = state()
        shorter = mint(secret, expires_days=10)
    assert unbounded.json()["expires_at"] is not None
    child = ApiToken.objects.get(prefix=unbounded.json()["prefix"])
    assert (child.expires_at, child.parent_id, child.user_id) == (
        token.expires_at, token.pk, token.user_id)
    assert unbounded.json()["parent"] == token.prefix
    assert longer.status_code == 422
    assert longer.json()["errors"][0]["field"] == "expires_days"
    assert shorter.status_code == 201
    assert ApiToken.objects.get(prefix=shorter.json()["prefix"]).expires_at == (
        T0 + dt.timedelta(days=11))
    assert refused == before  # the refused one wrote nothing
    entry = AuditEntry.objects.get(action="token.create", object_id=str(child.pk))
    assert entry.after is not None and entry.after["parent"] == token.prefix
    with frozen_at(T0 + dt.timedelta(days=30)):  # both die with the parent's time
        secret_of_child = unbounded.json()["secret"]
        assert Client().get(CUSTOMERS, **bearer(secret_of_child)).status_code == 401


def test_revoking_a_token_revokes_its_children_recursively(
        parent: tuple[ApiToken, str], personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    token, secret = parent
    with frozen_at(T0 + dt.timedelta(days=1)):
        child = mint(secret).json()
        grandchild = mint(child["secret"], name="grandchild").json()
        sibling = mint(secret, name="sibling").json()
        unrelated, unrelated_secret = tokens.create_token(
            Actor.for_user(personas["finance"]), user=personas["finance"], name="other")
        for made in (child, grandchild, sibling):
            assert Client().get(CUSTOMERS, **bearer(made["secret"])).status_code == 200
        first = AuditEntry.objects.count()
        response = client_for(personas["finance"]).post(f"/tokens/{token.pk}/revoke/")
        assert response.status_code == 302
        for dead in (secret, child["secret"], grandchild["secret"], sibling["secret"]):
            assert Client().get(CUSTOMERS, **bearer(dead)).status_code == 401
        assert Client().get(CUSTOMERS, **bearer(unrelated_secret)).status_code == 200
    entries = list(AuditEntry.objects.filter(seq__gt=first).order_by("seq"))
    assert [e.action for e in entries] == ["token.revoke"] * 4
    revoked = {int(e.object_id) for e in entries}
    assert revoked == set(ApiToken.objects.exclude(pk=unrelated.pk).values_list("pk", flat=True))
    assert len({e.at for e in entries}) == 1  # one moment, one transaction
    by_id = {e.object_id: e for e in entries}
    grand = ApiToken.objects.get(prefix=grandchild["prefix"])
    assert by_id[str(grand.pk)].after["with_parent"] == child["prefix"]  # type: ignore[index]
    assert verify_chain() is None


def test_revoking_is_all_or_nothing(parent: tuple[ApiToken, str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    token, secret = parent
    with frozen_at(T0 + dt.timedelta(days=1)):
        mint(mint(secret).json()["secret"], name="grandchild")
    before = state()
    record = tokens.audit.record
    calls = []

    def failing_second(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[1])
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return record(*args, **kwargs)

    monkeypatch.setattr(tokens.audit, "record", failing_second)
    with pytest.raises(RuntimeError):
        tokens.revoke_token(Actor.system("tests"), token)
    assert state() == before  # the parent is not revoked without its children


def test_a_token_cannot_outrank_or_outlive_its_parent_in_the_service(
        parent: tuple[ApiToken, str], personas: dict[str, User]) -> None:
    token, _secret = parent
    acting = Actor.for_token(token)
    before = state()
    with frozen_at(T0 + dt.timedelta(days=1)), translation.override("en"):
        with pytest.raises(PermissionRefused):
            tokens.create_token(acting, user=personas["admin"], name="escalate")
        admin_token, _ = tokens.create_token(Actor.system("tests"), user=personas["admin"],
                                             name="admin")
        with pytest.raises(PermissionRefused, match="its own user"):  # not even an admin's
            tokens.create_token(Actor.for_token(admin_token), user=personas["finance"],
                                name="for someone else")
        before = state()
        tokens.revoke_token(Actor.system("tests"), token)
        after_revoke = state()
        with pytest.raises(PermissionRefused, match="revoked or expired"):
            tokens.create_token(acting, user=personas["finance"], name="after revoke")
    assert state() == after_revoke != before


def test_the_maximum_is_a_setting(personas: dict[str, User], settings: Any,
                                  client_for: Callable[[User], Client]) -> None:
    settings.CUSTGUARD_TOKEN_MAX_DAYS = 30
    user = personas["finance"]
    with frozen_at(T0), translation.override("en"):
        token, _secret = tokens.create_token(Actor.for_user(user), user=user, name="erp")
        assert token.expires_at == T0 + dt.timedelta(days=30)
        with pytest.raises(ValidationFailed, match="between 1 and 30 days"):
            tokens.create_token(Actor.for_user(user), user=user, name="erp", expires_days=31)
        before = state()
        page = client_for(user).post("/tokens/", {"name": "long", "expires_days": "31"})
    assert page.status_code == 200 and "token-secret" not in page.content.decode()
    assert state() == before


def test_the_migration_bounds_tokens_made_without_an_expiry(personas: dict[str, User],
                                                            settings: Any) -> None:
    settings.CUSTGUARD_TOKEN_MAX_DAYS = 90
    user = personas["finance"]
    legacy, _ = tokens.create_token(Actor.system("tests"), user=user, name="legacy")
    revoked, _ = tokens.create_token(Actor.system("tests"), user=user, name="revoked")
    ApiToken.objects.filter(pk=legacy.pk).update(expires_at=None)
    ApiToken.objects.filter(pk=revoked.pk).update(expires_at=None, revoked_at=T0)
    migration = importlib.import_module("custguard.core.migrations.0005_token_parent")
    migration.bound_unlimited_tokens(apps, None)
    legacy.refresh_from_db()
    revoked.refresh_from_db()
    assert revoked.expires_at is None  # dead already
    assert legacy.expires_at is not None
    expected = timezone.now() + dt.timedelta(days=90)
    assert abs(legacy.expires_at - expected) < dt.timedelta(minutes=1)
