"""Redeeming points for rewards: lots spent oldest-expiry first, idempotent keys, refusals that
name the field and change nothing, stock and per-customer limits, fulfilment and cancellation
(points back to their lots, stock restored), and the catalogue's own checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.customers.models import Customer, Standing
from custguard.ledger.tests.conftest import days
from custguard.rewards.models import PointsEntry, PointsLot, Redemption, Reward
from custguard.rewards.services import accounts, adjustments, catalogue, redemptions
from custguard.rewards.services.catalogue import RewardInput

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales(personas: dict[str, User]) -> Actor:
    return Actor.for_user(personas["sales_manager"])


@pytest.fixture
def kettle(sales: Actor, policy: Any) -> Reward:
    return catalogue.create_reward(sales, "KETTLE", RewardInput(
        name_zh="电热水壶", name_en="Kettle", kind=Reward.Kind.GIFT, points=150, stock=2,
        per_customer_limit=3))


def balance(customer: Customer) -> int:
    return Standing.objects.get(pk=customer.pk).points_balance


def state() -> tuple[object, ...]:
    return (list(Standing.objects.values_list("pk", "points_balance")),
            PointsEntry.objects.count(), Redemption.objects.count(),
            list(Reward.objects.values_list("code", "stock")),
            list(PointsLot.objects.values_list("pk", "remaining")), AuditEntry.objects.count())


def test_a_redemption_spends_the_lots_that_expire_first(
        sales: Actor, customer: Customer, kettle: Reward) -> None:
    system = Actor.system("t")
    adjustments.adjust(system, customer, 100, note="first")
    adjustments.adjust(system, customer, 100, note="second")
    PointsLot.objects.filter(entry__note="second").update(expires_on=days(40))
    redemption, created = redemptions.redeem(sales, customer, kettle, 1, source="ui",
                                             external_id="K-1")
    assert created and redemption.points == 150
    remaining = dict(PointsLot.objects.values_list("entry__note", "remaining"))
    assert remaining == {"second": 0, "first": 50}  # the one expiring sooner went first
    assert balance(customer) == 50
    assert Reward.objects.get(pk=kettle.pk).stock == 1
    assert accounts.reconcile().drifts == []


def test_the_same_key_again_returns_the_first_redemption(
        sales: Actor, customer: Customer, kettle: Reward) -> None:
    adjustments.adjust(Actor.system("t"), customer, 400, note="p")
    first, _created = redemptions.redeem(sales, customer, kettle, 1, source="erp",
                                         external_id="R-1")
    again, created = redemptions.redeem(sales, customer, kettle, 1, source="erp",
                                        external_id="R-1")
    assert (again.pk, created) == (first.pk, False)
    assert balance(customer) == 250
    with pytest.raises(Conflict) as refused:
        redemptions.redeem(sales, customer, kettle, 2, source="erp", external_id="R-1")
    assert refused.value.field == "external_id"


@pytest.mark.parametrize(("setup", "quantity", "field", "code"), [
    ("few points", 1, "quantity", "POINTS_NOT_ENOUGH"),
    ("frozen", 1, "customer", "POINTS_FROZEN"),
    ("blacklisted", 1, "customer", "POINTS_BLACKLISTED"),
    ("out of stock", 3, "quantity", "REWARD_OUT_OF_STOCK"),
    ("over the limit", 4, "quantity", "REWARD_LIMIT_REACHED"),
    ("inactive", 1, "reward", "REWARD_INACTIVE"),
    ("not yet offered", 1, "reward", "REWARD_NOT_OFFERED"),
    ("zero", 0, "quantity", None),
])
def test_a_refused_redemption_says_why_and_changes_nothing(
        setup: str, quantity: int, field: str, code: str | None, sales: Actor,
        customer: Customer, kettle: Reward) -> None:
    adjustments.adjust(Actor.system("t"), customer, 100 if setup == "few points" else 1000,
                       note="p")
    if setup in ("frozen", "blacklisted"):
        Standing.objects.filter(pk=customer.pk).update(
            **{"points_frozen" if setup == "frozen" else "blacklisted": True})
    if setup == "inactive":
        Reward.objects.filter(pk=kettle.pk).update(active=False)
    if setup == "not yet offered":
        Reward.objects.filter(pk=kettle.pk).update(available_from=days(1))
    before = state()
    with pytest.raises(ValidationFailed) as refused:
        redemptions.redeem(sales, customer, kettle, quantity, source="ui", external_id="X")
    assert refused.value.field == field
    if code is not None:
        assert refused.value.code == code
    assert state() == before


def test_cancelling_gives_the_points_back_to_their_lots_and_restores_the_stock(
        sales: Actor, customer: Customer, kettle: Reward) -> None:
    adjustments.adjust(Actor.system("t"), customer, 300, note="p")
    redemption, _created = redemptions.redeem(sales, customer, kettle, 2, source="ui",
                                              external_id="K-2")
    assert (balance(customer), Reward.objects.get(pk=kettle.pk).stock) == (0, 0)
    with pytest.raises(ValidationFailed) as refused:
        redemptions.cancel(sales, redemption, reason="")
    assert refused.value.field == "reason"
    cancelled = redemptions.cancel(sales, redemption, reason="客户改变主意")
    assert cancelled.status == Redemption.Status.CANCELLED
    assert (balance(customer), Reward.objects.get(pk=kettle.pk).stock) == (300, 2)
    assert PointsLot.objects.get().remaining == 300
    with pytest.raises(Conflict):
        redemptions.fulfil(sales, redemption, reference="D-1")
    assert accounts.reconcile().drifts == []


def test_cash_back_is_valued_by_the_policy_and_needs_the_credit_note_to_be_fulfilled(
        sales: Actor, customer: Customer, policy: Any) -> None:
    cash = catalogue.create_reward(sales, "CASH_100", RewardInput(
        name_zh="返现", name_en="Cash back", kind=Reward.Kind.CASH_BACK, points=200))
    adjustments.adjust(Actor.system("t"), customer, 200, note="p")
    redemption, _created = redemptions.redeem(sales, customer, cash, 1, source="ui",
                                              external_id="C-1")
    assert str(redemption.cash_amount) == "100.00"  # 200 points × 0.50 (redemption_value)
    with pytest.raises(ValidationFailed) as refused:
        redemptions.fulfil(sales, redemption, reference=" ")
    assert refused.value.field == "reference"
    done = redemptions.fulfil(sales, redemption, reference="CN-2025-001")
    assert (done.status, done.reference) == (Redemption.Status.FULFILLED, "CN-2025-001")


def test_an_account_manager_may_not_fulfil_and_an_auditor_may_not_redeem(
        personas: dict[str, User], customer: Customer, kettle: Reward) -> None:
    adjustments.adjust(Actor.system("t"), customer, 300, note="p")
    with pytest.raises(PermissionRefused):
        redemptions.redeem(Actor.for_user(personas["auditor"]), customer, kettle, 1,
                           source="ui", external_id="A-1")
    redemption, _created = redemptions.redeem(Actor.for_user(personas["account_manager"]),
                                              customer, kettle, 1, source="ui",
                                              external_id="A-2")
    with pytest.raises(PermissionRefused):
        redemptions.fulfil(Actor.for_user(personas["account_manager"]), redemption)


@pytest.mark.parametrize(("changes", "field"), [
    ({"points": 0}, "points"),
    ({"name_zh": " "}, "name_zh"),
    ({"kind": "coupon"}, "kind"),
    ({"stock": -1}, "stock"),
    ({"available_from": dt.date(2025, 7, 10), "available_until": dt.date(2025, 7, 1)},
     "available_until"),
])
def test_the_catalogue_refuses_bad_rewards_naming_the_field(
        changes: dict[str, object], field: str, sales: Actor, policy: Any) -> None:
    values: dict[str, Any] = {"name_zh": "礼品", "name_en": "Gift", "kind": "gift",
                              "points": 10, **changes}
    with pytest.raises(ValidationFailed) as refused:
        catalogue.create_reward(sales, "GIFT", RewardInput(**values))
    assert refused.value.field == field
    assert not Reward.objects.exists()


def test_a_catalogue_change_is_audited_with_what_it_was(sales: Actor, kettle: Reward) -> None:
    catalogue.update_reward(sales, kettle, RewardInput(
        name_zh="电热水壶", name_en="Kettle", kind="gift", points=180, stock=2,
        per_customer_limit=3))
    entry = AuditEntry.objects.filter(action="rewards.reward_update").get()
    assert (entry.before, entry.after) == ({"points": 150}, {"points": 180})
    with pytest.raises(Conflict):
        catalogue.create_reward(sales, "KETTLE", RewardInput(
            name_zh="壶", name_en="Kettle", kind="gift", points=1))
