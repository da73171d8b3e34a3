"""Two orders racing for the last use of a coupon: exactly one gets it, the other is refused
with the reason and leaves nothing behind (no reservation, no redemption). Real commits and
threads, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from custguard.core.actors import Actor
from custguard.core.errors import ValidationFailed
from custguard.core.models import User
from custguard.core.services.audit import verify_chain
from custguard.credit.models import Reservation
from custguard.customers.models import Customer, Standing
from custguard.ledger.tests.test_concurrency import race
from custguard.rewards.models import Coupon, CouponCounter, CouponRedemption
from custguard.rewards.services import coupon_issuing, coupon_redemption

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


def _credited(*customers: Customer, segment: str = "") -> None:
    Standing.objects.filter(pk__in=[c.pk for c in customers]).update(
        grade="A", credit_limit=D("500000.00"), value_segment=segment)


def test_two_orders_race_for_one_coupon(customer: Customer, personas: dict[str, User],
                                        policy: Any) -> None:
    _credited(customer)
    sales = Actor.for_user(personas["sales_manager"])
    erp = Actor.for_user(personas["erp_integration"])
    erp.can("rewards.redeem_coupon")
    coupon = coupon_issuing.issue(sales, customer=customer,
                                  definition_code="WELCOME_FIRST_ORDER", key="race")
    results, errors = race(erp, [
        lambda n=n: coupon_redemption.check_with_coupon(
            erp, customer, "8000.00", coupon_code=coupon.code, source="erp",
            external_id=f"SO-{n}") for n in range(2)])
    assert len(results) == 1 and len(errors) == 1, errors
    assert isinstance(errors[0], ValidationFailed)
    assert errors[0].code == "COUPON_ALREADY_USED" and errors[0].field == "coupon_code"
    assert results[0].redemption is not None
    assert CouponRedemption.objects.count() == 1
    assert Reservation.objects.count() == 1  # the loser's reservation was rolled back
    assert Standing.objects.get(pk=customer.pk).reserved == D("7500.00")
    assert Coupon.objects.get(pk=coupon.pk).status == Coupon.Status.REDEEMED
    assert verify_chain() is None


def test_two_customers_race_for_the_last_use_of_a_definition(
        customer: Customer, other_customer: Customer, personas: dict[str, User],
        policy: Any) -> None:
    _credited(customer, other_customer, segment="STRATEGIC")
    sales = Actor.for_user(personas["sales_manager"])
    erp = Actor.for_user(personas["erp_integration"])
    coupons = [coupon_issuing.issue(sales, customer=who, definition_code="STRATEGIC_GIFT",
                                    key=f"gift-{who.pk}") for who in (customer, other_customer)]
    CouponCounter.objects.create(definition="STRATEGIC_GIFT", redeemed=199)  # limit 200
    results, errors = race(erp, [
        lambda who=who, coupon=coupon: coupon_redemption.redeem(
            erp, code=coupon.code, customer=who, amount="60000.00", source="erp",
            external_id=f"GIFT-{who.pk}")
        for who, coupon in zip((customer, other_customer), coupons, strict=True)])
    assert len(results) == 1 and len(errors) == 1, errors
    assert isinstance(errors[0], ValidationFailed) and errors[0].code == "COUPON_USED_UP"
    assert CouponCounter.objects.get(pk="STRATEGIC_GIFT").redeemed == 200
    assert CouponRedemption.objects.count() == 1
    assert sorted(Coupon.objects.values_list("status", flat=True)) == ["ISSUED", "REDEEMED"]
