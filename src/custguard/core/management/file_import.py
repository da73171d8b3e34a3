"""What the file-import commands share: reading the file, the progress bar around the two
passes of an import, and the row-level report with its exit status."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Protocol

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from custguard.core.errors import DomainError

PROBLEMS_SHOWN = 200


class ImportResult(Protocol):
    rows: int
    problems: list[Any]
    dry_run: bool


def open_file(path: Path) -> IO[bytes]:
    """The file open for reading, for an import that streams it."""
    try:
        return path.open("rb")
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None


def run_import(command: BaseCommand, path: Path, run: Callable[[Callable[[int], Any]], Any],
               *, no_progress: bool) -> Any:
    """Run an import with a progress bar on stderr (each row counts twice: once checked, once
    written); a file-level error exits 1 naming the file."""
    with tqdm(unit="rows", file=sys.stderr, disable=no_progress) as bar:
        try:
            return run(bar.update)
        except DomainError as error:
            command.stderr.write(f"{path.name}: {error.message}")
            sys.exit(1)


def report(command: BaseCommand, result: ImportResult, summary: str, *, partial: bool) -> None:
    """Print the row-level problems and the summary; exit 1 when any row had a problem."""
    for problem in result.problems[:PROBLEMS_SHOWN]:
        command.stderr.write(str(problem))
    if len(result.problems) > PROBLEMS_SHOWN:
        command.stderr.write(f"… and {len(result.problems) - PROBLEMS_SHOWN} more problem(s)")
    summary = f"{result.rows} row(s), {len(result.problems)} problem(s), {summary}"
    if result.dry_run:
        summary += " (dry run: nothing written)"
    elif result.problems and not partial:
        summary += " (nothing written: fix the rows above, or use --partial)"
    if result.problems:
        command.stderr.write(summary)
        sys.exit(1)
    command.stdout.write(summary)
