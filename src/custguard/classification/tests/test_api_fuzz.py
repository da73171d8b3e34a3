"""Schemathesis over the classification API, as every signed-in role.

Issue 9 §1; the harness, and how to explore with more examples: custguard/testing/fuzz.py."""

import pytest

from custguard.classification.tests import test_api_permissions as matrix
from custguard.testing import fuzz

pytestmark = pytest.mark.django_db

# The matrix's fixtures (its world is built once for this module too) and its table.
_fixed_day = matrix._fixed_day
module_world = matrix.module_world
world = matrix.world
personas = matrix.personas
bearer_for = matrix.bearer_for
test_no_input_breaks_the_api = fuzz.matrix_test(matrix.TABLE)
