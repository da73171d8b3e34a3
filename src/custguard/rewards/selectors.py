"""Reads of the points ledger behind the pages and the API: one customer's points (summary,
open lots, entries, points per month) and the points liability over the customers a user may
see.

A customer passed in is one the caller found through the customers app's scoping
(`customers.selectors.customer_in_scope`, `customers.views.common.get_customer_or_404`); the
reads over many customers scope with `customers.selectors.customers_for(who)` themselves, so
an account manager's liability is that of their own customers. Each read is one or two SQL
queries, whatever the history: aggregates are GROUP BYs, never loops over rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth

from custguard.core.actors import Actor
from custguard.core.errors import ValidationFailed
from custguard.core.models import User
from custguard.core.services.policies import policy_in_force
from custguard.customers.models import Customer, Standing
from custguard.customers.selectors import customers_for, sees_all_customers
from custguard.policy import points as rules_of
from custguard.policy.schema_rewards import PointsRules
from custguard.rewards.models import Coupon, PointsAccount, PointsEntry, PointsLot

Who = User | Actor
Kind = PointsEntry.Kind

# Which entries count as earned, spent and expired: the same moves as the account's lifetime
# totals (rewards.services), so that the months of a customer add up to its totals. A
# take-back lowers what was earned; a redemption, a penalty's deduction and a negative
# adjustment are spent, and what is given back (a cancelled redemption, an overturned
# deduction) is spent no more. Withholding moves no points (withheld, not held); a MATURE
# entry moves pending points to available.
EARNED = Q(kind__in=[Kind.EARN, Kind.RELEASE, Kind.REVERSE]) | Q(kind=Kind.ADJUST, points__gt=0)
SPENT = (Q(kind__in=[Kind.REDEEM, Kind.REFUND, Kind.DEDUCT, Kind.RESTORE])
         | Q(kind=Kind.ADJUST, points__lt=0))
EXPIRED = Q(kind=Kind.EXPIRE)


def points_rules() -> PointsRules | None:
    """The points rules of the policy in force, or None while no policy is."""
    try:
        return policy_in_force()[1].points
    except ValidationFailed as error:
        if error.code != "no_policy":
            raise
        return None


def value_of(rules: PointsRules | None, points: int) -> Decimal | None:
    """What `points` are worth in money under `rules` (None without a policy in force)."""
    return rules_of.value_of(rules, points) if rules is not None else None


# --- one customer -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NextExpiry:
    on: dt.date  # the last day the points can be used
    points: int


@dataclass(frozen=True)
class Summary:
    """A customer's points now: what it may spend (available; negative while it owes points),
    what is still held back (pending) or withheld, what it owes (debt), the lifetime totals,
    the flags that stop earning or redeeming, and the first lots to expire."""

    customer: Customer
    available: int
    pending: int
    withheld: int
    debt: int
    earned_total: int
    spent_total: int
    expired_total: int
    points_frozen: bool
    blacklisted: bool
    next_expiry: NextExpiry | None
    value: Decimal | None  # the available points in money (None: no policy in force)
    updated_at: dt.datetime | None

    @property
    def held(self) -> int:
        """Available and pending: the points the customer holds in lots (less its debt)."""
        return self.available + self.pending


def next_expiry(customer: Customer) -> NextExpiry | None:
    """The first day on which points of the customer expire, and how many (available or
    pending lots with points left)."""
    row = (PointsLot.objects.filter(customer=customer, remaining__gt=0)
           .values("expires_on").annotate(points=Sum("remaining")).order_by("expires_on")
           .first())
    return NextExpiry(on=row["expires_on"], points=row["points"]) if row else None


def summary_of(customer: Customer, rules: PointsRules | None = None) -> Summary:
    """Three small reads: the standing row, the points account (none before the first points)
    and the next expiry. `rules` values the available points (default: the policy in force)."""
    standing = (Standing.objects.filter(pk=customer.pk)
                .values("points_balance", "points_frozen", "blacklisted").first()
                or {"points_balance": 0, "points_frozen": False, "blacklisted": False})
    account = PointsAccount.objects.filter(pk=customer.pk).first() or PointsAccount()
    rules = rules if rules is not None else points_rules()
    available = standing["points_balance"]
    return Summary(
        customer=customer, available=available, pending=account.pending,
        withheld=account.withheld, debt=account.debt, earned_total=account.earned_total,
        spent_total=account.spent_total, expired_total=account.expired_total,
        points_frozen=standing["points_frozen"], blacklisted=standing["blacklisted"],
        next_expiry=next_expiry(customer), value=value_of(rules, max(0, available)),
        updated_at=account.updated_at)


def available_points(customer: Customer) -> int:
    """What the customer may spend now (the standing's points balance)."""
    return (Standing.objects.filter(pk=customer.pk)
            .values_list("points_balance", flat=True).first() or 0)


def open_lots(customer: Customer) -> QuerySet[PointsLot]:
    """The customer's lots with points left (available or still pending), the first to
    expire first, with the invoice that earned each."""
    return (PointsLot.objects.filter(customer=customer, remaining__gt=0)
            .select_related("invoice").order_by("expires_on", "pk"))


def entries_of(customer: Customer, *, kind: str = "", start: dt.date | None = None,
               end: dt.date | None = None) -> QuerySet[PointsEntry]:
    """The customer's points entries, newest first, of one kind ("" = every kind), dated from
    `start` to `end` (inclusive; either may be left open)."""
    qs = PointsEntry.objects.filter(customer=customer)
    if kind:
        qs = qs.filter(kind=kind)
    if start is not None:
        qs = qs.filter(on__gte=start)
    if end is not None:
        qs = qs.filter(on__lte=end)
    return qs.select_related("invoice").order_by("-pk")


def last_months(today: dt.date, count: int = 12) -> list[dt.date]:
    """The first days of the `count` calendar months up to today's, oldest first."""
    months = [today.replace(day=1)]
    while len(months) < count:
        months.append((months[-1] - dt.timedelta(days=1)).replace(day=1))
    return months[::-1]


@dataclass(frozen=True)
class Monthly:
    """Points earned, spent and expired per calendar month (first days in `months`)."""

    months: list[dt.date]
    earned: list[int]
    spent: list[int]
    expired: list[int]

    @property
    def empty(self) -> bool:
        return not any(self.earned) and not any(self.spent) and not any(self.expired)


def _month(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def points_by_month(customer: Customer, months: Sequence[dt.date]) -> Monthly:
    """The customer's points earned, spent and expired in each of these months."""
    return _monthly(PointsEntry.objects.filter(customer=customer), months)


def points_by_month_for(who: Who, months: Sequence[dt.date]) -> Monthly:
    """The same over every customer `who` may see (the points overview's chart)."""
    entries = PointsEntry.objects.all()
    if not sees_all_customers(who):
        entries = entries.filter(customer__in=customers_for(who).values("pk"))
    return _monthly(entries, months)


def _monthly(entries: QuerySet[PointsEntry], months: Sequence[dt.date]) -> Monthly:
    """One GROUP BY over the entries of these months (by the entry's date). Earned and spent
    follow the account's totals (EARNED, SPENT): a month's figure is negative when more was
    taken back than earned, or more given back than spent."""
    index = {month: i for i, month in enumerate(months)}
    earned, spent, expired = ([0] * len(months) for _ in range(3))
    if not months:
        return Monthly([], [], [], [])
    last = months[-1]
    end = (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    rows = (entries.filter(on__gte=months[0], on__lt=end)
            .annotate(month=TruncMonth("on")).values("month")
            .annotate(earned=Sum("points", filter=EARNED), spent=Sum("points", filter=SPENT),
                      expired=Sum("points", filter=EXPIRED))
            .order_by())
    for row in rows:
        i = index.get(_month(row["month"]))
        if i is None:
            continue
        earned[i] = row["earned"] or 0
        spent[i] = -(row["spent"] or 0)
        expired[i] = -(row["expired"] or 0)
    return Monthly(list(months), earned, spent, expired)


# --- over the customers a user sees -----------------------------------------------------------


def _lots_for(who: Who) -> QuerySet[PointsLot]:
    lots = PointsLot.objects.filter(remaining__gt=0)
    if sees_all_customers(who):
        return lots
    return lots.filter(customer__in=customers_for(who).values("pk"))


@dataclass(frozen=True)
class LiabilityMonth:
    """The points outstanding whose lots expire in one calendar month."""

    month: dt.date  # its first day
    available: int
    pending: int
    value: Decimal | None

    @property
    def points(self) -> int:
        return self.available + self.pending


@dataclass(frozen=True)
class Liability:
    """The points the company owes its customers (the remaining points of their lots) by the
    month they expire, valued at the policy's redemption value; and beside it the points
    withheld (which may still be released) and the debt customers owe back."""

    months: list[LiabilityMonth]
    withheld: int
    debt: int
    customers: int  # customers holding outstanding points
    rules: PointsRules | None

    @property
    def available(self) -> int:
        return sum(row.available for row in self.months)

    @property
    def pending(self) -> int:
        return sum(row.pending for row in self.months)

    @property
    def points(self) -> int:
        return self.available + self.pending

    @property
    def value(self) -> Decimal | None:
        return value_of(self.rules, self.points)


def liability(who: Who, rules: PointsRules | None = None) -> Liability:
    """Three GROUP BY reads over the customers `who` may see (none for a user who sees none).
    `rules` values the points (default: the policy in force)."""
    rules = rules if rules is not None else points_rules()
    lots = _lots_for(who)
    rows = (lots.annotate(month=TruncMonth("expires_on")).values("month")
            # not named `available`: the lot's own field of that name is what is filtered
            .annotate(available_points=Sum("remaining", filter=Q(available=True)),
                      pending_points=Sum("remaining", filter=Q(available=False)))
            .order_by("month"))
    months = []
    for row in rows:
        available, pending = row["available_points"] or 0, row["pending_points"] or 0
        months.append(LiabilityMonth(month=_month(row["month"]), available=available,
                                     pending=pending, value=value_of(rules, available + pending)))
    accounts = PointsAccount.objects.all()
    if not sees_all_customers(who):
        accounts = accounts.filter(customer__in=customers_for(who).values("pk"))
    totals = accounts.aggregate(withheld=Sum("withheld"), debt=Sum("debt"))
    holders = lots.values("customer_id").distinct().count()
    return Liability(months=months, withheld=totals["withheld"] or 0,
                     debt=totals["debt"] or 0, customers=holders, rules=rules)


@dataclass(frozen=True)
class Balance:
    customer: Customer
    available: int
    pending: int
    value: Decimal | None


def top_balances(who: Who, *, top: int = 20, rules: PointsRules | None = None) -> list[Balance]:
    """The customers `who` may see with the most points to spend, the most first (a customer
    with nothing to spend is not listed)."""
    rules = rules if rules is not None else points_rules()
    qs = (customers_for(who).filter(standing__points_balance__gt=0)
          .annotate(pending_points=Coalesce(F("points_account__pending"), Value(0),
                                            output_field=IntegerField()))
          .order_by("-standing__points_balance", "code")[:top])
    return [Balance(customer=customer, available=customer.standing.points_balance,
                    pending=customer.pending_points,  # type: ignore[attr-defined]
                    value=value_of(rules, customer.standing.points_balance))
            for customer in qs]


def coupons_of(customer: Customer) -> QuerySet[Coupon]:
    """The customer's coupons, newest first."""
    return Coupon.objects.filter(customer=customer).order_by("-issued_at", "-pk")
