"""Fixtures of the rewards tests: the ledger's fixed day, published policy, finance actor and
customers (reused from the ledger's tests), and a policy with small caps."""

from __future__ import annotations

import pytest

from custguard.core.actors import Actor
from custguard.core.models import PolicyVersion
from custguard.core.services.policies import publish_source
from custguard.ledger.tests.conftest import (  # noqa: F401 - fixtures
    _fixed_day,
    customer,
    finance,
    other_customer,
    policy,
)
from custguard.policy import default_policy_text


def policy_with(**points: object) -> str:
    """The default policy with some points rules changed (values as YAML scalars)."""
    lines = default_policy_text().splitlines()
    start = lines.index("points:")
    for name, value in points.items():
        for index in range(start + 1, len(lines)):
            if lines[index].startswith(f"  {name}:"):
                lines[index] = f"  {name}: {value}"
                break
        else:
            raise KeyError(name)
    return "\n".join(lines) + "\n"


@pytest.fixture
def capped_policy(db: None) -> PolicyVersion:
    """Caps small enough to reach: 60 points per order, 100 per month; no on-time bonus."""
    return publish_source(Actor.system("t"), policy_with(cap_per_order=60, cap_per_month=100,
                                                        on_time_bonus_percent=0))
