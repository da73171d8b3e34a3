"""Schemathesis over the points API, as every signed-in role.

The harness, and how to explore with more examples: custguard/testing/fuzz.py."""

import pytest

from custguard.rewards.tests import test_api_permissions as matrix
from custguard.rewards.tests import world as points_world
from custguard.testing import fuzz

pytestmark = pytest.mark.django_db

# The matrix's fixtures (its world is built once for this module too) and its table.
module_points_world = points_world.module_points_world
world = points_world.world
personas = points_world.personas
bearer_for = points_world.bearer_for
test_no_input_breaks_the_api = fuzz.matrix_test(matrix.POINTS_TABLE)
