"""Benchmark the ledger's fact import (orders) against a plain INSERT of the same rows.

    .venv/bin/python bench/import_facts.py [--rows 10000] [--customers 2000]
                                           [--database-url URL] [--format csv|xlsx|both]

Sets up a fresh database (as bench/import_customers.py does), publishes the default policy,
imports `--customers` customers through the customer import, writes N order rows over them
into a CSV or .xlsx file, and times `ledger.importing.import_facts` end to end in a child
process (read, check, post through the ledger services with their audit entries, refresh and
rescore the customers touched), then one `executemany` of the same rows into the order table
itself (committed, then deleted). Prints `engine rows file import-rows/s executemany-rows/s
ratio peak-RSS`; the issue's target for the ratio is >= 0.3. BENCH_PROFILE=1 prints a cProfile
of each import.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import import_customers as customers_bench

ORDER_HEADER = ["customer", "external_id", "ordered_on", "amount", "number"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--format", choices=["csv", "xlsx", "both"], default="both")
    parser.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    return parser.parse_args()


def order_rows(count: int, codes: list[str], seed: int, prefix: str) -> Iterator[list[str]]:
    rng = random.Random(seed)
    start = dt.date.today() - dt.timedelta(days=700)
    for i in range(count):
        yield [rng.choice(codes), f"{prefix}-{i:07d}",
               (start + dt.timedelta(days=rng.randint(0, 690))).isoformat(),
               f"{rng.randint(100, 5_000_000) / 100:.2f}", f"SO{prefix}{i:07d}"]


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

    def one_import() -> Any:
        with path.open("rb") as stream:
            return import_facts(Actor.job("bench"), kind, stream, path.name)

    return customers_bench.measure_import(one_import)


def run(args: argparse.Namespace, workdir: str) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from custguard.core.actors import Actor
    from custguard.core.models import User
    from custguard.core.services import policies
    from custguard.customers.importing import import_customers
    from custguard.customers.models import Customer, Region
    from custguard.ledger.models import Order
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
    fields = [f for f in Order._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(Order._meta.db_table)} "  # noqa: S608
           f"({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    lines = []
    for fmt in formats:
        prefix = f"B{fmt}"
        path = Path(workdir, f"orders.{fmt}")
        rows = list(order_rows(args.rows, codes, args.seed, prefix))
        if fmt == "csv":
            with path.open("w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(ORDER_HEADER)
                writer.writerows(rows)
        else:
            customers_bench.write_xlsx(path, iter(rows), header=ORDER_HEADER)
        now = dt.datetime.now(dt.UTC)
        typed = []
        for code, external_id, ordered_on, amount, number in rows:
            values = {"customer_id": ids[code], "source": "baseline", "external_id": external_id,
                      "number": number, "amount": amount, "recorded_at": now,
                      "recorded_by": "bench", "kind": "order",
                      "ordered_on": dt.date.fromisoformat(ordered_on), "cancels_id": None}
            typed.append(tuple(f.get_db_prep_save(values[f.attname], connection)
                               for f in fields))
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, typed)
        plain_rate = args.rows / (time.perf_counter() - started)
        Order.objects.filter(source="baseline").delete()
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM {quote(Order._meta.db_table)}"
                           if connection.vendor == "postgresql" else "VACUUM")
        connection.close()
        outcome = customers_bench.import_in_child([__file__, "--child", str(path), "orders"],
                                                  args.rows)
        if outcome is None:
            return 1
        rate = args.rows / outcome["seconds"]
        lines.append(f"{connection.vendor:10} {args.rows:>9} {fmt:5} {rate:>12,.0f} "
                     f"{plain_rate:>15,.0f} {rate / plain_rate:>7.2f} "
                     f"{outcome['rss_mb']:>9.0f}")
    print(f"{'engine':10} {'rows':>9} {'file':5} {'import r/s':>12} {'executemany r/s':>15} "
          f"{'ratio':>7} {'peak MB':>9}")
    for line in lines:
        print(line)
    print("ratio = order import rows/s / one executemany of the same rows into the order table "
          "(target >= 0.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
