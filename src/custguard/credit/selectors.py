"""Reads behind the credit pages: one customer's credit file (latest score, score history, gate
answers, overrides, open invoices) and the credit overview's aggregates. Every aggregate is one
SQL GROUP BY over the customers the caller passes in, already scoped with
`customers.selectors.customers_for` and filtered."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest

from custguard.core.sql import DaysBetween
from custguard.credit.models import CreditOverride, CreditScore, GateCheck
from custguard.customers.models import Customer, GroupStanding
from custguard.ledger.models import Invoice
from custguard.ledger.selectors import open_invoices

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=20, decimal_places=2)


def _money(value: Any) -> Decimal:
    return Decimal(value if value is not None else ZERO).quantize(CENT)


# --- one customer -----------------------------------------------------------------------------


def latest_score(customer: Customer) -> CreditScore | None:
    return CreditScore.objects.filter(customer=customer).order_by("-computed_at", "-pk").first()


def score_history(customer: Customer, *, days: int = 3 * 366) -> list[CreditScore]:
    """One score per day scored (the last one computed for that day), oldest first, over the
    last `days` days of `as_of`."""
    rows = (CreditScore.objects.filter(customer=customer)
            .only("as_of", "score", "grade", "computed_at", "policy_version")
            .order_by("-as_of", "-computed_at", "-pk"))
    latest = rows.values_list("as_of", flat=True).first()
    if latest is None:
        return []
    seen: set[dt.date] = set()
    history = []
    for score in rows.filter(as_of__gte=latest - dt.timedelta(days=days)):
        if score.as_of not in seen:
            seen.add(score.as_of)
            history.append(score)
    return history[::-1]


def gate_checks(customer: Customer) -> QuerySet[GateCheck]:
    """Every gate answer about the customer, newest first."""
    return (GateCheck.objects.filter(customer=customer).select_related("reservation")
            .order_by("-at", "-pk"))


def overrides_of(customer: Customer) -> QuerySet[CreditOverride]:
    """Overrides of the customer's own limit or terms, and of its group's unified limit."""
    condition = Q(customer=customer)
    if customer.group_id is not None:
        condition |= Q(group_id=customer.group_id)
    return (CreditOverride.objects.filter(condition)
            .select_related("group", "requested_by", "decided_by")
            .order_by("-requested_at", "-pk"))


@dataclass(frozen=True)
class GroupExposure:
    """A group's counters (the sums of its members') with its unified limit, if one is set."""

    standing: GroupStanding
    members: int


def group_exposure(customer: Customer) -> GroupExposure | None:
    if customer.group_id is None:
        return None
    standing = GroupStanding.objects.select_related("group").filter(pk=customer.group_id).first()
    if standing is None:
        return None
    members = Customer.objects.filter(group_id=customer.group_id).count()
    return GroupExposure(standing=standing, members=members)


@dataclass(frozen=True)
class OpenInvoices:
    count: int
    open_total: Decimal
    overdue_count: int
    overdue_total: Decimal
    oldest_due_on: dt.date | None
    rows: list[Invoice]


def open_invoices_of(customer: Customer, today: dt.date, *, rows: int = 10) -> OpenInvoices:
    """The customer's unpaid invoices in one aggregate, and the `rows` oldest by due date."""
    qs = open_invoices([customer.pk])
    totals = qs.aggregate(
        count=Count("pk"), open_total=Sum("open_amount"),
        overdue_count=Count("pk", filter=Q(due_on__lt=today)),
        overdue_total=Sum("open_amount", filter=Q(due_on__lt=today)))
    oldest = list(qs.annotate(days_past_due=Greatest(DaysBetween(Value(today), F("due_on")),
                                                     Value(0)))
                  .order_by("due_on", "issued_on", "pk")[:rows])
    return OpenInvoices(
        count=totals["count"], open_total=_money(totals["open_total"]),
        overdue_count=totals["overdue_count"], overdue_total=_money(totals["overdue_total"]),
        oldest_due_on=oldest[0].due_on if oldest else None, rows=oldest)


# --- the overview -----------------------------------------------------------------------------


def credit_rows(customers: QuerySet[Customer], today: dt.date) -> QuerySet[Customer]:
    """The customers with their credit standing as columns (the overview's table and export):
    grade, score, limit, posted, reserved, available, overdue, days past due, next review."""
    days = DaysBetween(Value(today), F("standing__oldest_open_due_on"))
    return (customers.select_related("region", "region__parent", "standing", "account_manager")
            .annotate(
                grade=Coalesce(F("standing__grade"), Value("")),
                score=F("standing__score"),
                credit_limit=Coalesce(F("standing__credit_limit"), Value(ZERO),
                                      output_field=MONEY),
                posted=Coalesce(F("standing__posted"), Value(ZERO), output_field=MONEY),
                reserved=Coalesce(F("standing__reserved"), Value(ZERO), output_field=MONEY),
                overdue=Coalesce(F("standing__overdue_amount"), Value(ZERO),
                                 output_field=MONEY),
                next_review_on=F("standing__next_review_on"))
            .annotate(
                available=ExpressionWrapper(F("credit_limit") - F("posted") - F("reserved"),
                                            output_field=MONEY),
                days_past_due=Coalesce(Greatest(days, Value(0)), Value(0),
                                       output_field=IntegerField())))


@dataclass(frozen=True)
class Totals:
    """Sums over a set of customers (a grade, a province, everyone)."""

    label: str
    customers: int
    credit_limit: Decimal
    posted: Decimal
    reserved: Decimal
    overdue: Decimal

    @property
    def exposure(self) -> Decimal:
        return self.posted + self.reserved

    @property
    def current(self) -> Decimal:
        """Posted receivables not yet past due."""
        return max(ZERO, self.posted - self.overdue)


def _sums(prefix: str = "standing__") -> dict[str, Any]:
    return {
        "n": Count("pk"),
        "credit_limit": Sum(f"{prefix}credit_limit"),
        "posted": Sum(f"{prefix}posted"),
        "reserved": Sum(f"{prefix}reserved"),
        "overdue": Sum(f"{prefix}overdue_amount"),
    }


def _totals(label: str, row: dict[str, Any]) -> Totals:
    return Totals(label=label, customers=row["n"], credit_limit=_money(row["credit_limit"]),
                  posted=_money(row["posted"]), reserved=_money(row["reserved"]),
                  overdue=_money(row["overdue"]))


def by_grade(customers: QuerySet[Customer], grades: list[str]) -> list[Totals]:
    """One row per grade in `grades` order (zeros for grades nobody has), then any other grade
    found, then the customers not rated yet (label "")."""
    rows = (customers.values(grade_code=Coalesce(F("standing__grade"), Value("")))
            .annotate(**_sums()).order_by())
    found = {row["grade_code"]: _totals(row["grade_code"], row) for row in rows}
    empty = {"n": 0, "credit_limit": None, "posted": None, "reserved": None, "overdue": None}
    result = [found.pop(g, _totals(g, empty)) for g in grades]
    unrated = found.pop("", None)
    result += [found[g] for g in sorted(found)]
    if unrated is not None:
        result.append(unrated)
    return result


@dataclass(frozen=True)
class RegionTotals(Totals):
    code: str = ""


def by_province(customers: QuerySet[Customer], *, top: int = 15) -> list[RegionTotals]:
    """Exposure and overdue per province (the region's parent, or the region itself when it
    is a top-level one), the largest exposure first."""
    rows = (customers
            .values(province_code=Coalesce(F("region__parent__code"), F("region__code")),
                    province_name=Coalesce(F("region__parent__name"), F("region__name")))
            .annotate(**_sums(),
                      exposure=Sum(F("standing__posted") + F("standing__reserved"),
                                   output_field=MONEY))
            .order_by("-exposure", "province_code"))
    return [RegionTotals(label=row["province_name"], code=row["province_code"],
                         **{k: v for k, v in vars(_totals("", row)).items() if k != "label"})
            for row in rows[:top]]


@dataclass(frozen=True)
class KeyFigures:
    customers: int
    rated: int
    credit_limit: Decimal
    posted: Decimal
    reserved: Decimal
    overdue: Decimal
    over_limit: int
    over_90_days: int
    prepay_only: int

    @property
    def exposure(self) -> Decimal:
        return self.posted + self.reserved

    @property
    def utilisation(self) -> Decimal | None:
        """Exposure as a percentage of the total limit (one decimal)."""
        if self.credit_limit <= 0:
            return None
        return (self.exposure * 100 / self.credit_limit).quantize(Decimal("0.1"))

    @property
    def overdue_share(self) -> Decimal | None:
        if self.posted <= 0:
            return None
        return (self.overdue * 100 / self.posted).quantize(Decimal("0.1"))


def key_figures(customers: QuerySet[Customer], today: dt.date) -> KeyFigures:
    row = customers.aggregate(
        **_sums(),
        rated=Count("pk", filter=~Q(standing__grade="") & Q(standing__grade__isnull=False)),
        over_limit=Count("pk", filter=Q(standing__credit_limit__lt=F("standing__posted")
                                        + F("standing__reserved"))),
        over_90_days=Count("pk", filter=Q(
            standing__oldest_open_due_on__lt=today - dt.timedelta(days=90))),
        prepay_only=Count("pk", filter=Q(standing__prepay_only=True)))
    return KeyFigures(customers=row["n"], rated=row["rated"],
                      credit_limit=_money(row["credit_limit"]), posted=_money(row["posted"]),
                      reserved=_money(row["reserved"]), overdue=_money(row["overdue"]),
                      over_limit=row["over_limit"], over_90_days=row["over_90_days"],
                      prepay_only=row["prepay_only"])
