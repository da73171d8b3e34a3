"""`custguard rewards earn --since DATE | mature | expire | notify | reconcile`: the points
ledger's jobs, by hand.

earn      bring the points of every invoice settled on or after DATE (and of every invoice
          that earned and is open again) in step with the ledger: the back-fill when rewards
          start on an existing ledger or after the first policy is published. Running it again
          changes nothing.
mature    make available the points whose holding period is over (the daily job)
expire    expire the points past their last day (the daily job)
notify    e-mail the customers whose points expire within the policy's notice days
reconcile recompute every points balance from the lots; exits with status 1 and lists the
          differences if any counter drifted

--progress / --no-progress  a progress bar on stderr (by default only on a terminal)
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations
from tqdm import tqdm

from custguard.core.actors import Actor
from custguard.core.errors import DomainError
from custguard.rewards.services import accounts, earning, expiry


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--since: {text!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "The points ledger's jobs: back-fill earnings, maturity, expiry, notices, checks."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        earn = sub.add_parser("earn", help="earn or take back the points of settled invoices")
        earn.add_argument("--since", required=True, help="first settlement day (YYYY-MM-DD)")
        sub.add_parser("mature", help="make available the points whose holding is over")
        sub.add_parser("expire", help="expire the points past their last day")
        sub.add_parser("notify", help="tell customers whose points expire soon")
        sub.add_parser("reconcile", help="check every points balance against the lots")
        for name in ("earn", "mature", "expire", "notify"):
            shown = sub.choices[name].add_mutually_exclusive_group()
            shown.add_argument("--progress", action="store_true", default=None,
                               help="show a progress bar (by default only on a terminal)")
            shown.add_argument("--no-progress", dest="progress", action="store_false",
                               help="never show a progress bar")

    @no_translations
    def handle(self, *args: Any, action: str, progress: bool | None = None,
               **options: Any) -> None:
        stream = getattr(self.stderr, "_out", sys.stderr)
        if progress is None:
            progress = bool(getattr(stream, "isatty", lambda: False)())
        started = time.perf_counter()
        try:
            with tqdm(unit="", file=stream, disable=not progress, dynamic_ncols=True) as bar:
                message = getattr(self, f"_{action}")(bar=bar, **options)
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"{message} ({time.perf_counter() - started:.1f} s)")

    def _earn(self, *, since: str, bar: Any, **options: Any) -> str:
        count = earning.earn_since(Actor.job("rewards earn"), _day(since), progress=bar.update)
        return f"{count} invoice(s) brought in step with their points"

    def _mature(self, *, bar: Any, **options: Any) -> str:
        count = expiry.mature_due(Actor.job("rewards mature"), progress=bar.update)
        return f"{count} customer(s) with points that became available"

    def _expire(self, *, bar: Any, **options: Any) -> str:
        count = expiry.expire_due(Actor.job("rewards expire"), progress=bar.update)
        return f"{count} customer(s) with points that expired"

    def _notify(self, *, bar: Any, **options: Any) -> str:
        count = expiry.notify_expiring(Actor.job("rewards notify"), progress=bar.update)
        return f"{count} customer(s) told their points expire soon"

    def _reconcile(self, *, bar: Any, **options: Any) -> str:
        result = accounts.reconcile()
        for drift in result.drifts:
            self.stderr.write(f"customer {drift.customer_id}: {drift.counter} is "
                              f"{drift.stored}, the lots say {drift.recomputed}")
        if result.drifts:
            raise CommandError(f"{len(result.drifts)} drift(s) in {result.accounts} "
                               "points account(s)")
        return f"{result.accounts} points account(s) checked, no drift"
