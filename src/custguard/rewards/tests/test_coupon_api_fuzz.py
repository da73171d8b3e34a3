"""Schemathesis over the coupons API, as every signed-in role.

The harness, and how to explore with more examples: custguard/testing/fuzz.py."""

import pytest

from custguard.rewards.tests import coupon_world
from custguard.rewards.tests import test_coupon_api_permissions as matrix
from custguard.testing import fuzz

pytestmark = pytest.mark.django_db

module_coupon_world = coupon_world.module_coupon_world
world = coupon_world.world
personas = coupon_world.personas
bearer_for = coupon_world.bearer_for
test_no_input_breaks_the_api = fuzz.matrix_test(matrix.TABLE)
