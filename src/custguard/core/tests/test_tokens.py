"""API tokens: shown once, stored as a digest, refused when dead, acting with the user's rights."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from custguard.core.actors import Actor
from custguard.core.clock import frozen_at
from custguard.core.models import ApiToken, AuditEntry, User
from custguard.core.services import tokens
from custguard.core.services.audit import verify_chain
from custguard.customers.models import Contact, Customer, Region

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers"
T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


def create_via_command(username: str, *extra: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("token", "create", "--user", username, *extra, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert body["status"] == 401
    assert body["instance"] == CUSTOMERS
    assert "items" not in body


def registry_state() -> dict[str, int]:
    return {"customers": Customer.objects.count(), "contacts": Contact.objects.count(),
            "audit": AuditEntry.objects.count(),
            "serial": Region.objects.get(pk="110000").last_serial}


# --- the command --------------------------------------------------------------------------


def test_command_prints_the_secret_once_and_stores_only_its_digest(
        personas: dict[str, User]) -> None:
    with frozen_at(T0):
        out, err = create_via_command("finance", "--expires", "30", "--name", "erp")
    secret = out.strip()
    assert re.fullmatch(r"cg_[0-9a-f]{8}_[A-Za-z0-9_-]{40,}", secret), secret
    assert secret not in err
    token = ApiToken.objects.get(user=personas["finance"])
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix in err and token.prefix in secret
    assert token.name == "erp"
    assert token.created_at == T0
    assert token.expires_at == T0 + dt.timedelta(days=30)
    # the secret is stored nowhere: not in the token row, not in the audit entry
    stored = " ".join(str(v) for v in ApiToken.objects.filter(pk=token.pk).values().get()
                      .values())
    assert secret not in stored
    entry = AuditEntry.objects.get(action="token.create", object_id=str(token.pk))
    assert secret not in str(entry.after)
    assert entry.actor_kind == "system"
    assert entry.after is not None and entry.after["user"] == "finance"
    # a second run makes a different token
    again = create_via_command("finance")[0].strip()
    assert again != secret
    assert ApiToken.objects.filter(user=personas["finance"]).count() == 2


@pytest.mark.parametrize(("args", "message"), [
    (["--user", "nobody"], "no user named 'nobody'"),
    (["--user", "finance", "--expires", "0"], "expires_days"),
    (["--user", "finance", "--expires", "5000"], "expires_days"),
    (["--user", "finance", "--expires", "366"], "expires_days: expiry must be between 1 and 365"),
    (["--user", "finance", "--name", "  "], "name"),
])
def test_command_refuses_bad_input(personas: dict[str, User], args: list[str],
                                   message: str) -> None:
    before = (ApiToken.objects.count(), AuditEntry.objects.count())
    with pytest.raises(CommandError, match=message):
        call_command("token", "create", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert (ApiToken.objects.count(), AuditEntry.objects.count()) == before


def test_command_refuses_an_inactive_user(make_user: Callable[..., User]) -> None:
    make_user("finance", username="gone", is_active=False)
    with pytest.raises(CommandError, match="user: the user is inactive"):
        create_via_command("gone")
    assert not ApiToken.objects.filter(user__username="gone").exists()


def test_command_lists_and_revokes(personas: dict[str, User]) -> None:
    secret = create_via_command("finance")[0].strip()
    token = ApiToken.objects.get(user=personas["finance"])
    listing = io.StringIO()
    call_command("token", "list", "--user", "finance", stdout=listing)
    assert token.prefix in listing.getvalue() and "active" in listing.getvalue()
    assert secret not in listing.getvalue()
    call_command("token", "revoke", token.prefix, stdout=io.StringIO())
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEntry.objects.filter(action="token.revoke", object_id=str(token.pk)).count() == 1
    with pytest.raises(CommandError, match="no token with prefix"):
        call_command("token", "revoke", "ffffffff", stdout=io.StringIO())


# --- authenticating with a token ----------------------------------------------------------


def test_bearer_token_reads_customers(personas: dict[str, User], client: Client) -> None:
    secret = create_via_command("finance", "--expires", "30")[0].strip()
    response = client.get(CUSTOMERS, **bearer(secret))
    assert response.status_code == 200
    assert response.json() == {"items": [], "count": 0}


@pytest.mark.parametrize("header", [
    None,
    "Bearer cg_00000000_not-a-real-secret-at-all",
    "Bearer not-even-our-format",
    "Basic ZmluYW5jZTpwdw==",
    "Bearer ",
])
def test_missing_or_unknown_credentials_get_401(personas: dict[str, User], client: Client,
                                                header: str | None) -> None:
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    assert_unauthorized(client.get(CUSTOMERS, **extra))


def test_a_revoked_token_gets_401(personas: dict[str, User], client: Client) -> None:
    secret = create_via_command("finance")[0].strip()
    assert client.get(CUSTOMERS, **bearer(secret)).status_code == 200
    token = ApiToken.objects.get(user=personas["finance"])
    tokens.revoke_token(Actor.for_user(personas["finance"]), token, reason="leaked")
    assert_unauthorized(client.get(CUSTOMERS, **bearer(secret)))


def test_an_expired_token_gets_401(personas: dict[str, User], client: Client) -> None:
    with frozen_at(T0):
        secret = create_via_command("finance", "--expires", "30")[0].strip()
    with frozen_at(T0 + dt.timedelta(days=29, hours=23)):
        assert client.get(CUSTOMERS, **bearer(secret)).status_code == 200
    with frozen_at(T0 + dt.timedelta(days=30)):
        assert_unauthorized(client.get(CUSTOMERS, **bearer(secret)))
    with frozen_at(T0 + dt.timedelta(days=400)):
        assert_unauthorized(client.get(CUSTOMERS, **bearer(secret)))


def test_a_token_without_expiry_gets_the_maximum(personas: dict[str, User],
                                                client: Client) -> None:
    """No token lives for ever: without an expiry it gets CUSTGUARD_TOKEN_MAX_DAYS (365)."""
    with frozen_at(T0):
        secret = create_via_command("finance")[0].strip()
    token = ApiToken.objects.get(user=personas["finance"])
    assert token.expires_at == T0 + dt.timedelta(days=365)
    with frozen_at(T0 + dt.timedelta(days=364)):
        assert client.get(CUSTOMERS, **bearer(secret)).status_code == 200
    with frozen_at(T0 + dt.timedelta(days=365)):
        assert_unauthorized(client.get(CUSTOMERS, **bearer(secret)))


def test_an_inactive_users_token_gets_401(personas: dict[str, User], client: Client) -> None:
    secret = create_via_command("finance")[0].strip()
    User.objects.filter(pk=personas["finance"].pk).update(is_active=False)
    assert_unauthorized(client.get(CUSTOMERS, **bearer(secret)))


def test_last_use_is_recorded_at_most_once_a_minute(personas: dict[str, User],
                                                    client: Client) -> None:
    with frozen_at(T0):
        secret = create_via_command("finance")[0].strip()
    token = ApiToken.objects.get(user=personas["finance"])
    assert token.last_used_at is None
    audit_before = AuditEntry.objects.count()
    first = T0 + dt.timedelta(hours=1)
    with frozen_at(first):
        assert client.get(CUSTOMERS, **bearer(secret)).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == first
    with frozen_at(first + dt.timedelta(seconds=30)):
        assert client.get(CUSTOMERS, **bearer(secret)).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == first
    later = first + dt.timedelta(minutes=5)
    with frozen_at(later):
        assert client.get(CUSTOMERS, **bearer(secret)).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == later
    assert AuditEntry.objects.count() == audit_before  # bookkeeping, not audited
    # a refused request is not a use
    token.revoked_at = later
    token.save(update_fields=["revoked_at"])
    with frozen_at(later + dt.timedelta(hours=1)):
        client.get(CUSTOMERS, **bearer(secret))
    token.refresh_from_db()
    assert token.last_used_at == later


# --- a token acts with its user's permissions ---------------------------------------------

NEW_CUSTOMER = {"name": "令牌客户", "kind": "enterprise", "region": "110000"}


def test_an_auditors_token_cannot_create_a_customer(regions: None, personas: dict[str, User],
                                                    client: Client) -> None:
    secret = create_via_command("auditor")[0].strip()
    before = registry_state()
    response = client.post(CUSTOMERS, NEW_CUSTOMER, content_type="application/json",
                           **bearer(secret))
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 403
    assert registry_state() == before
    # ... though it reads like the auditor
    assert client.get(CUSTOMERS, **bearer(secret)).status_code == 200
    assert client.get("/api/v1/audit", **bearer(secret)).status_code == 200


def test_a_sales_managers_token_writes_and_is_audited_as_the_token(
        regions: None, personas: dict[str, User]) -> None:
    secret = create_via_command("sales_manager")[0].strip()
    token = ApiToken.objects.get(user=personas["sales_manager"])
    # machines send no CSRF token: bearer requests do not need one
    client = Client(enforce_csrf_checks=True)
    response = client.post(CUSTOMERS, NEW_CUSTOMER, content_type="application/json",
                           **bearer(secret))
    assert response.status_code == 201, response.content
    code = response.json()["code"]
    entry = AuditEntry.objects.get(action="customer.create")
    assert entry.after is not None and entry.after["code"] == code
    assert entry.actor_kind == "token"
    assert entry.actor_token_id == token.pk
    assert entry.actor_user_id == personas["sales_manager"].pk
    assert entry.actor_label == f"sales_manager/{token.prefix}"
    assert verify_chain() is None


def test_an_account_managers_token_sees_only_their_customers(
        regions: None, personas: dict[str, User], client: Client) -> None:
    from custguard.customers import services

    region = Region.objects.get(pk="110000")
    mine = services.create_customer(Actor.for_user(personas["account_manager"]), region=region,
                                    name="我的", kind="dealer")
    services.create_customer(Actor.for_user(personas["account_manager_2"]), region=region,
                             name="同事的", kind="dealer")
    secret = create_via_command("account_manager")[0].strip()
    body = client.get(CUSTOMERS, **bearer(secret)).json()
    assert [c["code"] for c in body["items"]] == [mine.code]


# --- the token page -----------------------------------------------------------------------


def test_token_page_creates_and_shows_the_secret_once(
        personas: dict[str, User], client_for: Callable[[User], Client]) -> None:
    user = personas["customer_service"]
    client = client_for(user)
    assert client.get("/tokens/").status_code == 200
    with frozen_at(T0):
        response = client.post("/tokens/", {"name": "ERP 订单闸门", "expires_days": "90"})
    assert response.status_code == 200
    match = re.search(r'data-testid="token-secret">(cg_[^<]+)<', response.content.decode())
    assert match is not None
    secret = match.group(1)
    token = ApiToken.objects.get(user=user)
    assert token.digest == tokens.digest(secret)
    assert token.name == "ERP 订单闸门"
    assert token.expires_at == T0 + dt.timedelta(days=90)
    entry = AuditEntry.objects.get(action="token.create")
    assert (entry.actor_kind, entry.actor_user_id) == ("user", user.pk)
    # never shown again
    assert secret not in client.get("/tokens/").content.decode()
    # and it works (within its 90 days)
    with frozen_at(T0 + dt.timedelta(days=1)):
        assert Client().get(CUSTOMERS, **bearer(secret)).status_code == 200


def test_token_page_refuses_a_bad_form(personas: dict[str, User],
                                       client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["finance"])
    before = (ApiToken.objects.count(), AuditEntry.objects.count())
    response = client.post("/tokens/", {"name": "", "expires_days": "0"})
    assert response.status_code == 200
    assert "token-secret" not in response.content.decode()
    assert (ApiToken.objects.count(), AuditEntry.objects.count()) == before


def test_token_page_revokes_own_token(personas: dict[str, User],
                                      client_for: Callable[[User], Client]) -> None:
    user = personas["finance"]
    token, secret = tokens.create_token(Actor.for_user(user), user=user, name="erp")
    client = client_for(user)
    assert client.get(f"/tokens/{token.pk}/revoke/").status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None
    response = client.post(f"/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert response["Location"] == "/tokens/"
    token.refresh_from_db()
    assert token.revoked_at is not None
    entry = AuditEntry.objects.get(action="token.revoke")
    assert entry.object_id == str(token.pk)
    assert entry.actor_user_id == user.pk
    assert_unauthorized(Client().get(CUSTOMERS, **bearer(secret)))
    # revoking again is harmless and writes nothing
    before = AuditEntry.objects.count()
    assert client.post(f"/tokens/{token.pk}/revoke/").status_code == 302
    assert AuditEntry.objects.count() == before


def test_token_page_cannot_revoke_someone_elses_token(
        personas: dict[str, User], client_for: Callable[[User], Client]) -> None:
    owner = personas["finance"]
    token, secret = tokens.create_token(Actor.for_user(owner), user=owner, name="erp")
    before = AuditEntry.objects.count()
    for role in ("sales_manager", "auditor", "credit_manager", "outsider"):
        response = client_for(personas[role]).post(f"/tokens/{token.pk}/revoke/")
        assert response.status_code == 404, role
    token.refresh_from_db()
    assert token.revoked_at is None
    assert AuditEntry.objects.count() == before
    assert Client().get(CUSTOMERS, **bearer(secret)).status_code == 200
    # an administrator manages everyone's tokens
    assert client_for(personas["admin"]).post(f"/tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_token_page_needs_a_login(client: Client) -> None:
    response = client.get("/tokens/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
