"""The daily job that issues coupons by the policy's rules (`coupons.rules`): WELCOME to a new
customer, ANNIVERSARY on each anniversary of the partnership, WIN_BACK to a customer without an
order for the rule's months. TIER_REACHED coupons are issued by the tier evaluation.

Each rule names its candidates with one query, and every coupon goes through
`coupon_issuing.issue_automatic` with a key that says why it was issued, so a second run the
same day (or a run after a failure) issues nothing twice:

    WELCOME      rule:<code>:<customer>                       once per customer
    ANNIVERSARY  rule:<code>:<customer>:<year>                once a year
    WIN_BACK     rule:<code>:<customer>:<last order date>     once per absence

Only active or dormant customers that are not blacklisted get coupons. The partnership starts
on the customer's creation in custguard (the registry has no other start date).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Max, QuerySet
from django.utils import timezone

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.services.policies import policy_in_force
from custguard.customers.models import Customer, CustomerStatus
from custguard.ledger.models import Order
from custguard.policy.months import months_before
from custguard.policy.schema_coupons import CouponRule
from custguard.rewards.models import Coupon
from custguard.rewards.services import coupon_issuing

WELCOME_DAYS = 30  # a customer created this many days ago or less is new
ELIGIBLE = [CustomerStatus.ACTIVE, CustomerStatus.DORMANT]


@dataclass
class RulesResult:
    issued: dict[str, int] = field(default_factory=dict)  # rule code → coupons issued
    refused: dict[str, int] = field(default_factory=dict)  # rule code → refused by a limit

    @property
    def total(self) -> int:
        return sum(self.issued.values())


def _eligible() -> QuerySet[Customer]:
    return Customer.objects.filter(status__in=ELIGIBLE, standing__blacklisted=False)


def _local_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _welcome(rule: CouponRule, today: dt.date) -> Iterable[tuple[int, str]]:
    since = today - dt.timedelta(days=WELCOME_DAYS)
    if rule.active_from is not None:
        since = max(since, rule.active_from)
    for pk in (_eligible().filter(created_at__gte=_local_start(since))
               .values_list("pk", flat=True)):
        yield pk, f"rule:{rule.code}:{pk}"


def _anniversary(rule: CouponRule, today: dt.date) -> Iterable[tuple[int, str]]:
    days = [today.day]
    if today.month == 2 and today.day == 28 and not calendar.isleap(today.year):
        days.append(29)  # a partnership begun on 29 February is celebrated on the 28th
    for pk in (_eligible().filter(created_at__month=today.month, created_at__day__in=days,
                                  created_at__lt=_local_start(today.replace(month=1, day=1)))
               .values_list("pk", flat=True)):
        yield pk, f"rule:{rule.code}:{pk}:{today.year}"


def _win_back(rule: CouponRule, today: dt.date) -> Iterable[tuple[int, str]]:
    assert rule.months_without_orders is not None
    before = months_before(today, rule.months_without_orders)
    last_orders = (Order.objects.filter(customer__in=_eligible())
                   .values("customer_id").annotate(last=Max("ordered_on"))
                   .filter(last__lte=before).order_by("customer_id")
                   .values_list("customer_id", "last"))
    for pk, last in last_orders:
        yield pk, f"rule:{rule.code}:{pk}:{last:%Y%m%d}"


CANDIDATES = {"WELCOME": _welcome, "ANNIVERSARY": _anniversary, "WIN_BACK": _win_back}


def issue_due(actor: Actor, today: dt.date | None = None) -> RulesResult:
    """Issue today's coupons for every rule in force (each coupon in its own transaction)."""
    today = today or clock.today()
    _version, policy = policy_in_force()
    result = RulesResult()
    for rule in policy.coupons.rules:
        find = CANDIDATES.get(rule.trigger)
        if find is None or not rule.active_on(today):
            continue
        candidates = list(find(rule, today))
        done = set(Coupon.objects.filter(key__in=[key for _pk, key in candidates])
                   .values_list("key", flat=True))
        issued = refused = 0
        for customer_id, key in candidates:
            if key in done:
                continue
            coupon = coupon_issuing.issue_automatic(
                actor, customer_id=customer_id, definition_code=rule.definition,
                rule=rule.code, key=key)
            issued += coupon is not None
            refused += coupon is None
        result.issued[rule.code], result.refused[rule.code] = issued, refused
    return result
