"""End to end, in Chromium: a credit manager finds a held order in the credit-hold queue,
approves it with a reason (confirming the dialog), and the customer's available credit on the
order's page changes by the order's amount."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.credit.models import Reservation
from custguard.credit.services import gate

from .gate_support import counters, make_customer, publish_default_policy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def amount_of(text: str) -> Decimal:
    match = re.search(r"-?[\d,]+\.\d\d", text)
    assert match, text
    return Decimal(match.group(0).replace(",", ""))


def test_a_credit_manager_approves_a_held_order(page: Any, login: Callable[[str, str], None],
                                                make_user: Callable[..., User]) -> None:
    publish_default_policy()
    make_user("credit_manager", username="cm_browser")
    customer = make_customer("浏览器信用客户", limit="1000.00")
    held = gate.check(Actor.system("erp"), customer, "1200.00", reserve=True, source="erp",
                      external_id="SO-BROWSER").reservation
    assert held is not None and held.status == "held"
    login("cm_browser", "pw-cm_browser")

    page.goto("/credit/holds/")
    rows = page.locator("[data-testid=hold-table] tbody tr[data-reservation]")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("[data-reason=LIMIT_EXCEEDED]")).to_be_visible()
    rows.first.locator("[data-testid=review-hold]").click()

    expect(page).to_have_url(re.compile(rf"/credit/holds/{held.pk}/$"))
    available = page.locator("[data-testid=available-customer]")
    assert amount_of(available.inner_text()) == Decimal("1000.00")
    page.check("input[name=decision][value=approve]")
    page.fill("textarea[name=reason]", "年底回款有保证")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=decide]")

    expect(page).to_have_url(re.compile(r"/credit/holds/$"))
    expect(page.locator("[data-testid=hold-table] tbody tr[data-reservation]")).to_have_count(0)
    page.goto(f"/credit/holds/{held.pk}/")
    expect(page.locator("[data-testid=reservation-status]")).to_have_attribute(
        "data-status", "pending")
    assert amount_of(page.locator("[data-testid=available-customer]").inner_text()) == \
        Decimal("-200.00")
    expect(page.locator("[data-testid=decided-by]")).to_contain_text("cm_browser")
    reservation = Reservation.objects.get(pk=held.pk)
    assert reservation.decision_reason == "年底回款有保证"
    assert counters(customer) == (Decimal("0.00"), Decimal("1200.00"))


def test_the_decision_form_refuses_an_empty_reason(page: Any,
                                                   login: Callable[[str, str], None],
                                                   make_user: Callable[..., User]) -> None:
    publish_default_policy()
    make_user("credit_manager", username="cm_browser2")
    customer = make_customer("浏览器无理由", limit="10.00")
    held = gate.check(Actor.system("erp"), customer, "50.00", reserve=True, source="erp",
                      external_id="SO-BROWSER-2").reservation
    assert held is not None
    login("cm_browser2", "pw-cm_browser2")
    page.goto(f"/credit/holds/{held.pk}/")
    page.check("input[name=decision][value=reject]")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=decide]")
    expect(page.locator("[data-field-error=reason]")).to_be_visible()
    assert Reservation.objects.get(pk=held.pk).status == "held"
