"""The customer credit page: the score's reasons in plain language (Chinese by default), limit
and terms, exposure of the customer and its group, the charts' data, gate answers paged with
htmx, overrides, open invoices — and who may open it."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.core.services import policies
from custguard.credit.models import CreditScore
from custguard.credit.services import gate, overrides, scoring
from custguard.customers import services
from custguard.customers.models import Customer, Region, Standing
from custguard.ledger.selectors import ageing
from custguard.policy import default_policy_text

from .matrix_overview import post_history

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime(2026, 6, 15, 10, 0))
TODAY = NOW.date()
SYSTEM = Actor.system("tests")


@pytest.fixture(autouse=True)
def _fixed_day() -> Iterator[None]:
    with clock.frozen_at(NOW):
        yield
    translation.deactivate()


@pytest.fixture
def beijing(regions: None) -> Region:
    policies.publish_source(SYSTEM, default_policy_text(), note="tests")
    return Region.objects.get(pk="110000")


def new_customer(region: Region, name: str, manager: User | None, **fields: Any) -> Customer:
    return services.create_customer(SYSTEM, region=region, name=name, kind="enterprise",
                                    account_manager=manager, **fields)


@pytest.fixture
def late_payer(beijing: Region, personas: dict[str, User]) -> Customer:
    customer = new_customer(beijing, "北京迟付商贸有限公司", personas["account_manager"])
    post_history(customer, TODAY, late=True)
    return customer


@pytest.fixture
def good_payer(beijing: Region, personas: dict[str, User]) -> Customer:
    customer = new_customer(beijing, "北京守信科技有限公司", personas["account_manager"])
    post_history(customer, TODAY, late=False, prefix="G")
    return customer


def page(client: Client, customer: Customer, **params: Any) -> str:
    response = client.get(reverse("credit:customer", args=[customer.code]), params)
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


def english(client: Client) -> Client:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def by_testid(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)<', html, re.S)
    assert match, f"no element with data-testid={testid}"
    return match.group(1).strip()


def chart(html: str, chart_id: str) -> dict[str, Any]:
    match = re.search(rf'<script id="{chart_id}" type="application/json">(.*?)</script>', html,
                      re.S)
    assert match, f"no chart data {chart_id}"
    return json.loads(match.group(1))


# --- the score and its reasons ----------------------------------------------------------------


def test_reasons_are_shown_in_chinese_by_default(late_payer: Customer,
                                                 personas: dict[str, User],
                                                 client_for: Callable[[User], Client]) -> None:
    html = page(client_for(personas["credit_manager"]), late_payer)
    score = CreditScore.objects.filter(customer=late_payer).order_by("-computed_at").first()
    assert score is not None
    standing = Standing.objects.get(pk=late_payer.pk)
    assert by_testid(html, "score-value") == str(standing.score)
    assert by_testid(html, "grade") == standing.grade
    # the policy's own Chinese descriptions of the factors, with the values and points lost
    assert "近12个月按期付款率（%）" in html
    assert "近12个月最长逾期天数" in html
    assert "66.67%" in html  # 4 of 6 invoices paid on time
    assert "20 天" in html or "20 days" in html  # the longest delay
    rows = re.findall(r'<tr data-factor="(\w+)">', html)
    assert rows == [r["params"]["factor"] for r in score.reasons]  # the largest loss first
    worst = score.reasons[0]
    assert f"−{worst['params']['points_lost']}" in html
    assert "On-time payment rate" not in html


def test_reasons_in_english_on_request(late_payer: Customer, personas: dict[str, User],
                                       client_for: Callable[[User], Client]) -> None:
    html = page(english(client_for(personas["credit_manager"])), late_payer)
    assert "On-time payment rate over the last 12 months (%)" in html
    assert "Longest days past due in the last 12 months" in html
    assert "20 days" in html
    assert "近12个月按期付款率" not in html


def test_limit_terms_and_exposure(good_payer: Customer, personas: dict[str, User],
                                  client_for: Callable[[User], Client]) -> None:
    gate.check(SYSTEM, good_payer, "2000.00", reserve=True, source="erp", external_id="SO-1")
    standing = Standing.objects.get(pk=good_payer.pk)
    assert standing.grade and not standing.prepay_only
    html = page(english(client_for(personas["credit_manager"])), good_payer)
    assert by_testid(html, "credit-limit").startswith(f"{standing.credit_limit:,.2f}")
    assert by_testid(html, "customer-exposure-posted") == "5,000.00"  # the open invoice
    assert by_testid(html, "customer-exposure-reserved") == "2,000.00"
    available = standing.credit_limit - Decimal("7000.00")
    assert by_testid(html, "customer-exposure-available") == f"{available:,.2f}"
    assert f"{standing.payment_terms_days} days" in by_testid(html, "payment-terms")
    assert "not required" in by_testid(html, "prepay")
    assert 'data-testid="limit-overridden"' not in html
    assert "Limit " in html and "for grade" in html  # how the limit was computed


def test_charts_carry_the_score_history_and_the_ageing(late_payer: Customer,
                                                       personas: dict[str, User],
                                                       client_for: Callable[[User], Client]
                                                       ) -> None:
    # The customer was also scored as of the end of May, and twice as of today.
    scoring.rescore_customers(SYSTEM, [late_payer.pk], trigger="batch",
                              as_of=dt.date(2026, 5, 31))
    scoring.rescore_customers(SYSTEM, [late_payer.pk], trigger="batch")
    html = page(client_for(personas["credit_manager"]), late_payer)
    score_chart = chart(html, "score-chart")
    points = score_chart["series"][0]["data"]
    days = sorted({s.as_of for s in CreditScore.objects.filter(customer=late_payer)})
    latest = {s.as_of: s.score for s in CreditScore.objects.filter(customer=late_payer)
              .order_by("computed_at", "pk")}
    assert points == [[day.isoformat(), latest[day]] for day in days]
    bands = [area[0]["name"] for area in score_chart["series"][0]["markArea"]["data"]]
    assert bands[0] == "AAA"
    ageing_chart = chart(html, "ageing-chart")
    buckets = ageing([late_payer.pk], TODAY)
    assert [Decimal(item["value"]) for item in ageing_chart["series"][0]["data"]] == [
        amount for _code, amount in buckets.as_list()]
    assert buckets.dpd_1_30 == Decimal("10000.00")
    assert 'data-chart="score-chart"' in html and 'data-chart="ageing-chart"' in html
    assert "<script>" not in html  # no inline scripts: CSP


def test_open_invoices_and_days_past_due(late_payer: Customer, personas: dict[str, User],
                                         client_for: Callable[[User], Client]) -> None:
    html = page(english(client_for(personas["finance"])), late_payer)
    assert by_testid(html, "days-past-due") == "15"
    invoices = re.findall(r'<tr data-invoice="([^"]+)">', html)
    assert invoices == [f"INV-H-{late_payer.code}-5", f"INV-H-{late_payer.code}-new"]
    assert "2 invoices, 15,000.00 open" in html
    assert "1 overdue (10,000.00)" in html


# --- gate answers, overrides, groups ----------------------------------------------------------


def test_gate_answers_newest_first_paged_with_htmx(good_payer: Customer,
                                                   personas: dict[str, User],
                                                   client_for: Callable[[User], Client]
                                                   ) -> None:
    for n in range(12):
        with clock.frozen_at(NOW + dt.timedelta(minutes=n)):
            gate.check(SYSTEM, good_payer, f"{100 + n}.00")
    with clock.frozen_at(NOW + dt.timedelta(minutes=20)):
        gate.check(SYSTEM, good_payer, "99999999.00")  # far over the limit: a hold
    client = english(client_for(personas["credit_manager"]))
    html = page(client, good_payer)
    outcomes = re.findall(r'<tr data-outcome="(\w+)">', html)
    assert len(outcomes) == 10
    assert outcomes[0] == "hold"  # the newest first
    assert "Limit exceeded by" in html  # the reason in plain language
    assert 'hx-get="?gate_page=2"' in html
    response = client.get(reverse("credit:customer", args=[good_payer.code]),
                          {"gate_page": 2}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="gate-checks")
    fragment = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in fragment
    assert re.findall(r'<tr data-outcome="(\w+)">', fragment) == ["allow"] * 3
    assert "100.00" in fragment  # the oldest answer is on the last page


def test_overrides_and_the_overridden_limit(good_payer: Customer, personas: dict[str, User],
                                            client_for: Callable[[User], Client]) -> None:
    manager = Actor.for_user(personas["credit_manager"])
    computed = Standing.objects.get(pk=good_payer.pk).credit_limit
    override = overrides.request_override(manager, customer=good_payer,
                                          credit_limit="300000.00", reason="旺季备货",
                                          expires_on=TODAY + dt.timedelta(days=90))
    assert override.status == "active"
    html = page(english(client_for(personas["auditor"])), good_payer)
    assert by_testid(html, "credit-limit").startswith("300,000.00")
    assert 'data-testid="limit-overridden"' in html
    assert f"{computed:,.2f}" in html  # the computed limit beside the override
    assert f'<tr data-override="{override.pk}">' in html
    assert "旺季备货" in html


def test_group_exposure_with_a_unified_limit(beijing: Region, good_payer: Customer,
                                             late_payer: Customer, personas: dict[str, User],
                                             client_for: Callable[[User], Client]) -> None:
    group = services.create_group(SYSTEM, name="北京守信集团", parent=good_payer,
                                  members=[late_payer])
    overrides.request_override(Actor.for_user(personas["credit_manager"]), group=group,
                               credit_limit="100000.00", reason="集团统一授信",
                               expires_on=TODAY + dt.timedelta(days=180))
    html = page(english(client_for(personas["sales_manager"])), good_payer)
    assert 'data-testid="group-exposure"' in html
    assert "Group (unified limit)" in html
    assert by_testid(html, "group-exposure-posted") == "20,000.00"  # 5,000 + 15,000
    assert by_testid(html, "group-exposure-available") == "80,000.00"
    assert "北京守信集团" in html


# --- who may see what -------------------------------------------------------------------------


def test_scoping_and_permissions(good_payer: Customer, personas: dict[str, User],
                                 client_for: Callable[[User], Client]) -> None:
    url = reverse("credit:customer", args=[good_payer.code])
    assert client_for(personas["account_manager"]).get(url).status_code == 200
    assert client_for(personas["account_manager_2"]).get(url).status_code == 404
    assert client_for(personas["erp_integration"]).get(url).status_code == 403
    assert client_for(personas["outsider"]).get(url).status_code == 403
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    missing = reverse("credit:customer", args=["999999999"])
    assert client_for(personas["credit_manager"]).get(missing).status_code == 404


def test_customer_service_sees_the_score_but_not_receivables_or_gate(
        good_payer: Customer, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    gate.check(SYSTEM, good_payer, "100.00")
    html = page(client_for(personas["customer_service"]), good_payer)
    assert 'data-testid="score-reasons"' in html
    assert 'data-testid="gate-checks"' not in html  # no credit.view_gatecheck
    assert 'data-testid="open-invoices"' not in html  # no ledger.view_invoice
    assert 'data-testid="overrides"' not in html  # no credit.view_creditoverride
    full = page(client_for(personas["auditor"]), good_payer)
    assert 'data-testid="gate-checks"' in full and 'data-testid="open-invoices"' in full


def test_a_customer_never_scored(beijing: Region, personas: dict[str, User],
                                 client_for: Callable[[User], Client]) -> None:
    customer = new_customer(beijing, "北京新客户有限公司", personas["account_manager"])
    html = page(english(client_for(personas["credit_manager"])), customer)
    assert "This customer has not been rated yet." in html
    assert 'data-chart="score-chart"' not in html
    assert "The order gate has not been asked about this customer yet." in html


def test_the_timeline_words_the_reasons_jobs_store_as_codes() -> None:
    """A rescoring's reason is its trigger code, a reconciliation's a fixed word: the customer
    timeline shows their labels, and a person's reason as written."""
    from custguard.core.models import AuditEntry
    from custguard.customers.views.common import timeline

    entries = [AuditEntry(seq=n, at=NOW, actor_kind="job", actor_label="job", action=action,
                          object_type="customers.standing", object_id="1", reason=reason,
                          after={"score": 700})
               for n, (action, reason) in enumerate([
                   ("credit.rescore", "batch"), ("credit.drift", "reconciliation"),
                   ("credit.review", "年度复核")])]
    with translation.override("en"):
        shown = [item.reason for item in timeline(entries, show_pii=False)]
    assert shown == ["Batch rescoring", "nightly reconciliation of the counters", "年度复核"]
    with translation.override("zh-hans"):
        shown = [item.reason for item in timeline(entries, show_pii=False)]
    assert shown == ["批量重新评分", "夜间额度计数对账", "年度复核"]
