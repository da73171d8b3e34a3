"""Value segments set with the monthly run: each customer's segment from its paid sales and
growth, kept on the standing row and audited; a re-run changes nothing; the customer list
filters on it, the customer page and the class API show it with the team that looks after it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from custguard.classification.services import runs
from custguard.classification.tests.conftest import sell
from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.customers.models import Customer, Standing
from custguard.ledger.tests.conftest import TODAY

pytestmark = pytest.mark.django_db

JOB = Actor.job("classification.monthly_run")


def segments(customers: list[Customer]) -> list[str]:
    found = dict(Standing.objects.values_list("pk", "value_segment"))
    return [found[c.pk] for c in customers]


@pytest.fixture
def big(province: list[Customer], finance: Actor) -> Customer:
    """The province's last customer also paid 2,500,000.00: an important customer."""
    sell(finance, province[-1], "INV-BIG", "2500000.00", paid=TODAY - dt.timedelta(days=20))
    return province[-1]


def test_the_run_sets_each_customers_segment_once(province: list[Customer],
                                                   big: Customer) -> None:
    assert set(segments(province)) == {""}
    result = runs.run_month(JOB)
    # The default policy: 2,000,000 paid makes a customer important; 10k–100k are general.
    assert segments(province) == ["GENERAL"] * 9 + ["IMPORTANT"]
    assert result.segmented == 10
    entries = AuditEntry.objects.filter(action="classification.value_segment")
    assert sorted((e.before["value_segment"], e.after["value_segment"], len(e.after["customers"]))
                  for e in entries) == [("", "GENERAL", 9), ("", "IMPORTANT", 1)]
    again = runs.run_month(JOB)
    assert again.segmented == 0
    assert entries.count() == 2


def test_the_customer_list_filters_on_the_segment_and_the_page_shows_who_looks_after_it(
        province: list[Customer], big: Customer, personas: dict[str, User]) -> None:
    runs.run_month(JOB)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(personas["sales_manager"])
    listed = client.get("/customers/?value_segment=IMPORTANT").content.decode()
    assert big.code in listed
    assert province[0].code not in listed
    page = client.get(f"/customers/{big.code}/").content.decode()
    assert 'data-segment="IMPORTANT"' in page
    manager = personas["account_manager"]
    assert f"account manager: {manager.get_full_name() or manager.username}" in page
    assert "every 90 days" in page  # the default policy's care interval for important
    assert 'data-testid="segment-differs"' in page  # staff assessed it "general"
    general = client.get(f"/customers/{province[0].code}/").content.decode()
    assert 'data-segment="GENERAL"' in general
    assert 'data-testid="segment-differs"' not in general


def test_the_class_api_gives_the_segment(province: list[Customer], big: Customer,
                                         personas: dict[str, User]) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(personas["sales_manager"])
    before = client.get(f"/api/v1/customers/{big.code}/class").json()
    assert before["value_segment"] is None
    runs.run_month(JOB)
    segment = client.get(f"/api/v1/customers/{big.code}/class").json()["value_segment"]
    assert segment["code"] == "IMPORTANT"
    assert (segment["team"], segment["care_interval_days"]) == ("ACCOUNT_MANAGER", 90)
    assert segment["description"] == "Important"
