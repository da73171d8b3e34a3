"""The standing counters follow a customer into and out of its group."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.core.services.audit import verify_chain
from custguard.core.transactions import MembershipMoved
from custguard.credit.services import exposure
from custguard.customers import services as registry
from custguard.customers.models import Customer, GroupStanding, Region, Standing
from custguard.ledger import services as ledger

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()


@pytest.fixture
def actor(personas: dict[str, User]) -> Actor:
    return Actor.system("tests")


def make(actor: Actor, name: str) -> Customer:
    return registry.create_customer(actor, region=Region.objects.get(pk="110000"), name=name,
                                    kind="enterprise")


def invoice(actor: Actor, customer: Customer, ref: str, amount: str, due_days_ago: int) -> None:
    ledger.post_invoice(actor, customer, source="erp", external_id=ref,
                        issued_on=TODAY - dt.timedelta(days=due_days_ago + 30),
                        due_on=TODAY - dt.timedelta(days=due_days_ago), amount=amount)


def group_row(group_id: int) -> GroupStanding:
    return GroupStanding.objects.get(pk=group_id)


def test_joining_and_leaving_carries_the_counters(regions: None, actor: Actor) -> None:
    parent, member = make(actor, "母公司"), make(actor, "子公司")
    invoice(actor, parent, "p1", "1000.00", due_days_ago=-10)
    invoice(actor, member, "m1", "2500.00", due_days_ago=40)
    group = registry.create_group(actor, name="集团", parent=parent)
    row = group_row(group.pk)
    assert (row.posted, row.overdue_amount, row.oldest_open_due_on) == (
        Decimal("1000.00"), Decimal("0.00"), TODAY + dt.timedelta(days=10))
    registry.add_group_member(actor, group, member)
    row = group_row(group.pk)
    assert row.posted == Decimal("3500.00")
    assert row.overdue_amount == Decimal("2500.00")
    assert row.oldest_open_due_on == TODAY - dt.timedelta(days=40)
    # A fact after joining moves the group too.
    ledger.post_payment(actor, member, source="erp", external_id="pay1", received_on=TODAY,
                        amount="500.00")
    assert group_row(group.pk).posted == Decimal("3000.00")
    registry.remove_group_member(actor, group, member, reason="分拆")
    row = group_row(group.pk)
    assert (row.posted, row.overdue_amount) == (Decimal("1000.00"), Decimal("0.00"))
    assert Standing.objects.get(pk=member.pk).posted == Decimal("2000.00")
    assert verify_chain() is None


@pytest.mark.django_db(transaction=True)
def test_posting_while_the_customer_changes_group_keeps_the_group_right(
        regions: None, actor: Actor) -> None:
    """Facts for a member posted from threads while it joins and leaves its group: at the end
    the group's posted is exactly the sum of its members'."""
    parent, member = make(actor, "母公司"), make(actor, "子公司")
    group = registry.create_group(actor, name="集团", parent=parent)
    errors: list[BaseException] = []

    def post(start: int) -> None:
        try:
            for i in range(start, start + 10):
                invoice(actor, member, f"t{i}", "100.00", due_days_ago=-5)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    def churn() -> None:
        try:
            for _ in range(5):
                registry.add_group_member(actor, group, member)
                registry.remove_group_member(actor, group, member)
            registry.add_group_member(actor, group, member)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n * 100,)) for n in range(3)]
    threads.append(threading.Thread(target=churn))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Standing.objects.get(pk=member.pk).posted == Decimal("3000.00")
    members = Standing.objects.filter(customer__group=group)
    assert group_row(group.pk).posted == sum((s.posted for s in members), Decimal("0.00"))
    assert group_row(group.pk).posted == Decimal("3000.00")


def _counters(customer: Customer, group_id: int | None) -> tuple[Decimal, Decimal | None]:
    group = group_row(group_id).reserved if group_id is not None else None
    return Standing.objects.get(pk=customer.pk).reserved, group


def test_a_reservation_the_customer_refuses_leaves_the_group_as_it_was(
        regions: None, actor: Actor) -> None:
    parent, member = make(actor, "母公司"), make(actor, "子公司")
    group = registry.create_group(actor, name="集团", parent=parent, members=[member])
    Standing.objects.filter(pk=member.pk).update(credit_limit=Decimal("100.00"))
    GroupStanding.objects.filter(pk=group.pk).update(has_limit=True,
                                                     credit_limit=Decimal("1000.00"))
    with transaction.atomic():
        fits = exposure.try_reserve(member.pk, group.pk, Decimal("80.00"), Decimal("1"))
        too_much = exposure.try_reserve(member.pk, group.pk, Decimal("30.00"), Decimal("1"))
    assert (fits.ok, too_much.ok, too_much.refused_by) == (True, False, "customer")
    # The group took the 30.00 first and gave it back in the same transaction.
    assert _counters(member, group.pk) == (Decimal("80.00"), Decimal("80.00"))


def test_a_reservation_for_a_group_the_customer_left_raises_and_moves_nothing(
        regions: None, actor: Actor) -> None:
    parent, member = make(actor, "母公司"), make(actor, "子公司")
    group = registry.create_group(actor, name="集团", parent=parent, members=[member])
    Standing.objects.filter(pk=member.pk).update(credit_limit=Decimal("500.00"))
    registry.remove_group_member(actor, group, member, reason="分拆")
    with transaction.atomic(), pytest.raises(MembershipMoved):
        exposure.try_reserve(member.pk, group.pk, Decimal("10.00"), Decimal("1"))
    assert _counters(member, group.pk) == (Decimal("0.00"), Decimal("0.00"))
    # Read as alone, the customer that joined a group is refused the same way.
    other = registry.create_group(actor, name="另一集团", parent=make(actor, "新母公司"),
                                  members=[member])
    with transaction.atomic(), pytest.raises(MembershipMoved):
        exposure.try_reserve(member.pk, None, Decimal("10.00"), Decimal("1"))
    assert _counters(member, other.pk) == (Decimal("0.00"), Decimal("0.00"))


@pytest.mark.django_db(transaction=True)
def test_a_reservation_outside_a_transaction_is_refused(regions: None, actor: Actor) -> None:
    customer = make(actor, "单独客户")
    with pytest.raises(RuntimeError, match="inside a transaction"):
        exposure.try_reserve(customer.pk, None, Decimal("10.00"), Decimal("1"))
    assert _counters(customer, None) == (Decimal("0.00"), None)
