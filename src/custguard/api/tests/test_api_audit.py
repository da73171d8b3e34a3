"""The audit log over the API: auditors and administrators read it, with filters; nobody else."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from custguard.core.actors import Actor
from custguard.core.clock import frozen_at
from custguard.core.models import AuditEntry, User
from custguard.core.services.audit import compute_hash
from custguard.customers import services
from custguard.customers.models import Customer, Region

pytestmark = pytest.mark.django_db

AUDIT = "/api/v1/audit"
DAY1 = dt.datetime(2025, 5, 1, 10, 0, tzinfo=dt.UTC)
DAY2 = dt.datetime(2025, 5, 3, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def history(regions: None, personas: dict[str, User]) -> dict[str, Customer]:
    region = Region.objects.get(pk="110000")
    with frozen_at(DAY1):
        first = services.create_customer(Actor.for_user(personas["sales_manager"]),
                                         region=region, name="一号", kind="dealer")
        services.update_customer(Actor.for_user(personas["sales_manager"]), first,
                                 name="一号改", reason="更正")
    with frozen_at(DAY2):
        second = services.create_customer(Actor.for_user(personas["account_manager_2"]),
                                          region=region, name="二号", kind="dealer")
        services.create_group(Actor.for_user(personas["credit_manager"]), name="集团",
                              parent=second)
    return {"first": first, "second": second}


@pytest.fixture
def read(personas: dict[str, User], bearer_for: Callable[[User], dict[str, str]],
         ) -> Callable[[str], Callable[..., Any]]:
    def for_role(role: str) -> Callable[..., Any]:
        headers = bearer_for(personas[role])
        return lambda path=AUDIT, **query: Client().get(path, query, **headers)
    return for_role


def actions(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["action"] for item in response.json()["items"]]


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_read_everything_newest_first(history: dict[str, Customer],
                                                         read: Any, role: str) -> None:
    get = read(role)
    response = get()
    body = response.json()
    assert body["count"] == AuditEntry.objects.count()
    seqs = [item["seq"] for item in body["items"]]
    assert seqs == sorted(seqs, reverse=True)
    newest = body["items"][0]
    assert newest["action"] == "token.create"  # the reader's own token, made last
    entry = AuditEntry.objects.get(seq=seqs[-1])
    oldest = body["items"][-1]
    assert oldest["hash"] == entry.hash == compute_hash(entry)
    assert set(oldest) == {"seq", "at", "actor_kind", "actor_label", "action", "object_type",
                           "object_id", "customer_id", "before", "after", "reason",
                           "prev_hash", "hash"}


def test_filter_by_action_prefix(history: dict[str, Customer], read: Any) -> None:
    get = read("auditor")
    assert actions(get(action="customer.")) == ["customer.create", "customer.update",
                                                 "customer.create"]
    assert actions(get(action="customer.update")) == ["customer.update"]
    assert actions(get(action="group")) == ["group.member_add", "group.create"]
    assert actions(get(action="nothing")) == []


def test_filter_by_customer(history: dict[str, Customer], read: Any) -> None:
    get = read("auditor")
    first = get(customer_id=history["first"].pk)
    assert actions(first) == ["customer.update", "customer.create"]
    assert {item["customer_id"] for item in first.json()["items"]} == {history["first"].pk}
    update = first.json()["items"][0]
    assert update["before"] == {"name": "一号"}
    assert update["after"] == {"name": "一号改"}
    assert update["reason"] == "更正"
    assert actions(get(customer_id=history["second"].pk)) == [
        "group.member_add", "group.create", "customer.create"]
    assert actions(get(customer_id=987654)) == []


def test_filter_by_actor_object_and_date(history: dict[str, Customer], read: Any) -> None:
    get = read("auditor")
    by_actor = get(actor="account_manager_2")
    assert actions(by_actor) == ["customer.create"]
    assert by_actor.json()["items"][0]["actor_label"] == "account_manager_2"
    assert actions(get(actor="credit_manager")) == ["group.member_add", "group.create"]
    assert actions(get(object_type="customers.customergroup")) == ["group.member_add",
                                                                   "group.create"]
    assert actions(get(object_type="customers.customer",
                       object_id=str(history["first"].pk))) == ["customer.update",
                                                                "customer.create"]
    assert actions(get(date_from="2025-05-01", date_to="2025-05-02")) == [
        "customer.update", "customer.create"]
    assert actions(get(date_from="2025-05-03", date_to="2025-05-03", action="customer")) == [
        "customer.create"]


def test_bad_filters_are_named(history: dict[str, Customer], read: Any) -> None:
    response = read("auditor")(customer_id="abc")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["customer_id"]
    response = read("auditor")(date_from="yesterday")
    assert [e["field"] for e in response.json()["errors"]] == ["date_from"]


def test_pagination(history: dict[str, Customer], read: Any) -> None:
    get = read("auditor")
    total = AuditEntry.objects.count()
    page = get(page_size=2, page=2).json()
    assert page["count"] == total
    assert [item["seq"] for item in page["items"]] == [total - 2, total - 3]


def test_one_entry_by_sequence(history: dict[str, Customer], read: Any) -> None:
    get = read("auditor")
    entry = AuditEntry.objects.get(action="customer.update")
    body = get(f"{AUDIT}/{entry.seq}").json()
    assert (body["seq"], body["action"], body["hash"]) == (entry.seq, "customer.update",
                                                           entry.hash)
    missing = get(f"{AUDIT}/99999")
    assert missing.status_code == 404
    assert missing.json()["status"] == 404


@pytest.mark.parametrize("role", ["credit_manager", "sales_manager", "account_manager",
                                  "customer_service", "finance", "outsider"])
def test_other_roles_are_refused(history: dict[str, Customer], read: Any, role: str) -> None:
    get = read(role)
    entry = AuditEntry.objects.get(action="customer.update")
    for response in (get(), get(action="customer."), get(f"{AUDIT}/{entry.seq}")):
        assert response.status_code == 403
        assert response["Content-Type"] == "application/problem+json"
        assert "items" not in response.json()
        assert "一号" not in response.content.decode()


def test_anonymous_is_401(history: dict[str, Customer], client: Client) -> None:
    response = client.get(AUDIT)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
