"""Schemathesis over the tier API, as every signed-in role.

The harness, and how to explore with more examples: custguard/testing/fuzz.py."""

import pytest

from custguard.rewards.tests import test_api_permissions_tiers as matrix
from custguard.rewards.tests import tier_world
from custguard.testing import fuzz

pytestmark = pytest.mark.django_db

module_tier_world = tier_world.module_tier_world
world = tier_world.world
personas = tier_world.personas
bearer_for = tier_world.bearer_for
test_no_input_breaks_the_api = fuzz.matrix_test(matrix.TABLE)
