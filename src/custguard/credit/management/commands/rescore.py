"""`custguard rescore --all | --due [--as USER] [--no-progress]`: score customers in batches
under the policy in force, set-based (a few GROUP BY queries per batch of customers).

--due  customers whose next review date has come, or who were never scored
--as   act as this user (their permissions; audited as them); by default the "rescore" job
"""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from custguard.core.actors import Actor
from custguard.core.errors import DomainError
from custguard.core.models import User
from custguard.credit.models import CreditScore
from custguard.credit.services import scoring


class Command(BaseCommand):
    help = "Rescore customers (all, or those due) under the policy in force."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help="every customer")
        which.add_argument("--due", action="store_true",
                           help="customers whose next review date has come or never scored")
        parser.add_argument("--as", dest="username", default=None,
                            help="act as this user (default: the rescore job)")
        parser.add_argument("--no-progress", action="store_true")

    @no_translations
    def handle(self, *args: Any, all: bool = False, due: bool = False,
               username: str | None = None, no_progress: bool = False,
               **options: Any) -> None:
        from tqdm import tqdm

        actor = self._actor(username)
        ids = scoring.due_for_rescoring() if due else None
        if ids is None:
            from custguard.customers.models import Customer

            ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
        started = time.perf_counter()
        with tqdm(total=len(ids), unit="customers", file=sys.stderr,
                  disable=no_progress) as bar:
            try:
                result = scoring.rescore(actor, ids, trigger=CreditScore.Trigger.BATCH,
                                         progress=bar.update)
            except DomainError as error:
                raise CommandError(error.message) from None
        seconds = time.perf_counter() - started
        rate = result.scored / seconds if seconds > 0 else 0.0
        self.stdout.write(f"{result.scored} customers scored under policy version "
                          f"{result.policy_version}; {result.changed} changed grade, limit or "
                          f"terms ({seconds:.1f} s, {rate:,.0f} customers/s)")

    def _actor(self, username: str | None) -> Actor:
        if username is None:
            return Actor.job("rescore")
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user named {username!r}")
        return Actor.job("rescore", user=user)
