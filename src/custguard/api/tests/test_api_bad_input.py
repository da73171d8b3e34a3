"""Bad input gets a 4xx problem+json, never a 500 (issue 9 §1): the central handlers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from custguard.core.models import User
from custguard.customers.models import Customer

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers"
PROBLEM = "application/problem+json"


def test_a_body_over_the_maximum_is_a_413(regions: None, personas: dict[str, User],
                                          bearer_for: Callable[[User], dict[str, str]],
                                          settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    before = Customer.objects.count()
    body = '{"name": "%s", "kind": "enterprise", "region": "110000"}' % ("x" * 4096)
    response = Client().post(CUSTOMERS, body, content_type="application/json",
                             **bearer_for(personas["sales_manager"]))
    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM
    assert response.json()["type"].endswith("/request_too_large")
    assert Customer.objects.count() == before


@pytest.mark.parametrize("group_id", ["99999999999999999999", str(2**63)])
def test_a_huge_path_id_is_a_422_not_a_500(regions: None, personas: dict[str, User],
                                           bearer_for: Callable[[User], dict[str, str]],
                                           group_id: str) -> None:
    response = Client().get(f"/api/v1/groups/{group_id}",
                            **bearer_for(personas["sales_manager"]))
    assert response.status_code in (404, 422)
    assert response["Content-Type"] == PROBLEM
