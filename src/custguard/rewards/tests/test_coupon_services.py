"""Issuing, redeeming and releasing coupons through the services: idempotency, limits, refusals
that name the field and write nothing, the gate + coupon call, and the cancelled order that
gives its coupon back (credit.hooks)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.core.services.audit import verify_chain
from custguard.credit.models import GateCheck, Reservation
from custguard.credit.services import gate
from custguard.customers.models import Customer, Standing
from custguard.rewards.models import Coupon, CouponBatch, CouponCounter, CouponRedemption
from custguard.rewards.services import coupon_issuing, coupon_redemption
from custguard.testing.shared import table_rows

pytestmark = pytest.mark.django_db

D = Decimal


def state() -> dict[str, Any]:
    return table_rows(Coupon, CouponRedemption, CouponCounter, CouponBatch, Reservation,
                      GateCheck, AuditEntry)


@pytest.fixture
def sales(personas: dict[str, User]) -> Actor:
    return Actor.for_user(personas["sales_manager"])


@pytest.fixture
def erp(personas: dict[str, User]) -> Actor:
    return Actor.for_user(personas["erp_integration"])


@pytest.fixture
def credited(customer: Customer, policy: Any) -> Customer:
    Standing.objects.filter(pk=customer.pk).update(grade="A", credit_limit=D("50000.00"))
    return customer


def _issue(sales: Actor, customer: Customer, code: str = "WELCOME_FIRST_ORDER",
           key: str = "k1") -> Coupon:
    return coupon_issuing.issue(sales, customer=customer, definition_code=code, key=key)


def test_issue_is_idempotent_by_key_and_the_code_is_unguessable(
        sales: Actor, credited: Customer) -> None:
    coupon = _issue(sales, credited)
    again = _issue(sales, credited)
    assert again.pk == coupon.pk and Coupon.objects.count() == 1
    assert len(coupon.code) == 12 and set(coupon.code) <= set(coupon_issuing.ALPHABET)
    assert (coupon.valid_until - coupon.valid_from).days == 89  # valid_days 90
    assert coupon.source == Coupon.Source.MANUAL and coupon.status == Coupon.Status.ISSUED
    assert AuditEntry.objects.filter(action="rewards.coupon_issue").count() == 1
    assert coupon_issuing.normalized_code(coupon_issuing.shown(coupon.code).lower()) == \
        coupon.code


def test_the_per_customer_limit_refuses_on_the_field_and_writes_nothing(
        sales: Actor, credited: Customer) -> None:
    _issue(sales, credited)
    before = state()
    with pytest.raises(ValidationFailed) as refused:
        _issue(sales, credited, key="k2")
    assert refused.value.field == "customer" and refused.value.code == "COUPON_PER_CUSTOMER_LIMIT"
    assert state() == before


def test_an_unknown_definition_and_a_reused_key_are_refused(
        sales: Actor, credited: Customer, other_customer: Customer) -> None:
    with pytest.raises(ValidationFailed) as unknown:
        _issue(sales, credited, code="NO_SUCH")
    assert unknown.value.field == "definition_code"
    _issue(sales, credited)
    with pytest.raises(Conflict) as reused:
        _issue(sales, other_customer)
    assert reused.value.field == "key"


def test_a_role_without_the_permission_may_not_issue(personas: dict[str, User],
                                                     credited: Customer) -> None:
    with pytest.raises(PermissionRefused):
        _issue(Actor.for_user(personas["auditor"]), credited)


def test_issue_automatic_returns_none_when_the_limit_refuses_and_audits_it(
        credited: Customer) -> None:
    job = Actor.job("rewards.coupons")
    first = coupon_issuing.issue_automatic(job, customer_id=credited.pk,
                                           definition_code="WELCOME_FIRST_ORDER",
                                           rule="WELCOME", key="welcome:1")
    assert first is not None and first.source == Coupon.Source.RULE and first.rule == "WELCOME"
    assert coupon_issuing.issue_automatic(job, customer_id=credited.pk,
                                          definition_code="WELCOME_FIRST_ORDER",
                                          rule="WELCOME", key="welcome:1") == first
    assert coupon_issuing.issue_automatic(job, customer_id=credited.pk,
                                          definition_code="WELCOME_FIRST_ORDER",
                                          rule="WELCOME", key="welcome:2") is None
    assert AuditEntry.objects.filter(action="rewards.coupon_issue_refused").count() == 1
    assert Coupon.objects.count() == 1


def test_a_batch_issues_one_coupon_each_or_nothing(
        sales: Actor, credited: Customer, other_customer: Customer) -> None:
    batch = coupon_issuing.issue_batch(sales, customers=[credited, other_customer, credited],
                                       definition_code="ANNIVERSARY_PERCENT", key="b1")
    assert batch.count == 2 and batch.coupons.count() == 2
    assert set(batch.coupons.values_list("source", flat=True)) == {Coupon.Source.BATCH}
    assert coupon_issuing.issue_batch(sales, customers=[credited],
                                      definition_code="ANNIVERSARY_PERCENT", key="b1") == batch
    _issue(sales, other_customer, code="WELCOME_FIRST_ORDER", key="w")
    before = state()
    with pytest.raises(ValidationFailed) as refused:
        coupon_issuing.issue_batch(sales, customers=[credited, other_customer],
                                   definition_code="WELCOME_FIRST_ORDER", key="b2")
    assert refused.value.field == "customers" and other_customer.code in refused.value.message
    assert state() == before
    assert CouponBatch.objects.count() == 1


def test_redeem_once_then_release_and_redeem_again(
        sales: Actor, erp: Actor, credited: Customer) -> None:
    coupon = _issue(sales, credited)
    redemption, created = coupon_redemption.redeem(
        erp, code=coupon.code, customer=credited, amount="8000.00", source="erp",
        external_id="SO-1")
    assert created and redemption.discount == D("500.00")
    assert Coupon.objects.get(pk=coupon.pk).status == Coupon.Status.REDEEMED
    assert coupon_redemption.redeem(erp, code=coupon.code, customer=credited,
                                    amount="8000.00", source="erp",
                                    external_id="SO-1") == (redemption, False)
    with pytest.raises(ValidationFailed) as used:
        coupon_redemption.redeem(erp, code=coupon.code, customer=credited, amount="8000.00",
                                 source="erp", external_id="SO-2")
    assert used.value.code == "COUPON_ALREADY_USED" and used.value.field == "coupon_code"
    released = coupon_redemption.release(erp, code=coupon.code, source="erp",
                                         external_id="SO-1", reason="order cancelled")
    assert released.status == CouponRedemption.Status.RELEASED
    assert Coupon.objects.get(pk=coupon.pk).status == Coupon.Status.ISSUED
    coupon_redemption.release(erp, code=coupon.code, source="erp", external_id="SO-1")
    again, created = coupon_redemption.redeem(erp, code=coupon.code, customer=credited,
                                              amount="8000.00", source="erp",
                                              external_id="SO-2")
    assert created and again.status == CouponRedemption.Status.ACTIVE
    assert CouponCounter.objects.get(pk="WELCOME_FIRST_ORDER").redeemed == 1
    assert verify_chain() is None


def test_a_foreign_or_unknown_coupon_is_refused_with_nothing_written(
        sales: Actor, erp: Actor, credited: Customer, other_customer: Customer) -> None:
    coupon = _issue(sales, other_customer)
    before = state()
    with pytest.raises(ValidationFailed) as foreign:
        coupon_redemption.check_with_coupon(erp, credited, "8000.00", coupon_code=coupon.code,
                                            source="erp", external_id="SO-9")
    assert foreign.value.field == "coupon_code" and foreign.value.code == "COUPON_FOREIGN"
    with pytest.raises(ValidationFailed) as unknown:
        coupon_redemption.check_with_coupon(erp, credited, "8000.00",
                                            coupon_code="AAAA-BBBB-CCCC", source="erp",
                                            external_id="SO-9")
    assert unknown.value.code == "COUPON_UNKNOWN"
    assert state() == before


def test_an_expired_coupon_is_refused_on_the_field(sales: Actor, erp: Actor,
                                                  credited: Customer) -> None:
    coupon = _issue(sales, credited)
    Coupon.objects.filter(pk=coupon.pk).update(valid_from="2025-01-01",
                                               valid_until="2025-03-31")
    before = state()
    with pytest.raises(ValidationFailed) as refused:
        coupon_redemption.check_with_coupon(erp, credited, "8000.00", coupon_code=coupon.code,
                                            source="erp", external_id="SO-3")
    assert refused.value.field == "coupon_code" and refused.value.code == "COUPON_EXPIRED"
    assert "2025-03-31" in refused.value.message
    assert state() == before


def test_gate_with_coupon_reserves_the_amount_after_the_discount_and_replays(
        sales: Actor, erp: Actor, credited: Customer) -> None:
    coupon = _issue(sales, credited)
    answer = coupon_redemption.check_with_coupon(erp, credited, "8000.00",
                                                 coupon_code=coupon.code, source="erp",
                                                 external_id="SO-1")
    assert answer.answer.check.outcome == "allow" and answer.redemption is not None
    assert answer.discount == D("500.00")
    assert answer.answer.reservation is not None
    assert answer.answer.reservation.amount == D("7500.00")
    assert Standing.objects.get(pk=credited.pk).reserved == D("7500.00")
    replay = coupon_redemption.check_with_coupon(erp, credited, "8000.00",
                                                 coupon_code=coupon.code, source="erp",
                                                 external_id="SO-1")
    assert replay.replayed and replay.redemption == answer.redemption
    assert replay.answer.check.pk == answer.answer.check.pk
    assert Reservation.objects.count() == 1 and CouponRedemption.objects.count() == 1


def test_a_held_order_keeps_its_coupon(sales: Actor, erp: Actor, credited: Customer) -> None:
    coupon = _issue(sales, credited)
    answer = coupon_redemption.check_with_coupon(erp, credited, "90000.00",
                                                 coupon_code=coupon.code, source="erp",
                                                 external_id="SO-BIG")
    assert answer.answer.check.outcome != "allow" and answer.redemption is None
    assert answer.reasons[0].code == "COUPON_GATE_REFUSED"
    assert Coupon.objects.get(pk=coupon.pk).status == Coupon.Status.ISSUED


def test_a_cancelled_order_releases_its_coupon_and_an_invoiced_one_converts(
        sales: Actor, erp: Actor, credited: Customer) -> None:
    first = _issue(sales, credited)
    second = _issue(sales, credited, code="ANNIVERSARY_PERCENT", key="k2")
    coupon_redemption.check_with_coupon(erp, credited, "8000.00", coupon_code=first.code,
                                        source="erp", external_id="SO-1")
    coupon_redemption.check_with_coupon(erp, credited, "20000.00", coupon_code=second.code,
                                        source="erp", external_id="SO-2")
    gate.release(erp, gate.find_reservation("erp", "SO-1"), reason="cancelled")
    assert CouponRedemption.objects.get(external_id="SO-1").status == "RELEASED"
    assert Coupon.objects.get(pk=first.pk).status == Coupon.Status.ISSUED
    gate.convert(erp, "erp", "SO-2", None)
    assert CouponRedemption.objects.get(external_id="SO-2").status == "CONVERTED"
    with pytest.raises(Conflict):
        coupon_redemption.release(erp, code=second.code, source="erp", external_id="SO-2")
    assert Coupon.objects.get(pk=second.pk).status == Coupon.Status.REDEEMED
    assert CouponCounter.objects.get(pk="WELCOME_FIRST_ORDER").redeemed == 0
    assert verify_chain() is None


def test_expire_due_expires_unused_coupons_once(sales: Actor, credited: Customer) -> None:
    coupon = _issue(sales, credited)
    Coupon.objects.filter(pk=coupon.pk).update(valid_from="2025-01-01",
                                               valid_until="2025-03-31")
    job = Actor.job("rewards.expire_coupons")
    assert coupon_issuing.expire_due(job) == 1
    assert coupon_issuing.expire_due(job) == 0
    assert Coupon.objects.get(pk=coupon.pk).status == Coupon.Status.EXPIRED
