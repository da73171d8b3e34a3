"""Reads behind the conduct pages: the labels of the policy's conduct codes in the reader's
language, one customer's conduct file (cases, penalties, fines, notices, blacklist history,
appeals, contract clauses and the restrictions in force now, each with its cause) and the
conduct overview's aggregates.

Every aggregate is one SQL GROUP BY over the cases of the customers the caller passes in,
already scoped with `customers.selectors.customers_for` (and filtered); nothing loops over
cases in Python to count them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
)
from django.db.models.functions import Cast, Coalesce, TruncMonth
from django.utils.translation import gettext as _

from custguard.conduct.labels import CATEGORIES, MEASURES, SEVERITIES
from custguard.conduct.models import (
    Appeal,
    BlacklistEntry,
    ContractClause,
    Fine,
    Notice,
    Penalty,
    RecoveryInstallment,
    RecoveryPlan,
    ViolationCase,
)
from custguard.core.services.policies import version_in_force
from custguard.credit.presenters import is_chinese, policy_document
from custguard.customers.models import Customer, Standing
from custguard.policy.codes import Measure, Severity
from custguard.policy.schema import PolicyDocument

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal("100.00")
OPEN_CASE = [ViolationCase.Status.REPORTED, ViolationCase.Status.INVESTIGATING]
OPEN_APPEAL = [Appeal.Status.FILED, Appeal.Status.UNDER_REVIEW]
# A penalty the customer lives with until it ends (approved, notified, active).
IN_FORCE = [Penalty.Status.APPROVED, Penalty.Status.NOTIFIED, Penalty.Status.ACTIVE]


def _money(value: Any) -> Decimal:
    amount = Decimal(str(value if value is not None else ZERO)).quantize(CENT)
    return amount if amount != 0 else ZERO


# --- the policy's codes in plain language -----------------------------------------------------


class Catalogue:
    """The policy's conduct codes (violation types, ladder steps, blacklist criteria) as the
    reader's language says them, from the policy version that decided — else from the version
    in force, else the code itself. Documents are parsed once per process and looked up once
    per catalogue, so a page keeps one for all its rows."""

    def __init__(self) -> None:
        self._documents: dict[int, PolicyDocument | None] = {}
        current = version_in_force()
        self._current = current.number if current is not None else None

    def _document(self, number: int | None) -> PolicyDocument | None:
        if number is None:
            return None
        if number not in self._documents:
            self._documents[number] = policy_document(number)
        return self._documents[number]

    def _documents_for(self, version: int | None) -> Iterator[PolicyDocument]:
        for number in dict.fromkeys([version, self._current]):
            document = self._document(number)
            if document is not None:
                yield document

    def violation_type(self, code: str, version: int | None = None) -> str:
        for document in self._documents_for(version):
            try:
                kind = document.violation_type(code)
            except KeyError:
                continue
            return kind.description_zh if is_chinese() else kind.description_en
        return code

    def category(self, code: str, version: int | None = None) -> str:
        for document in self._documents_for(version):
            try:
                kind = document.violation_type(code)
            except KeyError:
                continue
            return str(CATEGORIES.get(kind.category, kind.category.value))
        return ""

    def step(self, code: str, version: int | None = None) -> str:
        for document in self._documents_for(version):
            try:
                step = document.penalty_step(code)
            except KeyError:
                continue
            return step.description_zh if is_chinese() else step.description_en
        return code

    def criterion(self, code: str, version: int | None = None) -> str:
        """A blacklist criterion; an entry a penalty proposed is named after its ladder step
        (criterion `PENALTY_<step>`)."""
        if code.startswith("PENALTY_"):
            return self.step(code.removeprefix("PENALTY_"), version)
        for document in self._documents_for(version):
            for criterion in document.blacklist.criteria:
                if criterion.code == code:
                    return (criterion.description_zh if is_chinese()
                            else criterion.description_en)
        return code


def severity_label(code: str) -> str:
    try:
        return str(SEVERITIES[Severity(code)])
    except ValueError:
        return code


def measure_label(code: str) -> str:
    try:
        return str(MEASURES[Measure(code)])
    except ValueError:
        return code


# --- one customer -----------------------------------------------------------------------------


def cases_of(customer: Customer) -> QuerySet[ViolationCase]:
    """The customer's cases, newest report first, with how much evidence each has."""
    return (ViolationCase.objects.filter(customer=customer)
            .select_related("investigator", "decided_by")
            .annotate(evidence_count=Count("evidence"))
            .order_by("-reported_at", "-pk"))


def penalties_of(customer: Customer) -> QuerySet[Penalty]:
    """The customer's penalties, newest first, with the last appeal deadline their notices
    gave (`appeal_by`, None before any notice)."""
    return (Penalty.objects.filter(customer=customer)
            .select_related("case", "approved_by", "fine", "replaces")
            .annotate(appeal_by=Max("notices__appeal_deadline"))
            .order_by("-proposed_at", "-pk"))


def fines_of(customer: Customer) -> QuerySet[Fine]:
    return (Fine.objects.filter(customer=customer).select_related("penalty", "clause")
            .order_by("-due_on", "-pk"))


def notices_of(customer: Customer) -> QuerySet[Notice]:
    return (Notice.objects.filter(customer=customer).select_related("penalty")
            .defer("body_html").order_by("-created_at", "-pk"))


def blacklist_of(customer: Customer) -> QuerySet[BlacklistEntry]:
    """Every entry, newest first, with its recovery plan and the plan's installments."""
    return (BlacklistEntry.objects.filter(customer=customer)
            .select_related("decided_by", "penalty", "recovery_plan")
            .prefetch_related(Prefetch("recovery_plan__installments",
                                       queryset=RecoveryInstallment.objects.order_by("number")))
            .order_by("-proposed_at", "-pk"))


def appeals_of(customer: Customer) -> QuerySet[Appeal]:
    return (Appeal.objects.filter(customer=customer)
            .select_related("case", "penalty", "blacklist_entry", "reviewer", "replacement")
            .order_by("-filed_at", "-pk"))


def clauses_of(customer: Customer) -> QuerySet[ContractClause]:
    return ContractClause.objects.filter(customer=customer).order_by("-valid_from", "-pk")


@dataclass(frozen=True)
class Summary:
    """One customer's conduct in figures."""

    cases: int
    open_cases: int
    confirmed: int
    points: int  # points of the confirmed violations (unweighted)
    penalties_in_force: int
    penalties_proposed: int
    fines_due: Decimal
    appeals_open: int
    rectifications_due: int
    rectifications_overdue: int


def summary_of(customer: Customer, today: dt.date) -> Summary:
    """Four aggregate queries, whatever the customer's history."""
    cases = ViolationCase.objects.filter(customer=customer).aggregate(
        n=Count("pk"), open=Count("pk", filter=Q(status__in=OPEN_CASE)),
        confirmed=Count("pk", filter=Q(status=ViolationCase.Status.CONFIRMED)),
        points=Sum("points", filter=Q(status=ViolationCase.Status.CONFIRMED)))
    rectify = Q(rectification_due_on__isnull=False, rectified_at__isnull=True,
                escalated_to__isnull=True, status__in=IN_FORCE)
    penalties = Penalty.objects.filter(customer=customer).aggregate(
        in_force=Count("pk", filter=Q(status__in=IN_FORCE)),
        proposed=Count("pk", filter=Q(status=Penalty.Status.PROPOSED)),
        rectify_due=Count("pk", filter=rectify & Q(rectification_due_on__gte=today)),
        rectify_overdue=Count("pk", filter=rectify & Q(rectification_due_on__lt=today)))
    fines = Fine.objects.filter(customer=customer, status=Fine.Status.DUE).aggregate(
        due=Sum("amount"))
    appeals = Appeal.objects.filter(customer=customer, status__in=OPEN_APPEAL).count()
    return Summary(cases=cases["n"], open_cases=cases["open"], confirmed=cases["confirmed"],
                   points=cases["points"] or 0, penalties_in_force=penalties["in_force"],
                   penalties_proposed=penalties["proposed"], fines_due=_money(fines["due"]),
                   appeals_open=appeals, rectifications_due=penalties["rectify_due"],
                   rectifications_overdue=penalties["rectify_overdue"])


# --- restrictions in force now ----------------------------------------------------------------


@dataclass(frozen=True)
class Cause:
    """What put a restriction on the standing row: an active penalty, an active blacklist
    entry, or a recovery plan still restoring the limit."""

    kind: str  # "penalty" | "blacklist" | "recovery"
    pk: int
    label: str
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None


@dataclass(frozen=True)
class Restriction:
    code: str  # the standing field's name
    label: str
    detail: str = ""
    causes: list[Cause] = field(default_factory=list)


# Each restriction on the standing row and the measures that set it.
RESTRICTING_MEASURES: dict[str, frozenset[str]] = {
    "order_blocked": frozenset({Measure.ORDER_BLOCK, Measure.TERMINATION}),
    "service_suspended": frozenset({Measure.SERVICE_SUSPENSION, Measure.TERMINATION}),
    "penalty_prepay_only": frozenset({Measure.PREPAY_ONLY}),
    "penalty_limit_percent": frozenset({Measure.CREDIT_LIMIT_REDUCTION}),
    "points_frozen": frozenset({Measure.POINTS_FREEZE, Measure.TERMINATION}),
}


def restrictions_of(customer: Customer, standing: Standing | None,
                    catalogue: Catalogue | None = None) -> list[Restriction]:
    """The conduct restrictions the standing row holds now (what the gate enforces), each
    with the penalties, blacklist entry or recovery plan that cause it."""
    if standing is None:
        return []
    catalogue = catalogue or Catalogue()
    active = list(Penalty.objects.filter(customer=customer, status=Penalty.Status.ACTIVE)
                  .order_by("starts_on", "pk"))

    def penalty_causes(name: str) -> list[Cause]:
        wanted = RESTRICTING_MEASURES[name]
        return [Cause("penalty", p.pk, catalogue.step(p.step_code, p.policy_version),
                      p.starts_on, p.ends_on)
                for p in active if wanted & set(p.measures)]

    found: list[Restriction] = []
    if standing.blacklisted:
        entries = BlacklistEntry.objects.filter(customer=customer,
                                                status=BlacklistEntry.Status.ACTIVE)
        found.append(Restriction("blacklisted", _("Blacklisted: orders are denied"), causes=[
            Cause("blacklist", e.pk, catalogue.criterion(e.criterion, e.policy_version),
                  e.starts_on, e.ends_on) for e in entries]))
    if standing.order_blocked:
        found.append(Restriction("order_blocked", _("Orders blocked"),
                                 causes=penalty_causes("order_blocked")))
    if standing.service_suspended:
        found.append(Restriction("service_suspended", _("Supply and service suspended"),
                                 causes=penalty_causes("service_suspended")))
    if standing.penalty_prepay_only:
        found.append(Restriction("penalty_prepay_only", _("Prepayment only"),
                                 causes=penalty_causes("penalty_prepay_only")))
    percent = Decimal(standing.penalty_limit_percent)
    if percent < HUNDRED:
        causes = penalty_causes("penalty_limit_percent")
        plan = RecoveryPlan.objects.filter(customer=customer,
                                           status=RecoveryPlan.Status.ACTIVE).first()
        if plan is not None:
            causes.append(Cause("recovery", plan.pk, _("Credit recovery plan"), None, None))
        found.append(Restriction(
            "penalty_limit_percent", _("Credit limit reduced"),
            detail=_("%(percent)s%% of the limit may be used") % {
                "percent": format(percent.normalize(), "f")}, causes=causes))
    if standing.points_frozen:
        found.append(Restriction("points_frozen", _("Points frozen"),
                                 causes=penalty_causes("points_frozen")))
    return found


# --- the overview -----------------------------------------------------------------------------


# The overview's choice of cases by state: confirmed violations (what counts anywhere),
# cases still open, dismissed ones, or every case.
CASE_STATES: dict[str, list[str]] = {
    "confirmed": [ViolationCase.Status.CONFIRMED],
    "open": OPEN_CASE,
    "dismissed": [ViolationCase.Status.DISMISSED],
    "all": [],
}


@dataclass(frozen=True)
class CaseFilter:
    """The overview's filters: violations that occurred from `start` to `end` (inclusive), of
    customers in `region` (a province matches its prefectures), of a severity ("" = any), in
    the states of CASE_STATES[`states`]."""

    start: dt.date
    end: dt.date
    region: str = ""
    severity: str = ""
    states: str = "confirmed"


def in_region(customers: QuerySet[Customer], region: str) -> QuerySet[Customer]:
    if not region:
        return customers
    return customers.filter(Q(region__code=region) | Q(region__parent__code=region))


def filtered_cases(customers: QuerySet[Customer], filters: CaseFilter) -> QuerySet[ViolationCase]:
    """The cases behind the overview's charts and export."""
    qs = ViolationCase.objects.filter(
        customer__in=in_region(customers, filters.region).values("pk"),
        occurred_on__gte=filters.start, occurred_on__lte=filters.end)
    if filters.severity:
        qs = qs.filter(severity=filters.severity)
    statuses = CASE_STATES[filters.states]
    if statuses:
        qs = qs.filter(status__in=statuses)
    return qs


@dataclass(frozen=True)
class Counted:
    code: str
    label: str
    count: int


def by_type(cases: QuerySet[ViolationCase], catalogue: Catalogue) -> list[Counted]:
    """Cases per violation type, the most frequent first."""
    rows = (cases.values("violation_type").annotate(n=Count("pk"))
            .order_by("-n", "violation_type"))
    return [Counted(row["violation_type"], catalogue.violation_type(row["violation_type"]),
                    row["n"]) for row in rows]


def by_severity(cases: QuerySet[ViolationCase]) -> list[Counted]:
    """Cases per severity, mildest first (zeros included)."""
    found = dict(cases.values_list("severity").annotate(n=Count("pk")).order_by())
    codes = [s.value for s in Severity] + sorted(set(found) - {s.value for s in Severity})
    return [Counted(code, severity_label(code), found.get(code, 0)) for code in codes]


def by_province(cases: QuerySet[ViolationCase], *, top: int = 15) -> list[Counted]:
    """Cases per province (the customer's region's parent, or the region itself when it is a
    top-level one), the most first."""
    rows = (cases.values(code=Coalesce(F("customer__region__parent__code"),
                                       F("customer__region__code")),
                         name=Coalesce(F("customer__region__parent__name"),
                                       F("customer__region__name")))
            .annotate(n=Count("pk")).order_by("-n", "code"))
    return [Counted(row["code"], row["name"], row["n"]) for row in rows[:top]]


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first day of every calendar month from `start`'s to `end`'s."""
    months = []
    month = start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def by_month(cases: QuerySet[ViolationCase], months: Sequence[dt.date]
             ) -> dict[str, list[int]]:
    """Cases per calendar month of occurrence and severity: {severity: [count per month]} for
    `months` (first days), zeros included."""
    rows = (cases.annotate(month=TruncMonth("occurred_on")).values("month", "severity")
            .annotate(n=Count("pk")).order_by())
    index = {month: i for i, month in enumerate(months)}
    series = {s.value: [0] * len(months) for s in Severity}
    for row in rows:
        month = row["month"]
        if isinstance(month, dt.datetime):
            month = month.date()
        if month in index:
            series.setdefault(row["severity"], [0] * len(months))[index[month]] += row["n"]
    return series


# How the penalties by measure are split.
PENALTY_GROUPS: dict[str, list[str]] = {
    "proposed": [Penalty.Status.PROPOSED],
    "in_force": IN_FORCE,
    "ended": [Penalty.Status.COMPLETED, Penalty.Status.LIFTED],
    "overturned": [Penalty.Status.OVERTURNED, Penalty.Status.REJECTED],
}


def penalties_by_measure(cases: QuerySet[ViolationCase]) -> dict[str, dict[str, int]]:
    """Penalties of the cases per measure and state group ({measure: {group: count}}): one
    GROUP BY status with a conditional count per measure (a penalty with three measures counts
    once for each)."""
    rows = (Penalty.objects.filter(case__in=cases.values("pk"))
            .annotate(codes=Cast("measures", output_field=TextField()))
            .values("status")
            .annotate(**{m.value: Count("pk", filter=Q(codes__contains=f'"{m.value}"'))
                         for m in Measure})
            .order_by())
    group_of = {status: group for group, statuses in PENALTY_GROUPS.items()
                for status in statuses}
    result = {m.value: dict.fromkeys(PENALTY_GROUPS, 0) for m in Measure}
    for row in rows:
        group = group_of.get(row["status"])
        if group is None:
            continue
        for measure in Measure:
            result[measure.value][group] += row[measure.value]
    return result


def appeals_of_cases(cases: QuerySet[ViolationCase]) -> QuerySet[Appeal]:
    """Appeals against the cases, their penalties, or the blacklist entries those proposed."""
    ids = cases.values("pk")
    return Appeal.objects.filter(Q(case__in=ids) | Q(penalty__case__in=ids)
                                 | Q(blacklist_entry__penalty__case__in=ids))


def appeal_outcomes(cases: QuerySet[ViolationCase]) -> dict[str, int]:
    """Appeals per state ({status: count}, every state listed)."""
    found = dict(appeals_of_cases(cases).values_list("status").annotate(n=Count("pk"))
                 .order_by())
    return {status: found.get(status, 0) for status in Appeal.Status.values}


@dataclass(frozen=True)
class KeyFigures:
    open_cases: int
    active_penalties: int
    proposed_penalties: int
    active_blacklist: int
    proposed_blacklist: int
    open_appeals: int
    overdue_appeals: int
    fines_due: Decimal


def key_figures(customers: QuerySet[Customer], today: dt.date) -> KeyFigures:
    """The figures of now over these customers: one aggregate query per table."""
    ids = customers.values("pk")
    cases = ViolationCase.objects.filter(customer__in=ids, status__in=OPEN_CASE).count()
    penalties = Penalty.objects.filter(customer__in=ids).aggregate(
        active=Count("pk", filter=Q(status=Penalty.Status.ACTIVE)),
        proposed=Count("pk", filter=Q(status=Penalty.Status.PROPOSED)))
    entries = BlacklistEntry.objects.filter(customer__in=ids).aggregate(
        active=Count("pk", filter=Q(status=BlacklistEntry.Status.ACTIVE)),
        proposed=Count("pk", filter=Q(status=BlacklistEntry.Status.PROPOSED)))
    appeals = Appeal.objects.filter(customer__in=ids, status__in=OPEN_APPEAL).aggregate(
        open=Count("pk"), overdue=Count("pk", filter=Q(review_due_on__lt=today)))
    fines = Fine.objects.filter(customer__in=ids, status=Fine.Status.DUE).aggregate(
        due=Sum("amount"))
    return KeyFigures(open_cases=cases, active_penalties=penalties["active"],
                      proposed_penalties=penalties["proposed"],
                      active_blacklist=entries["active"], proposed_blacklist=entries["proposed"],
                      open_appeals=appeals["open"], overdue_appeals=appeals["overdue"],
                      fines_due=_money(fines["due"]))


def with_outcomes(cases: QuerySet[ViolationCase]) -> QuerySet[ViolationCase]:
    """The cases with their customer and region, and — as sortable columns — the latest
    penalty (its id, step and state) and the latest appeal against the case or one of its
    penalties (its id and state)."""
    penalty = Penalty.objects.filter(case=OuterRef("pk")).order_by("-proposed_at", "-pk")
    appeal = (Appeal.objects.filter(Q(case=OuterRef("pk")) | Q(penalty__case=OuterRef("pk")))
              .order_by("-filed_at", "-pk"))
    return (cases.select_related("customer", "customer__region", "customer__region__parent")
            .annotate(penalty_id=Subquery(penalty.values("pk")[:1]),
                      penalty_step=Coalesce(Subquery(penalty.values("step_code")[:1]),
                                            Value("")),
                      penalty_status=Coalesce(Subquery(penalty.values("status")[:1]),
                                              Value("")),
                      appeal_id=Subquery(appeal.values("pk")[:1]),
                      appeal_status=Coalesce(Subquery(appeal.values("status")[:1]),
                                             Value(""))))


@dataclass(frozen=True)
class CaseRow:
    """One case of the export with its latest penalty and appeal."""

    case: ViolationCase
    penalty: Penalty | None
    appeal: Appeal | None


def _chunks(rows: Iterable[ViolationCase], size: int) -> Iterator[list[ViolationCase]]:
    chunk: list[ViolationCase] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def case_rows(cases: QuerySet[ViolationCase], *, chunk: int = 500) -> Iterator[CaseRow]:
    """The export's rows, in the queryset's order (`cases` comes from `with_outcomes`): the
    penalties and appeals of each chunk of cases are read in one query each."""
    for batch in _chunks(cases.iterator(chunk_size=chunk), chunk):
        penalties = Penalty.objects.select_related("fine").in_bulk(
            [c.penalty_id for c in batch if c.penalty_id is not None])  # type: ignore[attr-defined]
        appeals = Appeal.objects.in_bulk(
            [c.appeal_id for c in batch if c.appeal_id is not None])  # type: ignore[attr-defined]
        for case in batch:
            yield CaseRow(case, penalties.get(case.penalty_id),  # type: ignore[attr-defined]
                          appeals.get(case.appeal_id))  # type: ignore[attr-defined]
