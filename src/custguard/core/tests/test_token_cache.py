"""A worker's cache of the tokens it has just checked (core/services/token_cache.py): no query
for a token seen a moment ago, and every change that matters felt at once in this worker and
within the cache's lifetime in the others."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import ApiToken, User
from custguard.core.services import token_cache, tokens

pytestmark = pytest.mark.django_db

REGION = "/api/v1/regions/110000"
SYSTEM = Actor.system("tests")


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    token_cache.clear()
    yield
    token_cache.clear()


@pytest.fixture
def secret(regions: None, personas: dict[str, User]) -> str:
    _token, secret = tokens.create_token(SYSTEM, user=personas["credit_manager"], name="erp",
                                         expires_days=30)
    return secret


class Monotonic:
    """The cache's clock, moved by hand (no sleeping)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic(monkeypatch: pytest.MonkeyPatch) -> Monotonic:
    fake = Monotonic()
    monkeypatch.setattr(token_cache.time, "monotonic", fake)
    return fake


def get(secret: str, path: str = REGION) -> Any:
    return Client().get(path, HTTP_AUTHORIZATION=f"Bearer {secret}")


def queries_of(secret: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert get(secret).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_a_token_seen_a_moment_ago_costs_no_query(secret: str, monotonic: Monotonic) -> None:
    first = queries_of(secret)
    assert any("core_apitoken" in sql for sql in first)
    assert any("auth_permission" in sql for sql in first)
    again = queries_of(secret)
    assert len(again) == 1 and "customers_region" in again[0]  # the view's own read only


def test_after_the_lifetime_the_token_is_read_again(secret: str, monotonic: Monotonic,
                                                   settings: Any) -> None:
    queries_of(secret)
    monotonic.now += settings.CUSTGUARD_AUTH_CACHE_SECONDS
    assert any("core_apitoken" in sql for sql in queries_of(secret))


def test_a_lifetime_of_0_reads_the_token_every_time(secret: str, settings: Any) -> None:
    settings.CUSTGUARD_AUTH_CACHE_SECONDS = 0
    queries_of(secret)
    assert any("core_apitoken" in sql for sql in queries_of(secret))


def test_a_revoked_token_is_refused_at_once(secret: str, monotonic: Monotonic) -> None:
    assert get(secret).status_code == 200
    tokens.revoke_token(SYSTEM, ApiToken.objects.get(digest=tokens.digest(secret)))
    assert get(secret).status_code == 401


def test_a_deactivated_user_is_refused_at_once(secret: str, personas: dict[str, User],
                                               monotonic: Monotonic) -> None:
    assert get(secret).status_code == 200
    user = personas["credit_manager"]
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert get(secret).status_code == 401


def test_a_role_taken_away_is_felt_at_once(secret: str, personas: dict[str, User],
                                           monotonic: Monotonic) -> None:
    assert get(secret).status_code == 200
    personas["credit_manager"].groups.remove(Group.objects.get(name="credit_manager"))
    assert get(secret).status_code == 403


def test_a_role_changed_is_felt_at_once(secret: str, monotonic: Monotonic) -> None:
    assert get(secret).status_code == 200
    role = Group.objects.get(name="credit_manager")
    role.permissions.remove(*role.permissions.filter(codename="view_region"))
    assert get(secret).status_code == 403


def test_a_change_in_another_worker_is_felt_within_the_lifetime(
        secret: str, monotonic: Monotonic, settings: Any) -> None:
    assert get(secret).status_code == 200
    # Another worker revokes it: this worker gets no signal, only the row changes.
    ApiToken.objects.filter(digest=tokens.digest(secret)).update(revoked_at=clock.now())
    assert get(secret).status_code == 200  # still trusted, for at most the lifetime
    monotonic.now += settings.CUSTGUARD_AUTH_CACHE_SECONDS
    assert get(secret).status_code == 401


def test_expiry_is_checked_on_every_request(secret: str, monotonic: Monotonic) -> None:
    assert get(secret).status_code == 200
    expires_at = ApiToken.objects.get(digest=tokens.digest(secret)).expires_at
    assert expires_at is not None
    with clock.frozen_at(expires_at + dt.timedelta(seconds=1)):
        assert get(secret).status_code == 401


def test_each_request_gets_its_own_user(secret: str, monotonic: Monotonic) -> None:
    one = tokens.authenticate_secret(secret)
    two = tokens.authenticate_secret(secret)
    assert one is not None and two is not None
    assert one.user is not two.user and one is not two
    assert one.user.pk == two.user.pk and one.user.has_perm("customers.view_region")
