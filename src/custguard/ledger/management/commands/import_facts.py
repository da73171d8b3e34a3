"""`custguard import_facts {orders,invoices,payments} FILE [--dry-run] [--partial] [--source SRC]
[--as USER]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser, no_translations

from custguard.core.management import file_import
from custguard.core.management.actor_option import actor_for
from custguard.ledger.importing import DEFAULT_SOURCE, KINDS, import_facts


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
        actor = actor_for(options["as_user"], f"{kind}-import")
        with file_import.open_file(path) as stream:  # read as a stream, not held in memory
            result = file_import.run_import(
                self, path, lambda progress: import_facts(
                    actor, kind, stream, path.name, dry_run=options["dry_run"],
                    all_or_nothing=not options["partial"], source=options["source"],
                    progress=progress),
                no_progress=options["no_progress"])
        file_import.report(self, result, f"{len(result.created)} {kind} created, "
                                         f"{len(result.replayed)} posted before",
                           partial=options["partial"])
