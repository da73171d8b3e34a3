"""End-to-end browser tests of the registry: Chromium, driven by Playwright, against the live
server. An account manager creates a customer and finds it again; an auditor can neither see nor
use the edit form."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.customers import services
from custguard.customers.models import Customer, Region

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CODE_RE = re.compile(r"^\d{9}$")


def test_account_manager_creates_a_customer_and_finds_it_again(
        page: Any, login: Callable[[str, str], None], make_user: Callable[..., User],
        regions: None) -> None:
    manager = make_user("account_manager", username="am_browser")
    # A second customer of the same manager, so the search has something to filter out.
    other = services.create_customer(Actor.for_user(manager),
                                     region=Region.objects.get(pk="440300"),
                                     name="已有客户", kind="dealer")
    login("am_browser", "pw-am_browser")

    # The form: region (a grouped select), name, kind.
    page.goto("/customers/new/")
    page.select_option("select[name=region]", "440300")
    page.fill("input[name=name]", "浏览器测试客户")
    page.select_option("select[name=kind]", "enterprise")
    page.click("[data-testid=save-customer]")

    # The customer's page, with its freshly assigned code.
    code_on_page = page.locator("[data-testid=customer-code]")
    expect(code_on_page).to_have_text(re.compile(r"^\s*\d{9}\s*$"))
    code = code_on_page.inner_text().strip()
    assert CODE_RE.match(code)
    expect(page).to_have_url(re.compile(rf"/customers/{code}/$"))
    assert code.startswith("440300") and code != other.code
    created = Customer.objects.get(code=code)
    assert (created.name, created.kind, created.region_id) == ("浏览器测试客户", "enterprise",
                                                               "440300")
    assert created.account_manager == manager

    # The list shows both of the manager's customers; the search narrows it to the new one.
    page.goto("/customers/")
    rows = page.locator("[data-testid=customer-table] tbody tr")
    expect(rows).to_have_count(2)
    page.fill("#id_q", code)
    expect(page).to_have_url(re.compile(rf"[?&]q={code}(&|$)"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-code", code)
    expect(rows.first).to_contain_text("浏览器测试客户")

    # Open it: its timeline holds exactly the creation entry.
    rows.first.get_by_role("link", name=code).click()
    expect(page).to_have_url(re.compile(rf"/customers/{code}/$"))
    expect(page.locator("[data-testid=customer-code]")).to_have_text(code)
    entries = page.locator("[data-testid=timeline] [data-testid=timeline-entry]")
    expect(entries).to_have_count(1)
    expect(entries.first.locator("[data-testid=timeline-action]")).to_have_text(
        "customer.create")
    assert list(AuditEntry.objects.filter(customer_id=created.pk)
                .values_list("action", flat=True)) == ["customer.create"]


def test_auditor_cannot_edit_a_customer(
        page: Any, login: Callable[[str, str], None], make_user: Callable[..., User],
        regions: None, live_server: Any) -> None:
    sales = make_user("sales_manager", username="sales_browser")
    make_user("auditor", username="auditor_browser")
    customer = services.create_customer(Actor.for_user(sales),
                                        region=Region.objects.get(pk="110000"),
                                        name="审计对象客户", kind="enterprise")
    login("auditor_browser", "pw-auditor_browser")

    page.goto(f"/customers/{customer.code}/")
    expect(page.locator("[data-testid=customer-code]")).to_have_text(customer.code)
    expect(page.locator("[data-testid=timeline-entry]")).to_have_count(1)
    expect(page.locator("[data-testid=edit-customer]")).to_have_count(0)
    expect(page.locator("[data-testid=add-contact]")).to_have_count(0)
    expect(page.locator(f"a[href$='/customers/{customer.code}/edit/']")).to_have_count(0)

    before = Customer.objects.values().get(pk=customer.pk)
    entries_before = AuditEntry.objects.count()
    token = page.evaluate("document.body.dataset.csrfToken")
    assert token
    response = page.request.post(
        f"/customers/{customer.code}/edit/",
        form={"csrfmiddlewaretoken": token, "name": "被篡改的名称", "kind": "dealer",
              "scale_band": before["scale_band"], "value_tier": before["value_tier"],
              "status": before["status"], "reason": "should be refused"},
        headers={"Referer": f"{live_server.url}/customers/{customer.code}/"},
        max_redirects=0)
    assert response.status == 403
    # Refused for the missing permission, not by the CSRF check (which would also say 403).
    assert "CSRF" not in response.text()

    assert Customer.objects.values().get(pk=customer.pk) == before
    assert AuditEntry.objects.count() == entries_before
    assert list(AuditEntry.objects.filter(customer_id=customer.pk)
                .values_list("action", flat=True)) == ["customer.create"]
