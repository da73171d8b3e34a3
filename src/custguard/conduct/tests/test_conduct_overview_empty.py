"""The conduct overview without any case (its own module: test_conduct_overview.py shares a
book of cases across its tests)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from custguard.conduct.tests.support import publish_default_policy
from custguard.conduct.tests.test_conduct_overview import overview
from custguard.core.models import User

pytestmark = pytest.mark.django_db


def test_an_empty_overview(regions: None, personas: dict[str, User],
                           client_for: Callable[[User], Client]) -> None:
    publish_default_policy()
    response = overview(client_for(personas["credit_manager"]))
    html = response.content.decode()
    assert response.context["total"] == 0
    assert 'data-chart="month-chart"' not in html and 'data-chart="type-chart"' not in html
    assert response.context["figures"].open_cases == 0
