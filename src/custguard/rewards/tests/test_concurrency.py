"""Customers racing for the last item of a reward: one gets it, the other is refused with the
reason, and the books balance. Two redemptions of one customer at once never spend more than
it has. Real commits and threads, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from custguard.core.actors import Actor
from custguard.core.errors import ValidationFailed
from custguard.core.models import User
from custguard.core.services.audit import verify_chain
from custguard.customers.models import Customer, Standing
from custguard.ledger.tests.test_concurrency import race
from custguard.rewards.models import Redemption, Reward
from custguard.rewards.services import accounts, catalogue, redemptions
from custguard.rewards.services.catalogue import RewardInput
from custguard.rewards.tests.helpers import give_points

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_last_item_goes_to_one_customer(customer: Customer, other_customer: Customer,
                                            personas: dict[str, User], policy: Any) -> None:
    sales = Actor.for_user(personas["sales_manager"])
    reward = catalogue.create_reward(sales, "LAST_ONE", RewardInput(
        name_zh="限量礼品", name_en="Limited gift", kind="gift", points=100, stock=1))
    for who in (customer, other_customer):
        give_points(who, 100)
    results, errors = race(sales, [
        lambda who=who: redemptions.redeem(sales, who, reward, 1, source="ui",
                                           external_id=f"R-{who.pk}")
        for who in (customer, other_customer)])
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], ValidationFailed)
    assert errors[0].code == "REWARD_OUT_OF_STOCK"
    assert Reward.objects.get(pk=reward.pk).stock == 0
    assert Redemption.objects.count() == 1
    balances = sorted(Standing.objects.filter(pk__in=[customer.pk, other_customer.pk])
                      .values_list("points_balance", flat=True))
    assert balances == [0, 100]
    assert accounts.reconcile().drifts == []
    assert verify_chain() is None


def test_one_customer_racing_itself_never_spends_more_than_it_has(
        customer: Customer, personas: dict[str, User], policy: Any) -> None:
    sales = Actor.for_user(personas["sales_manager"])
    reward = catalogue.create_reward(sales, "MUG", RewardInput(
        name_zh="杯子", name_en="Mug", kind="gift", points=60))
    give_points(customer, 100)
    results, errors = race(sales, [
        lambda n=n: redemptions.redeem(sales, customer, reward, 1, source="ui",
                                       external_id=f"M-{n}") for n in range(4)])
    assert len(results) == 1 and len(errors) == 3
    assert {error.code for error in errors if isinstance(error, ValidationFailed)} == {
        "POINTS_NOT_ENOUGH"}
    assert Standing.objects.get(pk=customer.pk).points_balance == 40
    assert accounts.reconcile().drifts == []
