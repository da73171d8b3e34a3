"""The home page counts what the user may see and charts it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from django.test import Client

from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.customers import services
from custguard.customers.models import Region
from custguard.customers.selectors import customers_for
from custguard.reports.selectors import registry_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(regions: None, personas: dict[str, User]) -> None:
    sales = Actor.for_user(personas["sales_manager"])
    shijiazhuang, beijing = Region.objects.get(pk="130100"), Region.objects.get(pk="110000")
    for name, region, kind, tier, manager in [
        ("甲", shijiazhuang, "enterprise", "strategic", personas["account_manager"]),
        ("乙", shijiazhuang, "dealer", "general", personas["account_manager"]),
        ("丙", beijing, "dealer", "general", personas["account_manager_2"]),
    ]:
        services.create_customer(sales, region=region, name=name, kind=kind, value_tier=tier,
                                 account_manager=manager)


def test_counts_group_prefectures_under_their_province(registry: None,
                                                       personas: dict[str, User]) -> None:
    counts = registry_counts(customers_for(personas["sales_manager"]))
    assert counts.total == 3
    assert counts.by_province == [("130000", "河北省", 2), ("110000", "北京市", 1)]
    assert dict((code, n) for code, _label, n in counts.by_kind) == {
        "enterprise": 1, "dealer": 2, "individual": 0}
    assert dict((code, n) for code, _label, n in counts.by_tier)["general"] == 2


def test_an_account_manager_counts_only_their_own(registry: None,
                                                  personas: dict[str, User]) -> None:
    counts = registry_counts(customers_for(personas["account_manager"]))
    assert counts.total == 2
    assert counts.by_province == [("130000", "河北省", 2)]


def test_home_page_shows_the_counts_and_the_chart_data(
        registry: None, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    page = client_for(personas["finance"]).get("/").content.decode()
    assert re.search(r'data-testid="total-customers">3<', page)
    chart = json.loads(re.search(r'<script id="province-chart" type="application/json">(.*?)'
                                 r'</script>', page, re.S).group(1))  # type: ignore[union-attr]
    assert chart["yAxis"]["data"] == ["北京市", "河北省"]
    assert chart["series"][0]["data"] == [1, 2]


def test_home_page_without_customers_says_so(personas: dict[str, User],
                                             client_for: Callable[[User], Client]) -> None:
    page = client_for(personas["outsider"]).get("/").content.decode()
    assert 'data-testid="total-customers">0<' in page
    assert "province-chart" not in page
