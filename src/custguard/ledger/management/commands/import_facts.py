"""`custguard import_facts {orders,invoices,payments} FILE [--dry-run] [--partial] [--source SRC]
[--as USER]`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations
from tqdm import tqdm

from custguard.core.errors import DomainError
from custguard.core.management.actor_option import actor_for
from custguard.ledger.importing import DEFAULT_SOURCE, KINDS, import_facts

PROBLEMS_SHOWN = 200


class Command(BaseCommand):
    help = ("Import orders, invoices or payments from a CSV or XLSX file (one kind per file). "
            "Every bad row is reported; nothing is written unless every row is valid (or "
            "--partial). Rows posted before change nothing.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=KINDS, help="what the file holds")
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true",
                            help="check and post every row, report, then roll everything back")
        parser.add_argument("--partial", action="store_true",
                            help="write the valid rows even when others have problems")
        parser.add_argument("--source", default=DEFAULT_SOURCE,
                            help="source of rows without a source column (default: "
                                 f"{DEFAULT_SOURCE})")
        parser.add_argument("--as", dest="as_user", default=None,
                            help="username recorded in the audit log (default: a job actor)")
        parser.add_argument("--no-progress", action="store_true")

    @no_translations
    def handle(self, *args: Any, kind: str, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror}") from None
        actor = actor_for(options["as_user"], f"{kind}-import")
        # Every row is checked, then every valid row posted: two passes over the file.
        with tqdm(unit="rows", file=sys.stderr, disable=options["no_progress"]) as bar:
            try:
                result = import_facts(actor, kind, data, path.name,
                                      dry_run=options["dry_run"],
                                      all_or_nothing=not options["partial"],
                                      source=options["source"], progress=bar.update)
            except DomainError as error:
                self.stderr.write(f"{path.name}: {error.message}")
                sys.exit(1)
        for problem in result.problems[:PROBLEMS_SHOWN]:
            self.stderr.write(str(problem))
        if len(result.problems) > PROBLEMS_SHOWN:
            self.stderr.write(f"… and {len(result.problems) - PROBLEMS_SHOWN} more problem(s)")
        summary = (f"{result.rows} row(s), {len(result.problems)} problem(s), "
                   f"{len(result.created)} {kind} created, {len(result.replayed)} posted before")
        if result.dry_run:
            summary += " (dry run: nothing written)"
        elif result.problems and not options["partial"]:
            summary += " (nothing written: fix the rows above, or use --partial)"
        if result.problems:
            self.stderr.write(summary)
            sys.exit(1)
        self.stdout.write(summary)
