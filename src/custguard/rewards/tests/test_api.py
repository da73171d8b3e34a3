"""A customer's points over the API: the summary, the entries (filtered, paginated, with their
reasons in words), the open lots, and adjustments (added, taken, replayed, refused with the
field named and nothing written); a customer the caller may not see is a 404. The world is
tests/world.py, built once for the module."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from custguard.core.models import AuditEntry, User
from custguard.customers.models import Standing
from custguard.rewards.models import LotUse, PointsAccount, PointsEntry, PointsLot
from custguard.rewards.tests import world as points_world
from custguard.rewards.tests.world import AVAILABLE, EARNED, EXPIRED, NEXT_EXPIRY, PENDING, SPENT
from custguard.testing.shared import table_rows

pytestmark = pytest.mark.django_db

# The shared world's fixtures (tests/world.py).
bearer_for = points_world.bearer_for
module_points_world = points_world.module_points_world
personas = points_world.personas
world = points_world.world

V1 = "/api/v1"
Api = Callable[..., Any]


def state() -> dict[str, Any]:
    return table_rows(PointsEntry, PointsLot, LotUse, PointsAccount, Standing) | {
        "audit": AuditEntry.objects.count()}


@pytest.fixture
def api(personas: dict[str, User], bearer_for: Callable[[User], dict[str, str]]) -> Api:
    """api(role, method, path, body=None, **extra) → the response, as that role's token."""
    def call(role: str, method: str, path: str, body: Any = None, **extra: Any) -> Any:
        headers = bearer_for(personas[role]) | extra
        client = Client()
        if method == "GET":
            return client.get(f"{V1}{path}", body or {}, **headers)
        return client.generic(method, f"{V1}{path}", json.dumps(body),
                              content_type="application/json", **headers)
    return call


def fields(response: Any) -> list[str]:
    assert response["Content-Type"] == "application/problem+json"
    return [error["field"] for error in response.json()["errors"]]


# --- the summary ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["points_code", "points_id"])
def test_the_summary_says_what_the_customer_may_spend_and_when_points_expire(
        api: Api, world: dict[str, Any], key: str) -> None:
    response = api("account_manager", "GET", f"/customers/{world[key]}/points")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer"]["code"] == world["points_code"]
    assert (body["available"], body["pending"], body["withheld"], body["debt"]) == (
        AVAILABLE, PENDING, 0, 0)
    assert (body["earned_total"], body["spent_total"], body["expired_total"]) == (
        EARNED, SPENT, EXPIRED)
    assert body["next_expiry"] == {"on": str(NEXT_EXPIRY), "points": AVAILABLE + PENDING}
    assert body["value"] == "230.00"  # 460 points at 0.5 each
    assert (body["points_frozen"], body["blacklisted"]) == (False, False)


def test_the_erp_sees_the_account_but_not_the_entries_or_lots(
        api: Api, world: dict[str, Any]) -> None:
    code = world["points_code"]
    assert api("erp_integration", "GET", f"/customers/{code}/points").status_code == 200
    assert api("erp_integration", "GET", f"/customers/{code}/points/entries").status_code == 403
    assert api("erp_integration", "GET", f"/customers/{code}/points/lots").status_code == 403


@pytest.mark.parametrize("path", ["/points", "/points/entries", "/points/lots"])
def test_another_account_managers_customer_is_not_found(api: Api, world: dict[str, Any],
                                                        path: str) -> None:
    mine, theirs = world["points_code"], world["other_code"]
    assert api("account_manager", "GET", f"/customers/{theirs}{path}").status_code == 404
    assert api("account_manager_2", "GET", f"/customers/{mine}{path}").status_code == 404
    assert api("account_manager_2", "GET", f"/customers/{theirs}{path}").status_code == 200
    missing = api("admin", "GET", f"/customers/999999999{path}")
    assert missing.status_code == 404
    assert fields(missing) == ["id_or_code"]


# --- entries and lots -------------------------------------------------------------------------


def test_entries_come_newest_first_with_their_reasons_in_plain_words(
        api: Api, world: dict[str, Any]) -> None:
    response = api("finance", "GET", f"/customers/{world['points_code']}/points/entries",
                   HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 6
    kinds = [(item["kind"], item["points"]) for item in body["items"]]
    assert kinds == [("adjust", -40), ("earn", 110), ("adjust", 500), ("expire", -900),
                     ("adjust", -100), ("adjust", 1000)]
    earned = body["items"][1]
    assert earned["invoice"]["external_id"] == "INV-P1"
    assert earned["kind_label"] == "Earned"
    assert [(r["code"], r["text"]) for r in earned["reasons"]] == [
        ("POINTS_EARNED", "10,000.00 paid, at 0.01 points per unit of currency"),
        ("POINTS_ON_TIME_BONUS", "Paid by the due date: 10 bonus points (10% extra)")]
    assert earned["reasons"][0]["params"] == {"paid": "10000.00", "per_unit": "0.01"}
    expired = body["items"][3]
    assert expired["reasons"][0]["text"] == "900 points (1 lots) expired unused"
    assert body["items"][0]["note"] == "correction"


def test_reasons_are_worded_in_chinese_by_default(api: Api, world: dict[str, Any]) -> None:
    response = api("finance", "GET", f"/customers/{world['points_code']}/points/entries",
                   {"kind": "adjust"})
    texts = {r["text"] for item in response.json()["items"] for r in item["reasons"]}
    assert texts == {"人工调整"}


def test_entries_are_filtered_by_kind_and_date_and_paginated(
        api: Api, world: dict[str, Any]) -> None:
    path = f"/customers/{world['points_code']}/points/entries"

    def listed(**query: Any) -> list[tuple[str, int]]:
        response = api("auditor", "GET", path, query)
        assert response.status_code == 200, response.content
        return [(item["kind"], item["points"]) for item in response.json()["items"]]

    assert listed(kind="expire") == [("expire", -900)]
    assert listed(date_from="2025-06-01") == [("adjust", -40), ("earn", 110), ("adjust", 500)]
    assert listed(date_to="2025-02-28") == [("adjust", -100), ("adjust", 1000)]
    assert listed(kind="adjust", date_from="2025-01-01", date_to="2025-03-31") == [
        ("adjust", -100)]
    page = api("auditor", "GET", path, {"page": 2, "page_size": 4}).json()
    assert page["count"] == 6
    assert [item["points"] for item in page["items"]] == [-100, 1000]


@pytest.mark.parametrize(("query", "field"), [({"kind": "gift"}, "kind"),
                                              ({"date_from": "30.06.2025"}, "date_from"),
                                              ({"page_size": 101}, "page_size")])
def test_a_bad_filter_is_refused_naming_it(api: Api, world: dict[str, Any],
                                           query: dict[str, Any], field: str) -> None:
    response = api("auditor", "GET", f"/customers/{world['points_code']}/points/entries",
                   query)
    assert response.status_code == 422
    assert fields(response) == [field]


def test_the_open_lots_come_first_to_expire_first(api: Api, world: dict[str, Any]) -> None:
    response = api("customer_service", "GET", f"/customers/{world['points_code']}/points/lots")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2  # the expired lot has no points left
    lots = [(lot["remaining"], lot["points"], lot["available"], lot["expires_on"],
             (lot["invoice"] or {}).get("external_id")) for lot in body["items"]]
    assert lots == [(460, 500, True, "2027-06-30", None),
                    (110, 110, False, "2027-06-30", "INV-P1")]
    assert body["items"][1]["available_on"] == "2025-07-30"  # the 30-day holding period


# --- adjustments ------------------------------------------------------------------------------


def adjust(api: Api, world: dict[str, Any], body: dict[str, Any],
           role: str = "sales_manager") -> Any:
    return api(role, "POST", f"/customers/{world['points_code']}/points/adjustments", body)


def test_an_adjustment_adds_points_at_once_and_is_audited_as_the_caller(
        api: Api, world: dict[str, Any], personas: dict[str, User]) -> None:
    last = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first()
    response = adjust(api, world, {"points": 250, "note": "service recovery"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["points"], body["created"], body["available"]) == (
        "adjust", 250, True, AVAILABLE + 250)
    assert body["reasons"][0]["code"] == "POINTS_ADJUSTED"
    assert body["note"] == "service recovery"
    assert body["recorded_by"].startswith("sales_manager/")  # the user and the token
    lot = PointsLot.objects.get(entry_id=body["id"])
    assert (lot.remaining, lot.available, lot.expires_on.isoformat()) == (
        250, True, "2027-06-30")
    [entry] = AuditEntry.objects.filter(seq__gt=last)
    assert (entry.action, entry.actor_kind, entry.actor_user_id) == (
        "rewards.points_adjust", "token", personas["sales_manager"].pk)


def test_an_adjustment_takes_points_from_the_lots_that_expire_first(
        api: Api, world: dict[str, Any]) -> None:
    response = adjust(api, world, {"points": -60, "note": "returned gift"},
                      role="customer_service")
    assert response.status_code == 201, response.content
    assert response.json()["available"] == AVAILABLE - 60
    summary = api("finance", "GET", f"/customers/{world['points_code']}/points").json()
    assert (summary["available"], summary["spent_total"]) == (AVAILABLE - 60, SPENT + 60)


def test_a_replay_returns_the_first_entry_and_changes_nothing(
        api: Api, world: dict[str, Any]) -> None:
    body = {"points": 30, "note": "ERP goodwill", "source": "erp", "external_id": "ADJ-9"}
    first = adjust(api, world, body, role="erp_integration")
    assert first.status_code == 201, first.content
    before = state()
    again = adjust(api, world, body, role="erp_integration")
    assert again.status_code == 200
    assert (again.json()["id"], again.json()["created"]) == (first.json()["id"], False)
    assert state() == before


def test_a_replay_with_other_values_is_a_conflict(api: Api, world: dict[str, Any]) -> None:
    body = {"points": 30, "note": "ERP goodwill", "source": "erp", "external_id": "ADJ-9"}
    assert adjust(api, world, body, role="erp_integration").status_code == 201
    before = state()
    clash = adjust(api, world, body | {"points": 31}, role="erp_integration")
    assert clash.status_code == 409
    assert fields(clash) == ["external_id"]
    assert state() == before


@pytest.mark.parametrize(("body", "field"), [
    ({"points": 0, "note": "nothing"}, "points"),
    ({"points": -(AVAILABLE + 1), "note": "too many"}, "points"),
    ({"points": 10_000_001, "note": "too many"}, "points"),
    ({"points": "ten", "note": "words"}, "points"),
    ({"points": 1.5, "note": "a fraction"}, "points"),
    ({"points": True, "note": "a boolean"}, "points"),
    ({"points": 10, "note": ""}, "note"),
    ({"points": 10}, "note"),
    ({"points": 10, "note": "x" * 2001}, "note"),
    ({"points": 10, "note": "   "}, "note"),
    ({"points": 10, "note": "id", "external_id": "ADJ-1"}, "source"),
    ({"points": 10, "note": "id", "source": "s" * 51, "external_id": "ADJ-1"}, "source"),
    ({"points": 10, "note": "key", "customer": "x"}, "customer"),
], ids=["zero", "more-than-available", "over-the-maximum", "text", "fraction", "boolean",
        "empty-note", "no-note", "long-note", "blank-note", "id-without-source",
        "long-source", "unknown-field"])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
        api: Api, world: dict[str, Any], body: dict[str, Any], field: str) -> None:
    before = state()
    response = adjust(api, world, body)
    assert response.status_code == 422, response.content
    assert fields(response) == [field]
    assert state() == before


def test_roles_without_the_right_may_not_adjust_and_nothing_is_written(
        api: Api, world: dict[str, Any]) -> None:
    before = state()
    for role in ("account_manager", "finance", "auditor", "credit_manager"):
        assert adjust(api, world, {"points": 10, "note": "n"}, role=role).status_code == 403
    assert state() == before


def test_an_adjustment_of_an_unknown_customer_is_not_found(api: Api) -> None:
    response = api("admin", "POST", "/customers/999999999/points/adjustments",
                   {"points": 10, "note": "n"})
    assert response.status_code == 404


def test_the_world_is_what_the_module_docstring_says(world: dict[str, Any]) -> None:
    """Guards the figures the other tests assert (tests/world.py)."""
    customer = world["customer"]
    standing = Standing.objects.get(pk=customer.pk)
    assert standing.points_balance == AVAILABLE
    assert PointsAccount.objects.get(pk=customer.pk).pending == PENDING
    assert Standing.objects.get(
        pk=world["other"].pk).points_balance == points_world.OTHER_AVAILABLE
