"""Benchmark the monthly ABC run against a single GROUP BY over the invoice table.

    .venv/bin/python bench/classification.py [--customers N --invoices N]
                                             [--database-url postgresql://...]

Loads the same deterministic ledger as bench/rescore.py (customers in many regions, invoices
with their payments and allocations), publishes the default policy, rescores every customer
(so grades give payment terms), and times in the same database:
  1. SELECT customer_id, COUNT(*), SUM(amount) FROM ledger_invoice GROUP BY customer_id
  2. the first monthly run: every customer gets its initial class, its treatment on the
     standing row and, where the class adds payment-term days, its credit terms re-applied
  3. the next month's run: ranking again, reminders and proposals for the customers that
     moved, nothing else written (the steady state the issue's target is about: <= 3x)
Each line ends with its ratio to the GROUP BY.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import ledger_bench  # noqa: E402
from rescore import load, time_group_by  # noqa: E402


def main() -> int:
    args = ledger_bench.parse_args(__doc__.splitlines()[0], 10000, 200000)
    return ledger_bench.in_scratch_database(args, "cg-bench-abc-", run)


def run(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from custguard.classification.models import CustomerClass
    from custguard.classification.services import runs
    from custguard.core import clock
    from custguard.core.actors import Actor
    from custguard.core.services import policies
    from custguard.credit.models import CreditScore
    from custguard.credit.services import batch_scoring
    from custguard.customers.models import Customer
    from custguard.policy import default_policy_text

    call_command("migrate", verbosity=0)
    policies.publish_source(Actor.system("bench"), default_policy_text(), note="bench")
    started = time.perf_counter()
    counts = load(args)
    # Long-standing customers, so that the ranking (not the new-customer rule) classes them.
    Customer.objects.update(created_at=clock.now() - dt.timedelta(days=730))
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    batch_scoring.rescore(Actor.job("bench"), ids, trigger=CreditScore.Trigger.BATCH)
    print(f"database: {connection.vendor}; loaded and scored in "
          f"{time.perf_counter() - started:.0f} s: "
          + ", ".join(f"{n:,} {name}s" for name, n in counts.items()))
    group_by = min(time_group_by()[0], time_group_by()[0])
    print(f"{'GROUP BY customer over invoices':<34} {group_by:8.2f} s")
    job = Actor.job("bench")
    today = clock.today()

    def timed(label: str, day: dt.date) -> float:
        started = time.perf_counter()
        result = runs.run_month(job, day)
        seconds = time.perf_counter() - started
        print(f"{label:<34} {seconds:8.2f} s  {seconds / group_by:6.1f}x the GROUP BY  "
              f"(assigned {result.assigned:,}, reminded {result.reminded:,}, proposed "
              f"{result.proposed:,}, treated {result.treated:,}, "
              f"segmented {result.segmented:,})")
        return seconds

    timed("first run (every class set)", today.replace(day=25))
    next_month = (today.replace(day=1) + dt.timedelta(days=40)).replace(day=25)
    with clock.frozen_at(clock.now() + (next_month - today)):
        timed("next month's run", next_month)
    spread = {abc: CustomerClass.objects.filter(abc=abc).count() for abc in "ABC"}
    print("classes: " + ", ".join(f"{abc} {n:,}" for abc, n in spread.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
