"""Rewards and conduct together: a penalty's points deduction goes through the lots and comes
back when it is overturned; points earned while a freeze is in force are withheld and are
released if the freeze is overturned on appeal, forfeited if it lapses (the default policy)."""

from __future__ import annotations

from typing import Any

import pytest

from custguard.conduct.services import appeals, penalties
from custguard.conduct.tests.appeals_support import block_penalty, points_penalty
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.customers.models import Customer, Standing
from custguard.ledger.tests.conftest import days
from custguard.ledger.tests.factories import invoice, payment
from custguard.rewards.models import InvoiceEarning, PointsAccount, PointsEntry, PointsLot
from custguard.rewards.services import accounts
from custguard.rewards.tests.helpers import give_points

pytestmark = pytest.mark.django_db


def balance(customer: Customer) -> int:
    return Standing.objects.get(pk=customer.pk).points_balance


def paid(finance: Actor, customer: Customer, ext: str) -> None:
    invoice(finance, customer, ext, "10000.00", issued=days(-10), due=days(20))
    payment(finance, customer, f"PAY-{ext}", "10000.00", to=[(ext, "10000.00")])


def test_a_deduction_takes_from_the_lots_and_an_overturn_puts_it_back(
        customer: Customer, personas: dict[str, User], policy: Any) -> None:
    give_points(customer, 800)
    penalty = points_penalty(personas, customer)
    deducted = PointsEntry.objects.get(kind=PointsEntry.Kind.DEDUCT)
    assert (deducted.points, deducted.penalty_id) == (-500, penalty.pk)
    assert PointsLot.objects.get().remaining == 300
    appeal = appeals.file(Actor.for_user(personas["customer_service"]), penalty, grounds="不服")
    appeals.decide(Actor.for_user(personas["sales_manager"]), appeal, outcome="overturned",
                   note="撤销")
    assert balance(customer) == 800 and PointsLot.objects.get().remaining == 800
    assert PointsEntry.objects.filter(kind=PointsEntry.Kind.RESTORE).count() == 1
    assert accounts.reconcile().drifts == []


def test_points_withheld_by_a_freeze_come_back_when_it_is_overturned(
        customer: Customer, personas: dict[str, User], finance: Actor, policy: Any) -> None:
    penalty = block_penalty(personas, customer)
    assert Standing.objects.get(pk=customer.pk).points_frozen
    paid(finance, customer, "INV-1")
    earning = InvoiceEarning.objects.get()
    assert earning.withheld and earning.withheld_by["penalties"] == [penalty.pk]
    appeal = appeals.file(Actor.for_user(personas["customer_service"]), penalty, grounds="不服")
    appeals.decide(Actor.for_user(personas["admin"]), appeal, outcome="overturned",
                   note="证据不足")
    released = PointsEntry.objects.get(kind=PointsEntry.Kind.RELEASE)
    assert (released.points, released.withheld) == (110, -110)
    assert [r["code"] for r in released.reasons] == ["POINTS_RELEASED_OVERTURNED"]
    account = PointsAccount.objects.get(pk=customer.pk)
    assert (account.withheld, account.pending) == (0, 110)
    assert accounts.reconcile().drifts == []


def test_points_withheld_by_a_freeze_that_lapses_are_forfeited(
        customer: Customer, personas: dict[str, User], finance: Actor, policy: Any) -> None:
    penalty = block_penalty(personas, customer)
    paid(finance, customer, "INV-1")
    penalties.lift(Actor.for_user(personas["credit_manager"]), penalty, reason="已整改")
    forfeited = PointsEntry.objects.get(kind=PointsEntry.Kind.FORFEIT)
    assert (forfeited.points, forfeited.withheld) == (0, -110)
    assert PointsAccount.objects.get(pk=customer.pk).withheld == 0
    assert not PointsLot.objects.exists() and balance(customer) == 0
    assert accounts.reconcile().drifts == []
