"""`custguard rescore --all | --due [--as USER] [--progress | --no-progress]`: score customers
under the policy in force, set-based (`credit.services.batch_scoring`: a few GROUP BY
statements per chunk of customers).

--due          customers whose next review date has come, or who were never scored
--as           act as this user (their permissions; audited as them); by default the
               "rescore" job
--progress     show a progress bar on stderr (count/total, rate, time left); shown by default
               when stderr is a terminal
--no-progress  never show it
"""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from tqdm import tqdm

from custguard.core.actors import Actor
from custguard.core.errors import DomainError
from custguard.core.models import User
from custguard.credit.models import CreditScore
from custguard.credit.services import batch_scoring, scoring


class Command(BaseCommand):
    help = "Rescore customers (all, or those due) under the policy in force."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help="every customer")
        which.add_argument("--due", action="store_true",
                           help="customers whose next review date has come or never scored")
        parser.add_argument("--as", dest="username", default=None,
                            help="act as this user (default: the rescore job)")
        shown = parser.add_mutually_exclusive_group()
        shown.add_argument("--progress", action="store_true", default=None,
                           help=gettext_lazy("show a progress bar (by default only when "
                                             "stderr is a terminal)"))
        shown.add_argument("--no-progress", dest="progress", action="store_false",
                           help=gettext_lazy("never show a progress bar"))

    @no_translations
    def handle(self, *args: Any, all: bool = False, due: bool = False,
               username: str | None = None, progress: bool | None = None,
               **options: Any) -> None:
        actor = self._actor(username)
        ids = scoring.due_for_rescoring() if due else None
        if ids is None:
            from custguard.customers.models import Customer

            ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
        stream = getattr(self.stderr, "_out", sys.stderr)  # the stream, not its line wrapper
        if progress is None:
            progress = bool(getattr(stream, "isatty", lambda: False)())
        started = time.perf_counter()
        with tqdm(total=len(ids), unit=_("customers"), file=stream, disable=not progress,
                  dynamic_ncols=True) as bar:
            try:
                result = batch_scoring.rescore(actor, ids, trigger=CreditScore.Trigger.BATCH,
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
