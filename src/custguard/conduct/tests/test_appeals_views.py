"""The appeal pages: the queue (open by default, overdue highlighted and filterable, "mine",
exports), the filing form reached from a case, a penalty or a blacklist entry, and an appeal's
page with its forms — absent for the person who decided."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from custguard.conduct.models import Appeal, Penalty
from custguard.conduct.services import appeals
from custguard.conduct.tests.appeals_support import (
    active_entry,
    gate_outcome,
    prepay_penalty,
    snapshot,
)
from custguard.conduct.tests.support import confirmed_case, customer_on_credit
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.customers.models import Customer

pytestmark = pytest.mark.django_db

Login = Callable[[User], Client]


@pytest.fixture
def customer(regions: None, personas: dict[str, User]) -> Customer:
    return customer_on_credit(personas)


@pytest.fixture
def penalty(customer: Customer, personas: dict[str, User]) -> Penalty:
    return prepay_penalty(personas, customer)


def file(personas: dict[str, User], target: appeals.Target, grounds: str = "不服") -> Appeal:
    return appeals.file(Actor.for_user(personas["customer_service"]), target, grounds=grounds)


def page(client: Client, name: str, *args: object, **query: str) -> str:
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


# --- the queue --------------------------------------------------------------------------------


def test_the_queue_shows_open_appeals_with_overdue_ones_highlighted(
        customer: Customer, penalty: Penalty, personas: dict[str, User],
        client_for: Login) -> None:
    first = file(personas, penalty)
    with clock.frozen_at(clock.now() + dt.timedelta(days=5)):
        second = file(personas, penalty.case)
    entry_customer = customer_on_credit(personas, name="黑名单客户")
    third = file(personas, active_entry(personas, entry_customer))
    appeals.withdraw(Actor.for_user(personas["customer_service"]), third, note="撤回")
    client = client_for(personas["sales_manager"])

    html = page(client, "conduct:appeals")
    assert f'data-appeal="{first.pk}"' in html and f'data-appeal="{second.pk}"' in html
    assert f'data-appeal="{third.pk}"' not in html  # withdrawn: not to review
    assert 'data-overdue="true"' not in html
    assert f'data-appeal="{third.pk}"' in page(client, "conduct:appeals", status="all")

    with clock.frozen_at(clock.now() + dt.timedelta(days=11)):
        html = page(client, "conduct:appeals")
        assert 'data-testid="overdue-alert"' in html
        assert html.count('data-overdue="true"') == 1 and 'class="table-danger ' in html
        overdue = page(client, "conduct:appeals", overdue="on")
        assert f'data-appeal="{first.pk}"' in overdue
        assert f'data-appeal="{second.pk}"' not in overdue

    assert f'data-appeal="{second.pk}"' not in page(client, "conduct:appeals", kind="penalty")
    assert 'data-appeal' not in page(client, "conduct:appeals", mine="on")
    appeals.start_review(Actor.for_user(personas["sales_manager"]), second)
    mine = page(client, "conduct:appeals", mine="on")
    assert f'data-appeal="{second.pk}"' in mine and f'data-appeal="{first.pk}"' not in mine
    assert f'data-appeal="{first.pk}"' in page(client, "conduct:appeals",
                                                customer=customer.code)
    assert 'data-appeal' not in page(client, "conduct:appeals", customer="no such customer")
    partial = client.get(reverse("conduct:appeals"), HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content and b'id="appeal-filter"' not in partial.content
    assert 'data-appeal' not in page(client_for(personas["account_manager_2"]),
                                     "conduct:appeals", status="all")


def test_the_queue_exports(penalty: Penalty, personas: dict[str, User],
                           client_for: Login) -> None:
    appeal = file(personas, penalty, grounds="=HYPERLINK(\"x\")")
    client = client_for(personas["auditor"])
    response = client.get(reverse("conduct:appeal_export"), {"format": "csv"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][0] == str(appeal.pk)
    assert rows[1][8].startswith("'=")  # formula neutralised
    assert rows[1][11] == appeal.review_due_on.isoformat()
    xlsx = client.get(reverse("conduct:appeal_export"), {"format": "xlsx", "status": "all"})
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith(
        "application/vnd.openxmlformats")
    assert client.get(reverse("conduct:appeal_export"), {"format": "pdf"}).status_code == 404


# --- filing -----------------------------------------------------------------------------------


def test_filing_from_a_penalty(customer: Customer, penalty: Penalty,
                               personas: dict[str, User], client_for: Login) -> None:
    client = client_for(personas["customer_service"])
    url = reverse("conduct:appeal_new")
    html = page(client, "conduct:appeal_new", penalty=str(penalty.pk))
    assert 'data-testid="appeal-form"' in html and 'data-fact="step"' in html
    assert (clock.today() + dt.timedelta(days=15)).isoformat() in html  # the window closes
    response = client.post(f"{url}?penalty={penalty.pk}", {"grounds": "客户称已付款"})
    appeal = Appeal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("conduct:appeal_detail", args=[appeal.pk])
    assert appeal.penalty_id == penalty.pk and appeal.channel == Appeal.Channel.STAFF
    # A second appeal: the page says why it cannot be filed, and a post is refused.
    html = page(client, "conduct:appeal_new", penalty=str(penalty.pk))
    assert 'data-testid="appeal-refused"' in html and 'data-field="penalty"' in html
    assert 'data-testid="appeal-form"' not in html
    before = snapshot()
    again = client.post(f"{url}?penalty={penalty.pk}", {"grounds": "再来"})
    assert again.status_code == 200 and b'data-testid="appeal-error"' in again.content
    assert snapshot() == before


def test_filing_from_a_case_and_a_blacklist_entry(customer: Customer,
                                                  personas: dict[str, User],
                                                  client_for: Login) -> None:
    case, _penalty = confirmed_case(personas, customer)
    client = client_for(personas["account_manager"])
    url = reverse("conduct:appeal_new")
    assert client.post(url, {"case": case.pk, "grounds": "不服"}).status_code == 302
    entry = active_entry(personas, customer_on_credit(personas, name="黑名单客户"))
    assert 'data-kind="blacklist_entry"' in page(client, "conduct:appeal_new",
                                                 blacklist_entry=str(entry.pk))
    assert client.post(f"{url}?blacklist_entry={entry.pk}",
                       {"grounds": "不服"}).status_code == 302
    assert Appeal.objects.filter(case=case).exists()
    assert Appeal.objects.filter(blacklist_entry=entry).exists()


def test_filing_outside_the_window_shows_why_and_changes_nothing(
        penalty: Penalty, personas: dict[str, User], client_for: Login) -> None:
    client = client_for(personas["customer_service"])
    url = f"{reverse('conduct:appeal_new')}?penalty={penalty.pk}"
    closes = (clock.today() + dt.timedelta(days=15)).isoformat()
    with clock.frozen_at(clock.now() + dt.timedelta(days=20)):
        html = page(client, "conduct:appeal_new", penalty=str(penalty.pk))
        assert 'data-testid="appeal-refused"' in html and closes in html
        before = snapshot()
        response = client.post(url, {"grounds": "逾期"})
        assert response.status_code == 200 and b'data-testid="appeal-error"' in response.content
        assert closes.encode() in response.content
        assert snapshot() == before
    empty = client.post(url, {"grounds": ""})
    assert b'data-field-error="grounds"' in empty.content


def test_the_filing_form_needs_a_decision_the_user_may_see(
        penalty: Penalty, personas: dict[str, User], client_for: Login) -> None:
    url = reverse("conduct:appeal_new")
    client = client_for(personas["customer_service"])
    assert client.get(url).status_code == 404
    assert client.get(url, {"penalty": "999999"}).status_code == 404
    assert client.get(url, {"penalty": "abc"}).status_code == 404
    colleague = client_for(personas["account_manager_2"])
    assert colleague.get(url, {"penalty": str(penalty.pk)}).status_code == 404
    assert client_for(personas["auditor"]).get(
        url, {"penalty": str(penalty.pk)}).status_code == 403


# --- one appeal -------------------------------------------------------------------------------


def test_the_decider_sees_no_decide_form_and_is_refused(
        customer: Customer, penalty: Penalty, personas: dict[str, User],
        client_for: Login) -> None:
    appeal = file(personas, penalty)
    credit = client_for(personas["credit_manager"])  # approved the penalty
    html = page(credit, "conduct:appeal_detail", appeal.pk)
    assert 'data-testid="decider-note"' in html
    assert 'data-testid="decide-form"' not in html and 'data-testid="review-form"' not in html
    assert 'data-testid="withdraw-form"' in html  # they may still withdraw it for the customer
    before = snapshot()
    decide = credit.post(reverse("conduct:appeal_decide", args=[appeal.pk]),
                         {"decide-outcome": "overturned", "decide-note": "自己撤销"})
    review = credit.post(reverse("conduct:appeal_review", args=[appeal.pk]))
    assert decide.status_code == 403 and review.status_code == 403
    assert snapshot() == before
    assert gate_outcome(customer) == "prepay_required"


def test_the_detail_shows_the_decision_the_grounds_and_the_timeline(
        penalty: Penalty, personas: dict[str, User], client_for: Login) -> None:
    appeal = file(personas, penalty, grounds="客户称系他人冒用")
    html = page(client_for(personas["sales_manager"]), "conduct:appeal_detail", appeal.pk)
    assert "客户称系他人冒用" in html
    assert 'data-kind="penalty"' in html and 'data-fact="measures"' in html
    assert 'data-action="conduct.appeal_file"' in html  # the appeal's timeline
    assert 'data-action="conduct.penalty_approve"' in html  # the decision's history
    assert 'data-testid="decide-form"' in html and 'data-testid="review-form"' in html
    assert 'data-outcome="reduced"' in html
    for code in ("FIRST_MINOR_WARNING", "REPEAT_MINOR_REMINDER", "REPEAT_MINOR_RESTRICT"):
        assert f'value="{code}"' in html
    assert 'value="REPEAT_MAJOR_SUSPEND"' not in html and 'value="MAJOR_PREPAY"' not in html
    auditor = page(client_for(personas["auditor"]), "conduct:appeal_detail", appeal.pk)
    assert 'data-testid="decide-form"' not in auditor
    assert 'data-testid="withdraw-form"' not in auditor
    assert 'data-testid="decider-note"' not in auditor


def test_a_case_appeal_cannot_be_reduced(customer: Customer, personas: dict[str, User],
                                         client_for: Login) -> None:
    case, _penalty = confirmed_case(personas, customer)
    appeal = file(personas, case)
    html = page(client_for(personas["sales_manager"]), "conduct:appeal_detail", appeal.pk)
    assert 'data-outcome="overturned"' in html and 'data-outcome="reduced"' not in html
    assert 'name="decide-lighter_step"' not in html


def test_review_then_reduce_through_the_forms(customer: Customer, penalty: Penalty,
                                              personas: dict[str, User],
                                              client_for: Login) -> None:
    appeal = file(personas, penalty)
    client = client_for(personas["sales_manager"])
    review = client.post(reverse("conduct:appeal_review", args=[appeal.pk]))
    assert review.status_code == 302
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.UNDER_REVIEW
    url = reverse("conduct:appeal_decide", args=[appeal.pk])
    before = snapshot()
    missing = client.post(url, {"decide-outcome": "reduced", "decide-note": "减轻"})
    assert missing.status_code == 200
    assert b'data-field-error="decide-lighter_step"' in missing.content
    heavier = client.post(url, {"decide-outcome": "reduced", "decide-note": "减轻",
                                "decide-lighter_step": "REPEAT_MAJOR_SUSPEND"})
    assert heavier.status_code == 200
    assert b'data-field-error="decide-lighter_step"' in heavier.content
    assert snapshot() == before
    done = client.post(url, {"decide-outcome": "reduced", "decide-note": "情节较轻",
                             "decide-lighter_step": "REPEAT_MINOR_RESTRICT"})
    assert done.status_code == 302
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.REDUCED
    assert appeal.replacement is not None
    assert appeal.replacement.step_code == "REPEAT_MINOR_RESTRICT"
    assert gate_outcome(customer) == "allow"
    html = page(client, "conduct:appeal_detail", appeal.pk)
    assert 'data-testid="replacement"' in html and 'data-testid="decide-form"' not in html
    assert 'data-action="conduct.penalty_reduce"' not in html  # the lighter one's own history
    reviewers = re.findall(r'data-field="reviewer">([^<]*)</span>', html)
    assert reviewers and all("sales_manager" in text and not re.search(r"\d", text)
                             for text in reviewers)  # by name, not by id


def test_overturn_through_the_form(customer: Customer, penalty: Penalty,
                                   personas: dict[str, User], client_for: Login) -> None:
    appeal = file(personas, penalty)
    response = client_for(personas["admin"]).post(
        reverse("conduct:appeal_decide", args=[appeal.pk]),
        {"decide-outcome": "overturned", "decide-note": "证据不足"})
    assert response.status_code == 302
    assert gate_outcome(customer) == "allow"
    penalty.refresh_from_db()
    assert penalty.status == Penalty.Status.OVERTURNED


def test_withdraw_through_the_form(penalty: Penalty, personas: dict[str, User],
                                   client_for: Login) -> None:
    appeal = file(personas, penalty)
    client = client_for(personas["account_manager"])
    url = reverse("conduct:appeal_withdraw", args=[appeal.pk])
    before = snapshot()
    empty = client.post(url, {"withdraw-note": ""})
    assert empty.status_code == 200 and b'data-field-error="withdraw-note"' in empty.content
    assert snapshot() == before
    assert client.post(url, {"withdraw-note": "客户撤回"}).status_code == 302
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.WITHDRAWN
    again = client.post(url, {"withdraw-note": "再撤"})
    assert again.status_code == 200 and b'data-testid="withdraw-error"' in again.content
