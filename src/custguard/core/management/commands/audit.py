"""`custguard audit verify`: recompute the hash chain and name the first broken link."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser, no_translations
from tqdm import tqdm

from custguard.core.models import AuditEntry
from custguard.core.services.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the audit chain."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="recompute every hash; exit 1 on a broken link")
        verify.add_argument("--no-progress", action="store_true")

    @no_translations
    def handle(self, *args: Any, action: str, no_progress: bool = False, **options: Any) -> None:
        total = AuditEntry.objects.count()
        with tqdm(total=total, unit="entries", file=sys.stderr,
                  disable=no_progress or total < 5000) as bar:
            problem = verify_chain(progress=bar.update)
        if problem is not None:
            self.stderr.write(f"audit chain BROKEN at entry #{problem.seq}: {problem.message}")
            sys.exit(1)
        self.stdout.write(f"audit chain OK: {total} entries verified")
