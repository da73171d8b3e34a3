"""End to end, in Chromium: customer service files the customer's appeal against a penalty
from the appeal form; the credit manager who approved the penalty finds no decide form on the
appeal's page; a sales manager finds it in the queue, starts the review and overturns it
(confirming the dialog), and the order gate allows the customer's order again."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from custguard.conduct.models import Appeal, Penalty
from custguard.conduct.tests.appeals_support import gate_outcome, prepay_penalty
from custguard.conduct.tests.support import customer_on_credit
from custguard.core.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_appeal_is_filed_reviewed_and_overturned(
        page: Any, login: Callable[[str, str], None], regions: None,
        personas: dict[str, User]) -> None:
    customer = customer_on_credit(personas, name="浏览器申诉客户")
    penalty = prepay_penalty(personas, customer)
    assert gate_outcome(customer) == "prepay_required"

    login("customer_service", "pw-customer_service")
    page.goto(f"/conduct/appeals/new/?penalty={penalty.pk}")
    expect(page.locator("[data-testid=decision] [data-fact=step]")).to_contain_text(
        "MAJOR_PREPAY")
    page.fill("textarea[name=grounds]", "客户称系其他经销商冒用其名义")
    page.click("[data-testid=file-appeal]")
    appeal = Appeal.objects.get(penalty=penalty)
    expect(page).to_have_url(re.compile(rf"/conduct/appeals/{appeal.pk}/$"))
    expect(page.locator("[data-testid=appeal-status] [data-status]")).to_have_attribute(
        "data-status", "filed")

    page.context.clear_cookies()
    login("credit_manager", "pw-credit_manager")
    page.goto(f"/conduct/appeals/{appeal.pk}/")
    expect(page.locator("[data-testid=decider-note]")).to_be_visible()
    expect(page.locator("[data-testid=decide-form]")).to_have_count(0)

    page.context.clear_cookies()
    login("sales_manager", "pw-sales_manager")
    page.goto("/conduct/appeals/")
    row = page.locator(f"[data-testid=appeal-table] tr[data-appeal='{appeal.pk}']")
    expect(row).to_be_visible()
    row.locator("a.btn").click()
    expect(page).to_have_url(re.compile(rf"/conduct/appeals/{appeal.pk}/$"))
    page.click("[data-testid=start-review]")
    expect(page.locator("[data-testid=appeal-status] [data-status]")).to_have_attribute(
        "data-status", "under_review")
    page.check("input[name=decide-outcome][value=overturned]")
    page.fill("textarea[name=decide-note]", "核实为冒用，撤销处罚")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=decide]")
    expect(page.locator("[data-testid=appeal-status] [data-status]")).to_have_attribute(
        "data-status", "overturned")
    expect(page.locator("[data-testid=appeal-timeline] [data-action='conduct.appeal_decide']")
           ).to_be_visible()

    assert Penalty.objects.get(pk=penalty.pk).status == Penalty.Status.OVERTURNED
    assert gate_outcome(customer) == "allow"
