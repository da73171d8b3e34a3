"""`custguard regions import FILE.csv` and `custguard regions list [--parent CODE]`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from custguard.core.errors import DomainError
from custguard.core.management.actor_option import actor_for
from custguard.customers.models import Region
from custguard.customers.regions import import_regions


class Command(BaseCommand):
    help = "Load a company's own region table (code,name,parent) or list regions."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("import", help="load a CSV with the columns code,name,parent")
        load.add_argument("file")
        load.add_argument("--as", dest="as_user", default=None,
                          help="username recorded in the audit log (default: a job actor)")
        listing = sub.add_parser("list", help="list regions")
        listing.add_argument("--parent", default=None,
                             help="only the children of this code; '' for the top level")

    @no_translations
    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "import":
            self._import(options["file"], options["as_user"])
        else:
            self._list(options["parent"])

    def _import(self, path_arg: str, as_user: str | None) -> None:
        try:
            text = Path(path_arg).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"cannot read {path_arg}: {error}") from None
        try:
            created, updated = import_regions(actor_for(as_user, "regions-import"), text)
        except DomainError as error:
            for where, reasons in (error.errors or {"": [error.message]}).items():
                for reason in reasons:
                    self.stderr.write(f"{where}: {reason}")
            self.stderr.write(error.message)
            sys.exit(1)
        self.stdout.write(f"regions imported: {created} created, {updated} updated")

    def _list(self, parent: str | None) -> None:
        qs = Region.objects.order_by("code")
        if parent is not None:
            qs = qs.filter(parent_id=parent or None)
        for region in qs:
            self.stdout.write(f"{region.code}  {region.parent_id or '      '}  "
                              f"{region.last_serial:>3}  {region.name}")
