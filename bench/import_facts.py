"""Benchmark the ledger's fact import (orders, invoices, payments) against a plain INSERT of
the same rows into the same table.

    .venv/bin/python bench/import_facts.py [--rows 10000] [--customers 2000]
                                           [--database-url URL] [--format csv|xlsx|both]
                                           [--kinds orders,invoices,payments]

Sets up a fresh database (as bench/import_customers.py does), publishes the default policy,
imports `--customers` customers through the customer import, then for each file format and
kind: writes N rows over those customers into a CSV or .xlsx file, times one `executemany` of
the same rows into the kind's table itself (committed, then deleted), and times
`ledger.importing.import_facts` end to end in a child process (read, check, write the facts,
allocations and audit entries, move the counters, refresh the due state and rescore the
customers touched). The payments go to the invoices imported just before, oldest due first.
Prints `engine kind rows file import-rows/s executemany-rows/s ratio peak-RSS`; the issue's
target for the ratio is >= 0.3. BENCH_PROFILE=1 prints a cProfile of each import
(BENCH_PROFILE_SORT=cumulative to sort by cumulative time).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import import_customers as customers_bench

HEADERS = {"orders": ["customer", "external_id", "ordered_on", "amount", "number"],
           "invoices": ["customer", "external_id", "issued_on", "due_on", "amount", "number"],
           "payments": ["customer", "external_id", "received_on", "amount", "number"]}
KINDS = list(HEADERS)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--format", choices=["csv", "xlsx", "both"], default="both")
    parser.add_argument("--kinds", default=",".join(KINDS),
                        help="comma-separated, in this order: " + ",".join(KINDS))
    parser.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    return parser.parse_args()


def fact_rows(kind: str, count: int, codes: list[str], seed: int,
              prefix: str) -> Iterator[list[str]]:
    """Rows of one kind over the customers: dates in the last two years, amounts up to 50k
    (payments smaller, so that most go to several invoices or leave some open)."""
    rng = random.Random(f"{seed}{kind}")
    today = dt.date.today()
    for i in range(count):
        code = rng.choice(codes)
        day = today - dt.timedelta(days=rng.randint(1, 700))
        amount = f"{rng.randint(100, 5_000_000) / 100:.2f}"
        number = f"{kind[0].upper()}{prefix}{i:07d}"
        if kind == "invoices":
            due = min(today, day + dt.timedelta(days=rng.choice([30, 60, 90])))
            yield [code, f"{prefix}-{i:07d}", day.isoformat(), due.isoformat(), amount, number]
        elif kind == "payments":
            yield [code, f"{prefix}-{i:07d}", today.isoformat(),
                   f"{rng.randint(100, 2_000_000) / 100:.2f}", number]
        else:
            yield [code, f"{prefix}-{i:07d}", day.isoformat(), amount, number]


def main() -> int:
    args = parse_args()
    if args.child:
        return child(*args.child)
    return customers_bench.in_scratch_database(args.database_url,
                                               lambda workdir: run(args, workdir))


def child(path_text: str, kind: str) -> int:
    import django

    django.setup()
    from custguard.core.actors import Actor
    from custguard.ledger.importing import import_facts

    path = Path(path_text)

    done = [0]

    def rss_as_it_goes(rows: int) -> None:
        # BENCH_RSS=1: the resident memory every 100,000 rows (each row is counted twice).
        done[0] += rows
        if done[0] % 200_000 < rows:
            status = Path("/proc/self/status").read_text()
            resident = next(line for line in status.splitlines() if line.startswith("VmRSS"))
            print(f"{done[0] // 2:>9,} rows: {resident}", file=sys.stderr)

    def one_import() -> Any:
        with path.open("rb") as stream:
            return import_facts(Actor.job("bench"), kind, stream, path.name,
                                progress=rss_as_it_goes if os.environ.get("BENCH_RSS")
                                else None)

    return customers_bench.measure_import(one_import)


def run(args: argparse.Namespace, workdir: str) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from custguard.core.actors import Actor
    from custguard.core.models import User
    from custguard.core.services import policies
    from custguard.customers.importing import import_customers
    from custguard.customers.models import Customer, Region
    from custguard.policy import default_policy_text

    call_command("migrate", verbosity=0)
    policies.publish_source(Actor.system("bench"), default_policy_text(), note="bench")
    managers = ["am01", "am02"]
    User.objects.bulk_create([User(username=name, display_name=name) for name in managers])
    regions = list(Region.objects.filter(parent__isnull=False).order_by("code")
                   .values_list("code", flat=True)[:max(1, args.customers // 900 + 1)])
    with Path(workdir, "customers.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(customers_bench.HEADER)
        writer.writerows(customers_bench.generate_rows(args.customers, regions, managers,
                                                       args.seed))
    with Path(workdir, "customers.csv").open("rb") as stream:
        done = import_customers(Actor.job("bench"), stream, "customers.csv")
    assert done.ok, done.problems[:3]
    codes = list(Customer.objects.values_list("code", flat=True))
    ids = dict(Customer.objects.values_list("code", "pk"))
    print(f"database: {connection.vendor}; {len(codes)} customers")
    formats = ["csv", "xlsx"] if args.format == "both" else [args.format]
    kinds = [kind for kind in KINDS if kind in args.kinds.split(",")]
    lines = []
    for fmt in formats:
        for kind in kinds:
            path = Path(workdir, f"{kind}.{fmt}")
            rows = list(fact_rows(kind, args.rows, codes, args.seed, f"B{fmt}"))
            if fmt == "csv":
                with path.open("w", encoding="utf-8", newline="") as out:
                    writer = csv.writer(out)
                    writer.writerow(HEADERS[kind])
                    writer.writerows(rows)
            else:
                customers_bench.write_xlsx(path, iter(rows), header=HEADERS[kind])
            plain_rate = executemany_rate(kind, rows, ids)
            connection.close()
            outcome = customers_bench.import_in_child([__file__, "--child", str(path), kind],
                                                      args.rows)
            if outcome is None:
                return 1
            rate = args.rows / outcome["seconds"]
            lines.append(f"{connection.vendor:10} {kind:8} {args.rows:>9} {fmt:5} "
                         f"{rate:>12,.0f} {plain_rate:>15,.0f} {rate / plain_rate:>7.2f} "
                         f"{outcome['rss_mb']:>9.0f}")
    print(f"{'engine':10} {'kind':8} {'rows':>9} {'file':5} {'import r/s':>12} "
          f"{'executemany r/s':>15} {'ratio':>7} {'peak MB':>9}")
    for line in lines:
        print(line)
    print("ratio = import rows/s / one executemany of the same rows into the kind's table "
          "(target >= 0.3)")
    return 0


def executemany_rate(kind: str, rows: list[list[str]], ids: dict[str, int]) -> float:
    """Rows per second of one executemany of `rows` into the kind's table (committed, then
    deleted and the table vacuumed)."""
    from django.db import connection, transaction

    from custguard.ledger.models import Invoice, Order, Payment

    model = {"orders": Order, "invoices": Invoice, "payments": Payment}[kind]
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    statement = (f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
                 f"({', '.join(quote(f.column) for f in fields)}) "
                 f"VALUES ({', '.join(['%s'] * len(fields))})")
    now = dt.datetime.now(dt.UTC)
    typed = []
    for row in rows:
        values = dict(zip(HEADERS[kind], row, strict=True))
        values.update(customer_id=ids[values["customer"]], source="baseline",
                      recorded_at=now, recorded_by="bench", kind=kind[:-1], cancels_id=None,
                      corrects_id=None, reverses_id=None, settled_on=None,
                      open_amount=values["amount"], unapplied_amount=values["amount"],
                      order_source="", order_external_id="")
        for name in ("ordered_on", "issued_on", "due_on", "received_on"):
            if name in values:
                values[name] = dt.date.fromisoformat(values[name])
        typed.append(tuple(f.get_db_prep_save(values[f.attname], connection)
                           for f in fields))
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(statement, typed)
    rate = len(rows) / (time.perf_counter() - started)
    model.objects.filter(source="baseline").delete()
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM {quote(model._meta.db_table)}"
                       if connection.vendor == "postgresql" else "VACUUM")
    return rate


if __name__ == "__main__":
    sys.exit(main())
