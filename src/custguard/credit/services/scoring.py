"""Scoring customers: summarise their history with three GROUP BY queries, let the pure policy
functions decide, then write score history, standing and audit in bulk.

The same code scores one customer after a new fact and 100,000 in the nightly batch: the
queries are set-based (one per fact table, not one per customer), and the writes are bulk.

Facts are read as they stood on `as_of`. For today (the usual case) that is what the invoice
rows hold (`open_amount`, `settled_on`: facts are never dated in the future). For a day in the
past, open amounts and settlement dates are rebuilt from the allocations applied by then, so a
past score can be recomputed — and comes out the same — after later payments arrived.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    Func,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from custguard.core import clock, sql
from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused, ValidationFailed
from custguard.core.services import audit
from custguard.core.services.policies import policy_in_force
from custguard.core.sql import DaysBetween
from custguard.credit.models import CreditOverride, CreditScore
from custguard.customers.models import Customer, Standing
from custguard.ledger.models import Allocation, Invoice, Order
from custguard.policy.codes import ScaleBand, Severity
from custguard.policy.conduct import ViolationFact, weighted_points
from custguard.policy.credit import CreditAssessment, CreditFacts, assess
from custguard.policy.schema import PolicyDocument

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
BATCH = 2000
WINDOW_DAYS = 365
# SQLite keeps decimals as binary floats: an invoice whose allocations add up to its amount
# may be left with a few 1e-12 open. Amounts are whole cents, so half a cent tells them apart.
OPEN_AT_LEAST = Decimal("0.005")
MONEY = DecimalField(max_digits=20, decimal_places=2)
DENSE_AT_LEAST = 50


class MonthOf(Func):
    """The calendar month of a date as one comparable value, computed by the database itself
    (Django's TruncMonth calls back into Python for every row on SQLite)."""

    arity = 1

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # '%' doubled twice: once for this template, once for the driver's parameter style.
        return self.as_sql(compiler, connection,
                           template="strftime('%%%%Y-%%%%m', %(expressions)s)", **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="date_trunc('month', %(expressions)s)",
                           **extra)


def _by_customer(qs: QuerySet[Any], ids: Sequence[int] | None) -> QuerySet[Any]:
    """Rows of these customers. A batch of nearly consecutive keys (the usual batch of a run
    over every customer) is read as one key range, which the (customer, …) indexes scan
    in one pass instead of one probe per key; rows of customers between them that were not
    asked for are dropped afterwards."""
    if ids is None:
        return qs
    if len(ids) >= DENSE_AT_LEAST and max(ids) - min(ids) < 2 * len(ids):
        return qs.filter(customer_id__gte=min(ids), customer_id__lte=max(ids))
    return qs.filter(customer_id__in=ids)


def _invoice_state(qs: QuerySet[Invoice], as_of: dt.date,
                   historical: bool) -> QuerySet[Invoice]:
    """Alias `open_at` (unpaid amount) and `settled_at` (the day it was paid in full, else
    null) of each invoice as they stood at the end of `as_of`."""
    if not historical:
        return qs.alias(open_at=F("open_amount"), settled_at=F("settled_on"))
    applied = (Allocation.objects.filter(invoice=OuterRef("pk"), applied_on__lte=as_of)
               .order_by().values("invoice"))
    applied_sum = Subquery(applied.annotate(total=Sum("amount")).values("total"),
                           output_field=MONEY)
    last_applied = Subquery(applied.annotate(last=Max("applied_on")).values("last"),
                            output_field=DateField())
    qs = qs.alias(open_at=ExpressionWrapper(F("amount") - Coalesce(applied_sum, Value(ZERO)),
                                            output_field=MONEY),
                  last_applied_on=last_applied)
    return qs.alias(settled_at=Case(
        When(Q(kind=Invoice.Kind.INVOICE, open_at__lt=OPEN_AT_LEAST),
             then=F("last_applied_on")),
        default=Value(None), output_field=DateField()))


def _violation_points(policy: PolicyDocument, as_of: dt.date,
                      ids: Sequence[int] | None) -> dict[int, Decimal]:
    """VIOLATION_POINTS_WEIGHTED per customer: its violations confirmed by `as_of` (one query
    over the recent confirmed cases), weighted by recency as the policy says."""
    from custguard.conduct.models import ViolationCase

    oldest = max(band.max_age_days for band in policy.conduct.recency_weights)
    cases = _by_customer(ViolationCase.objects.filter(
        status=ViolationCase.Status.CONFIRMED, occurred_on__lte=as_of,
        occurred_on__gte=as_of - dt.timedelta(days=oldest),
        decided_at__lt=dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min,
                                           tzinfo=timezone.get_current_timezone())), ids)
    by_customer: dict[int, list[ViolationFact]] = {}
    for customer_id, code, severity, points, occurred_on in cases.values_list(
            "customer_id", "violation_type", "severity", "points", "occurred_on"):
        by_customer.setdefault(customer_id, []).append(
            ViolationFact(code=code, severity=Severity(severity), points=points,
                          occurred_on=occurred_on))
    return {customer_id: weighted_points(policy, violations, as_of)
            for customer_id, violations in by_customer.items()}


def collect_facts(as_of: dt.date, ids: Sequence[int] | None = None, *,
                  historical: bool | None = None,
                  policy: PolicyDocument | None = None) -> dict[int, CreditFacts]:
    """CreditFacts of the given customers (or of every customer with history) as of a day,
    with one aggregation over their invoices, one over their orders and one over their
    cancellations (and, given the policy that weighs them, one over their confirmed
    violations). `historical` forces (True) or forbids (False) rebuilding the invoices' state
    from their allocations; by default that is done for days before today only."""
    if historical is None:
        historical = as_of < clock.today()
    start = as_of - dt.timedelta(days=WINDOW_DAYS)
    rows: dict[int, dict[str, Any]] = {}

    def merge(values: Iterable[dict[str, Any]]) -> None:
        for row in values:
            rows.setdefault(row.pop("customer_id"), {}).update(
                {k: v for k, v in row.items() if v is not None})

    invoices = _invoice_state(_by_customer(Invoice.objects.filter(issued_on__lte=as_of), ids),
                              as_of, historical)
    is_invoice = Q(kind=Invoice.Kind.INVOICE)
    dpd = Greatest(DaysBetween(Coalesce(F("settled_at"), Value(as_of)), F("due_on")), Value(0))
    due_in_window = is_invoice & Q(due_on__gt=start, due_on__lte=as_of)
    # Unpaid at some time in the window: due in it, or due before it and not paid before it.
    outstanding = is_invoice & Q(due_on__lte=as_of) & (
        Q(due_on__gt=start) | Q(settled_at__isnull=True) | Q(settled_at__gt=start))
    unpaid = is_invoice & Q(open_at__gte=OPEN_AT_LEAST)
    merge(invoices.values("customer_id").order_by().annotate(
        invoices_due_12m=Count("pk", filter=due_in_window),
        invoices_paid_on_time_12m=Count("pk", filter=due_in_window & Q(
            settled_at__isnull=False, settled_at__lte=F("due_on"))),
        max_days_past_due_12m=Max(dpd, filter=outstanding),
        amount_days_past_due_12m=Sum(F("amount") * dpd, filter=due_in_window,
                                     output_field=MONEY),
        amount_due_12m=Sum("amount", filter=due_in_window),
        open_receivable=Sum("open_at", filter=unpaid, output_field=MONEY),
        overdue_receivable=Sum("open_at", filter=unpaid & Q(due_on__lt=as_of),
                               output_field=MONEY),
        amount_not_yet_due=Sum("amount", filter=is_invoice & Q(due_on__gt=as_of)),
        invoiced_12m=Sum("amount", filter=is_invoice & Q(issued_on__gt=start)),
        credited_12m=Sum("amount", filter=Q(kind=Invoice.Kind.CREDIT_NOTE,
                                            issued_on__gt=start))))

    orders = _by_customer(Order.objects.filter(kind=Order.Kind.ORDER, ordered_on__lte=as_of),
                          ids)
    recent = Q(ordered_on__gt=start)
    merge(orders.values("customer_id").order_by().annotate(
        first_order_on=Min("ordered_on"),
        order_amount_12m=Sum("amount", filter=recent),
        order_months_12m=Count(MonthOf("ordered_on"), distinct=True, filter=recent),
        orders_12m=Count("pk", filter=recent)))
    # Orders of the window cancelled by `as_of`: counted from the (few) cancellations, so the
    # aggregation over every order needs no join.
    cancellations = _by_customer(Order.objects.filter(
        kind=Order.Kind.CANCELLATION, ordered_on__lte=as_of, cancels__ordered_on__gt=start,
        cancels__ordered_on__lte=as_of), ids)
    merge(cancellations.values("customer_id").order_by().annotate(
        cancelled_orders_12m=Count("pk")))

    if policy is not None:
        for customer_id, points in _violation_points(policy, as_of, ids).items():
            rows.setdefault(customer_id, {})["violation_points_weighted"] = points

    facts: dict[int, CreditFacts] = {}
    for customer_id in (ids if ids is not None else sorted(rows)):
        row = rows.get(customer_id, {})
        invoiced = _money(row.pop("invoiced_12m", ZERO))
        credited = _money(row.pop("credited_12m", ZERO))
        facts[customer_id] = CreditFacts(
            as_of=as_of, sales_12m=invoiced - credited,
            **{key: _typed(key, value) for key, value in row.items()})
    return facts


_INT_FIELDS = {"invoices_due_12m", "invoices_paid_on_time_12m", "max_days_past_due_12m",
               "order_months_12m", "orders_12m", "cancelled_orders_12m", "complaints_12m"}


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def _typed(key: str, value: Any) -> Any:
    if key in _INT_FIELDS:
        return int(value)
    if key == "first_order_on":
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    return _money(value)


# --- effective terms --------------------------------------------------------------------------


@dataclass(frozen=True)
class ComputedTerms:
    """What the scorecard gave a customer (the latest score record holds them)."""

    credit_limit: Decimal
    payment_terms_days: int
    prepay_only: bool

    @classmethod
    def of(cls, source: CreditAssessment | CreditScore) -> ComputedTerms:
        return cls(credit_limit=source.credit_limit,
                   payment_terms_days=source.payment_terms_days,
                   prepay_only=source.prepay_only)


NO_TERMS = ComputedTerms(credit_limit=ZERO, payment_terms_days=0, prepay_only=False)


@dataclass(frozen=True)
class StandingTerms:
    """What other capabilities put on the standing row for credit: the conduct's active
    penalties (and a blacklist recovery plan) impose prepayment only and the share of the limit
    that is left; the customer's ABC class and its membership tier add days to the payment
    terms."""

    prepay_only: bool = False
    limit_percent: Decimal = HUNDRED
    term_bonus_days: int = 0

    @classmethod
    def of(cls, standing: Standing) -> StandingTerms:
        return cls(prepay_only=standing.penalty_prepay_only,
                   limit_percent=standing.penalty_limit_percent,
                   term_bonus_days=standing.payment_term_bonus_days
                   + standing.tier_term_bonus_days)


def effective_terms(computed: ComputedTerms, override: CreditOverride | None,
                    penalties: StandingTerms | None = None) -> dict[str, Any]:
    """A customer's standing credit terms: the computed ones unless an active override sets
    them, then cut by the active penalties. A manual limit also lifts the grade's prepay-only
    rule (the limit is what the credit manager decided the customer may owe); a penalty's
    prepay-only holds whatever the limit. The class's bonus days lengthen computed terms (a
    customer the grade gives no terms gets none from its class; overridden terms stay as the
    credit manager set them)."""
    penalties = penalties or StandingTerms()
    limit = override.credit_limit if override is not None else None
    terms = override.payment_terms_days if override is not None else None
    base = limit if limit is not None else computed.credit_limit
    if penalties.limit_percent < HUNDRED:
        base = (base * penalties.limit_percent / HUNDRED).quantize(CENT, rounding=ROUND_FLOOR)
    return {
        "credit_limit": base,
        "payment_terms_days": terms if terms is not None else (
            computed.payment_terms_days + penalties.term_bonus_days
            if computed.payment_terms_days > 0 else 0),
        "prepay_only": (computed.prepay_only and limit is None) or penalties.prepay_only,
        "limit_overridden": limit is not None,
        "terms_overridden": terms is not None,
    }


TERMS_FIELDS = ["credit_limit", "payment_terms_days", "prepay_only", "limit_overridden",
                "terms_overridden"]


def reapply_terms(actor: Actor, standing: Standing, *, action: str, reason: str = "",
                  context: dict[str, Any] | None = None) -> bool:
    """Recompute a customer's effective credit terms from its latest score, its active
    override and the penalties now on its standing row (locked by the caller), save and audit
    them under `action`. A customer never scored is scored now. Returns whether anything
    changed."""
    latest = latest_score(standing.pk)
    if latest is None:
        result = rescore_customers(actor, [standing.pk], trigger=CreditScore.Trigger.MANUAL)
        standing.refresh_from_db()
        return bool(result.changed)
    override = CreditOverride.objects.filter(customer_id=standing.pk,
                                             status=CreditOverride.Status.ACTIVE).first()
    before = {name: getattr(standing, name) for name in TERMS_FIELDS}
    for name, value in effective_terms(ComputedTerms.of(latest), override,
                                       StandingTerms.of(standing)).items():
        setattr(standing, name, value)
    changed_before, changed_after = audit.changes(standing, TERMS_FIELDS, before)
    if not changed_after:
        return False
    standing.updated_at = clock.now()
    standing.save(update_fields=[*TERMS_FIELDS, "updated_at"])
    audit.record(actor, action, standing, customer_id=standing.pk, before=changed_before,
                 after=changed_after | (context or {}), reason=reason)
    return True


# Changes of these are decisions worth an audit entry; the score alone moves every day and is
# kept in the score history instead.
AUDITED = ["grade", "credit_limit", "payment_terms_days", "prepay_only"]
STANDING_FIELDS = ["score", "grade", "credit_limit", "payment_terms_days", "prepay_only",
                   "limit_overridden", "terms_overridden", "policy_version", "scored_at",
                   "next_review_on", "updated_at"]


@dataclass(frozen=True)
class RescoreResult:
    scored: int
    changed: int
    policy_version: int


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def rescore(actor: Actor, customer_ids: Sequence[int] | None = None, *,
            trigger: str = CreditScore.Trigger.MANUAL, as_of: dt.date | None = None,
            progress: Callable[[int], None] | None = None,
            batch_size: int = BATCH) -> RescoreResult:
    """A person's or the scheduler's request to rescore customers (all when None)."""
    if not actor.can("credit.rescore"):
        raise PermissionRefused(_("your role may not rescore customers"))
    ids = list(customer_ids) if customer_ids is not None else list(
        Customer.objects.order_by("pk").values_list("pk", flat=True))
    return rescore_customers(actor, ids, trigger=trigger, as_of=as_of, progress=progress,
                             batch_size=batch_size)


def due_for_rescoring(today: dt.date | None = None) -> list[int]:
    """Customers whose next review date has come, or who were never scored."""
    today = today or clock.today()
    return list(Standing.objects.filter(Q(next_review_on__lte=today) | Q(scored_at__isnull=True))
                .order_by("pk").values_list("pk", flat=True))


def rescore_customers(actor: Actor, ids: Sequence[int], *, trigger: str,
                      as_of: dt.date | None = None,
                      progress: Callable[[int], None] | None = None,
                      batch_size: int = BATCH) -> RescoreResult:
    """Score the customers under the policy in force, in batches, each batch in one
    transaction (or in the caller's): score records, standing, and one audit entry per customer
    whose grade, limit or terms changed. The caller has already been authorised for what
    triggered it (a fact, a review, a job)."""
    if trigger not in CreditScore.Trigger.values:
        raise ValidationFailed(_("unknown trigger %(trigger)s") % {"trigger": trigger},
                               field="trigger")
    version, policy = policy_in_force()
    as_of = as_of or clock.today()
    scored = changed = 0
    for batch in _chunks(ids, batch_size):
        with transaction.atomic():
            done, moved = _rescore_batch(actor, batch, policy, version, as_of, trigger)
        scored += done
        changed += moved
        if progress:
            progress(len(batch))
    return RescoreResult(scored=scored, changed=changed, policy_version=version)


def score_values(assessment: CreditAssessment) -> dict[str, Any]:
    """What a score record holds about an assessment (JSON-ready)."""
    return {
        "score": assessment.score.score, "grade": assessment.grade.value,
        "factor_values": {k: (format(v, "f") if v is not None else None)
                          for k, v in assessment.factor_values.items()},
        "factor_points": dict(assessment.score.factor_points),
        "reasons": [r.as_dict() for r in assessment.score.reasons],
        "credit_limit": assessment.credit_limit,
        "payment_terms_days": assessment.payment_terms_days,
        "prepay_only": assessment.prepay_only,
        "limit_reasons": [r.as_dict() for r in assessment.limit_reasons],
    }


def _changed(before: Mapping[str, Any], standing: Standing) -> list[str]:
    return [name for name in AUDITED if before[name] != getattr(standing, name)]


def _rescore_batch(actor: Actor, ids: Sequence[int], policy: PolicyDocument, version: int,
                   as_of: dt.date, trigger: str) -> tuple[int, int]:
    # Lock the standing rows first (in key order, as every writer does), then read what the
    # scoring depends on: an override or a fact that commits meanwhile waits for this batch,
    # or is seen by it.
    standings = {s.pk: s for s in Standing.objects.select_for_update().filter(pk__in=ids)
                 .order_by("pk")}
    customers = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "scale_band"))
    overrides = {o.customer_id: o for o in CreditOverride.objects.filter(
        customer_id__in=ids, status=CreditOverride.Status.ACTIVE)}
    facts = collect_facts(as_of, ids, policy=policy)
    now = clock.now()
    records: list[tuple[int, dict[str, Any]]] = []
    pending: list[audit.PendingEntry] = []
    updated: list[Standing] = []
    for customer_id in ids:
        standing = standings.get(customer_id)
        if standing is None or customer_id not in customers:
            continue
        assessment = assess(policy, facts[customer_id],
                            ScaleBand(customers[customer_id].upper()))
        records.append((customer_id, score_values(assessment)))
        before = {name: getattr(standing, name) for name in AUDITED}
        old_score = standing.score
        values = effective_terms(ComputedTerms.of(assessment), overrides.get(customer_id),
                                 StandingTerms.of(standing))
        values.update(score=assessment.score.score, grade=assessment.grade.value)
        for name, value in values.items():
            setattr(standing, name, value)
        standing.policy_version = version
        standing.scored_at = now
        review_by = as_of + dt.timedelta(days=assessment.review_interval_days)
        if standing.next_review_on is None or review_by < standing.next_review_on:
            standing.next_review_on = review_by
        standing.updated_at = now
        updated.append(standing)
        diff = _changed(before, standing)
        if diff:
            pending.append(audit.PendingEntry(
                action="credit.rescore", object_type="customers.standing",
                object_id=customer_id, customer_id=customer_id,
                before={name: before[name] for name in diff} | {"score": old_score},
                after={name: getattr(standing, name) for name in diff}
                | {"score": standing.score, "policy_version": version},
                reason=trigger))
    _write_scores(records, now=now, as_of=as_of, version=version, trigger=trigger)
    _write_standings(updated)
    if pending:
        audit.record_many(actor, pending)
    return len(records), len(pending)


# How the rows are written: "sql" (the default) — on PostgreSQL the score records with COPY
# and the standing rows with COPY into a temporary table and one UPDATE … FROM it; on SQLite
# one prepared INSERT run for every record and UPDATE … FROM (VALUES …) — or "orm" (Django's
# bulk_create and bulk_update, which build model instances and a CASE per column whose cost
# grows with the square of the batch; kept for comparison in bench/rescore.py).
WRITER = "sql"
SCORE_COLUMNS = ["customer_id", "computed_at", "as_of", "policy_version", "trigger", "score",
                 "grade", "factor_values", "factor_points", "reasons", "credit_limit",
                 "payment_terms_days", "prepay_only", "limit_reasons"]


def _fast() -> bool:
    return WRITER == "sql" and connection.vendor in ("postgresql", "sqlite")


def _score_rows(records: Sequence[tuple[int, dict[str, Any]]], *, now: Any, as_of: Any,
                version: int, trigger: str, money: Callable[[Decimal], Any],
                ) -> list[tuple[Any, ...]]:
    return [
        (customer_id, now, as_of, version, trigger, values["score"], values["grade"],
         json.dumps(values["factor_values"]), json.dumps(values["factor_points"]),
         json.dumps(values["reasons"], ensure_ascii=False), money(values["credit_limit"]),
         values["payment_terms_days"], values["prepay_only"],
         json.dumps(values["limit_reasons"], ensure_ascii=False))
        for customer_id, values in records]


def _write_scores(records: Sequence[tuple[int, dict[str, Any]]], *, now: dt.datetime,
                  as_of: dt.date, version: int, trigger: str) -> None:
    if not records:
        return
    if not _fast():
        CreditScore.objects.bulk_create(
            [CreditScore(customer_id=customer_id, computed_at=now, as_of=as_of,
                         policy_version=version, trigger=trigger, **values)
             for customer_id, values in records], batch_size=1000)
        return
    ops = connection.ops
    quote = ops.quote_name
    table = quote(CreditScore._meta.db_table)
    columns = ", ".join(quote(name) for name in SCORE_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            rows = _score_rows(records, now=now, as_of=as_of, version=version,
                               trigger=trigger, money=lambda value: value)
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        rows = _score_rows(records, now=ops.adapt_datetimefield_value(now),
                           as_of=ops.adapt_datefield_value(as_of), version=version,
                           trigger=trigger,
                           money=lambda value: ops.adapt_decimalfield_value(value, 16, 2))
        marks = ", ".join(["%s"] * len(SCORE_COLUMNS))
        # Identifiers come from the model's metadata; every value is a parameter.
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608
                           rows)


def _write_standings(rows: Sequence[Standing]) -> None:
    """The scoring fields of many standing rows, in few statements."""
    if not rows:
        return
    if not _fast():
        Standing.objects.bulk_update(rows, STANDING_FIELDS, batch_size=500)
    elif connection.vendor == "postgresql":
        _update_from_copy(rows)
    else:
        _update_from_values(rows)


def _standing_columns() -> tuple[Any, list[Any], str]:
    quote = connection.ops.quote_name
    fields = [Standing._meta.get_field(name) for name in STANDING_FIELDS]
    key = Standing._meta.pk.column  # type: ignore[union-attr]
    return quote, fields, key


def _update_from_copy(rows: Sequence[Standing]) -> None:
    """PostgreSQL: COPY the new values into a session's temporary table, then one UPDATE."""
    _quote, fields, _key = _standing_columns()
    sql.update_rows(Standing, "customer", [field.attname for field in fields],
                    ([row.pk, *[getattr(row, field.attname) for field in fields]]
                     for row in rows))


def _update_from_values(rows: Sequence[Standing], chunk: int = 500) -> None:
    """SQLite: UPDATE … FROM (VALUES …), one statement per `chunk` rows matched by key."""
    quote, fields, key = _standing_columns()
    table = quote(Standing._meta.db_table)
    names = ", ".join(["k", *[f"c{i}" for i in range(len(fields))]])
    assignments = ", ".join(f"{quote(field.column)} = v.c{i}" for i, field in enumerate(fields))
    row_sql = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            params: list[Any] = []
            for row in part:
                params.append(row.pk)
                params.extend(field.get_db_prep_save(getattr(row, field.attname), connection)
                              for field in fields)
            # Identifiers come from the model's metadata; every value is a parameter.
            cursor.execute(f"WITH v({names}) AS (VALUES {', '.join([row_sql] * len(part))}) "  # noqa: S608
                           f"UPDATE {table} SET {assignments} FROM v "
                           f"WHERE {table}.{quote(key)} = v.k", params)


def rescore_customer(actor: Actor, customer: Customer, *,
                     trigger: str = CreditScore.Trigger.FACT) -> CreditScore:
    """Score one customer now (after a fact that feeds the score, or on request)."""
    rescore_customers(actor, [customer.pk], trigger=trigger)
    latest = latest_score(customer.pk)
    if latest is None:
        raise ValidationFailed(_("the customer could not be scored"), field="customer")
    return latest


def latest_score(customer_id: int) -> CreditScore | None:
    return (CreditScore.objects.filter(customer_id=customer_id)
            .order_by("-computed_at", "-pk").first())


def latest_scores(ids: Sequence[int]) -> Mapping[int, CreditScore]:
    """The latest score record of each customer, in one query."""
    newest = (CreditScore.objects.filter(customer_id=OuterRef("customer_id"))
              .order_by("-computed_at", "-pk").values("pk")[:1])
    return {s.customer_id: s for s in CreditScore.objects.filter(
        customer_id__in=ids, pk=Subquery(newest))}
