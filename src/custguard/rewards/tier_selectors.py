"""Reads of the membership tiers behind the pages and the API: one customer's tier card (tier,
since, benefits, grace, manual tier, progress per rule to the next tier, last changes), the
tier changes and manual assignments over the customers a user may see, the distribution per
region and the migration matrix (from × to per month).

A customer passed in is one the caller found through the customers app's scoping; reads over
many customers scope with `customers.selectors.customers_for(who)`. Aggregates are GROUP BYs.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import ValidationFailed
from custguard.core.models import User
from custguard.core.services.policies import policy_in_force
from custguard.customers.models import Customer, Standing
from custguard.customers.selectors import customers_for, sees_all_customers
from custguard.policy import membership as rules
from custguard.policy.schema_membership import Membership, MembershipTier
from custguard.rewards.models import TierAssignment, TierChange, TierStatus
from custguard.rewards.services import tier_facts

Who = User | Actor
LAST_CHANGES = 5


def membership() -> Membership | None:
    """The membership section of the policy in force (None while no policy is)."""
    try:
        return policy_in_force()[1].membership
    except ValidationFailed as error:
        if error.code != "no_policy":
            raise
        return None


@dataclass(frozen=True)
class TierCard:
    customer: Customer
    tier: MembershipTier | None  # None: never evaluated (and no tier on the standing)
    code: str
    since: dt.date | None
    below_since: dt.date | None
    grace_ends_on: dt.date | None
    assignment: TierAssignment | None  # the active manual tier
    next_tier: MembershipTier | None
    progress: list[rules.RuleCheck] = field(default_factory=list)  # toward next_tier
    facts: rules.TierFacts | None = None
    changes: list[TierChange] = field(default_factory=list)


def card(customer: Customer, section: Membership | None = None,
         today: dt.date | None = None) -> TierCard:
    """The customer's tier card (a handful of queries: its status, its facts, its changes)."""
    section = section or membership()
    status = (TierStatus.objects.select_related("assignment").filter(pk=customer.pk)
              .first())
    code = status.tier if status is not None else (
        Standing.objects.filter(pk=customer.pk).values_list("tier", flat=True).first() or "")
    changes = list(TierChange.objects.filter(customer=customer)[:LAST_CHANGES])
    if section is None:
        return TierCard(customer, None, code, None, None, None, None, None, changes=changes)
    tier = section.tier(code) if code else None
    index = section.index(code) if code else None
    above = section.tiers[index + 1] if index is not None and index + 1 < len(
        section.tiers) else (section.tiers[1] if index is None and len(section.tiers) > 1
                             else None)
    facts = tier_facts.for_customer(section, customer.pk, today or clock.today())
    progress = rules.checks(above.qualification, facts) if above and facts else []
    below = status.below_since if status else None
    ends = rules.add_months(below, tier.grace_months) if below and tier else None
    return TierCard(customer, tier, code, status.since if status else None, below, ends,
                    status.assignment if status else None, above, progress, facts, changes)


def changes_for(who: Who) -> QuerySet[TierChange]:
    """The tier changes of the customers `who` may see, newest first."""
    qs = TierChange.objects.select_related("customer", "customer__region")
    if not sees_all_customers(who):
        qs = qs.filter(customer__in=customers_for(who))
    return qs.order_by("-effective_on", "-pk")


def assignments_for(who: Who) -> QuerySet[TierAssignment]:
    qs = TierAssignment.objects.select_related("customer", "proposed_by", "decided_by")
    if not sees_all_customers(who):
        qs = qs.filter(customer__in=customers_for(who))
    return qs.order_by("-proposed_at", "-pk")


def region_key(region_id: object, digits: int = 2) -> str:
    """A province's code from a region code (its first digits, padded)."""
    return str(region_id)[:digits].ljust(6, "0")


@dataclass(frozen=True)
class Distribution:
    tiers: list[str]  # the policy's order
    regions: list[str]  # province codes
    counts: dict[str, dict[str, int]]  # tier -> province -> customers
    totals: dict[str, int]  # tier -> customers


def distribution(who: Who, section: Membership | None = None) -> Distribution:
    """Customers per tier and province (one GROUP BY over the standing rows)."""
    section = section or membership()
    order = [t.code for t in section.tiers] if section else []
    qs = Standing.objects.exclude(tier="")
    if not sees_all_customers(who):
        qs = qs.filter(customer__in=customers_for(who))
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    totals: Counter[str] = Counter()
    regions: set[str] = set()
    for tier, region, n in (qs.values("tier", "customer__region_id").annotate(n=Count("pk"))
                            .values_list("tier", "customer__region_id", "n")):
        province = region_key(region)
        regions.add(province)
        counts[tier][province] = counts[tier].get(province, 0) + n
        totals[tier] += n
    tiers = [*order, *sorted(set(counts) - set(order))]
    return Distribution(tiers, sorted(regions), dict(counts), dict(totals))


@dataclass(frozen=True)
class Migration:
    """From × to counts of tier moves per month (first tiers from "")."""

    months: list[dt.date]
    tiers: list[str]
    cells: dict[dt.date, dict[tuple[str, str], int]]

    def count(self, month: dt.date, from_tier: str, to_tier: str) -> int:
        return self.cells.get(month, {}).get((from_tier, to_tier), 0)

    def rows(self) -> list[dict[str, Any]]:
        return [{"month": month, "from": a, "to": b, "count": n}
                for month in self.months for (a, b), n in sorted(self.cells[month].items())]


def migration(who: Who, start: dt.date, end: dt.date,
              section: Membership | None = None) -> Migration:
    """The moves between tiers with an effective date from start to end (one GROUP BY)."""
    section = section or membership()
    qs = changes_for(who).filter(effective_on__gte=start, effective_on__lte=end).exclude(
        kind=TierChange.Kind.GRACE)
    cells: dict[dt.date, dict[tuple[str, str], int]] = defaultdict(dict)
    seen: set[str] = set()
    for month, a, b, n in (qs.order_by().annotate(month=TruncMonth("effective_on"))
                           .values("month", "from_tier", "to_tier").annotate(n=Count("pk"))
                           .values_list("month", "from_tier", "to_tier", "n")):
        day = month.date() if isinstance(month, dt.datetime) else month
        cells[day][(a, b)] = n
        seen |= {a, b}
    order = [t.code for t in section.tiers] if section else []
    tiers = [*order, *sorted(seen - set(order) - {""})]
    return Migration(sorted(cells), tiers, dict(cells))
