"""The classification API: a customer's class (what the ERP reads) and its history, the runs
with their reports (kept at the close, or counted now), running this month, the approvals
inbox's filters and a decision (approve; a rejection without a note refused naming the field
with nothing changed; a second decision a conflict), the reminders by state and their answer,
and the reasons in plain language with their numbers. The world is tests/world.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from custguard.classification import reasons
from custguard.classification.models import (
    ClassChange,
    ClassificationRun,
    ClassProposal,
    CustomerClass,
)
from custguard.classification.tests import world as class_world
from custguard.classification.tests.world import AFTER_DEADLINE, state
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.credit.reasons import describe
from custguard.customers import services as customer_services
from custguard.customers.models import Region

pytestmark = pytest.mark.django_db

# The shared world's fixtures (tests/world.py).
_fixed_day = class_world._fixed_day
bearer_for = class_world.bearer_for
module_world = class_world.module_world
personas = class_world.personas
world = class_world.world

V1 = "/api/v1"
Api = Callable[..., Any]


@pytest.fixture
def api(personas: dict[str, User], bearer_for: Callable[[User], dict[str, str]]) -> Api:
    """api(role, method, path, body=None, lang="en") -> response."""
    def call(role: str, method: str, path: str, body: Any = None, lang: str = "en") -> Any:
        headers = bearer_for(personas[role]) | {"HTTP_ACCEPT_LANGUAGE": lang}
        client = Client()
        if method == "GET":
            return client.get(f"{V1}{path}", body or {}, **headers)
        import json

        return client.generic(method, f"{V1}{path}", json.dumps(body or {}),
                              content_type="application/json", **headers)
    return call


def items(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return response.json()["items"]


# --- a customer's class -----------------------------------------------------------------------


def test_the_erp_reads_a_customers_class_with_its_reasons(api: Api,
                                                          world: dict[str, Any]) -> None:
    response = api("erp_integration", "GET", f"/customers/{world['p8']}/class")
    assert response.status_code == 200
    body = response.json()
    assert body["customer"]["code"] == world["p8"]
    assert (body["abc"], body["since"], body["kind"], body["run"]) == (
        "A", "2025-06-25", "initial", "2025-06")
    assert [r["code"] for r in body["reasons"]] == ["CLASS_INITIAL", "CLASS_RANKED_A"]
    ranked = body["reasons"][1]
    assert ranked["params"]["position"] == 2 and ranked["params"]["of"] == 10
    assert ranked["text"] == ("Ranked 2 of 10 in sales region 11 with a score of 62.22 (paid "
                              "sales 90,000.00, growth 100%, paid on time 100%): within the "
                              "share of class A")
    by_id = api("sales_manager", "GET", f"/customers/{world['customer_id']}/class").json()
    assert by_id["abc"] == "B"
    assert api("erp_integration", "GET",
               f"/customers/{world['p8']}/class/history").status_code == 403


def test_a_customer_without_a_class_yet_answers_null(api: Api, world: dict[str, Any],
                                                     personas: dict[str, User]) -> None:
    fresh = customer_services.create_customer(
        Actor.for_user(personas["sales_manager"]), region=Region.objects.get(pk="110000"),
        name="未分类客户", kind="dealer", account_manager=personas["account_manager"])
    body = api("account_manager", "GET", f"/customers/{fresh.code}/class").json()
    assert (body["abc"], body["since"], body["reasons"]) == (None, None, [])


def test_another_account_managers_customer_is_not_found(api: Api,
                                                        world: dict[str, Any]) -> None:
    for path in (f"/customers/{world['p3']}/class", f"/customers/{world['p3']}/class/history"):
        response = api("account_manager", "GET", path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
    assert api("account_manager_2", "GET", f"/customers/{world['p3']}/class").json()["abc"] == "B"


def test_the_history_lists_every_change_newest_first(api: Api, world: dict[str, Any]) -> None:
    api("sales_manager", "POST", f"/classification/proposals/{world['proposal']}/decision",
        {"approve": True})
    history = items(api("account_manager", "GET", f"/customers/{world['p4']}/class/history"))
    assert [(c["kind"], c["from_class"], c["to_class"]) for c in history] == [
        ("approved", "B", "A"), ("initial", None, "B")]
    assert history[0]["proposal"] == int(world["proposal"])
    assert history[0]["reasons"][0]["text"] == "The proposed move was approved"
    assert history[0]["decided_by"].startswith("sales_manager/")  # the token's label
    assert history[0]["run"] == "2025-07"
    now = api("erp_integration", "GET", f"/customers/{world['p4']}/class").json()
    assert (now["abc"], now["kind"], now["since"]) == ("A", "approved", "2025-07-26")


# --- runs -------------------------------------------------------------------------------------


def test_the_runs_newest_first_and_a_closed_months_kept_report(api: Api,
                                                               world: dict[str, Any]) -> None:
    runs = items(api("auditor", "GET", "/classification/runs"))
    assert [(r["month"], r["status"], r["customers"]) for r in runs] == [
        ("2025-07", "open", 10), ("2025-06", "closed", 10)]
    CustomerClass.objects.update(abc="C")  # the kept report does not count again
    june = api("auditor", "GET", "/classification/runs/2025-06").json()
    assert june["report"]["live"] is False
    assert june["report"]["by_region"] == [
        {"region": "11", "region_name": "北京市", "abc": abc, "customers": n}
        for abc, n in (("A", 2), ("B", 5), ("C", 3))]
    assert {m["move"]: (m["from_class"], m["customers"]) for m in june["report"]["moves"]} == {
        "-→A": (None, 2), "-→B": (None, 5), "-→C": (None, 3)}


def test_an_open_months_report_is_counted_now(api: Api, world: dict[str, Any]) -> None:
    july = api("finance", "GET", "/classification/runs/2025-07").json()
    assert july["report"]["live"] is True
    assert july["report"]["pending_proposals"] == 3
    assert july["report"]["overdue_reminders"] == 0
    assert july["report"]["moves"] == []
    with clock.frozen_at(AFTER_DEADLINE):
        late = api("finance", "GET", "/classification/runs/2025-07").json()
    assert late["report"]["overdue_reminders"] == 1


@pytest.mark.parametrize(("month", "status"), [("2025-13", 422), ("0000-01", 422),
                                               ("2024-01", 404)])
def test_a_month_that_is_not_one_or_has_no_run(api: Api, world: dict[str, Any], month: str,
                                               status: int) -> None:
    response = api("auditor", "GET", f"/classification/runs/{month}")
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"


def test_running_the_current_month_again_changes_only_what_differs(
        api: Api, world: dict[str, Any]) -> None:
    before = (ClassChange.objects.count(), ClassProposal.objects.count())
    response = api("sales_manager", "POST", "/classification/runs", {})
    assert response.status_code == 200
    body = response.json()
    assert body["created"] is False and body["run"]["month"] == "2025-07"
    assert (body["assigned"], body["proposed"], body["reminded"]) == (0, 0, 0)
    assert (ClassChange.objects.count(), ClassProposal.objects.count()) == before


def test_running_a_new_month_creates_its_run(api: Api, world: dict[str, Any]) -> None:
    with clock.frozen_at(AFTER_DEADLINE):
        response = api("sales_manager", "POST", "/classification/runs", {"month": "2025-08"})
    assert response.status_code == 201
    assert response.json()["created"] is True
    assert ClassificationRun.objects.filter(month=dt.date(2025, 8, 1)).exists()


def test_another_month_than_the_current_is_refused_naming_the_field(
        api: Api, world: dict[str, Any]) -> None:
    before = state()
    response = api("sales_manager", "POST", "/classification/runs", {"month": "2025-06"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["month"]
    assert state() == before


def test_a_closed_month_is_not_run_again(api: Api, world: dict[str, Any]) -> None:
    ClassificationRun.objects.filter(month=dt.date(2025, 7, 1)).update(status="closed")
    before = state()
    response = api("sales_manager", "POST", "/classification/runs", {})
    assert response.status_code == 409
    assert state() == before


# --- proposals --------------------------------------------------------------------------------


def ids(response: Any) -> list[int]:
    return sorted(item["id"] for item in items(response))


@pytest.mark.parametrize(("role", "query", "expected"), [
    ("sales_manager", {}, ["proposal", "proposal_other", "proposal_up"]),
    ("account_manager", {}, ["proposal", "proposal_up"]),
    ("account_manager_2", {}, ["proposal_other"]),
    ("sales_manager", {"from_class": "B", "to_class": "A"}, ["proposal"]),
    ("sales_manager", {"to_class": "B"}, ["proposal_up"]),
    ("sales_manager", {"status": "approved"}, []),
    ("sales_manager", {"run": "2025-06"}, []),
    ("sales_manager", {"run": "2025-07", "region": "110000"},
     ["proposal", "proposal_other", "proposal_up"]),
    ("sales_manager", {"region": "440000"}, []),
    ("sales_manager", {"customer": "{p3}"}, ["proposal_other"]),
])
def test_the_proposals_filters_and_scope(api: Api, world: dict[str, Any], role: str,
                                         query: dict[str, str], expected: list[str]) -> None:
    query = {k: world[v[1:-1]] if v.startswith("{") else v for k, v in query.items()}
    assert ids(api(role, "GET", "/classification/proposals", query)) == sorted(
        int(world[key]) for key in expected)


def test_the_proposals_order_and_their_fields(api: Api, world: dict[str, Any]) -> None:
    rows = items(api("sales_manager", "GET", "/classification/proposals",
                     {"ordering": "-score"}))
    assert [r["score"] for r in rows] == ["70.00", "38.89", "15.56"]
    first = rows[0]
    assert (first["from_class"], first["to_class"], first["status"], first["run"]) == (
        "B", "A", "proposed", "2025-07")
    assert first["region"] == "110000" and first["decided_by"] is None
    assert first["reasons"][0] == {"code": "CLASS_ABOVE_SHARE", "params": {},
                                   "text": "Ranked above the share of its class: proposed "
                                           "one class up"}
    hidden = api("account_manager", "GET", "/classification/proposals",
                 {"customer": world["p3"]})
    assert hidden.status_code == 404


def test_approving_moves_the_customer_and_a_second_decision_conflicts(
        api: Api, world: dict[str, Any]) -> None:
    path = f"/classification/proposals/{world['proposal']}/decision"
    response = api("sales_manager", "POST", path, {"approve": True})
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["decided_by"]) == ("approved", "sales_manager")
    assert CustomerClass.objects.get(customer__code=world["p4"]).abc == "A"
    before = state()
    again = api("admin", "POST", path, {"approve": False, "note": "晚了"})
    assert again.status_code == 409
    assert state() == before


def test_a_rejection_needs_a_note_and_changes_nothing_without_one(
        api: Api, world: dict[str, Any]) -> None:
    path = f"/classification/proposals/{world['proposal_up']}/decision"
    before = state()
    refused = api("sales_manager", "POST", path, {"approve": False, "note": " "}, lang="zh-hans")
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "note", "reason": "请说明原因"}]
    assert state() == before
    rejected = api("sales_manager", "POST", path, {"approve": False, "note": "季节性增长"})
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["note"]) == ("rejected", "季节性增长")
    assert CustomerClass.objects.get(customer__code=world["p0"]).abc == "C"


@pytest.mark.parametrize("body", [{"approve": "yes"}, {"approve": 1}, {},
                                  {"approve": True, "extra": 1}])
def test_a_decision_body_must_say_approve_as_a_boolean(api: Api, world: dict[str, Any],
                                                       body: dict[str, Any]) -> None:
    response = api("sales_manager", "POST",
                   f"/classification/proposals/{world['proposal']}/decision", body)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"


def test_the_colleague_cannot_see_a_proposal_of_another_account_manager(
        api: Api, world: dict[str, Any]) -> None:
    assert api("account_manager_2", "GET",
               f"/classification/proposals/{world['proposal']}").status_code == 404
    assert api("account_manager", "GET",
               f"/classification/proposals/{world['proposal']}").status_code == 200


# --- reminders --------------------------------------------------------------------------------


def test_the_reminders_by_state_and_their_answer(api: Api, world: dict[str, Any]) -> None:
    open_ = items(api("account_manager", "GET", "/classification/reminders",
                      {"state": "open"}))
    assert [(r["id"], r["state"], r["respond_by"]) for r in open_] == [
        (int(world["reminder"]), "open", "2025-08-01")]
    assert open_[0]["reasons"][0]["code"] == "CLASS_A_BELOW_SHARE"
    assert items(api("account_manager", "GET", "/classification/reminders",
                     {"state": "overdue"})) == []
    assert items(api("account_manager_2", "GET", "/classification/reminders")) == []
    path = f"/classification/reminders/{world['reminder']}/answer"
    answered = api("account_manager", "POST", path, {"answer": "已约见客户"})
    assert answered.status_code == 200
    assert answered.json()["state"] == "answered"
    assert answered.json()["answered_by"].startswith("account_manager/")
    assert [r["id"] for r in items(api("sales_manager", "GET", "/classification/reminders",
                                       {"state": "answered"}))] == [int(world["reminder"])]
    before = state()
    assert api("sales_manager", "POST", path, {"answer": "再答一次"}).status_code == 409
    assert state() == before


def test_an_overdue_reminder_and_an_empty_answer(api: Api, world: dict[str, Any]) -> None:
    with clock.frozen_at(AFTER_DEADLINE):
        late = items(api("auditor", "GET", "/classification/reminders", {"state": "overdue"}))
    assert [r["state"] for r in late] == ["overdue"]
    before = state()
    empty = api("account_manager", "POST",
                f"/classification/reminders/{world['reminder']}/answer", {"answer": ""})
    assert empty.status_code == 422
    assert [e["field"] for e in empty.json()["errors"]] == ["answer"]
    assert state() == before


# --- the reasons ------------------------------------------------------------------------------

EMITTED = ["CLASS_INITIAL", "CLASS_RANKED_A", "CLASS_RANKED_B", "CLASS_RANKED_C",
           "CLASS_C_BY_RULE", "CLASS_NEW_CUSTOMER", "CLASS_A_BELOW_SHARE",
           "CLASS_A_BELOW_SHARE_AGAIN", "CLASS_BELOW_SHARE", "CLASS_ABOVE_SHARE",
           "CLASS_UPGRADE_NEEDS_GROWTH", "CLASS_MOVE_APPROVED", "SEGMENT_BY_VALUE"]


def test_every_code_is_worded_with_its_numbers() -> None:
    assert sorted(reasons.TEMPLATES) == sorted(EMITTED) == sorted(reasons.LABELS)
    with translation.override("en"):
        assert describe({"code": "CLASS_UPGRADE_NEEDS_GROWTH", "params": {
            "growth_percent": "4.50", "needed_percent": "10"}}) == (
            "Ranked for a higher class, but sales grew 4.5%, less than the 10% needed to "
            "move up")
        assert describe({"code": "CLASS_NEW_CUSTOMER", "params": {
            "months": 3, "since": "2025-06-01"}}) == (
            "New customer (created 2025-06-01, less than 3 months ago): not ranked yet")
        assert describe({"code": "CLASS_C_BY_RULE", "params": {"kind": "individual"}}) == (
            "Class C by rule: customers of kind individual are not ranked")
        for code in EMITTED:
            text = describe({"code": code, "params": {
                "position": 1, "of": 2, "score": "50", "paid_sales": "1000", "region": "11",
                "growth_percent": "5", "on_time_percent": "-", "needed_percent": "10",
                "kind": "individual", "months": 3, "since": "2025-01-01",
                "segment": "IMPORTANT", "min_sales": "2000000", "min_growth_percent": "-"}})
            assert code not in text, text  # worded, not the code's fallback
