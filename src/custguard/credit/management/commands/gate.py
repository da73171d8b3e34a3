"""`custguard gate expire` and `custguard gate reconcile [--fix]`: the order gate's jobs.

expire      end every reservation (pending or held) whose time has passed, giving the credit of
            the pending ones back; safe to run twice, or twice at once.
reconcile   recompute every customer's and group's posted and reserved counters from the facts
            and compare them with the standing rows; each drift is printed and recorded in the
            audit chain ("credit.drift"), and the command exits with status 1 when there was
            any. With --fix the counters are corrected in the same transaction (audited).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser, no_translations

from custguard.core.actors import Actor
from custguard.credit.services import gate, reconciliation


class Command(BaseCommand):
    help = "The order gate's jobs: expire reservations, reconcile the credit counters."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("expire", help="expire the reservations whose time has passed")
        reconcile = sub.add_parser(
            "reconcile", help="compare the credit counters with the facts; exit 1 on drift")
        reconcile.add_argument("--fix", action="store_true",
                               help="correct the counters (audited) as well as report them")

    @no_translations
    def handle(self, *args: Any, action: str, fix: bool = False, **options: Any) -> None:
        if action == "expire":
            expired = gate.expire_due(Actor.job("gate expire"))
            self.stdout.write(f"expired {expired} reservation(s)")
            return
        drifts = reconciliation.reconcile(Actor.job("gate reconcile"), fix=fix)
        if not drifts:
            self.stdout.write("credit counters OK: no drift between the standing rows and "
                              "the facts")
            return
        header = f"{'kind':<9} {'id':>8} {'customer / group':<24} {'field':<9} " \
                 f"{'stored':>18} {'recomputed':>18} {'difference':>18}"
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for d in drifts:
            self.stdout.write(f"{d.kind:<9} {d.object_id:>8} {d.label[:24]:<24} {d.field:<9} "
                              f"{d.stored:>18} {d.recomputed:>18} {d.difference:>18}")
        verb = "corrected" if fix else "found (run with --fix to correct)"
        self.stderr.write(f"credit counters DRIFTED: {len(drifts)} difference(s) {verb}; "
                          "recorded in the audit chain as credit.drift")
        sys.exit(1)
