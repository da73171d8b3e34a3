"""Benchmark earning points on paid invoices against a single GROUP BY over the invoice table.

    .venv/bin/python bench/points.py [--customers N --invoices N] [--database-url postgresql://...]

Loads the same deterministic ledger as bench/rescore.py (customers with their standing rows;
invoices with their orders, payments and allocations, most of them paid), with the default
policy published, then times in the same database:
  1. SELECT customer_id, COUNT(*), SUM(amount) FROM ledger_invoice GROUP BY customer_id
  2. `custguard rewards earn --since` over every paid invoice: the back-fill, one decision, one
     points entry, one lot and one audit entry per paid invoice, counters per customer
  3. the same again: nothing to do (every invoice already in step), the cost of the check
  4. the daily maturity job the day the holding periods are over, for every customer
and checks afterwards that every points balance reconciles with the lots. Each line ends with
its ratio to the GROUP BY; there is no target for it in the issue, the figures go in the note.
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
    return ledger_bench.in_scratch_database(args, "cg-bench-points-", run)


def run(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from custguard.core import clock
    from custguard.core.actors import Actor
    from custguard.core.services import policies
    from custguard.ledger.models import Invoice
    from custguard.policy import default_policy_text
    from custguard.rewards.models import PointsEntry
    from custguard.rewards.services import accounts, earning, expiry

    call_command("migrate", verbosity=0)
    policies.publish_source(Actor.system("bench"), default_policy_text(), note="bench")
    started = time.perf_counter()
    counts = load(args)
    paid = Invoice.objects.filter(settled_on__isnull=False).count()
    print(f"database: {connection.vendor}; loaded in {time.perf_counter() - started:.0f} s: "
          + ", ".join(f"{n:,} {name}s" for name, n in counts.items())
          + f"; {paid:,} invoices paid in full")
    group_by = min(time_group_by()[0], time_group_by()[0])
    print(f"{'GROUP BY customer over invoices':<36} {group_by:8.2f} s")
    since = dt.date(2000, 1, 1)
    job = Actor.job("bench")

    def timed(label: str, work: object) -> float:
        started = time.perf_counter()
        result = work()  # type: ignore[operator]
        seconds = time.perf_counter() - started
        print(f"{label:<36} {seconds:8.2f} s  {result!s:>12}  {seconds / group_by:7.1f}x the "
              "GROUP BY")
        return seconds

    back_fill = timed("earn --since (back-fill)", lambda: earning.earn_since(job, since))
    earned = PointsEntry.objects.filter(kind=PointsEntry.Kind.EARN).count()
    print(f"{'':<36} {paid / back_fill:8,.0f} paid invoices/s, {earned:,} earnings")
    timed("earn --since again (in step)", lambda: earning.earn_since(job, since))
    later = clock.today() + dt.timedelta(days=31)
    timed("mature (every holding over)", lambda: expiry.mature_due(job, later))
    drifts = accounts.reconcile().drifts
    print(f"reconcile: {len(drifts)} drift(s)")
    return 1 if drifts else 0


if __name__ == "__main__":
    sys.exit(main())
