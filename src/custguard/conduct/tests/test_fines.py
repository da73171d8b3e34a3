"""Fines: settled as paid or waived by finance (or an administrator), once, from due, audited;
through the service, the API and the fines page (filtered, exported, with where each amount
came from)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.test import Client

from custguard.conduct.models import Fine
from custguard.conduct.services import clauses, fines
from custguard.conduct.tests.cases_support import snapshot
from custguard.conduct.tests.support import SYSTEM, active_penalty, customer_on_credit
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(regions: None, personas: dict[str, User]) -> Customer:
    return customer_on_credit(personas)


@pytest.fixture
def fine(customer: Customer, personas: dict[str, User]) -> Fine:
    penalty = active_penalty(personas, customer, violation_type="CROSS_REGION_SALES",
                             evidence=True)
    return Fine.objects.get(penalty=penalty)


@pytest.fixture
def finance(personas: dict[str, User]) -> Actor:
    return Actor.for_user(personas["finance"])


def test_finance_settles_a_fine_as_paid(fine: Fine, finance: Actor) -> None:
    settled = fines.settle(finance, fine, status="paid", note="收据 R-2025-0012")
    assert settled.status == Fine.Status.PAID
    assert settled.settled_at is not None
    assert settled.settled_by_label == "finance" and settled.note == "收据 R-2025-0012"
    entry = AuditEntry.objects.get(action="conduct.fine_settle")
    assert entry.before == {"status": "due"}
    assert entry.after == {"status": "paid", "amount": "5000.00", "penalty": fine.penalty_id}
    assert entry.customer_id == fine.customer_id and entry.actor_label == "finance"


def test_a_payment_needs_no_note_but_waiving_does(fine: Fine, finance: Actor) -> None:
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused:
        fines.settle(finance, fine, status="waived", note="  ")
    assert refused.value.field == "note"
    assert snapshot() == before
    assert fines.settle(finance, fine, status="paid").note == ""


def test_a_fine_is_settled_once(fine: Fine, finance: Actor,
                                personas: dict[str, User]) -> None:
    fines.settle(finance, fine, status="waived", note="客户已整改，经批准减免")
    before = snapshot()
    with pytest.raises(Conflict) as refused:
        fines.settle(Actor.for_user(personas["admin"]), fine, status="paid")
    assert refused.value.field == "status"
    assert snapshot() == before


def test_only_paid_or_waived(fine: Fine, finance: Actor) -> None:
    before = snapshot()
    for status in ("due", "cancelled", ""):
        with pytest.raises(ValidationFailed) as refused:
            fines.settle(finance, fine, status=status, note="x")
        assert refused.value.field == "status"
    assert snapshot() == before


@pytest.mark.parametrize("role", ["credit_manager", "sales_manager", "account_manager",
                                  "auditor"])
def test_other_roles_may_not_settle(role: str, fine: Fine, personas: dict[str, User]) -> None:
    before = snapshot()
    with pytest.raises(PermissionRefused):
        fines.settle(Actor.for_user(personas[role]), fine, status="paid")
    assert snapshot() == before


# --- the API ----------------------------------------------------------------------------------


def test_fines_over_the_api(fine: Fine, customer: Customer, personas: dict[str, User],
                            bearer_for: Callable[[User], dict[str, str]]) -> None:
    client = Client()
    headers = bearer_for(personas["finance"])
    listed = client.get("/api/v1/conduct/fines", {"customer": customer.code, "status": "due"},
                        **headers)
    assert listed.status_code == 200
    (row,) = listed.json()["items"]
    assert row["id"] == fine.pk and row["amount"] == "5000.00"
    assert row["source"] == "policy" and row["contract_clause"] is None
    settled = client.post(f"/api/v1/conduct/fines/{fine.pk}/settle",
                          {"status": "paid", "note": "银行转账"},
                          content_type="application/json", **headers)
    assert settled.status_code == 200 and settled.json()["status"] == "paid"
    again = client.post(f"/api/v1/conduct/fines/{fine.pk}/settle", {"status": "waived",
                                                                    "note": "重复"},
                        content_type="application/json", **headers)
    assert again.status_code == 409
    assert [e["field"] for e in again.json()["errors"]] == ["status"]
    assert client.get("/api/v1/conduct/fines", {"status": "due"},
                      **headers).json()["count"] == 0


def test_a_bad_settlement_over_the_api_names_the_field(
        fine: Fine, personas: dict[str, User],
        bearer_for: Callable[[User], dict[str, str]]) -> None:
    headers = bearer_for(personas["finance"])
    before = snapshot()
    waived = Client().post(f"/api/v1/conduct/fines/{fine.pk}/settle", {"status": "waived"},
                           content_type="application/json", **headers)
    assert waived.status_code == 422
    assert [e["field"] for e in waived.json()["errors"]] == ["note"]
    unknown = Client().post(f"/api/v1/conduct/fines/{fine.pk}/settle", {"status": "written_off"},
                            content_type="application/json", **headers)
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["status"]
    assert snapshot() == before


def test_a_fine_from_a_contract_clause_says_so(customer: Customer, personas: dict[str, User],
                                               bearer_for: Callable[[User], dict[str, str]],
                                               client_for: Callable[[User], Client]) -> None:
    clause = clauses.add(SYSTEM, customer, contract_number="HT-2025-07",
                         violation_type="CROSS_REGION_SALES", fine_amount="7700.00",
                         valid_from=clock.today() - dt.timedelta(days=5))
    penalty = active_penalty(personas, customer, violation_type="CROSS_REGION_SALES",
                             evidence=True)
    response = Client().get("/api/v1/conduct/fines", **bearer_for(personas["auditor"]))
    (row,) = response.json()["items"]
    assert (row["amount"], row["source"], row["contract_clause"]) == ("7700.00",
                                                                      "contract_clause",
                                                                      clause.pk)
    page = client_for(personas["auditor"]).get("/conduct/fines/")
    assert "HT-2025-07" in page.content.decode()
    assert Fine.objects.get(penalty=penalty).amount == Decimal("7700.00")


# --- the page ---------------------------------------------------------------------------------


def test_the_fines_page_lists_the_due_fines_and_finance_settles_one(
        fine: Fine, personas: dict[str, User], client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["finance"])
    page = client.get("/conduct/fines/")
    assert page.status_code == 200
    text = page.content.decode()
    assert f'data-fine="{fine.pk}"' in text and 'data-testid="settle"' in text
    response = client.post(f"/conduct/fines/{fine.pk}/settle/",
                           {"settle-status": "paid", "settle-note": "收据 R-1",
                            "next": "/conduct/fines/?status=due"}, follow=True)
    assert response.redirect_chain[-1][0] == "/conduct/fines/?status=due"
    assert Fine.objects.get(pk=fine.pk).status == Fine.Status.PAID
    assert f'data-fine="{fine.pk}"' not in response.content.decode()  # no longer due
    paid = client.get("/conduct/fines/", {"status": "paid"}).content.decode()
    assert f'data-fine="{fine.pk}"' in paid


def test_waiving_without_a_reason_on_the_page_changes_nothing(
        fine: Fine, personas: dict[str, User], client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["finance"])
    before = snapshot()
    response = client.post(f"/conduct/fines/{fine.pk}/settle/",
                           {"settle-status": "waived", "settle-note": ""}, follow=True)
    assert response.status_code == 200
    assert b"alert-danger" in response.content
    assert snapshot() == before


def test_readers_see_no_settle_button_and_may_export(
        fine: Fine, personas: dict[str, User], client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["credit_manager"])
    page = client.get("/conduct/fines/").content.decode()
    assert f'data-fine="{fine.pk}"' in page and 'data-testid="settle"' not in page
    assert client.post(f"/conduct/fines/{fine.pk}/settle/",
                       {"settle-status": "paid"}).status_code == 403
    export = client.get("/conduct/fines/export/", {"format": "csv", "status": "all"})
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][0] == str(fine.pk) and rows[1][5] == "5000.00"


def test_the_colleague_does_not_see_the_account_managers_fines(
        fine: Fine, personas: dict[str, User], client_for: Callable[[User], Client]) -> None:
    page = client_for(personas["account_manager_2"]).get("/conduct/fines/").content.decode()
    assert f'data-fine="{fine.pk}"' not in page
    own = client_for(personas["account_manager"]).get("/conduct/fines/").content.decode()
    assert f'data-fine="{fine.pk}"' in own
