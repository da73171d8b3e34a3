"""Benchmark batch rescoring against a single GROUP BY over the invoice table.

    .venv/bin/python bench/rescore.py [--full | --customers N --invoices N]
                                      [--database-url postgresql://...] [--compare-writers]
                                      [--compare-scoring-path]

The default size (10,000 customers, 500,000 invoices) keeps a run on each engine under about a
minute; `--full` is the size of the target (100,000 customers, 5,000,000 invoices: about five
minutes of loading per engine). The ratio (rescore seconds / GROUP BY seconds) stays about the
same across sizes, as both grow with the facts.

Sets up a fresh database (SQLite in a temporary directory by default; with a PostgreSQL URL, a
scratch database created next to the one named and dropped afterwards), migrates it, publishes
the default policy, and bulk-loads deterministic data straight into the tables: customers with
their standing rows, and for each invoice its order (with a few cancelled extra orders), its
payment and allocation when paid by today — open_amount, settled_on and the standing counters
consistent with them. Payment behaviour varies by customer (prompt, slow, late, delinquent,
new), so the scores spread over the grades.

Then it times, in the same database:
  1. SELECT customer_id, COUNT(*), SUM(amount) FROM ledger_invoice GROUP BY customer_id
  2. the two fact aggregates the rescoring reads (invoices and orders, chunk by chunk), alone:
     the floor of any rescoring that reads these facts, before scoring or writing anything
  3. rescoring every customer (what `custguard rescore --all` does): a first run, where every
     standing changes (and is audited), and a second, nightly-like run where almost none do.
`custguard rescore` runs `credit.services.batch_scoring`; each line ends with the ratio, the
figure the target is judged by (<= 3). With --compare-scoring-path, the first run is repeated
with `scoring.rescore` (one customer's path: ORM aggregates per batch of 2,000, model
instances), in the same database, for the before/after. With --compare-writers, the first run
is repeated with Django's bulk_create / bulk_update for the score records and standing rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from import_customers import drop_postgres, scratch_postgres  # noqa: E402

CENT = Decimal("0.01")
HISTORY_DAYS = 730
CHUNK_CUSTOMERS = 2000
# profile: (share of customers, days late: (low, high), share of invoices never paid)
PROFILES = [
    ("prompt", 0.30, (-10, 0), 0.0),
    ("slow", 0.30, (-5, 20), 0.0),
    ("late", 0.20, (10, 75), 0.01),
    ("delinquent", 0.10, (40, 200), 0.12),
    ("new", 0.10, (-5, 10), 0.0),
]
SCALES = ["micro", "small", "small", "medium", "medium", "large"]

CUSTOMER_COLUMNS = ["id", "code", "name", "kind", "industry", "region_id", "serial",
                    "scale_band", "account_manager_id", "department", "value_tier", "status",
                    "group_id", "phone", "id_number", "address", "notes", "created_at",
                    "updated_at"]
STANDING_COLUMNS = ["customer_id", "score", "grade", "credit_limit", "posted", "reserved",
                    "overdue_amount", "oldest_open_due_on", "prepay_only", "order_blocked",
                    "service_suspended", "blacklisted", "policy_version", "updated_at",
                    "status", "points_balance", "payment_terms_days", "limit_overridden",
                    "terms_overridden", "scored_at", "next_review_on",
                    "penalty_prepay_only", "penalty_limit_percent", "points_frozen",
                    "abc_class", "priority_allocation", "payment_term_bonus_days",
                    "tier", "tier_term_bonus_days", "value_segment"]
ORDER_COLUMNS = ["id", "source", "external_id", "number", "amount", "recorded_at",
                 "recorded_by", "customer_id", "kind", "ordered_on", "cancels_id"]
INVOICE_COLUMNS = ["id", "source", "external_id", "number", "amount", "recorded_at",
                   "recorded_by", "customer_id", "kind", "issued_on", "due_on", "corrects_id",
                   "order_source", "order_external_id", "open_amount", "settled_on"]
PAYMENT_COLUMNS = ["id", "source", "external_id", "number", "amount", "recorded_at",
                   "recorded_by", "customer_id", "kind", "received_on", "reverses_id",
                   "unapplied_amount"]
ALLOCATION_COLUMNS = ["id", "invoice_id", "payment_id", "credit_note_id", "amount",
                      "applied_on"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=500_000)
    parser.add_argument("--full", action="store_true",
                        help="the target's size: 100,000 customers, 5,000,000 invoices")
    parser.add_argument("--database-url", default=None,
                        help="postgresql://... to benchmark PostgreSQL (a scratch database is "
                             "created and dropped); default: SQLite in a temporary directory")
    parser.add_argument("--seed", type=int, default=20250630)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="customers per rescoring chunk (default: the service's)")
    parser.add_argument("--compare-scoring-path", action="store_true",
                        help="also time the first run through scoring.rescore")
    parser.add_argument("--compare-writers", action="store_true",
                        help="also time the first run with Django's bulk writes")
    parser.add_argument("--keep", action="store_true",
                        help="keep the database (its path or URL is printed)")
    args = parser.parse_args()
    if args.full:
        args.customers, args.invoices = 100_000, 5_000_000
    return args


def main() -> int:
    args = parse_args()
    workdir = tempfile.mkdtemp(prefix="cg-bench-rescore-")
    os.environ["CUSTGUARD_DATA_DIR"] = workdir
    os.environ.setdefault("CUSTGUARD_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("CUSTGUARD_AUDIT_KEY", secrets.token_urlsafe(32))
    os.environ["CUSTGUARD_DEBUG"] = "false"  # DEBUG keeps every query in memory
    os.environ["DJANGO_SETTINGS_MODULE"] = "custguard.settings"
    scratch: tuple[str, str, str] | None = None
    if args.database_url:
        scratch = scratch_postgres(args.database_url)
        os.environ["CUSTGUARD_DATABASE_URL"] = scratch[2]
    else:
        os.environ["CUSTGUARD_DATABASE_URL"] = "sqlite:///bench.sqlite3"
    try:
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if scratch is not None and not args.keep:
            drop_postgres(scratch[0], scratch[1])
        elif scratch is not None:
            print(f"kept {scratch[2]}")
        if not args.keep:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
        elif scratch is None:
            print(f"kept {workdir}")


# --- data -------------------------------------------------------------------------------------


def _money(cents: int) -> Decimal:
    return (Decimal(cents) * CENT).quantize(CENT)


def _profile(rng: random.Random) -> tuple[str, tuple[int, int], float]:
    roll, total = rng.random(), 0.0
    for name, share, late, unpaid in PROFILES:
        total += share
        if roll < total:
            return name, late, unpaid
    name, _share, late, unpaid = PROFILES[-1]
    return name, late, unpaid


class Generator:
    """Deterministic rows, chunk by chunk, with explicit keys so that allocations can refer
    to their invoice and payment without a round trip."""

    def __init__(self, args: argparse.Namespace, regions: Sequence[str], today: dt.date,
                 now: dt.datetime) -> None:
        self.rng = random.Random(args.seed)
        self.customers, self.invoices = args.customers, args.invoices
        self.regions, self.today, self.now = regions, today, now
        self.ids = {"order": 0, "invoice": 0, "payment": 0, "allocation": 0}
        self.serials: dict[str, int] = {}

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def invoices_of(self, index: int) -> int:
        base, extra = divmod(self.invoices, self.customers)
        return base + (1 if index < extra else 0)

    def chunk(self, first: int, last: int) -> dict[str, list[tuple[Any, ...]]]:
        rows: dict[str, list[tuple[Any, ...]]] = {
            "customer": [], "standing": [], "order": [], "invoice": [], "payment": [],
            "allocation": []}
        for index in range(first, last):
            self.customer(index, rows)
        return rows

    def customer(self, index: int, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        rng, now, today = self.rng, self.now, self.today
        pk = index + 1
        region = self.regions[index % len(self.regions)]
        serial = self.serials[region] = self.serials.get(region, 0) + 1
        profile, (late_low, late_high), unpaid_share = _profile(rng)
        rows["customer"].append((
            pk, f"{region}{serial:03d}", f"基准客户{pk}", "enterprise", "C", region, serial,
            rng.choice(SCALES), None, "", "general", "active", None, "", "", "", "", now, now))
        count = self.invoices_of(index)
        span = 150 if profile == "new" else HISTORY_DAYS
        typical = rng.randint(5_000_00, 200_000_00)  # cents
        terms = rng.choice([30, 30, 45, 60])
        posted = overdue = Decimal("0.00")
        oldest: dt.date | None = None
        for _n in range(count):
            issued = today - dt.timedelta(days=rng.randint(0, span))
            due = issued + dt.timedelta(days=terms)
            amount = _money(max(100, int(typical * rng.uniform(0.3, 1.7))))
            order_id, invoice_id = self.next_id("order"), self.next_id("invoice")
            ordered_on = issued - dt.timedelta(days=rng.randint(0, 7))
            rows["order"].append((order_id, "bench", f"O{order_id}", "", amount, now, "bench",
                                  pk, "order", ordered_on, None))
            if rng.random() < 0.01:  # an order that was cancelled before it was invoiced
                extra, cancel = self.next_id("order"), self.next_id("order")
                rows["order"].append((extra, "bench", f"O{extra}", "", amount, now, "bench",
                                      pk, "order", ordered_on, None))
                rows["order"].append((cancel, "bench", f"O{cancel}", "", amount, now,
                                      "bench", pk, "cancellation",
                                      min(today, ordered_on + dt.timedelta(days=2)), extra))
            paid_on = None if rng.random() < unpaid_share else due + dt.timedelta(
                days=rng.randint(late_low, late_high))
            if paid_on is not None and paid_on < issued:
                paid_on = issued
            if paid_on is not None and paid_on <= today:
                payment_id = self.next_id("payment")
                rows["payment"].append((payment_id, "bench", f"P{payment_id}", "", amount,
                                        now, "bench", pk, "payment", paid_on, None,
                                        Decimal("0.00")))
                rows["allocation"].append((self.next_id("allocation"), invoice_id,
                                           payment_id, None, amount, paid_on))
                open_amount, settled = Decimal("0.00"), paid_on
            else:
                open_amount, settled = amount, None
                posted += amount
                if due < today:
                    overdue += amount
                oldest = due if oldest is None or due < oldest else oldest
            rows["invoice"].append((invoice_id, "bench", f"I{invoice_id}", "", amount, now,
                                    "bench", pk, "invoice", issued, due, None, "bench",
                                    f"O{order_id}", open_amount, settled))
        rows["standing"].append((pk, None, "", Decimal("0.00"), posted, Decimal("0.00"),
                                 overdue, oldest, False, False, False, False, None, now,
                                 "active", 0, 0, False, False, None, None,
                                 False, Decimal("100.00"), False, "", False, 0, "", 0, ""))


def insert(connection: Any, table: str, columns: Sequence[str],
           rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        raw = connection.connection
        with raw.cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    placeholders = ", ".join(["?"] * len(columns))
    raw = connection.connection
    raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
                    [_sqlite_row(row) for row in rows])


def _sqlite_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(str(v) if isinstance(v, Decimal) else
                 v.isoformat(sep=" ") if isinstance(v, dt.datetime) else
                 v.isoformat() if isinstance(v, dt.date) else v for v in row)


def load(args: argparse.Namespace) -> dict[str, int]:
    from django.db import connection, transaction

    from custguard.core import clock
    from custguard.customers.models import Region

    regions = list(Region.objects.filter(parent__isnull=False).order_by("code")
                   .values_list("code", flat=True))
    needed = -(-args.customers // 990)
    if needed > len(regions):
        raise SystemExit(f"{args.customers} customers need {needed} regions; "
                         f"the table has {len(regions)}")
    generator = Generator(args, regions[:max(needed, 1)], clock.today(), clock.now())
    counts = dict.fromkeys(["customer", "standing", "order", "invoice", "payment",
                            "allocation"], 0)
    tables = [("customer", "customers_customer", CUSTOMER_COLUMNS),
              ("standing", "customers_standing", STANDING_COLUMNS),
              ("order", "ledger_order", ORDER_COLUMNS),
              ("invoice", "ledger_invoice", INVOICE_COLUMNS),
              ("payment", "ledger_payment", PAYMENT_COLUMNS),
              ("allocation", "ledger_allocation", ALLOCATION_COLUMNS)]
    connection.ensure_connection()
    for first in range(0, args.customers, CHUNK_CUSTOMERS):
        rows = generator.chunk(first, min(args.customers, first + CHUNK_CUSTOMERS))
        with transaction.atomic():
            for key, table, columns in tables:
                insert(connection, table, columns, rows[key])
                counts[key] += len(rows[key])
        done = min(args.customers, first + CHUNK_CUSTOMERS)
        print(f"\r  loaded {done:,} / {args.customers:,} customers", end="", file=sys.stderr)
    print(file=sys.stderr)
    with transaction.atomic():
        for region, serial in generator.serials.items():
            Region.objects.filter(pk=region).update(last_serial=serial)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for _key, table, _columns in tables:
                if table != "customers_standing":
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return counts


# --- timing -----------------------------------------------------------------------------------


def time_group_by() -> tuple[float, int]:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT customer_id, COUNT(*), SUM(amount) FROM ledger_invoice "
                       "GROUP BY customer_id")
        rows = cursor.fetchall()
    return time.perf_counter() - started, len(rows)


def time_fact_reads(ids: list[int], chunk_size: int) -> float:
    """Only the two fact aggregates the rescoring runs (invoices, orders), chunk by chunk over
    every customer: the floor of the rescoring's own reads, with no scoring and no writes."""
    import datetime as dt

    from custguard.core import clock
    from custguard.credit.services import batch_scoring, scoring

    as_of = clock.today()
    start = as_of - dt.timedelta(days=scoring.WINDOW_DAYS)
    started = time.perf_counter()
    for first in range(0, len(ids), chunk_size):
        keys = batch_scoring._Keys(ids[first:first + chunk_size], dense=True)
        batch_scoring._invoice_facts(keys, as_of, start)
        batch_scoring._order_facts(keys, as_of, start)
    return time.perf_counter() - started


def time_rescore(ids: list[int], batch_size: int | None,
                 path: str = "batch") -> tuple[float, Any]:
    from custguard.core.actors import Actor
    from custguard.credit.models import CreditScore
    from custguard.credit.services import batch_scoring, scoring

    started = time.perf_counter()
    if path == "batch":
        result = batch_scoring.rescore(Actor.job("bench"), ids,
                                       trigger=CreditScore.Trigger.BATCH,
                                       chunk_size=batch_size or batch_scoring.CHUNK)
    else:
        result = scoring.rescore(Actor.job("bench"), ids, trigger=CreditScore.Trigger.BATCH,
                                 batch_size=batch_size or scoring.BATCH)
    return time.perf_counter() - started, result


def reset_scores() -> None:
    """Back to 'never scored', so the next run changes (and audits) every standing again."""
    from django.db import transaction

    from custguard.customers.models import Standing

    with transaction.atomic():
        Standing.objects.update(score=None, grade="", credit_limit=Decimal("0.00"),
                                prepay_only=False, payment_terms_days=0, policy_version=None,
                                scored_at=None, next_review_on=None)


def grade_spread() -> str:
    from django.db.models import Count

    from custguard.customers.models import Standing

    rows = (Standing.objects.values("grade").annotate(n=Count("pk")).order_by("grade"))
    return ", ".join(f"{row['grade'] or '-'}: {row['n']:,}" for row in rows)


def report(label: str, seconds: float, result: Any, customers: int, group_by: float) -> None:
    rate = customers / seconds
    print(f"{label:<34} {seconds:8.2f} s  {rate:10,.0f} customers/s  "
          f"{seconds / group_by:6.1f}x the GROUP BY  ({result.changed:,} changed)")


def summary(engine: str, customers: int, facts: int, group_by: float,
            runs: list[tuple[str, float]]) -> None:
    """One line per run: engine, customers, facts, GROUP BY s, rescore s, ratio (<= 3)."""
    print(f"{'engine':<10} {'run':<22} {'customers':>9} {'facts':>10} {'GROUP BY s':>10} "
          f"{'rescore s':>9} {'ratio':>6}")
    for label, seconds in runs:
        print(f"{engine:<10} {label:<22} {customers:>9,} {facts:>10,} {group_by:>10.2f} "
              f"{seconds:>9.2f} {seconds / group_by:>6.1f}")


def run(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from custguard.core.actors import Actor
    from custguard.core.models import AuditEntry
    from custguard.core.services import policies
    from custguard.credit.models import CreditScore
    from custguard.credit.services import batch_scoring, scoring
    from custguard.customers.models import Customer
    from custguard.policy import default_policy_text

    call_command("migrate", verbosity=0)
    policies.publish_source(Actor.system("bench"), default_policy_text(), note="bench")
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    started = time.perf_counter()
    counts = load(args)
    print(f"loaded in {time.perf_counter() - started:.0f} s: "
          + ", ".join(f"{n:,} {name}s" for name, n in counts.items()))

    group_by, groups = time_group_by()
    group_by_again, _groups = time_group_by()
    group_by = min(group_by, group_by_again)
    print(f"{'GROUP BY customer over invoices':<34} {group_by:8.2f} s  ({groups:,} groups, "
          "best of two)")
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    reads = time_fact_reads(ids, args.batch_size or batch_scoring.CHUNK)
    print(f"{'the fact reads alone (2 aggregates)':<34} {reads:8.2f} s  "
          f"{'':>26}{reads / group_by:6.1f}x the GROUP BY  (no scoring, no writes)")
    first, result = time_rescore(ids, args.batch_size)
    report("rescore --all, first run", first, result, len(ids), group_by)
    second, result = time_rescore(ids, args.batch_size)
    report("rescore --all, nothing new", second, result, len(ids), group_by)
    runs = [("fact reads alone", reads), ("first run", first),
            ("nightly (nothing new)", second)]
    print(f"grades: {grade_spread()}")
    print(f"score records: {CreditScore.objects.count():,}; "
          f"audit entries: {AuditEntry.objects.count():,}")
    if args.compare_writers:
        reset_scores()
        scoring.WRITER = "orm"
        try:
            slow, result = time_rescore(ids, args.batch_size)
        finally:
            scoring.WRITER = "sql"
        report("first run, ORM bulk writes", slow, result, len(ids), group_by)
        runs.append(("first, ORM bulk writes", slow))
    if args.compare_scoring_path:
        reset_scores()
        slow, result = time_rescore(ids, args.batch_size, path="scoring")
        report("first run, scoring.rescore", slow, result, len(ids), group_by)
        runs.append(("first, scoring.rescore", slow))
        slow, result = time_rescore(ids, args.batch_size, path="scoring")
        report("nothing new, scoring.rescore", slow, result, len(ids), group_by)
        runs.append(("nightly, scoring.rescore", slow))
    facts = counts["invoice"]  # the fact table the GROUP BY scans
    summary(connection.vendor, len(ids), facts, group_by, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
