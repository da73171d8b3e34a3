"""The scores, reviews and overrides API: what the credit endpoint says, the score history, the
override workflow over HTTP, and refusals as problem+json naming the field with nothing
changed."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from custguard.core import clock
from custguard.core.models import AuditEntry, User
from custguard.credit.models import CreditOverride, CreditReview, CreditScore
from custguard.credit.services import exposure, scoring
from custguard.credit.tests.test_scoring_support import (
    SYSTEM,
    add_invoice,
    days_ago,
    good_history,
    new_customer,
    new_group,
    publish_policy,
)
from custguard.customers.models import Customer, GroupStanding, Standing

pytestmark = pytest.mark.django_db
V1 = "/api/v1"


@pytest.fixture
def api(regions: None, personas: dict[str, User],
        bearer_for: Callable[[User], dict[str, str]]) -> Callable[..., Any]:
    publish_policy()
    headers = {role: bearer_for(user) for role, user in personas.items()}

    def call(role: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        client = Client()
        if method == "GET":
            return client.get(V1 + path, **headers[role])
        return client.generic(method, V1 + path, json.dumps(body or {}, ensure_ascii=False),
                              content_type="application/json", **headers[role])
    return call


@pytest.fixture
def member(personas: dict[str, User]) -> Customer:
    customer = new_customer("接口客户", manager=personas["account_manager"])
    good_history(customer)
    parent = new_customer("接口母公司")
    new_group("接口集团", parent, [customer])
    scoring.rescore(SYSTEM, [customer.pk, parent.pk])
    exposure.add_posted(customer.pk, Decimal("1234.50"))
    customer.refresh_from_db()
    return customer


def state() -> dict[str, Any]:
    return {"overrides": list(CreditOverride.objects.order_by("pk").values()),
            "standings": list(Standing.objects.order_by("pk").values()),
            "groups": list(GroupStanding.objects.order_by("pk").values()),
            "scores": CreditScore.objects.count(), "reviews": CreditReview.objects.count(),
            "audit": AuditEntry.objects.count()}


def test_the_credit_of_a_customer(api: Callable[..., Any], member: Customer) -> None:
    response = api("account_manager", "GET", f"/customers/{member.code}/credit")
    assert response.status_code == 200
    body = response.json()
    standing = Standing.objects.get(pk=member.pk)
    assert body["customer"] == {"id": member.pk, "code": member.code, "name": member.name}
    assert (body["score"], body["grade"]) == (standing.score, standing.grade)
    assert Decimal(body["credit_limit"]) == standing.credit_limit
    assert body["exposure"]["posted"] == "1234.50"
    assert Decimal(body["exposure"]["available"]) == standing.credit_limit - Decimal("1234.50")
    assert body["group"]["name"] == "接口集团" and body["group"]["has_limit"] is False
    assert Decimal(body["group"]["posted"]) == Decimal("1234.50")
    assert body["reasons"] and set(body["reasons"][0]) == {"code", "params", "text"}
    assert body["limit_reasons"][0]["code"] == "LIMIT_FROM_GRADE"
    assert body["policy_version"] == standing.policy_version
    assert body["next_review_on"] == standing.next_review_on.isoformat()  # type: ignore[union-attr]
    by_id = api("auditor", "GET", f"/customers/{member.pk}/credit")
    assert by_id.json() == body
    assert api("account_manager_2", "GET", f"/customers/{member.code}/credit").status_code == 404


def test_score_history_is_paginated_newest_first(api: Callable[..., Any],
                                                 member: Customer) -> None:
    for _n in range(3):
        scoring.rescore(SYSTEM, [member.pk])
    response = api("credit_manager", "GET", f"/customers/{member.code}/scores")
    body = response.json()
    assert body["count"] == 4
    ids = [item["id"] for item in body["items"]]
    assert ids == sorted(ids, reverse=True)
    first = body["items"][0]
    assert first["factor_values"]["ON_TIME_PAYMENT_RATE_12M"] == "100.00"
    assert first["reasons"][0]["text"]


def test_rescore_and_review(api: Callable[..., Any], member: Customer) -> None:
    add_invoice(member, issued=days_ago(160), due=days_ago(130), amount="70000.00")
    response = api("credit_manager", "POST", f"/customers/{member.code}/rescore")
    assert response.status_code == 200
    assert response.json()["trigger"] == "manual"
    assert response.json()["factor_values"]["MAX_DAYS_PAST_DUE"] == "130"
    review = api("credit_manager", "POST", f"/customers/{member.code}/reviews",
                 {"note": "逾期130天，下调"})
    assert review.status_code == 201
    body = review.json()
    assert body["score"]["trigger"] == "review"
    assert body["reviewed_by"] == "credit_manager"
    before = state()
    empty = api("credit_manager", "POST", f"/customers/{member.code}/reviews", {"note": ""})
    assert empty.status_code == 422
    assert empty["Content-Type"] == "application/problem+json"
    assert empty.json()["errors"][0]["field"] == "note"
    assert state() == before


def test_the_review_queue(api: Callable[..., Any], member: Customer) -> None:
    body = api("finance", "GET", "/credit/reviews").json()
    codes = [row["customer"]["code"] for row in body["items"]]
    assert member.code in codes
    row = body["items"][codes.index(member.code)]
    assert row["ever_reviewed"] is False
    assert api("finance", "GET", "/credit/reviews?grade=D").json()["count"] == 0


def test_the_override_workflow(api: Callable[..., Any], member: Customer) -> None:
    expires = (clock.today() + dt.timedelta(days=60)).isoformat()
    created = api("credit_manager", "POST", "/credit/overrides",
                  {"customer": member.code, "credit_limit": "750000.00",
                   "payment_terms_days": 45, "reason": "旺季备货", "expires_on": expires})
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "pending" and body["needs_approval"] is True
    assert body["credit_limit"] == "750000.00" and body["requested_by"] == "credit_manager"
    pk = body["id"]
    own = api("credit_manager", "POST", f"/credit/overrides/{pk}/approve", {})
    assert own.status_code == 403
    assert own.json()["errors"][0]["field"] == "override"
    listed = api("account_manager", "GET", "/credit/overrides?status=pending").json()
    assert [item["id"] for item in listed["items"]] == [pk]
    assert api("account_manager_2", "GET", "/credit/overrides").json()["count"] == 0
    approved = api("admin", "POST", f"/credit/overrides/{pk}/approve", {"note": "同意"})
    assert approved.status_code == 200 and approved.json()["status"] == "active"
    assert approved.json()["decided_by"] == "admin"
    credit = api("credit_manager", "GET", f"/customers/{member.code}/credit").json()
    assert credit["credit_limit"] == "750000.00" and credit["limit_overridden"] is True
    assert credit["payment_terms_days"] == 45
    revoked = api("credit_manager", "POST", f"/credit/overrides/{pk}/revoke",
                  {"reason": "提前结束"})
    assert revoked.json()["status"] == "revoked"
    latest = scoring.latest_score(member.pk)
    assert latest is not None
    assert Standing.objects.get(pk=member.pk).credit_limit == latest.credit_limit
    again = api("credit_manager", "POST", f"/credit/overrides/{pk}/revoke", {"reason": "再次"})
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "status"


def test_a_group_override_and_a_rejection(api: Callable[..., Any], member: Customer) -> None:
    group_id = member.group_id
    expires = (clock.today() + dt.timedelta(days=60)).isoformat()
    created = api("admin", "POST", "/credit/overrides",
                  {"group": group_id, "credit_limit": "5000000", "reason": "集团授信",
                   "expires_on": expires})
    assert created.status_code == 201
    pk = created.json()["id"]
    assert created.json()["group"] == {"id": group_id, "name": "接口集团"}
    before = state()
    no_note = api("credit_manager", "POST", f"/credit/overrides/{pk}/reject", {"note": " "})
    assert no_note.status_code == 422 and no_note.json()["errors"][0]["field"] == "note"
    assert state() == before
    rejected = api("credit_manager", "POST", f"/credit/overrides/{pk}/reject",
                   {"note": "额度过高"})
    assert rejected.json()["status"] == "rejected"
    assert GroupStanding.objects.get(pk=group_id).has_limit is False
    one = api("auditor", "GET", f"/credit/overrides/{pk}").json()
    assert one["decision_note"] == "额度过高"


@pytest.mark.parametrize(("body", "field", "status"), [
    ({"credit_limit": "-5"}, "credit_limit", 422),
    ({"credit_limit": "1.234"}, "credit_limit", 422),
    ({"credit_limit": "abc"}, "credit_limit", 422),
    ({"payment_terms_days": 9999}, "payment_terms_days", 422),
    ({"reason": ""}, "reason", 422),
    ({"expires_on": "yesterday"}, "expires_on", 422),
    ({"expires_on": "PAST"}, "expires_on", 422),
    ({"expires_on": "FAR"}, "expires_on", 422),
    ({"customer": "999999999"}, "customer", 404),
    ({"customer": None}, "customer", 422),
    ({"group": 1}, "customer", 422),  # both a customer and a group
    ({"surprise": 1}, "surprise", 422),
], ids=lambda value: str(value))
def test_bad_requests_name_the_field_and_change_nothing(api: Callable[..., Any],
                                                        member: Customer,
                                                        body: dict[str, Any], field: str,
                                                        status: int) -> None:
    days = {"PAST": clock.today().isoformat(),
            "FAR": (clock.today() + dt.timedelta(days=400)).isoformat()}
    payload: dict[str, Any] = {"customer": member.code, "credit_limit": "1000.00",
                               "reason": "原因", "expires_on": days_ago(-30).isoformat()}
    payload.update({k: days.get(v, v) if isinstance(v, str) else v for k, v in body.items()})
    before = state()
    response = api("credit_manager", "POST", "/credit/overrides", payload)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    fields = [error["field"] for error in response.json().get("errors", [])]
    assert any(f == field or f.endswith(f".{field}") for f in fields), fields
    assert state() == before
