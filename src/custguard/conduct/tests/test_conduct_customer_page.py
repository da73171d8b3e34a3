"""The customer conduct page: cases, penalties with their state and period, restrictions in force
with their causes, notices, fines, blacklist history with recovery plans, appeals and contract
clauses — in Chinese by default, the policy's own words for its codes — and who may open it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from custguard.conduct.models import BlacklistEntry, Penalty, RecoveryInstallment
from custguard.conduct.services import appeals, blacklist, cases, clauses, penalties
from custguard.conduct.tests.support import (
    active_penalty,
    confirmed_case,
    customer_on_credit,
    publish_default_policy,
)
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.customers.models import Customer

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime(2026, 6, 15, 10, 0))
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _fixed_day() -> Iterator[None]:
    with clock.frozen_at(NOW):
        yield
    translation.deactivate()


@pytest.fixture
def customer(regions: None, personas: dict[str, User]) -> Customer:
    with clock.frozen_at(NOW - dt.timedelta(days=400)):  # in force for the past steps too
        publish_default_policy()
    return customer_on_credit(personas, name="北京窜货商贸有限公司")


@pytest.fixture
def prepay(customer: Customer, personas: dict[str, User]) -> Penalty:
    """A major violation with evidence: prepayment only for 90 days and a fine, in force."""
    return active_penalty(personas, customer, violation_type="CROSS_REGION_SALES",
                          evidence=True)


def page(client: Client, customer: Customer) -> str:
    response = client.get(reverse("conduct:customer", args=[customer.code]))
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


def restriction_codes(html: str) -> list[str]:
    return re.findall(r'data-restriction="(\w+)"', html)


def test_shown_in_chinese_by_default_with_the_policy_words(
        prepay: Penalty, customer: Customer, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    html = page(client_for(personas["credit_manager"]), customer)
    assert '<html lang="zh-hans">' in html
    assert "跨区域窜货" in html  # the violation type, as the policy words it in Chinese
    assert "一般违规，款到发货90天并处违约金" in html  # the ladder step
    assert "客户档案" in html
    assert "Selling goods outside the authorised region" not in html
    assert f'data-penalty="{prepay.pk}" data-status="active"' in html
    assert "2026-06-15 – 2026-09-13" in html  # the period: 90 days from today
    assert "5,000.00" in html  # the policy's fine, due
    assert prepay.notices.get().reference in html
    assert restriction_codes(html) == ["penalty_prepay_only"]
    assert f'data-cause="penalty" data-cause-id="{prepay.pk}"' in html
    assert 'data-severity="MAJOR"' in html
    assert f'href="/conduct/appeals/new/?penalty={prepay.pk}"' in html  # within its window


def test_in_english_on_request(prepay: Penalty, customer: Customer, personas: dict[str, User],
                               client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["sales_manager"])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    html = page(client, customer)
    assert '<html lang="en">' in html
    assert "Selling goods outside the authorised region" in html
    assert "A major violation; prepayment only for 90 days and a fine" in html
    assert "Restrictions in force now" in html
    assert "跨区域窜货" not in html


def test_the_restriction_goes_when_the_penalty_is_lifted(
        prepay: Penalty, customer: Customer, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    penalties.lift(Actor.for_user(personas["credit_manager"]), prepay, reason="已整改")
    html = page(client_for(personas["credit_manager"]), customer)
    assert restriction_codes(html) == []
    assert 'data-testid="no-restrictions"' in html
    assert f'data-penalty="{prepay.pk}" data-status="lifted"' in html


def test_blacklist_restrictions_appeal_and_recovery_plan(
        customer: Customer, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    credit = Actor.for_user(personas["credit_manager"])
    severe = active_penalty(personas, customer, violation_type="FALSE_INFORMATION",
                            evidence=True)
    entry = blacklist.open_entry(customer.pk)
    assert entry is not None and entry.status == BlacklistEntry.Status.PROPOSED
    blacklist.approve(credit, entry, note="提供虚假资料")
    appeal = appeals.file(Actor.for_user(personas["customer_service"]), severe,
                          grounds="客户称资料系代理记账公司出具")
    client = client_for(personas["auditor"])
    html = page(client, customer)
    assert restriction_codes(html) == ["blacklisted", "order_blocked", "service_suspended",
                                       "points_frozen"]
    assert f'data-cause="blacklist" data-cause-id="{entry.pk}"' in html
    assert html.count(f'data-cause="penalty" data-cause-id="{severe.pk}"') == 3
    assert "严重违规，暂停供货和服务60天，提请列入信用黑名单并处违约金" in html
    assert f'data-entry="{entry.pk}" data-status="active"' in html
    assert f'data-appeal="{appeal.pk}" data-status="filed"' in html
    assert "提供虚假资质或财务资料" in html

    # Lifted with a plan of two installments; the first paid restores half the limit.
    blacklist.lift(credit, entry, reason="签署还款协议", installments=[
        blacklist.InstallmentPlan(TODAY + dt.timedelta(days=10), Decimal("1000.00")),
        blacklist.InstallmentPlan(TODAY + dt.timedelta(days=40), Decimal("1000.00"))])
    first = RecoveryInstallment.objects.get(plan__entry=entry, number=1)
    blacklist.pay_installment(Actor.for_user(personas["finance"]), first)
    html = page(client, customer)
    assert "blacklisted" not in restriction_codes(html)
    assert "penalty_limit_percent" in restriction_codes(html)
    assert re.search(r'data-restriction="penalty_limit_percent".*?50%', html, re.S)
    assert 'data-cause="recovery"' in html
    assert 'data-testid="recovery-plan" data-paid="1" data-installments="2"' in html


def test_every_stage_of_cases_and_rectifications(
        customer: Customer, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    credit = Actor.for_user(personas["credit_manager"])
    with clock.frozen_at(NOW - dt.timedelta(days=60)):
        _case, first = confirmed_case(personas, customer, violation_type="LATE_PAYMENT")
        assert first is not None
        penalties.approve(credit, first)
    with clock.frozen_at(NOW - dt.timedelta(days=40)):
        _case, second = confirmed_case(personas, customer, violation_type="LATE_RECONCILIATION")
        assert second is not None and second.step_code == "REPEAT_MINOR_REMINDER"
        reminder = penalties.approve(credit, second)
    reporter = Actor.for_user(personas["account_manager"])
    open_case = cases.report(reporter, customer, violation_type="PRICE_DISRUPTION",
                             occurred_on=TODAY - dt.timedelta(days=2),
                             description="低价销售").case
    cases.investigate(credit, open_case)
    dropped = cases.report(reporter, customer, violation_type="LATE_PAYMENT",
                           occurred_on=TODAY - dt.timedelta(days=1), description="误报").case
    cases.dismiss(credit, dropped, reason="经核实已按期付款")
    clauses.add(Actor.for_user(personas["sales_manager"]), customer, contract_number="HT-2026-7",
                violation_type="CROSS_REGION_SALES", fine_amount="8000.00",
                valid_from=TODAY - dt.timedelta(days=100))
    html = page(client_for(personas["account_manager"]), customer)
    statuses = dict(re.findall(r'data-case="(\d+)" data-status="(\w+)"', html))
    assert statuses[str(open_case.pk)] == "investigating"
    assert statuses[str(dropped.pk)] == "dismissed"
    assert list(statuses.values()).count("confirmed") == 2
    # the reminder's rectification was due ten days ago
    assert reminder.rectification_due_on == TODAY - dt.timedelta(days=10)
    assert 'data-testid="rectification-overdue"' in html
    assert "HT-2026-7" in html and "8,000.00" in html
    assert restriction_codes(html) == []  # warnings and reminders restrict nothing
    assert f"?penalty={first.pk}" not in html  # its appeal window closed long ago
    assert f"?penalty={reminder.pk}" not in html


def test_masks_the_recipient_for_roles_without_pii(
        prepay: Penalty, customer: Customer, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    assert "buyer@example.com" in page(client_for(personas["credit_manager"]), customer)
    for role in ("customer_service", "auditor"):
        html = page(client_for(personas[role]), customer)
        assert "buyer@example.com" not in html
        assert "b***@example.com" in html


@pytest.mark.parametrize(("role", "status"), [
    ("admin", 200), ("credit_manager", 200), ("sales_manager", 200), ("account_manager", 200),
    ("account_manager_2", 404), ("customer_service", 200), ("finance", 200), ("auditor", 200),
    ("erp_integration", 403), ("outsider", 403)])
def test_who_may_open_it(prepay: Penalty, customer: Customer, personas: dict[str, User],
                         client_for: Callable[[User], Client], role: str, status: int) -> None:
    response = client_for(personas[role]).get(reverse("conduct:customer",
                                                      args=[customer.code]))
    assert response.status_code == status


def test_anonymous_visitors_are_sent_to_log_in(customer: Customer) -> None:
    response = Client().get(reverse("conduct:customer", args=[customer.code]))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_an_unknown_code_is_not_found(customer: Customer, personas: dict[str, User],
                                      client_for: Callable[[User], Client]) -> None:
    response = client_for(personas["admin"]).get(reverse("conduct:customer",
                                                         args=["999999999"]))
    assert response.status_code == 404


def test_queries_do_not_grow_with_the_history(
        customer: Customer, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["credit_manager"])
    active_penalty(personas, customer, violation_type="CROSS_REGION_SALES", evidence=True)
    with CaptureQueriesContext(connection) as one:
        page(client, customer)
    for code, days in (("LATE_PAYMENT", 300), ("UNJUSTIFIED_REJECTION", 200),
                       ("BRAND_MISUSE", 100)):  # older decisions, past their appeal windows
        with clock.frozen_at(NOW - dt.timedelta(days=days)):
            active_penalty(personas, customer, violation_type=code, evidence=True)
    with CaptureQueriesContext(connection) as four:
        html = page(client, customer)
    assert html.count('data-testid="penalty-link"') == 4
    assert len(four) == len(one)
