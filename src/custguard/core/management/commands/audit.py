"""`custguard audit verify`: recompute the hash chain and name the first broken link.
`custguard audit checkpoint`: anchor the chain's head with a keyed checkpoint."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser, no_translations
from tqdm import tqdm

from custguard.core.models import AuditEntry
from custguard.core.services import audit_checkpoints
from custguard.core.services.audit import ChainProblem, verify_chain


class Command(BaseCommand):
    help = "Verify the audit chain, or record a checkpoint of it."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="recompute every hash; exit 1 on a broken link")
        verify.add_argument("--no-progress", action="store_true")
        verify.add_argument("--checkpoints", action="store_true",
                            help="also verify every keyed checkpoint")
        verify.add_argument("--from-file", type=Path, metavar="FILE",
                            help="also the checkpoints exported to FILE (implies --checkpoints)")
        checkpoint = sub.add_parser("checkpoint", help="record a keyed checkpoint of the head")
        checkpoint.add_argument("--export", type=Path, metavar="FILE",
                                help="append it as one JSON line to FILE (default: "
                                     "CUSTGUARD_AUDIT_CHECKPOINT_FILE, if set)")

    @no_translations
    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "checkpoint":
            self._checkpoint(options.get("export"))
            return
        total = AuditEntry.objects.count()
        with tqdm(total=total, unit="entries", file=sys.stderr,
                  disable=options.get("no_progress") or total < 5000) as bar:
            if options.get("checkpoints") or options.get("from_file"):
                self._verify_checkpoints(options.get("from_file"), bar.update)
                return
            problem = verify_chain(progress=bar.update)
        if problem is not None:
            self._broken([problem])
        self.stdout.write(f"audit chain OK: {total} entries verified")

    def _verify_checkpoints(self, from_file: Path | None, progress: Any) -> None:
        try:
            report = audit_checkpoints.verify(from_file, progress=progress)
        except audit_checkpoints.CheckpointFileError as error:
            self.stderr.write(f"audit checkpoints UNREADABLE: {error}")
            sys.exit(1)
        if not report.ok:
            self._broken(report.problems)
        source = f" ({report.from_file} from {from_file})" if from_file is not None else ""
        self.stdout.write(f"audit chain OK: {report.entries} entries and "
                          f"{report.checkpoints} checkpoint(s){source} verified")

    def _broken(self, problems: list[ChainProblem]) -> None:
        first, *others = problems
        self.stderr.write(f"audit chain BROKEN at entry #{first.seq}: {first.message}")
        for problem in others:
            self.stderr.write(f"  also at entry #{problem.seq}: {problem.message}")
        sys.exit(1)

    def _checkpoint(self, export: Path | None) -> None:
        target = export or audit_checkpoints.default_export_file()
        try:
            row = audit_checkpoints.create_checkpoint(export_to=target)
        except audit_checkpoints.CheckpointRefused as refused:
            self.stderr.write(f"audit checkpoint REFUSED: the chain is broken at entry "
                              f"#{refused.problem.seq}: {refused.problem.message}")
            sys.exit(1)
        where = f"; appended to {target}" if target is not None else ""
        self.stdout.write(f"audit checkpoint recorded: entry #{row.seq} ({row.entry_count} "
                          f"entries, hash {row.entry_hash[:12]}…, key id {row.key_id}){where}")
