"""The rewards part of `custguard demo`: the points the demo's paid invoices earned (the ledger
hook earned them as the credit history was posted) brought to today by the daily jobs, a reward
catalogue, and redemptions in each state, for the demo's customers."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, Sum

from custguard.core.actors import Actor
from custguard.core.errors import ValidationFailed
from custguard.core.models import User
from custguard.customers.models import Customer, Standing
from custguard.rewards.models import PointsLot, Redemption, Reward
from custguard.rewards.services import catalogue, expiry, redemptions
from custguard.rewards.services.catalogue import RewardInput

CATALOGUE = [
    ("TEA_SET", "精品茶具套装", "Tea set", Reward.Kind.GIFT, 800, 50, 2),
    ("POWER_BANK", "移动电源", "Power bank", Reward.Kind.GIFT, 300, 200, 5),
    ("TRAINING_SEAT", "经销商培训名额", "Dealer training seat", Reward.Kind.GIFT, 2000, 20, 1),
    ("CASH_BACK_500", "返现抵扣（500积分）", "Cash back (500 points)", Reward.Kind.CASH_BACK,
     500, None, None),
    ("CASH_BACK_2000", "返现抵扣（2000积分）", "Cash back (2,000 points)",
     Reward.Kind.CASH_BACK, 2000, None, None),
]


@dataclass(frozen=True)
class RewardsDemoSummary:
    available: int
    pending: int
    rewards: int
    redemptions: dict[str, int]

    def rows(self) -> list[tuple[str, str]]:
        states = " / ".join(f"{Redemption.Status(code).label} {count}"
                            for code, count in sorted(self.redemptions.items()))
        return [("points", f"{self.available:,} available, {self.pending:,} pending"),
                ("reward catalogue", str(self.rewards)),
                ("redemptions", states or "0")]


def build_rewards_demo(*, seed: int, actor: Actor, customers: Sequence[Customer],
                       users: dict[str, User]) -> RewardsDemoSummary:
    jobs = Actor.job("rewards demo")
    expiry.mature_due(jobs)
    expiry.expire_due(jobs)
    for code, name_zh, name_en, kind, points, stock, limit in CATALOGUE:
        if not Reward.objects.filter(code=code).exists():
            catalogue.create_reward(Actor.for_user(users["sales_manager"]), code, RewardInput(
                name_zh=name_zh, name_en=name_en, kind=kind, points=points, stock=stock,
                per_customer_limit=limit))
    rewards = list(Reward.objects.order_by("points"))
    service = Actor.for_user(users["customer_service"])
    finance = Actor.for_user(users["finance"])
    rng = random.Random(f"rewards-demo:{seed}")
    rich = list(Standing.objects.filter(customer__in=customers, points_balance__gte=500)
                .order_by("-points_balance").values_list("customer_id", flat=True)[:12])
    by_pk = {customer.pk: customer for customer in customers}
    for number, customer_id in enumerate(rich):
        reward = rng.choice(rewards)
        try:
            redemption, _created = redemptions.redeem(
                service, by_pk[customer_id], reward, 1, source="demo",
                external_id=f"DEMO-{seed}-{number}")
        except ValidationFailed:
            continue  # not enough points for this one, or out of stock: the next customer
        if number % 3 == 1:
            redemptions.fulfil(finance, redemption,
                               reference=f"CN-DEMO-{number:03d}"
                               if reward.kind == Reward.Kind.CASH_BACK else "")
        elif number % 3 == 2 and number % 2 == 0:
            redemptions.cancel(service, redemption, reason="客户改选其他礼品")
    lots = PointsLot.objects.filter(customer__in=customers, remaining__gt=0)
    available = lots.filter(available=True).aggregate(total=Sum("remaining"))["total"] or 0
    pending = lots.filter(available=False).aggregate(total=Sum("remaining"))["total"] or 0
    states = dict(Redemption.objects.filter(customer__in=customers).values("status")
                  .annotate(n=Count("pk")).values_list("status", "n"))
    return RewardsDemoSummary(available=available, pending=pending, rewards=len(rewards),
                              redemptions=states)
