"""`custguard import customers FILE [--dry-run] [--partial] [--as USER]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser, no_translations

from custguard.core.management import file_import
from custguard.core.management.actor_option import actor_for
from custguard.customers.importing import import_customers


class Command(BaseCommand):
    help = ("Import customers from a CSV or XLSX file. Every bad row is reported; nothing is "
            "written unless every row is valid (or --partial).")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        customers = sub.add_parser("customers", help="customers with an optional first contact")
        customers.add_argument("file")
        customers.add_argument("--dry-run", action="store_true",
                               help="check every row and report; write nothing")
        customers.add_argument("--partial", action="store_true",
                               help="write the valid rows even when others have problems")
        customers.add_argument("--as", dest="as_user", default=None,
                               help="username recorded in the audit log (default: a job actor)")
        customers.add_argument("--no-progress", action="store_true")

    @no_translations
    def handle(self, *args: Any, what: str, **options: Any) -> None:
        path = Path(options["file"])
        actor = actor_for(options["as_user"], "customer-import")
        with file_import.open_file(path) as stream:  # read as a stream, not held in memory
            result = file_import.run_import(
                self, path, lambda progress: import_customers(
                    actor, stream, path.name, dry_run=options["dry_run"],
                    all_or_nothing=not options["partial"], progress=progress),
                no_progress=options["no_progress"])
        file_import.report(self, result, f"{len(result.created)} customer(s) created",
                           partial=options["partial"])
