"""The penalty pages: the approval queue (recommended step, measures in plain language, the
ladder's reasons with their numbers, the fine and where it came from, the approve button only
for the roles the policy allows, else who may), a penalty's page (approve / reject / lift,
notices, timeline), and the rectifications due with "record" and "escalate"."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from custguard.conduct.models import Notice, Penalty
from custguard.conduct.services import clauses, penalties
from custguard.conduct.tests.cases_support import days_from_now, snapshot, use_tmp_media
from custguard.conduct.tests.support import (
    SYSTEM,
    active_penalty,
    confirmed_case,
    customer_on_credit,
)
from custguard.conduct.views.cases.common import ApprovalRights, Documents
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.customers.models import Customer, Standing

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    return use_tmp_media(settings, tmp_path)  # notice PDFs


@pytest.fixture
def customer(regions: None, personas: dict[str, User]) -> Customer:
    return customer_on_credit(personas, name="处罚客户")


@pytest.fixture
def restrict(customer: Customer, personas: dict[str, User]) -> Penalty:
    """A third minor violation within 180 days: the ladder proposes a written reminder, a fine
    and half the credit limit (approved by administrators and credit managers only)."""
    confirmed_case(personas, customer, violation_type="LATE_PAYMENT", days_ago=100)
    confirmed_case(personas, customer, violation_type="LATE_RECONCILIATION", days_ago=50)
    _case, penalty = confirmed_case(personas, customer, violation_type="LATE_PAYMENT",
                                    days_ago=2)
    assert penalty is not None and penalty.step_code == "REPEAT_MINOR_RESTRICT"
    return penalty


def row_of(page: str, penalty: Penalty) -> str:
    start = page.index(f'data-penalty="{penalty.pk}"')
    return page[start:page.index("</tr>", start)]


def test_the_queue_explains_each_proposal(restrict: Penalty, personas: dict[str, User],
                                          client_for: Callable[[User], Client]) -> None:
    page = client_for(personas["sales_manager"]).get("/conduct/penalties/", **EN)
    assert page.status_code == 200
    row = row_of(page.content.decode(), restrict)
    assert "REPEAT_MINOR_RESTRICT" in row
    assert "A third violation within 180 days" in row  # the step, from the policy
    assert "Written reminder" in row and "Credit limit reduced" in row
    assert "50% of the limit left" in row
    assert ('data-reason="REPEAT_MINOR_3_IN_180D">3 confirmed violations of severity Minor or '
            "worse within 180 days; this step applies from 3") in row
    assert "2,000.00" in row and "the policy&#x27;s amount" in row
    # sales managers may not cut credit limits: the queue says who may
    assert 'data-testid="approve"' not in row
    assert "May approve: Administrator, Credit manager" in row
    credit_row = row_of(client_for(personas["credit_manager"]).get(
        "/conduct/penalties/").content.decode(), restrict)
    assert 'data-testid="approve"' in credit_row and "data-confirm=" in credit_row


def test_the_queue_shows_a_contract_clause_as_the_source_of_the_fine(
        customer: Customer, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    clauses.add(SYSTEM, customer, contract_number="HT-2025-08", fine_amount="1500.00",
                valid_from=clock.today() - dt.timedelta(days=30))
    _case, penalty = confirmed_case(personas, customer, violation_type="CROSS_REGION_SALES",
                                    evidence=True)
    assert penalty is not None
    row = row_of(client_for(personas["auditor"]).get("/conduct/penalties/",
                                                     **EN).content.decode(), penalty)
    assert "1,500.00" in row and "contract HT-2025-08" in row
    detail = client_for(personas["auditor"]).get(f"/conduct/penalties/{penalty.pk}/", **EN)
    assert f'href="/conduct/clauses/{customer.code}/"' in detail.content.decode()


def test_the_approval_rights_on_a_page_agree_with_the_service(
        restrict: Penalty, customer: Customer, personas: dict[str, User]) -> None:
    _case, warning = confirmed_case(personas, customer_on_credit(personas, name="轻微"),
                                    violation_type="LATE_PAYMENT")
    assert warning is not None
    for user in personas.values():
        rights = ApprovalRights(user, Documents().current())
        for penalty in (restrict, warning):
            assert rights.may(penalty) == penalties.may_approve(Actor.for_user(user), penalty)


def test_approving_from_the_queue_returns_to_the_queue(
        restrict: Penalty, customer: Customer, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["credit_manager"])
    response = client.post(f"/conduct/penalties/{restrict.pk}/approve/",
                           {"next": "/conduct/penalties/?status=proposed"}, follow=True, **EN)
    assert response.redirect_chain[-1][0] == "/conduct/penalties/?status=proposed"
    assert "approved" in response.content.decode()
    restrict.refresh_from_db()
    assert restrict.status == Penalty.Status.ACTIVE
    assert Standing.objects.get(pk=customer.pk).penalty_limit_percent == 50
    assert Notice.objects.get(penalty=restrict).language == "zh-hans"


def test_the_penalty_page_of_a_role_the_policy_does_not_allow(
        restrict: Penalty, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["sales_manager"])
    page = client.get(f"/conduct/penalties/{restrict.pk}/", **EN).content.decode()
    assert 'data-testid="approve-form"' not in page and 'data-testid="reject-form"' not in page
    assert ("Under the policy in force only these roles may approve or reject this penalty: "
            "Administrator, Credit manager.") in page
    before = snapshot()
    refused = client.post(f"/conduct/penalties/{restrict.pk}/approve/",
                          {"approve-language": "zh-hans"}, **EN)
    assert refused.status_code == 403
    assert client.post(f"/conduct/penalties/{restrict.pk}/reject/",
                       {"reject-reason": "不同意"}).status_code == 403
    assert snapshot() == before


def test_approve_with_the_notice_in_english_then_lift(
        restrict: Penalty, customer: Customer, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["credit_manager"])
    page = client.get(f"/conduct/penalties/{restrict.pk}/", **EN).content.decode()
    assert 'data-testid="approve-form"' in page and 'data-testid="lift-form"' not in page
    approved = client.post(f"/conduct/penalties/{restrict.pk}/approve/", {
        "approve-language": "en", "approve-note": "同意"}, follow=True, **EN)
    assert approved.redirect_chain[-1][0] == f"/conduct/penalties/{restrict.pk}/"
    text = approved.content.decode()
    notice = Notice.objects.get(penalty=restrict)
    assert notice.language == "en" and notice.reference in text
    assert 'data-testid="lift-form"' in text and 'data-testid="rectify-form"' in text
    assert 'data-action="conduct.penalty_activate"' in text
    assert "buyer@example.com" in text  # the credit manager sees the recipient
    masked = client_for(personas["customer_service"]).get(
        f"/conduct/penalties/{restrict.pk}/").content.decode()
    assert "buyer@example.com" not in masked and "b***@example.com" in masked
    refused = client.post(f"/conduct/penalties/{restrict.pk}/lift/", {"lift-reason": ""})
    assert refused.status_code == 422
    assert b'data-field-error="lift-reason"' in refused.content
    lifted = client.post(f"/conduct/penalties/{restrict.pk}/lift/",
                         {"lift-reason": "已整改，提前解除"})
    assert lifted.status_code == 302
    restrict.refresh_from_db()
    assert restrict.status == Penalty.Status.LIFTED
    assert Standing.objects.get(pk=customer.pk).penalty_limit_percent == 100


def test_reject_needs_a_reason(restrict: Penalty, personas: dict[str, User],
                               client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["admin"])
    before = snapshot()
    refused = client.post(f"/conduct/penalties/{restrict.pk}/reject/", {"reject-reason": " "})
    assert refused.status_code == 422
    assert snapshot() == before
    client.post(f"/conduct/penalties/{restrict.pk}/reject/", {"reject-reason": "证据不足"})
    restrict.refresh_from_db()
    assert restrict.status == Penalty.Status.REJECTED and restrict.end_reason == "证据不足"
    again = client.post(f"/conduct/penalties/{restrict.pk}/approve/",
                        {"approve-language": "zh-hans"})
    assert again.status_code == 422  # no longer proposed


def test_the_queue_filters_by_status_and_measure_and_exports(
        restrict: Penalty, customer: Customer, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    active = active_penalty(personas, customer_on_credit(personas, name="另一客户"),
                            violation_type="CROSS_REGION_SALES", evidence=True)
    client = client_for(personas["finance"])

    def listed(**query: str) -> set[int]:
        text = client.get("/conduct/penalties/", query).content.decode()
        return {int(part.split('"')[0]) for part in text.split('data-penalty="')[1:]}

    proposed = listed()
    assert restrict.pk in proposed and active.pk not in proposed
    assert listed(status="active") == {active.pk}
    assert listed(status="all", measure="PREPAY_ONLY") == {active.pk}
    assert listed(status="all", measure="CREDIT_LIMIT_REDUCTION") == {restrict.pk}
    assert listed(status="all", customer=customer.code) >= {restrict.pk}
    export = client.get("/conduct/penalties/export/", {"format": "csv", "status": "all",
                                                       "measure": "PREPAY_ONLY"}, **EN)
    table = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [row[0] for row in table[1:]] == [str(active.pk)]
    assert table[1][5] == "MAJOR_PREPAY" and table[1][9] == "the policy's amount"


# --- rectifications ---------------------------------------------------------------------------


def test_rectifications_due_overdue_first_and_recorded_from_the_list(
        customer: Customer, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    soon = active_penalty(personas, customer, violation_type="CROSS_REGION_SALES",
                          evidence=True, days_ago=10)
    other = customer_on_credit(personas, name="整改客户")
    later = active_penalty(personas, other, violation_type="LATE_PAYMENT")  # a warning
    assert later.rectification_due_on is None
    client = client_for(personas["account_manager"])
    page = client.get("/conduct/rectifications/").content.decode()
    assert f'data-penalty="{soon.pk}"' in page and f'data-penalty="{later.pk}"' not in page
    assert 'data-overdue="false"' in page
    assert 'data-testid="escalate"' not in page  # not overdue, and not this role's
    with clock.frozen_at(days_from_now(31)):
        overdue = client.get("/conduct/rectifications/", **EN).content.decode()
        assert 'data-overdue="true"' in overdue and "table-danger" in overdue
        assert "overdue by 1 day<" in overdue
        credit_page = client_for(personas["credit_manager"]).get(
            "/conduct/rectifications/", {"overdue": "on"}).content.decode()
        assert 'data-testid="escalate"' in credit_page
        done = client.post(f"/conduct/penalties/{soon.pk}/rectify/", {
            "rectify-note": "已书面说明并收回货物", "next": "/conduct/rectifications/"},
            follow=True)
        assert done.redirect_chain[-1][0] == "/conduct/rectifications/"
        assert f'data-penalty="{soon.pk}"' not in done.content.decode()
    soon.refresh_from_db()
    assert soon.rectified_at is not None and soon.rectification_note == "已书面说明并收回货物"


def test_an_overdue_rectification_is_escalated_from_the_page(
        customer: Customer, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    penalty = active_penalty(personas, customer, violation_type="CROSS_REGION_SALES",
                             evidence=True, days_ago=10)
    client = client_for(personas["credit_manager"])
    early = client.post(f"/conduct/penalties/{penalty.pk}/escalate/", **EN)
    assert early.status_code == 422
    assert b'data-testid="escalate-error"' in early.content
    with clock.frozen_at(days_from_now(31)):
        page = client.get(f"/conduct/penalties/{penalty.pk}/").content.decode()
        assert 'data-testid="escalate-form"' in page and 'data-state="overdue"' in page
        response = client.post(f"/conduct/penalties/{penalty.pk}/escalate/", follow=True, **EN)
        penalty.refresh_from_db()
        proposed = Penalty.objects.get(case=penalty.escalated_to)
        assert response.redirect_chain[-1][0] == f"/conduct/penalties/{proposed.pk}/"
        assert proposed.step_code == "REPEAT_MAJOR_SUSPEND"
        assert f"Escalated as case #{penalty.escalated_to_id}" in response.content.decode()
        listed = client.get("/conduct/rectifications/").content.decode()
        assert f'href="/conduct/cases/{penalty.escalated_to_id}/"' in listed
        assert client.post(f"/conduct/penalties/{penalty.pk}/escalate/").status_code == 422


def test_the_rectifications_export(customer: Customer, personas: dict[str, User],
                                   client_for: Callable[[User], Client]) -> None:
    penalty = active_penalty(personas, customer, violation_type="CROSS_REGION_SALES",
                             evidence=True)
    with clock.frozen_at(days_from_now(35)):
        export = client_for(personas["auditor"]).get("/conduct/rectifications/export/",
                                                     {"format": "csv"})
    table = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert table[1][0] == str(penalty.pk) and table[1][7] == "5"
