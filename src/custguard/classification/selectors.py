"""Reads behind the classification's pages and API, scoped to what the user may see: a
customer's class with its history, the monthly runs, the proposed moves (the approvals inbox),
the reminders and a run's report. The UI and the API both use these.

Customers are scoped as everywhere (`customers.selectors.customers_for`): account managers see
the proposals, reminders and classes of their own customers only; an object of a customer the
user may not see is not found. The report of a run counts every customer (it names none): a
closed run's is the summary kept when it closed, an open run's is counted now.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from custguard.classification.models import (
    CLASS_CHOICES,
    ClassChange,
    ClassificationRun,
    ClassProposal,
    ClassReminder,
    CustomerClass,
)
from custguard.classification.services import runs
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import NotFound, ValidationFailed
from custguard.core.models import User
from custguard.core.services.policies import policy_in_force
from custguard.customers import selectors as customer_selectors
from custguard.customers.models import Customer, Region, Standing

CLASSES = [code for code, _label in CLASS_CHOICES]
# The moves a proposal can make: one class up or down.
MOVES = [("A", "B"), ("B", "A"), ("B", "C"), ("C", "B")]
REMINDER_STATES = ("open", "overdue", "answered")
_MONTH = re.compile(r"^([1-9][0-9]{3})-(0[1-9]|1[0-2])$")


def _scoped(qs: QuerySet[Any], who: User | Actor) -> QuerySet[Any]:
    if customer_selectors.sees_all_customers(who):
        return qs
    return qs.filter(customer__in=customer_selectors.customers_for(who).values("pk"))


def parse_month(value: str, field: str = "month") -> dt.date:
    """"2025-07" → 2025-07-01; anything else is refused naming the field."""
    found = _MONTH.match((value or "").strip())
    if found is None:
        raise ValidationFailed(_("give the month as YYYY-MM, e.g. 2025-07"), field=field)
    return dt.date(int(found.group(1)), int(found.group(2)), 1)


# --- one customer -----------------------------------------------------------------------------


def class_of(customer: Customer) -> CustomerClass | None:
    """The customer's class now with the change that set it (None before its first run)."""
    return (CustomerClass.objects.select_related("change", "change__run")
            .filter(customer=customer).first())


def history_of(customer: Customer) -> QuerySet[ClassChange]:
    """Every change of the customer's class, newest first."""
    return (ClassChange.objects.filter(customer=customer)
            .select_related("run", "proposal", "proposal__decided_by")
            .order_by("-decided_at", "-pk"))


def reminders_of(customer: Customer) -> QuerySet[ClassReminder]:
    return (ClassReminder.objects.filter(customer=customer).select_related("run")
            .order_by("-run__month", "-pk"))


def open_proposal_of(customer: Customer) -> ClassProposal | None:
    return (ClassProposal.objects.filter(customer=customer,
                                         status=ClassProposal.Status.PROPOSED)
            .select_related("run").first())


# --- runs and their reports -------------------------------------------------------------------


def all_runs() -> QuerySet[ClassificationRun]:
    return ClassificationRun.objects.order_by("-month")


def run_of(month: dt.date) -> ClassificationRun:
    run = ClassificationRun.objects.filter(month=month.replace(day=1)).first()
    if run is None:
        raise NotFound(_("no classification was run for %(month)s") % {
            "month": month.strftime("%Y-%m")})
    return run


@dataclass(frozen=True)
class RegionRow:
    region: str  # the sales region: the first region_digits of the region code ("*": all)
    name: str  # the region's name, where the code table has one
    counts: dict[str, int]  # class → customers

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class MoveRow:
    move: str  # as the report keeps it: "A→B", "-→A" (an initial class)
    from_class: str  # "" for an initial class
    to_class: str
    customers: int


@dataclass(frozen=True)
class Report:
    run: ClassificationRun
    live: bool  # counted now (an open run), not kept at the close
    regions: list[RegionRow]
    moves: list[MoveRow]
    pending_proposals: int
    overdue_reminders: int
    totals: dict[str, int] = field(default_factory=dict)  # class → customers

    @property
    def customers(self) -> int:
        return sum(self.totals.values())

    @property
    def by_region(self) -> list[tuple[str, str, str, int]]:
        """(region, name, class, customers), as the report keeps them."""
        return [(row.region, row.name, abc, n) for row in self.regions
                for abc, n in row.counts.items() if n]


def region_names(prefixes: list[str]) -> dict[str, str]:
    """A sales region's name: the region whose code is the prefix padded with zeros."""
    codes = {prefix: prefix.ljust(6, "0") for prefix in prefixes if prefix.isdigit()}
    names = dict(Region.objects.filter(code__in=codes.values()).values_list("code", "name"))
    return {prefix: names.get(code, "") for prefix, code in codes.items()}


def report_of(run: ClassificationRun) -> Report:
    """The run's report: kept at its close, or counted now while it is open."""
    live = run.status != ClassificationRun.Status.CLOSED or not run.summary
    data: dict[str, Any] = runs.report(run) if live else run.summary
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CLASSES, 0))
    for region, abc, n in data.get("by_region", []):
        counts[str(region)][str(abc)] = counts[str(region)].get(str(abc), 0) + int(n)
    names = region_names(list(counts))
    regions = [RegionRow(region, names.get(region, ""), dict(counts[region]))
               for region in sorted(counts)]
    moves = []
    for move, n in data.get("moves", {}).items():
        before, _arrow, after = str(move).partition("→")
        moves.append(MoveRow(str(move), "" if before == "-" else before, after, int(n)))
    totals = {abc: sum(row.counts.get(abc, 0) for row in regions) for abc in CLASSES}
    return Report(run=run, live=live, regions=regions, moves=moves,
                  pending_proposals=int(data.get("pending_proposals", 0)),
                  overdue_reminders=int(data.get("overdue_reminders", 0)), totals=totals)


# --- proposals --------------------------------------------------------------------------------


def proposals_for(who: User | Actor) -> QuerySet[ClassProposal]:
    """The proposals of the customers `who` may see."""
    return _scoped(ClassProposal.objects.select_related(
        "customer", "customer__region", "customer__account_manager", "run", "decided_by"), who)


@dataclass(frozen=True)
class ProposalFilter:
    status: str = ClassProposal.Status.PROPOSED  # "" for every status
    run: dt.date | None = None  # the run's month
    from_class: str = ""
    to_class: str = ""
    region: str = ""  # a region code: that region and the regions under it
    customer: Customer | None = None


def in_region(qs: QuerySet[Any], region: str, prefix: str = "customer__") -> QuerySet[Any]:
    if not region:
        return qs
    return qs.filter(Q(**{f"{prefix}region__code": region})
                     | Q(**{f"{prefix}region__parent__code": region}))


def filter_proposals(qs: QuerySet[ClassProposal], filters: ProposalFilter,
                     ) -> QuerySet[ClassProposal]:
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.run is not None:
        qs = qs.filter(run__month=filters.run)
    if filters.from_class:
        qs = qs.filter(from_class=filters.from_class)
    if filters.to_class:
        qs = qs.filter(to_class=filters.to_class)
    if filters.customer is not None:
        qs = qs.filter(customer=filters.customer)
    return in_region(qs, filters.region)


def proposal_in_scope(who: User | Actor, pk: int) -> ClassProposal:
    proposal = proposals_for(who).filter(pk=pk).first()
    if proposal is None:
        raise NotFound(_("class proposal %(id)s not found") % {"id": pk})
    return proposal


# --- reminders --------------------------------------------------------------------------------


def reminders_for(who: User | Actor) -> QuerySet[ClassReminder]:
    """The reminders of the customers `who` may see."""
    return _scoped(ClassReminder.objects.select_related(
        "customer", "customer__region", "customer__account_manager", "run"), who)


def with_state(qs: QuerySet[ClassReminder], state: str,
               today: dt.date | None = None) -> QuerySet[ClassReminder]:
    """open: not answered yet (overdue or not); overdue: not answered by its day; answered."""
    today = today or clock.today()
    if state == "open":
        return qs.filter(answered_at__isnull=True)
    if state == "overdue":
        return qs.filter(answered_at__isnull=True, respond_by__lt=today)
    if state == "answered":
        return qs.filter(answered_at__isnull=False)
    return qs


def reminder_state(reminder: ClassReminder, today: dt.date | None = None) -> str:
    if reminder.answered_at is not None:
        return "answered"
    return "overdue" if reminder.respond_by < (today or clock.today()) else "open"


def reminder_in_scope(who: User | Actor, pk: int) -> ClassReminder:
    reminder = reminders_for(who).filter(pk=pk).first()
    if reminder is None:
        raise NotFound(_("class reminder %(id)s not found") % {"id": pk})
    return reminder


@dataclass(frozen=True)
class SegmentView:
    code: str
    description: str
    team: str
    care_interval_days: int | None
    account_manager: str  # the responsible person for ACCOUNT_MANAGER segments, else ""


TEAM_LABELS = {"ACCOUNT_MANAGER": gettext_lazy("account manager"),
               "SALES_TEAM": gettext_lazy("sales team"), "MARKETING": gettext_lazy("marketing")}


def segment_of(customer: Customer) -> SegmentView | None:
    """The customer's value segment (as the last monthly run set it) described by the policy in
    force; None before the first run. A code the policy no longer has is shown as it is."""
    code = Standing.objects.filter(pk=customer.pk).values_list("value_segment",
                                                                flat=True).first()
    if not code:
        return None
    tier = policy_in_force()[1].classification.value_tier(code)
    if tier is None:
        return SegmentView(code, code, "", None, "")
    manager = customer.account_manager
    return SegmentView(
        code, tier.description(get_language() or "zh-hans"), tier.team, tier.care_interval_days,
        (manager.get_full_name() or manager.username) if tier.team == "ACCOUNT_MANAGER"
        and manager is not None else "")


# --- the ABC migration across months ----------------------------------------------------------

MAX_MIGRATION_MONTHS = 36
_RANK = {abc: i for i, abc in enumerate(CLASSES)}


def move_direction(from_class: str, to_class: str) -> str:
    """up (towards A), down (towards C), or first (a customer's first class)."""
    if not from_class:
        return "first"
    return "up" if _RANK[to_class] < _RANK[from_class] else "down"


@dataclass(frozen=True)
class MigrationMonth:
    month: dt.date
    moves: dict[tuple[str, str], int]  # (from class, "" for a first class; to class) → customers

    def count(self, direction: str) -> int:
        return sum(n for (before, after), n in self.moves.items()
                   if move_direction(before, after) == direction)


@dataclass(frozen=True)
class Migration:
    since: dt.date  # first day of the first month
    until: dt.date  # first day of the last month
    region: str  # a region code ("" for every region)
    months: list[MigrationMonth]  # every month of the period, oldest first, empty ones included

    @property
    def matrix(self) -> dict[tuple[str, str], int]:
        """Customers per move over the whole period."""
        total: dict[tuple[str, str], int] = defaultdict(int)
        for month in self.months:
            for move, n in month.moves.items():
                total[move] += n
        return dict(total)

    def total(self, direction: str) -> int:
        return sum(month.count(direction) for month in self.months)


def months_between(since: dt.date, until: dt.date) -> list[dt.date]:
    months, month = [], since.replace(day=1)
    while month <= until:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def check_period(since: dt.date, until: dt.date) -> None:
    """Refuse a period that ends before it starts or spans more than the report shows."""
    if until < since:
        raise ValidationFailed(_("the last month must not be before the first month"),
                               field="until")
    if len(months_between(since, until)) > MAX_MIGRATION_MONTHS:
        raise ValidationFailed(_("choose at most %(n)d months") % {"n": MAX_MIGRATION_MONTHS},
                               field="until")


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last twelve months, this one included."""
    until = (today or clock.today()).replace(day=1)
    since = until
    for _i in range(11):
        since = (since - dt.timedelta(days=1)).replace(day=1)
    return since, until


def migration_between(since: dt.date, until: dt.date, region: str = "") -> Migration:
    """The class changes of the monthly runs from `since` to `until` (months), counted per run
    month and move: every customer is counted, none is named (like a run's report). One GROUP
    BY over the changes of the period."""
    since, until = since.replace(day=1), until.replace(day=1)
    check_period(since, until)
    qs = in_region(ClassChange.objects.filter(run__month__gte=since, run__month__lte=until),
                   region)
    counts: dict[dt.date, dict[tuple[str, str], int]] = defaultdict(dict)
    for row in (qs.values("run__month", "from_class", "to_class")
                .annotate(customers=Count("pk")).order_by()):
        counts[row["run__month"]][(row["from_class"], row["to_class"])] = row["customers"]
    return Migration(since, until, region,
                     [MigrationMonth(month, counts.get(month, {}))
                      for month in months_between(since, until)])
