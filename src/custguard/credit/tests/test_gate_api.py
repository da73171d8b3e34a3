"""The order gate over the API: answers, reservations, replays, release, reading reservations and
a customer's gate answers; errors as problem+json naming the field; scope (another's customer is
a 404); and the check's cost: it reads the standing rows, never the customer's history."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from custguard.core import clock
from custguard.core.models import User
from custguard.credit.models import GateCheck
from custguard.customers.models import Customer, Standing
from custguard.ledger.models import Invoice, Payment

from .gate_support import (
    counters,
    group_counters,
    make_customer,
    make_group,
    publish_default_policy,
    snapshot,
)

pytestmark = pytest.mark.django_db

D = Decimal
CHECK = "/api/v1/gate/check"


@pytest.fixture
def world(personas: dict[str, User]) -> dict[str, Any]:
    publish_default_policy()
    own = make_customer("接口客户", limit="10000.00", account_manager=personas["account_manager"])
    parent = make_customer("接口母公司", limit="50000.00")
    member = make_customer("接口子公司", limit="50000.00")
    group = make_group("接口集团", parent, [member], limit="20000.00")
    return {"own": own, "parent": parent, "member": member, "group": group}


@pytest.fixture
def api(personas: dict[str, User], bearer_for: Callable[[User], dict[str, str]],
        ) -> Callable[..., Any]:
    """call(role, method, path, body=None, **headers) -> response (English messages). The
    tokens exist before the test takes its snapshots."""
    headers_of = {role: bearer_for(personas[role]) for role in personas}

    def call(role: str, method: str, path: str, body: Any = None, **extra: str) -> Any:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        headers = headers_of[role] | extra
        if method == "GET":
            return client.get(path, body or {}, **headers)
        return client.generic(method, path, json.dumps(body) if body is not None else "",
                              content_type="application/json", **headers)
    return call


def check(api: Callable[..., Any], body: dict[str, Any], role: str = "erp_integration") -> Any:
    return api(role, "POST", CHECK, body)


def problem_fields(response: Any) -> list[str]:
    assert response["Content-Type"] == "application/problem+json"
    return [e["field"] for e in response.json().get("errors", [])]


# --- the check --------------------------------------------------------------------------------


def test_a_check_by_code_answers_with_reasons_numbers_and_available_credit(
        world: dict[str, Any], api: Callable[..., Any]) -> None:
    own: Customer = world["own"]
    before = snapshot()
    response = check(api, {"customer": own.code, "amount": "2500.00"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["outcome"] == "allow"
    assert body["customer_id"] == own.pk and body["customer_code"] == own.code
    assert body["reasons"] == [{
        "code": "WITHIN_LIMIT", "params": {"amount": "2500.00", "available_after": "7500.00"},
        "text": "Within the limit: 7,500.00 still available after this order"}]
    assert body["available"] == {"customer": "10000.00", "group": None}
    assert body["grade"] == "A" and body["policy_version"] == 1
    assert body["reservation"] is None and body["replayed"] is False
    assert GateCheck.objects.get(pk=body["check_id"]).amount == D("2500.00")
    assert snapshot()["checks"] == before["checks"] + 1
    assert counters(own) == (D("0.00"), D("0.00"))


def test_a_check_by_id_with_a_number_amount(world: dict[str, Any],
                                            api: Callable[..., Any]) -> None:
    response = check(api, {"customer": world["own"].pk, "amount": 12.5})
    assert response.status_code == 200
    assert response.json()["amount"] == "12.50"


def test_an_order_over_the_limit_is_held_with_the_shortfall(world: dict[str, Any],
                                                             api: Callable[..., Any]) -> None:
    response = check(api, {"customer": world["own"].code, "amount": "10600.00", "reserve": True,
                           "source": "erp", "external_id": "SO-1"})
    body = response.json()
    assert body["outcome"] == "hold"
    reason = body["reasons"][0]
    assert reason["code"] == "LIMIT_EXCEEDED"
    assert reason["params"]["shortfall"] == "100.00"
    assert reason["text"].startswith("Limit exceeded by 100.00 (available 10,000.00")
    assert body["reservation"]["status"] == "held"


def test_a_group_member_sees_the_groups_available_credit(world: dict[str, Any],
                                                        api: Callable[..., Any]) -> None:
    response = check(api, {"customer": world["member"].code, "amount": "21500.00"})
    body = response.json()
    assert body["available"] == {"customer": "50000.00", "group": "20000.00"}
    assert body["outcome"] == "hold"
    assert [r["code"] for r in body["reasons"]] == ["GROUP_LIMIT_EXCEEDED"]


def test_reserve_replay_and_conflict(world: dict[str, Any], api: Callable[..., Any]) -> None:
    member: Customer = world["member"]
    order = {"customer": member.code, "amount": "3000.00", "reserve": True, "source": "erp",
             "external_id": "SO-7"}
    first = check(api, order).json()
    assert first["outcome"] == "allow" and first["replayed"] is False
    assert first["reservation"]["status"] == "pending"
    assert first["reservation"]["amount"] == "3000.00"
    expires = dt.datetime.fromisoformat(first["reservation"]["expires_at"])
    waited = expires - dt.datetime.fromisoformat(first["checked_at"])
    assert abs(waited - dt.timedelta(hours=72)) < dt.timedelta(seconds=1)
    assert counters(member) == (D("0.00"), D("3000.00"))
    assert group_counters(world["group"]) == (D("0.00"), D("3000.00"))
    before = snapshot()
    again = check(api, order | {"customer": str(member.pk)})
    assert again.status_code == 200
    assert again.json() | {"replayed": False} == first
    assert again.json()["replayed"] is True
    assert snapshot() == before
    conflict = check(api, order | {"amount": "3000.01"})
    assert conflict.status_code == 409
    assert problem_fields(conflict) == ["external_id"]
    assert snapshot() == before


@pytest.mark.parametrize(("body", "status", "fields"), [
    ({"amount": "10.00"}, 422, ["customer"]),
    ({"customer": "{own}"}, 422, ["amount"]),
    ({"customer": "{own}", "amount": "0"}, 422, ["amount"]),
    ({"customer": "{own}", "amount": "-1.00"}, 422, ["amount"]),
    ({"customer": "{own}", "amount": "10.001"}, 422, ["amount"]),
    ({"customer": "{own}", "amount": "ten"}, 422, ["amount"]),
    ({"customer": "{own}", "amount": "10.00", "reserve": True}, 422, ["source"]),
    ({"customer": "{own}", "amount": "10.00", "reserve": True, "source": "erp"}, 422,
     ["external_id"]),
    ({"customer": "{own}", "amount": "10.00", "source": "x" * 51}, 422, ["source"]),
    ({"customer": "{own}", "amount": "10.00", "reserve": "maybe"}, 422, ["reserve"]),
    ({"customer": "{own}", "amount": "10.00", "limit": "1"}, 422, ["limit"]),
    ({"customer": "999999999", "amount": "10.00"}, 404, ["customer"]),
    ({"customer": "12345", "amount": "10.00"}, 404, ["customer"]),
    ({"customer": "abc", "amount": "10.00"}, 404, ["customer"]),
])
def test_bad_input_is_a_problem_naming_the_field_and_changes_nothing(
        world: dict[str, Any], api: Callable[..., Any], body: dict[str, Any], status: int,
        fields: list[str]) -> None:
    body = {k: world["own"].code if v == "{own}" else v for k, v in body.items()}
    before = snapshot()
    response = check(api, body)
    assert response.status_code == status, response.content
    assert problem_fields(response) == fields
    assert response.json()["status"] == status
    assert snapshot() == before


def test_no_policy_is_a_clear_problem(personas: dict[str, User],
                                      api: Callable[..., Any]) -> None:
    customer = make_customer("无政策客户")
    response = check(api, {"customer": customer.code, "amount": "1.00"})
    assert response.status_code == 422
    assert problem_fields(response) == ["policy"]


# --- reservations -----------------------------------------------------------------------------


def test_release_is_idempotent_and_gives_the_credit_back(world: dict[str, Any],
                                                         api: Callable[..., Any]) -> None:
    member: Customer = world["member"]
    check(api, {"customer": member.code, "amount": "3000.00", "reserve": True, "source": "erp",
                "external_id": "SO-8"})
    path = "/api/v1/gate/reservations/erp/SO-8/release"
    first = api("erp_integration", "POST", path, {"reason": "客户取消"})
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "voided" and first.json()["ended_at"]
    assert counters(member) == (D("0.00"), D("0.00"))
    assert group_counters(world["group"]) == (D("0.00"), D("0.00"))
    before = snapshot()
    second = api("erp_integration", "POST", path)  # no body at all
    assert second.status_code == 200
    assert second.json() == first.json()
    assert snapshot() == before
    missing = api("erp_integration", "POST", "/api/v1/gate/reservations/erp/NOPE/release")
    assert missing.status_code == 404 and problem_fields(missing) == ["external_id"]


def test_reading_a_reservation(world: dict[str, Any], api: Callable[..., Any]) -> None:
    own: Customer = world["own"]
    check(api, {"customer": own.code, "amount": "99.90", "reserve": True, "source": "erp",
                "external_id": "SO-9"})
    response = api("finance", "GET", "/api/v1/gate/reservations/erp/SO-9")
    assert response.status_code == 200
    body = response.json()
    assert body["customer_code"] == own.code and body["amount"] == "99.90"
    assert body["status"] == "pending" and body["decided_by"] is None
    # the account manager of the customer sees it; a colleague does not
    assert api("account_manager", "GET", "/api/v1/gate/reservations/erp/SO-9").status_code == 200
    hidden = api("account_manager_2", "GET", "/api/v1/gate/reservations/erp/SO-9")
    assert hidden.status_code == 404
    assert api("customer_service", "GET",
               "/api/v1/gate/reservations/erp/SO-9").status_code == 403


def test_a_customers_gate_answers_newest_first_paginated_and_filtered(
        world: dict[str, Any], api: Callable[..., Any]) -> None:
    own: Customer = world["own"]
    for n, amount in enumerate(["10.00", "20000.00", "30.00"]):
        check(api, {"customer": own.code, "amount": amount, "reserve": True, "source": "erp",
                    "external_id": f"L-{n}"})
    check(api, {"customer": world["member"].code, "amount": "5.00"})
    response = api("auditor", "GET", f"/api/v1/customers/{own.code}/gate-checks")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [c["amount"] for c in body["items"]] == ["30.00", "20000.00", "10.00"]
    assert body["items"][1]["outcome"] == "hold"
    assert body["items"][1]["reservation_status"] == "held"
    assert body["items"][0]["asked_by"].startswith("erp_integration/")
    by_id = api("auditor", "GET", f"/api/v1/customers/{own.pk}/gate-checks",
                {"outcome": "hold"}).json()
    assert [c["amount"] for c in by_id["items"]] == ["20000.00"]
    bad = api("auditor", "GET", f"/api/v1/customers/{own.pk}/gate-checks", {"outcome": "maybe"})
    assert bad.status_code == 422 and problem_fields(bad) == ["outcome"]
    assert api("account_manager", "GET",
               f"/api/v1/customers/{own.code}/gate-checks").status_code == 200
    assert api("account_manager_2", "GET",
               f"/api/v1/customers/{own.code}/gate-checks").status_code == 404


# --- the check's cost -------------------------------------------------------------------------


def _bulk_history(customer: Customer, count: int) -> None:
    today = clock.today()
    now = clock.now()
    Invoice.objects.bulk_create([Invoice(
        customer=customer, source="bulk", external_id=f"{customer.pk}-I{n}", amount=D("10.00"),
        open_amount=D("0.00"), recorded_at=now, recorded_by="tests", issued_on=today,
        due_on=today, settled_on=today) for n in range(count)])
    Payment.objects.bulk_create([Payment(
        customer=customer, source="bulk", external_id=f"{customer.pk}-P{n}", amount=D("10.00"),
        recorded_at=now, recorded_by="tests", received_on=today) for n in range(count)])


@pytest.mark.parametrize("reserve", [False, True])
def test_the_check_reads_standing_rows_never_history(world: dict[str, Any],
                                                    api: Callable[..., Any],
                                                    reserve: bool) -> None:
    quiet = make_customer("没有历史")
    busy = make_customer("历史很长")
    _bulk_history(busy, 300)
    for customer in (quiet, busy):  # warm up: token use, permissions, policy cache
        check(api, {"customer": customer.code, "amount": "1.00"})

    def queries(customer: Customer, order: str) -> list[str]:
        body: dict[str, Any] = {"customer": customer.code, "amount": "1.00"}
        if reserve:
            body |= {"reserve": True, "source": "erp", "external_id": order}
        with CaptureQueriesContext(connection) as captured:
            assert check(api, body).status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    few, many = queries(quiet, "C-1"), queries(busy, "C-2")
    assert len(few) == len(many)
    for sql in many:
        assert "ledger_" not in sql, sql
        assert "credit_creditscore" not in sql, sql
    reads = [sql for sql in many if sql.lstrip().upper().startswith("SELECT")]
    standing_reads = [sql for sql in reads if 'FROM "customers_standing"' in sql]
    assert len(standing_reads) == 1
    assert sum('FROM "core_policyversion"' in sql for sql in reads) == 1
    assert Standing.objects.get(pk=busy.pk).reserved == (D("1.00") if reserve else 0)
