"""Schemathesis over the customers, groups, regions, audit and token API.

As a signed-in user of every role (issue 9 §1): no input gets a 500, every status and body is
the one the OpenAPI documents, and a refusal is problem+json in the request's language. The
harness, and how to explore with more examples: custguard/testing/fuzz.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from custguard.api.tests import test_api_permissions as matrix
from custguard.core.models import User
from custguard.testing import fuzz
from custguard.testing.matrix import ANONYMOUS, ROLES

pytestmark = pytest.mark.django_db

# The permission matrix's table and world, built once for this module too.
TABLE = matrix.TABLE
World = matrix.World
module_world = matrix.module_world
world = matrix.world
personas = matrix.personas
bearer_for = matrix.bearer_for

SIGNED_IN = [role for role in ROLES if role != ANONYMOUS]


@pytest.mark.parametrize("role", SIGNED_IN)
@pytest.mark.parametrize(("method", "route"), fuzz.operations(TABLE))
def test_no_input_breaks_the_api(method: str, route: str, role: str, world: World,
                                 personas: dict[str, User],
                                 bearer_for: Callable[[User], dict[str, str]],
                                 fuzz_schema: Any) -> None:
    values = world.values
    authorization = bearer_for(personas[role])["HTTP_AUTHORIZATION"]
    fuzz.fuzz(method, route, authorization, fuzz.world_values(TABLE, method, route, values),
              fuzz.customer_codes(values))
