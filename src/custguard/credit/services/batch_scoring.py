"""Rescoring many customers at once (`custguard rescore`, the nightly job): the same decisions
as `scoring.rescore_customers`, at the cost of a few table scans.

For each chunk of customers (a key range, one transaction):

1. the standing rows are locked and read with their customer's scale band (one query);
2. the scoring facts come from two `GROUP BY customer` aggregates written out in SQL, one over
   the invoices and one over the orders (the cancellations are counted in the same pass
   over the orders, through the row each one cancels), plus the few confirmed violations and
   active overrides;
3. the pure `policy.credit.assess` decides, customer by customer, exactly as for one customer;
4. the score records are written in bulk, the standing rows whose values changed in bulk, the
   scoring time of all of them with one UPDATE, and one audit entry per customer whose grade,
   limit or terms changed (`audit.record_many`: one lock of the chain's head per chunk).

The statements read the invoices as they stand now, which is what a score of today needs. A
score as of a past day rebuilds the invoices' state from their allocations: that takes
`scoring.collect_facts`, which this module then uses for the facts instead.

`scoring.py` keeps the path of one customer (after a fact, on request); this module calls down
into it for the shared pieces (effective terms, what a record holds, the bulk writers) and is
never imported by it. `credit/tests/test_batch_scoring.py` checks that both paths give the
same records and standing rows.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused, ValidationFailed
from custguard.core.services import audit
from custguard.core.services.policies import policy_in_force
from custguard.core.sql import column, date_value, money, table, update_rows
from custguard.credit.models import CreditOverride, CreditScore
from custguard.credit.services import scoring
from custguard.customers.models import Customer, Standing
from custguard.ledger.models import Invoice, Order
from custguard.policy.codes import ScaleBand
from custguard.policy.credit import CreditAssessment, CreditFacts, assess
from custguard.policy.decisions import Reason
from custguard.policy.schema import PolicyDocument

CHUNK = 5000
NO_SALES = Decimal("0.00")  # what scoring.collect_facts gives a customer without invoices
# The standing columns a rescoring may change, besides the scoring time (set for every
# customer scored with one statement per chunk).
CHANGING = ["score", "grade", "credit_limit", "payment_terms_days", "prepay_only",
            "limit_overridden", "terms_overridden", "next_review_on"]


@dataclass(frozen=True)
class _Standing:
    """What a rescoring reads of a standing row."""

    customer_id: int
    scale: ScaleBand
    values: dict[str, Any]  # the CHANGING columns
    penalties: scoring.StandingTerms


def rescore(actor: Actor, customer_ids: Sequence[int] | None = None, *,
            trigger: str = CreditScore.Trigger.BATCH, as_of: dt.date | None = None,
            progress: Callable[[int], None] | None = None,
            chunk_size: int = CHUNK) -> scoring.RescoreResult:
    """A person's or the scheduler's request to rescore customers (all when None)."""
    if not actor.can("credit.rescore"):
        raise PermissionRefused(_("your role may not rescore customers"))
    return rescore_customers(actor, customer_ids, trigger=trigger, as_of=as_of,
                             progress=progress, chunk_size=chunk_size)


def rescore_customers(actor: Actor, ids: Sequence[int] | None, *, trigger: str,
                      as_of: dt.date | None = None,
                      progress: Callable[[int], None] | None = None,
                      chunk_size: int = CHUNK) -> scoring.RescoreResult:
    """Score the customers (every customer when `ids` is None) under the policy in force,
    chunk by chunk, each chunk in its own transaction (or in the caller's). The caller has
    already been authorised for what triggered it."""
    if trigger not in CreditScore.Trigger.values:
        raise ValidationFailed(_("unknown trigger %(trigger)s") % {"trigger": trigger},
                               field="trigger")
    version, policy = policy_in_force()
    as_of = as_of or clock.today()
    if ids is None:
        ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    else:
        ids = sorted(set(ids))
    scored = changed = 0
    for chunk in _chunks(ids, chunk_size):
        with transaction.atomic():
            done, moved = _rescore_chunk(actor, chunk, policy, version, as_of, trigger)
        scored += done
        changed += moved
        if progress:
            progress(len(chunk))
    return scoring.RescoreResult(scored=scored, changed=changed, policy_version=version)


def _chunks(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


# --- reading --------------------------------------------------------------------------------


class _Keys:
    """The WHERE on the customer key of one chunk: one range when the chunk holds every key
    in it (a run over all customers), else the list of keys."""

    def __init__(self, ids: Sequence[int], dense: bool) -> None:
        self.ids = ids
        self.dense = dense

    def where(self, qualified: str) -> tuple[str, list[Any]]:
        if self.dense:
            return f"{qualified} BETWEEN %s AND %s", [self.ids[0], self.ids[-1]]
        return f"{qualified} IN ({', '.join(['%s'] * len(self.ids))})", list(self.ids)


def _read_standings(ids: Sequence[int]) -> tuple[dict[int, _Standing], _Keys]:
    """Lock the chunk's standing rows (in key order, as every writer does) and read them with
    their customer's scale band. Read as one key range; rows of customers between the keys
    that were not asked for are left alone (and the chunk is then addressed by its keys)."""
    s, c = table(Standing), table(Customer)
    key = column(Standing, "customer")
    columns = ", ".join(f"s.{column(Standing, name)}" for name in CHANGING)
    lock = " FOR UPDATE OF s" if connection.features.has_select_for_update_of else ""
    # Identifiers come from the models' metadata; every value is a parameter.
    sql = (f"SELECT s.{key}, c.{column(Customer, 'scale_band')}, {columns}, "  # noqa: S608
           f"s.{column(Standing, 'penalty_prepay_only')}, "
           f"s.{column(Standing, 'penalty_limit_percent')}, "
           f"s.{column(Standing, 'payment_term_bonus_days')}, "
           f"s.{column(Standing, 'tier_term_bonus_days')} "
           f"FROM {s} s JOIN {c} c ON c.{connection.ops.quote_name('id')} = s.{key} "
           f"WHERE s.{key} BETWEEN %s AND %s ORDER BY s.{key}{lock}")
    wanted = set(ids)
    rows: dict[int, _Standing] = {}
    seen = 0
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids[0], ids[-1]])
        for row in cursor.fetchall():
            seen += 1
            if row[0] not in wanted:
                continue
            (score, grade, limit, terms, prepay, limit_over, terms_over, review) = row[2:10]
            rows[row[0]] = _Standing(
                customer_id=row[0], scale=ScaleBand(row[1].upper()),
                values={"score": score, "grade": grade, "credit_limit": money(limit),
                        "payment_terms_days": terms, "prepay_only": bool(prepay),
                        "limit_overridden": bool(limit_over),
                        "terms_overridden": bool(terms_over),
                        "next_review_on": date_value(review)},
                penalties=scoring.StandingTerms(prepay_only=bool(row[10]),
                                                limit_percent=money(row[11]),
                                                term_bonus_days=row[12] + row[13]))
    return rows, _Keys(ids, dense=seen == len(ids) == len(rows))


def _days(later: str, earlier: str) -> str:
    """SQL: whole days from the date `earlier` to the date `later`."""
    if connection.vendor == "sqlite":
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
    return f"({later} - {earlier})"


def _month(value: str) -> str:
    """SQL: the calendar month of a date, as one comparable value."""
    if connection.vendor == "sqlite":
        return f"substr({value}, 1, 7)"  # dates are ISO text
    return f"date_trunc('month', {value})"


def _invoice_facts(keys: _Keys, as_of: dt.date, start: dt.date) -> dict[int, dict[str, Any]]:
    """The invoice factors of CreditFacts (see its docstring) per customer, and the 12-month
    invoiced and credited amounts, in one pass over the chunk's invoices."""
    kind, due, settled, amount, open_ = (column(Invoice, name) for name in (
        "kind", "due_on", "settled_on", "amount", "open_amount"))
    issued = column(Invoice, "issued_on")
    is_invoice = f"{kind} = %s"
    in_window = f"{is_invoice} AND {due} > %s AND {due} <= %s"
    late = f"COALESCE({settled}, %s) > {due}"
    dpd = _days(f"COALESCE({settled}, %s)", due)
    where, key_params = keys.where(column(Invoice, "customer"))
    inv, note = Invoice.Kind.INVOICE.value, Invoice.Kind.CREDIT_NOTE.value
    d = connection.ops.adapt_datefield_value
    day, first = d(as_of), d(start)
    least = scoring.OPEN_AT_LEAST
    selects = [
        (f"COUNT(*) FILTER (WHERE {in_window})", [inv, first, day]),
        (f"COUNT(*) FILTER (WHERE {in_window} AND {settled} IS NOT NULL "
         f"AND {settled} <= {due})", [inv, first, day]),
        # Negative days past due count as 0: the maximum is floored in Python, and a sum
        # leaves out the invoices paid by their due date.
        (f"MAX({dpd}) FILTER (WHERE {is_invoice} AND {due} <= %s AND ({due} > %s "
         f"OR {settled} IS NULL OR {settled} > %s))", [day, inv, day, first, first]),
        (f"SUM({amount} * {dpd}) FILTER (WHERE {in_window} AND {late})",
         [day, inv, first, day, day]),
        (f"SUM({amount}) FILTER (WHERE {in_window})", [inv, first, day]),
        (f"SUM({open_}) FILTER (WHERE {is_invoice} AND {open_} >= %s)", [inv, least]),
        (f"SUM({open_}) FILTER (WHERE {is_invoice} AND {open_} >= %s AND {due} < %s)",
         [inv, least, day]),
        (f"SUM({amount}) FILTER (WHERE {is_invoice} AND {due} > %s)", [inv, day]),
        (f"SUM({amount}) FILTER (WHERE {is_invoice} AND {issued} > %s)", [inv, first]),
        (f"SUM({amount}) FILTER (WHERE {kind} = %s AND {issued} > %s)", [note, first]),
    ]
    params: list[Any] = [value for _sql, values in selects for value in values]
    customer = column(Invoice, "customer")
    # Identifiers come from the model's metadata; every value is a parameter.
    sql = (f"SELECT {customer}, {', '.join(s for s, _values in selects)} "  # noqa: S608
           f"FROM {table(Invoice)} WHERE {where} AND {issued} <= %s GROUP BY {customer}")
    out: dict[int, dict[str, Any]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *key_params, day])
        for (customer_id, due_n, on_time, max_dpd, amount_dpd, amount_due, open_r, overdue,
             not_due, invoiced, credited) in cursor.fetchall():
            out[customer_id] = _present(
                invoices_due_12m=due_n, invoices_paid_on_time_12m=on_time,
                max_days_past_due_12m=max(0, max_dpd) if max_dpd is not None else None,
                amount_days_past_due_12m=amount_dpd, amount_due_12m=amount_due,
                open_receivable=open_r, overdue_receivable=overdue,
                amount_not_yet_due=not_due) | {
                "sales_12m": money(invoiced) - money(credited)}
    return out


_INTS = {"invoices_due_12m", "invoices_paid_on_time_12m", "max_days_past_due_12m",
         "order_months_12m", "orders_12m", "cancelled_orders_12m"}


def _present(**values: Any) -> dict[str, Any]:
    """The values the database gave (an aggregate over no rows leaves the CreditFacts
    default, as in `scoring.collect_facts`), typed."""
    return {name: int(value) if name in _INTS else
            date_value(value) if name == "first_order_on" else money(value)
            for name, value in values.items() if value is not None}


def _order_facts(keys: _Keys, as_of: dt.date, start: dt.date) -> dict[int, dict[str, Any]]:
    """The order factors per customer, and the orders of the window cancelled by `as_of`,
    in one pass over the chunk's orders (a cancellation looks up the order it cancels)."""
    kind, on, amount = (f"o.{column(Order, name)}" for name in ("kind", "ordered_on", "amount"))
    customer = f"o.{column(Order, 'customer')}"
    where, key_params = keys.where(customer)
    d = connection.ops.adapt_datefield_value
    day, first = d(as_of), d(start)
    order, cancel = Order.Kind.ORDER.value, Order.Kind.CANCELLATION.value
    recent = f"{kind} = %s AND {on} > %s"
    cancelled = f"c.{column(Order, 'ordered_on')}"
    # Identifiers come from the model's metadata; every value is a parameter.
    sql = (f"SELECT {customer}, MIN({on}) FILTER (WHERE {kind} = %s), "  # noqa: S608
           f"SUM({amount}) FILTER (WHERE {recent}), "
           f"COUNT(DISTINCT {_month(on)}) FILTER (WHERE {recent}), "
           f"COUNT(*) FILTER (WHERE {recent}), "
           f"COUNT(*) FILTER (WHERE {kind} = %s AND {cancelled} > %s AND {cancelled} <= %s) "
           f"FROM {table(Order)} o LEFT JOIN {table(Order)} c "
           f"ON c.{connection.ops.quote_name('id')} = o.{column(Order, 'cancels')} "
           f"WHERE {where} AND {on} <= %s GROUP BY {customer}")
    params = [order, order, first, order, first, order, first, cancel, first, day,
              *key_params, day]
    out: dict[int, dict[str, Any]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for customer_id, first_on, amount_12m, months, orders, cancellations in (
                cursor.fetchall()):
            out[customer_id] = _present(
                first_order_on=first_on, order_amount_12m=amount_12m,
                order_months_12m=months, orders_12m=orders,
                cancelled_orders_12m=cancellations)
    return out


def collect_facts(as_of: dt.date, ids: Sequence[int], policy: PolicyDocument,
                  keys: _Keys | None = None) -> dict[int, CreditFacts]:
    """CreditFacts of these customers (sorted keys) as of today, set-based; the same values
    as `scoring.collect_facts` gives."""
    if as_of < clock.today():
        return scoring.collect_facts(as_of, ids, policy=policy)
    keys = keys or _Keys(ids, dense=False)
    start = as_of - dt.timedelta(days=scoring.WINDOW_DAYS)
    invoices = _invoice_facts(keys, as_of, start)
    orders = _order_facts(keys, as_of, start)
    # Few rows (the recent confirmed cases), through the ORM as for one customer.
    violations = scoring._violation_points(policy, as_of, ids)
    facts: dict[int, CreditFacts] = {}
    for customer_id in ids:
        values = {"sales_12m": NO_SALES} | invoices.get(customer_id, {}) | orders.get(
            customer_id, {})
        if customer_id in violations:
            values["violation_points_weighted"] = violations[customer_id]
        facts[customer_id] = CreditFacts(as_of=as_of, **values)
    return facts


# --- deciding and writing -------------------------------------------------------------------


def _rescore_chunk(actor: Actor, ids: Sequence[int], policy: PolicyDocument, version: int,
                   as_of: dt.date, trigger: str) -> tuple[int, int]:
    # The standing rows are locked first, then what the scoring depends on is read: an
    # override or a fact that commits meanwhile waits for this chunk, or is seen by it.
    standings, keys = _read_standings(ids)
    if not standings:
        return 0, 0
    scored_ids = list(standings)
    overrides = {o.customer_id: o for o in CreditOverride.objects.filter(
        customer_id__in=scored_ids, status=CreditOverride.Status.ACTIVE)}
    facts = collect_facts(as_of, scored_ids, policy, keys)
    now = clock.now()
    records: list[tuple[Any, ...]] = []
    texts = _Texts()
    changed: list[tuple[int, dict[str, Any]]] = []
    pending: list[audit.PendingEntry] = []
    for customer_id, standing in standings.items():
        assessment = assess(policy, facts[customer_id], standing.scale)
        records.append(texts.record(customer_id, assessment))
        before = standing.values
        after = scoring.effective_terms(scoring.ComputedTerms.of(assessment),
                                        overrides.get(customer_id), standing.penalties)
        after.update(score=assessment.score.score, grade=assessment.grade.value)
        review_by = as_of + dt.timedelta(days=assessment.review_interval_days)
        review = before["next_review_on"]
        after["next_review_on"] = review_by if review is None or review_by < review else review
        if any(after[name] != before[name] for name in CHANGING):
            changed.append((customer_id, after))
        diff = [name for name in scoring.AUDITED if before[name] != after[name]]
        if diff:
            pending.append(audit.PendingEntry(
                action="credit.rescore", object_type="customers.standing",
                object_id=customer_id, customer_id=customer_id,
                before={name: before[name] for name in diff} | {"score": before["score"]},
                after={name: after[name] for name in diff}
                | {"score": after["score"], "policy_version": version},
                reason=trigger))
    _write_scores(records, now=now, as_of=as_of, version=version, trigger=trigger)
    _write_changes(changed)
    _mark_scored(keys if len(scored_ids) == len(ids) else _Keys(scored_ids, dense=False),
                 version=version, now=now)
    if pending:
        audit.record_many(actor, pending)
    return len(records), len(pending)


class _Texts:
    """A score record's JSON columns as `scoring.score_values` and `json.dumps` write them,
    with the text of each reason and of each set of factor points made once: the scorecard
    hands out the same reason object for the same factor and value (see
    `policy.decisions.score_factor`)."""

    def __init__(self) -> None:
        self.reasons: dict[int, tuple[Reason, str]] = {}
        self.points: dict[tuple[tuple[str, int], ...], str] = {}

    def reason(self, reason: Reason) -> str:
        known = self.reasons.get(id(reason))
        if known is not None and known[0] is reason:
            return known[1]
        text = json.dumps(reason.as_dict(), ensure_ascii=False)
        self.reasons[id(reason)] = (reason, text)  # held, so its id is not reused
        return text

    def record(self, customer_id: int, assessment: CreditAssessment) -> tuple[Any, ...]:
        """customer_id, then the SCORE_COLUMNS from score onwards."""
        result = assessment.score
        points_key = tuple(result.factor_points.items())
        points = self.points.get(points_key)
        if points is None:
            points = self.points[points_key] = json.dumps(dict(points_key))
        return (customer_id, result.score, result.grade.value,
                json.dumps({k: (format(v, "f") if v is not None else None)
                            for k, v in assessment.factor_values.items()}),
                points,
                "[" + ", ".join(self.reason(r) for r in result.reasons) + "]",
                assessment.credit_limit, assessment.payment_terms_days, assessment.prepay_only,
                json.dumps([r.as_dict() for r in assessment.limit_reasons],
                           ensure_ascii=False))


def _write_scores(records: Sequence[tuple[Any, ...]], *, now: dt.datetime, as_of: dt.date,
                  version: int, trigger: str) -> None:
    """The score records (`_Texts.record` rows): COPY on PostgreSQL, one prepared INSERT run
    for every record on SQLite (as `scoring` writes them)."""
    if not records:
        return
    ops = connection.ops
    columns = ", ".join(ops.quote_name(name) for name in scoring.SCORE_COLUMNS)
    target = table(CreditScore)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
                for row in records:
                    copy.write_row((row[0], now, as_of, version, trigger, *row[1:]))
            return
        stamp, day = ops.adapt_datetimefield_value(now), ops.adapt_datefield_value(as_of)
        marks = ", ".join(["%s"] * len(scoring.SCORE_COLUMNS))
        # Identifiers come from the model's metadata; every value is a parameter.
        cursor.executemany(f"INSERT INTO {target} ({columns}) VALUES ({marks})",  # noqa: S608
                           [(row[0], stamp, day, version, trigger, *row[1:6],
                             ops.adapt_decimalfield_value(row[6], 16, 2), *row[7:])
                            for row in records])


def _write_changes(rows: Sequence[tuple[int, dict[str, Any]]]) -> None:
    """The CHANGING columns of the standing rows whose values moved, in few statements:
    PostgreSQL COPYs them into a temporary table and UPDATEs from it; SQLite runs
    UPDATE … FROM (VALUES …) over a few hundred rows at a time."""
    if not rows:
        return
    quote = connection.ops.quote_name
    fields = [Standing._meta.get_field(name) for name in CHANGING]
    key = column(Standing, "customer")
    target = table(Standing)
    if connection.vendor == "postgresql":
        update_rows(Standing, "customer", [field.attname for field in fields],
                        ([customer_id, *[values[name] for name in CHANGING]]
                         for customer_id, values in rows))
        return
    with connection.cursor() as cursor:
        ops = connection.ops
        aliases = ", ".join(["k", *[f"c{i}" for i in range(len(fields))]])
        assignments = ", ".join(f"{quote(f.column)} = v.c{i}" for i, f in enumerate(fields))
        row_sql = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
        adapt = {"credit_limit": lambda v: ops.adapt_decimalfield_value(v, 16, 2),
                 "next_review_on": ops.adapt_datefield_value}
        chunk = 500
        for first in range(0, len(rows), chunk):
            part = rows[first:first + chunk]
            params: list[Any] = []
            for customer_id, values in part:
                params.append(customer_id)
                params.extend(adapt[name](values[name]) if name in adapt else values[name]
                              for name in CHANGING)
            # Identifiers come from the model's metadata; every value is a parameter.
            cursor.execute(f"WITH v({aliases}) AS (VALUES {', '.join([row_sql] * len(part))}) "  # noqa: S608
                           f"UPDATE {target} SET {assignments} FROM v "
                           f"WHERE {target}.{key} = v.k", params)


def _mark_scored(keys: _Keys, *, version: int, now: dt.datetime) -> None:
    """The policy version and scoring time of every standing row of the chunk, at once."""
    ops = connection.ops
    where, params = keys.where(column(Standing, "customer"))
    sets = ", ".join(f"{column(Standing, name)} = %s"
                     for name in ("policy_version", "scored_at", "updated_at"))
    stamp = ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        # Identifiers come from the model's metadata; every value is a parameter.
        cursor.execute(f"UPDATE {table(Standing)} SET {sets} WHERE {where}",  # noqa: S608
                       [version, stamp, stamp, *params])
