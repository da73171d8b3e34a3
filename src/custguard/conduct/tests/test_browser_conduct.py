"""The whole conduct path in Chromium, page by page, by the people who take each step:

the account manager reports a violation with evidence from the customer's conduct page → the
credit manager investigates and confirms it → the ladder proposes a suspension → the credit
manager approves it → the order gate (the ERP, over the API with its bearer token) denies the
customer's order and the conduct page shows the restrictions → customer service files the
customer's appeal → the credit manager, who approved, may not decide it → the sales manager
reviews and overturns it → the gate allows the order again and the conduct page shows no
restriction. The audit chain holds every step, in order, each as the person who took it.

Only the set-up (the policy, the people, the customer and its credit limit, the ERP's token) is
written through the services; every conduct step goes through the pages."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from custguard.conduct.models import Appeal, Evidence, Penalty, ViolationCase
from custguard.conduct.tests.support import customer_on_credit
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.core.services import tokens
from custguard.core.services.audit import verify_chain
from custguard.customers.models import Customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STEPS = [  # the audit actions of the path, in the order they must appear
    "conduct.case_report", "conduct.evidence_add", "conduct.case_investigate",
    "conduct.case_confirm", "conduct.penalty_propose", "conduct.penalty_approve",
    "conduct.notice_issue", "conduct.penalty_notify", "conduct.penalty_activate",
    "conduct.effects", "conduct.appeal_file", "conduct.appeal_review",
    "conduct.penalty_overturn", "conduct.effects", "conduct.appeal_decide",
]


def ask_gate(page: Any, secret: str, customer: Customer, order: str) -> dict[str, Any]:
    """The ERP asks the gate about an order (no browser session: only its bearer token)."""
    page.context.clear_cookies()
    response = page.request.post("/api/v1/gate/check", data=json.dumps({
        "customer": customer.code, "amount": "1000.00", "reserve": True, "source": "erp",
        "external_id": order}), headers={"Authorization": f"Bearer {secret}",
                                         "Content-Type": "application/json"})
    assert response.status == 200, response.text()
    return response.json()


def sign_in(page: Any, login: Callable[[str, str], None], username: str) -> None:
    page.context.clear_cookies()
    login(username, f"pw-{username}")


def subsequence(wanted: list[str], actions: list[str]) -> bool:
    found = iter(actions)
    return all(step in found for step in wanted)


def test_report_confirm_approve_deny_appeal_overturn_allow(
        page: Any, login: Callable[[str, str], None], regions: None,
        personas: dict[str, User]) -> None:
    customer = customer_on_credit(personas, name="浏览器行为客户")
    _token, secret = tokens.create_token(Actor.system("tests"),
                                         user=personas["erp_integration"], name="erp")
    assert ask_gate(page, secret, customer, "SO-B1")["outcome"] == "allow"
    conduct_page = f"/conduct/customers/{customer.code}/"

    # The account manager reports a fraudulent return with the evidence.
    sign_in(page, login, "account_manager")
    page.goto(conduct_page)
    expect(page.locator("[data-testid=no-restrictions]")).to_be_visible()
    page.click("[data-testid=report-case]")
    expect(page.locator("input[name=customer]")).to_have_value(customer.code)
    page.select_option("select[name=violation_type]", "RETURN_FRAUD")
    page.fill("input[name=occurred_on]", (clock.today() - dt.timedelta(days=3)).isoformat())
    page.fill("textarea[name=description]", "以过期产品冒充近期批次申请退货，批号与出库记录不符")
    page.set_input_files("input[name=files]", files=[{
        "name": "退货核查记录.txt", "mimeType": "text/plain",
        "buffer": "核查：退货批号与出库记录不符。".encode()}])
    page.click("[data-testid=report]")
    case = ViolationCase.objects.get(customer=customer)
    expect(page).to_have_url(re.compile(rf"/conduct/cases/{case.pk}/$"))
    expect(page.locator("[data-testid=case-status] [data-status]")).to_have_attribute(
        "data-status", "reported")
    expect(page.locator("[data-testid=evidence-table]")).to_contain_text("退货核查记录.txt")
    assert Evidence.objects.get(case=case).size > 0

    # The credit manager investigates and confirms it; the ladder proposes a suspension.
    sign_in(page, login, "credit_manager")
    page.goto(f"/conduct/cases/{case.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=investigate]")
    expect(page.locator("[data-testid=case-status] [data-status]")).to_have_attribute(
        "data-status", "investigating")
    page.fill("textarea[name=confirm-reason]", "批号与出库记录核对一致，属实")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=confirm]")
    penalty = Penalty.objects.get(case=case)
    expect(page).to_have_url(re.compile(rf"/conduct/penalties/{penalty.pk}/$"))
    expect(page.locator("[data-testid=penalty-status] [data-status]")).to_have_attribute(
        "data-status", "proposed")
    expect(page.locator("[data-testid=step]")).to_contain_text("SEVERE_SUSPEND")

    # ... and approves it: the customer is notified and the measures are in force.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=approve]")
    expect(page.locator("[data-testid=penalty-status] [data-status]")).to_have_attribute(
        "data-status", "active")

    # The gate denies the order; the conduct page says why.
    denied = ask_gate(page, secret, customer, "SO-B2")
    assert denied["outcome"] == "deny"
    assert {"ORDER_BLOCKED", "SERVICE_SUSPENDED"} <= {r["code"] for r in denied["reasons"]}
    sign_in(page, login, "customer_service")
    page.goto(conduct_page)
    restrictions = page.locator("[data-testid=restrictions] [data-restriction]")
    expect(restrictions).to_have_count(3)  # orders blocked, suspended, points frozen
    expect(page.locator("[data-restriction=order_blocked] [data-cause=penalty]")
           ).to_have_attribute("data-cause-id", str(penalty.pk))

    # Customer service files the customer's appeal from the penalty's row.
    page.locator(f"tr[data-penalty='{penalty.pk}'] [data-testid=appeal-penalty]").click()
    page.fill("textarea[name=grounds]", "客户称退货产品系仓库错发，批号记录有误")
    page.click("[data-testid=file-appeal]")
    appeal = Appeal.objects.get(penalty=penalty)
    expect(page).to_have_url(re.compile(rf"/conduct/appeals/{appeal.pk}/$"))
    expect(page.locator("[data-testid=appeal-status] [data-status]")).to_have_attribute(
        "data-status", "filed")

    # The credit manager approved the penalty, so may not review the appeal.
    sign_in(page, login, "credit_manager")
    page.goto(f"/conduct/appeals/{appeal.pk}/")
    expect(page.locator("[data-testid=decider-note]")).to_be_visible()
    expect(page.locator("[data-testid=decide-form]")).to_have_count(0)

    # The sales manager reviews it and overturns the penalty.
    sign_in(page, login, "sales_manager")
    page.goto(f"/conduct/appeals/{appeal.pk}/")
    page.click("[data-testid=start-review]")
    expect(page.locator("[data-testid=appeal-status] [data-status]")).to_have_attribute(
        "data-status", "under_review")
    page.check("input[name=decide-outcome][value=overturned]")
    page.fill("textarea[name=decide-note]", "仓库出库记录有误，撤销处罚")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=decide]")
    expect(page.locator("[data-testid=appeal-status] [data-status]")).to_have_attribute(
        "data-status", "overturned")
    page.goto(conduct_page)
    expect(page.locator("[data-testid=no-restrictions]")).to_be_visible()
    expect(page.locator(f"tr[data-penalty='{penalty.pk}']")).to_have_attribute(
        "data-status", "overturned")

    # The gate allows the order again.
    assert ask_gate(page, secret, customer, "SO-B3")["outcome"] == "allow"

    # The audit chain holds, with every step in order, each as the person who took it.
    assert verify_chain() is None
    entries = list(AuditEntry.objects.filter(customer_id=customer.pk,
                                             action__startswith="conduct.").order_by("seq"))
    actions = [entry.action for entry in entries]
    assert subsequence(STEPS, actions), actions
    by_action = {entry.action: entry.actor_label for entry in entries}
    assert by_action["conduct.case_report"] == "account_manager"
    assert by_action["conduct.case_confirm"] == "credit_manager"
    assert by_action["conduct.penalty_approve"] == "credit_manager"
    assert by_action["conduct.appeal_file"] == "customer_service"
    assert by_action["conduct.appeal_decide"] == "sales_manager"
    # The notice's e-mail goes out from the job queue after the approval commits; every
    # other step is a person's.
    assert by_action["conduct.notice_sent"] == "conduct.deliver_notice"
    assert {entry.actor_kind for entry in entries
            if entry.action != "conduct.notice_sent"} == {"user"}
