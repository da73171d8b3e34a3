"""The facts the membership tiers are decided on (`policy.membership.TierFacts`), for every
customer at once over the policy's rolling window, in two GROUP BY scans of the ledger:

- paid spend: the payments applied to the customer's invoices in the window, net of
  reversals (a reversal writes negative allocations, so the sum is already net);
- orders: the invoices issued in the window; on-time share: of the invoices settled in the
  window, the amount settled by its due date over the amount settled (one scan of the
  invoices with conditional aggregates);

and the credit grade from the standing rows read with them. No query per customer: the
monthly run reads these once for 100k customers (bench/tiers.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum

from custguard.customers.models import CustomerStatus, Standing
from custguard.ledger.models import Allocation, Invoice
from custguard.policy.membership import TierFacts
from custguard.policy.months import months_before
from custguard.policy.schema_membership import Membership

ZERO = Decimal("0.00")
EVALUATED = [CustomerStatus.ACTIVE, CustomerStatus.DORMANT]


@dataclass(frozen=True)
class CustomerFacts:
    """A customer's tier facts with what the evaluation needs from its standing row."""

    customer_id: int
    facts: TierFacts
    tier: str  # Standing.tier now
    term_bonus_days: int  # Standing.tier_term_bonus_days now


def window(section: Membership, today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the rolling window that ends today."""
    return months_before(today, section.window_months) + dt.timedelta(days=1), today


def _scoped(queryset: QuerySet, field: str, ids: Iterable[int] | None) -> QuerySet:
    return queryset if ids is None else queryset.filter(**{f"{field}__in": list(ids)})


def gather(section: Membership, today: dt.date,
           customer_ids: Iterable[int] | None = None) -> list[CustomerFacts]:
    """One record per active or dormant customer (or only those of `customer_ids`), in
    customer order."""
    ids = None if customer_ids is None else sorted(set(customer_ids))
    start, end = window(section, today)
    paid = dict(_scoped(Allocation.objects.filter(payment__isnull=False, applied_on__gte=start,
                                                  applied_on__lte=end),
                        "invoice__customer_id", ids)
                .values("invoice__customer_id").annotate(total=Sum("amount"))
                .values_list("invoice__customer_id", "total"))
    issued = Q(issued_on__gte=start, issued_on__lte=end)
    settled = Q(settled_on__gte=start, settled_on__lte=end)
    invoices = {customer: (orders, total, on_time) for customer, orders, total, on_time in (
        _scoped(Invoice.objects.filter(issued | settled, kind=Invoice.Kind.INVOICE),
                "customer_id", ids)
        .values("customer_id")
        .annotate(orders=Count("pk", filter=issued), total=Sum("amount", filter=settled),
                  on_time=Sum("amount", filter=settled & Q(settled_on__lte=F("due_on"))))
        .values_list("customer_id", "orders", "total", "on_time"))}
    found = []
    for pk, grade, tier, bonus in (
            _scoped(Standing.objects.filter(status__in=EVALUATED), "customer_id", ids)
            .order_by("customer_id")
            .values_list("customer_id", "grade", "tier", "tier_term_bonus_days")
            .iterator(5000)):
        orders, total, on_time = invoices.get(pk, (0, None, None))
        found.append(CustomerFacts(pk, TierFacts(
            paid_spend=(paid.get(pk) or ZERO).quantize(ZERO), orders=orders,
            on_time_share=(on_time or ZERO) / total if total else None,
            grade=grade or ""), tier or "", bonus))
    return found


def for_customer(section: Membership, customer_id: int,
                 today: dt.date) -> TierFacts | None:
    """One customer's facts (its tier card's progress); None when it is not evaluated."""
    found = gather(section, today, [customer_id])
    return found[0].facts if found else None


def snapshot(facts: TierFacts) -> dict[str, str | int | None]:
    """The facts as stored with a change (JSON)."""
    percent = facts.on_time_percent
    return {"paid_spend": format(facts.paid_spend, "f"), "orders": facts.orders,
            "on_time_percent": None if percent is None else format(percent, "f"),
            "grade": facts.grade}
