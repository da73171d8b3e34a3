"""Short ways to give a customer points in tests of other apps (through the rewards service)."""

from __future__ import annotations

from custguard.core.actors import Actor
from custguard.customers.models import Customer
from custguard.rewards.services import adjustments


def give_points(customer: Customer, points: int) -> None:
    """`points` available at once, as an adjustment by the system (a policy must be in force:
    it sets the expiry)."""
    adjustments.adjust(Actor.system("test"), customer, points, note="test points")
