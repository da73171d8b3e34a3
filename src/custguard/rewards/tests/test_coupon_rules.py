"""The daily job that issues coupons by the policy's rules (services/coupon_rules.py) on the
ledger's fixed day (2025-06-30) with the default policy: WELCOME to customers created in the
last 30 days, ANNIVERSARY on the day of the partnership, WIN_BACK after 6 months without an
order; once per customer, year or absence, whatever how often the job runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from custguard.core.actors import Actor
from custguard.customers.models import Customer, CustomerStatus, Standing
from custguard.ledger.tests.factories import order
from custguard.rewards import tasks
from custguard.rewards.models import Coupon
from custguard.rewards.services import coupon_rules

pytestmark = pytest.mark.django_db

JOB = Actor.job("rewards.issue_rule_coupons")


def coupons_of(customer: Customer) -> list[tuple[str, str, str]]:
    return sorted(Coupon.objects.filter(customer=customer)
                  .values_list("definition", "rule", "key"))


def long_standing(customer: Customer, years: int = 1) -> None:
    """The partnership began `years` years before today, at 10:00."""
    Customer.objects.filter(pk=customer.pk).update(
        created_at=timezone.make_aware(dt.datetime(2025 - years, 6, 30, 10, 0)))


def test_a_new_customer_is_welcomed_once(policy: Any, customer: Customer,
                                         other_customer: Customer) -> None:
    result = coupon_rules.issue_due(JOB)
    assert result.issued == {"WELCOME": 2, "ANNIVERSARY": 0, "WIN_BACK_6M": 0}
    assert coupons_of(customer) == [("WELCOME_FIRST_ORDER", "WELCOME",
                                     f"rule:WELCOME:{customer.pk}")]
    again = coupon_rules.issue_due(JOB)
    assert again.total == 0 and Coupon.objects.count() == 2


def test_the_anniversary_and_the_win_back_follow_the_partnership_and_the_orders(
        policy: Any, finance: Actor, customer: Customer, other_customer: Customer) -> None:
    long_standing(customer, years=3)
    order(finance, customer, "SO-OLD", on=dt.date(2024, 12, 1))  # 7 months ago
    long_standing(other_customer)
    order(finance, other_customer, "SO-RECENT", on=dt.date(2025, 5, 1))
    Customer.objects.filter(pk=other_customer.pk).update(
        created_at=timezone.make_aware(dt.datetime(2024, 7, 1, 10, 0)))  # not today
    result = coupon_rules.issue_due(JOB)
    assert result.issued == {"WELCOME": 0, "ANNIVERSARY": 1, "WIN_BACK_6M": 1}
    assert coupons_of(customer) == [
        ("ANNIVERSARY_PERCENT", "ANNIVERSARY", f"rule:ANNIVERSARY:{customer.pk}:2025"),
        ("WIN_BACK_FREE_SHIPPING", "WIN_BACK_6M", f"rule:WIN_BACK_6M:{customer.pk}:20241201")]
    assert coupons_of(other_customer) == []
    assert coupon_rules.issue_due(JOB).total == 0  # the same day again


def test_a_customer_back_and_away_again_is_won_back_again(
        policy: Any, finance: Actor, customer: Customer) -> None:
    long_standing(customer)
    Customer.objects.filter(pk=customer.pk).update(
        created_at=timezone.make_aware(dt.datetime(2023, 1, 5, 10, 0)))
    order(finance, customer, "SO-1", on=dt.date(2024, 10, 1))
    coupon_rules.issue_due(JOB)
    order(finance, customer, "SO-2", on=dt.date(2024, 11, 15))  # a later absence
    coupon_rules.issue_due(JOB)
    keys = [key for _d, rule, key in coupons_of(customer) if rule == "WIN_BACK_6M"]
    assert keys == [f"rule:WIN_BACK_6M:{customer.pk}:20241001",
                    f"rule:WIN_BACK_6M:{customer.pk}:20241115"]


def test_a_blacklisted_or_closed_customer_gets_no_coupon(
        policy: Any, customer: Customer, other_customer: Customer) -> None:
    Standing.objects.filter(pk=customer.pk).update(blacklisted=True)
    Customer.objects.filter(pk=other_customer.pk).update(status=CustomerStatus.CLOSED)
    assert coupon_rules.issue_due(JOB).total == 0
    assert Coupon.objects.count() == 0


def test_the_job_says_what_it_issued(policy: Any, customer: Customer) -> None:
    assert tasks.issue_rule_coupons(JOB) == "1 coupon(s) issued by the policy's rules"
    assert tasks.issue_rule_coupons(JOB) == "0 coupon(s) issued by the policy's rules"
