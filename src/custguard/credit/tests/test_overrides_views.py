"""The override pages: the list (awaiting approval by default, filters, export), the request
form with field-level errors, and approve / reject / revoke through the pages."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.credit.models import CreditOverride
from custguard.credit.services import overrides
from custguard.credit.tests.test_scoring_support import (
    new_customer,
    new_group,
    publish_policy,
)
from custguard.customers.models import CustomerGroup, GroupStanding, Standing

pytestmark = pytest.mark.django_db


def in_days(n: int) -> str:
    return (clock.today() + dt.timedelta(days=n)).isoformat()


@pytest.fixture
def world(regions: None, personas: dict[str, User], make_user: Any) -> dict[str, Any]:
    publish_policy()
    second = make_user("credit_manager", username="credit_manager_2")
    credit = Actor.for_user(personas["credit_manager"])
    mine = new_customer("自己的客户", manager=personas["account_manager"])
    other = new_customer("别人的客户")
    group = new_group("页面集团", other)
    active = overrides.request_override(credit, customer=mine, credit_limit="1000",
                                        reason="小额", expires_on=in_days(30))
    pending = overrides.request_override(credit, customer=other, credit_limit="900000",
                                         reason="大额", expires_on=in_days(30))
    pending_group = overrides.request_override(credit, group=group, credit_limit="8000000",
                                               reason="集团", expires_on=in_days(30))
    return {"mine": mine, "other": other, "group": group, "active": active,
            "pending": pending, "pending_group": pending_group, "second": second}


def ids_in(response: Any) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-override="(\d+)"', response.content.decode())]


def test_the_list_shows_what_awaits_approval(world: dict[str, Any], personas: dict[str, User],
                                             client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["credit_manager"])
    pending = sorted([world["pending"].pk, world["pending_group"].pk], reverse=True)
    assert ids_in(client.get("/credit/overrides/")) == pending
    everything = ids_in(client.get("/credit/overrides/", {"status": "all"}))
    assert sorted(everything) == sorted([*pending, world["active"].pk])
    assert ids_in(client.get("/credit/overrides/", {"status": "active"})) == [
        world["active"].pk]
    assert ids_in(client.get("/credit/overrides/", {"status": "all",
                                                    "customer": "别人的"})) == pending
    assert ids_in(client.get("/credit/overrides/", {"status": "all",
                                                    "group": world["group"].pk})) == [
        world["pending_group"].pk]
    assert ids_in(client.get("/credit/overrides/", {"status": "all", "sort": "number"})) == \
        sorted(everything)


def test_an_account_manager_sees_only_their_customers(world: dict[str, Any],
                                                      personas: dict[str, User],
                                                      client_for: Callable[[User], Client],
                                                      ) -> None:
    client = client_for(personas["account_manager"])
    assert ids_in(client.get("/credit/overrides/", {"status": "all"})) == [world["active"].pk]
    assert client.get(f"/credit/overrides/{world['pending'].pk}/").status_code == 404


def test_export(world: dict[str, Any], personas: dict[str, User],
                client_for: Callable[[User], Client]) -> None:
    response = client_for(personas["finance"]).get("/credit/overrides/export/",
                                                   {"format": "csv", "status": "all"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 4
    by_id = {int(row[0]): row for row in rows[1:]}
    assert by_id[world["pending_group"].pk][3] == "页面集团"
    assert by_id[world["active"].pk][1] == world["mine"].code


def test_the_request_form(world: dict[str, Any], personas: dict[str, User],
                          client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["credit_manager"])
    form = client.get("/credit/overrides/new/", {"customer": world["mine"].code})
    assert form.status_code == 200 and world["mine"].code in form.content.decode()
    before = (list(CreditOverride.objects.order_by("pk").values()), AuditEntry.objects.count())
    cases = [
        ({"target": "customer", "customer": ""}, "customer"),
        ({"target": "customer", "customer": "999999999"}, "customer"),
        ({"target": "group", "group": ""}, "group"),
        ({"target": "group", "group": world["group"].pk, "payment_terms_days": "30"},
         "payment_terms_days"),
        ({"expires_on": clock.today().isoformat()}, "expires_on"),
        ({"expires_on": "not a date"}, "expires_on"),
        ({"credit_limit": "-3"}, "credit_limit"),
        ({"credit_limit": "", "payment_terms_days": ""}, "credit_limit"),
        ({"reason": ""}, "reason"),
    ]
    for change, field in cases:
        data = {"target": "customer", "customer": world["mine"].code, "credit_limit": "500",
                "reason": "页面申请", "expires_on": in_days(20)} | change
        response = client.post("/credit/overrides/new/", data)
        assert response.status_code == 200, change
        assert f'data-field-error="{field}"' in response.content.decode(), change
    assert (list(CreditOverride.objects.order_by("pk").values()),
            AuditEntry.objects.count()) == before

    done = client.post("/credit/overrides/new/", {
        "target": "customer", "customer": world["mine"].code, "credit_limit": "2000.50",
        "payment_terms_days": "20", "reason": "页面申请", "expires_on": in_days(20)})
    created = CreditOverride.objects.latest("pk")
    assert done["Location"] == f"/credit/overrides/{created.pk}/"
    assert created.status == "active" and created.credit_limit == 2000.50
    assert Standing.objects.get(pk=world["mine"].pk).payment_terms_days == 20


def test_approve_reject_and_revoke_through_the_pages(world: dict[str, Any],
                                                     personas: dict[str, User],
                                                     client_for: Callable[[User], Client],
                                                     ) -> None:
    requester = client_for(personas["credit_manager"])
    second = client_for(world["second"])
    pending, pending_group = world["pending"], world["pending_group"]
    own = requester.get(f"/credit/overrides/{pending.pk}/").content.decode()
    # "You requested this override: another person must approve or reject it." (zh-hans)
    assert 'data-testid="decision-form"' not in own and "须由他人批准或驳回" in own
    page = second.get(f"/credit/overrides/{pending.pk}/").content.decode()
    assert 'data-testid="decision-form"' in page and "data-confirm" in page

    refused = requester.post(f"/credit/overrides/{pending.pk}/approve/", {})
    assert refused.status_code == 200 and 'data-testid="decision-error"' in \
        refused.content.decode()
    assert CreditOverride.objects.get(pk=pending.pk).status == "pending"

    approved = second.post(f"/credit/overrides/{pending.pk}/approve/",
                           {"decision-note": "同意"})
    assert approved["Location"] == f"/credit/overrides/{pending.pk}/"
    assert CreditOverride.objects.get(pk=pending.pk).status == "active"
    assert Standing.objects.get(pk=world["other"].pk).credit_limit == 900000

    no_note = second.post(f"/credit/overrides/{pending_group.pk}/reject/", {})
    assert 'data-field-error="decision-note"' in no_note.content.decode()
    second.post(f"/credit/overrides/{pending_group.pk}/reject/", {"decision-note": "过高"})
    assert CreditOverride.objects.get(pk=pending_group.pk).status == "rejected"
    assert GroupStanding.objects.get(pk=world["group"].pk).has_limit is False

    no_reason = requester.post(f"/credit/overrides/{pending.pk}/revoke/", {})
    assert 'data-field-error="revoke-reason"' in no_reason.content.decode()
    requester.post(f"/credit/overrides/{pending.pk}/revoke/", {"revoke-reason": "结束"})
    assert CreditOverride.objects.get(pk=pending.pk).status == "revoked"
    detail = requester.get(f"/credit/overrides/{pending.pk}/").content.decode()
    assert "credit.override_approve" in detail and "credit.override_revoke" in detail
    assert CustomerGroup.objects.count() == 1
