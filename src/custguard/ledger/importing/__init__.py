"""Importing orders, invoices or payments from a CSV or spreadsheet file, one kind per file.

Every row is read and checked (`checking`), then written in batches inside one transaction
(`writing`): the same facts, allocations, counters, due state and scores as posting each row
through the ledger services, with set-based SQL, and each touched customer rescored once.
Every problem is reported with the spreadsheet row (the header is row 1), the column as written
in the file and the reason — whether the cell cannot be read (a date, an amount, an unknown
customer code) or the services' rules refuse the fact (a due date before the issue date, an
allocation above what is open, an identity already used with other values), in the services'
own words. By default a file with any problem writes nothing; `all_or_nothing=False` writes
the rows that have none. A dry run writes everything and rolls it back, so it finds exactly
the problems a real run would.

A row whose (source, external_id) was imported or posted before is a replay: it changes
nothing and is counted, so importing the same file twice is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused, ValidationFailed
from custguard.core.services import audit
from custguard.core.transactions import atomic_with_retry
from custguard.customers.importing import reading
from custguard.customers.importing.reading import ImportProblem
from custguard.ledger.importing.checking import (
    BATCH_SIZE,
    Checker,
    Row,
    check_header,
    customers_among,
)
from custguard.ledger.importing.columns import (
    COLUMNS,
    DEFAULT_SOURCE,
    KIND_LABELS,
    KINDS,
    MAX_LENGTHS,
    Column,
    column_index,
    parse_amount,
    parse_date,
)
from custguard.ledger.importing.writing import FactWriter

__all__ = ["COLUMNS", "DEFAULT_SOURCE", "KINDS", "KIND_LABELS", "Column", "FactImportResult",
           "column_index", "import_facts", "parse_amount", "parse_date"]

PERMISSION = "ledger.import_facts"
# A concurrent post of an identity this import is inserting makes the insert fail on the
# unique (source, external_id); the import then runs again and finds it as a replay.
INSERT_ATTEMPTS = 3


@dataclass
class _ReadTable:
    header: list[str]
    header_row: int
    records: list[tuple[int, list[str]]]


def read_table(data: bytes | IO[bytes], filename: str) -> _ReadTable:
    """The header row and the numbered non-blank rows of a CSV (UTF-8 or GB18030) or
    spreadsheet file; raises ValidationFailed(field="file") when it cannot be read. (The rows
    are held in memory: a replayed or refused row is only known once all are checked.)"""
    table = reading.Table(data, filename)
    try:
        return _ReadTable(table.header, table.header_row, list(table.records()))
    finally:
        table.close()


@dataclass(frozen=True)
class FactImportResult:
    kind: str
    rows: int
    created: list[str]  # "source/external_id" of the facts stored by this import
    replayed: list[str]  # rows posted before: nothing changed
    problems: list[ImportProblem]
    dry_run: bool

    @property
    def ok(self) -> bool:
        return not self.problems


def _column_of(field_name: str | None, headers: dict[str, str]) -> str:
    """The file's column for a field a service named (`allocations[0].amount` → the allocated
    amount column, or the amount column when the file has none)."""
    if not field_name:
        return ""
    name = field_name
    if field_name.startswith("allocations"):
        name = ("invoice_external_id" if field_name.endswith("invoice_external_id")
                else "allocated_amount" if "allocated_amount" in headers else "amount")
    return headers.get(name, name)


class _RollBack(Exception):
    """Leave the import's transaction so that it rolls back."""


def _chunks(rows: Sequence[Row], size: int) -> Iterator[Sequence[Row]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def import_facts(actor: Actor, kind: str, data: bytes | IO[bytes], filename: str, *,
                 dry_run: bool = False, all_or_nothing: bool = True,
                 source: str = DEFAULT_SOURCE, progress: Callable[[int], None] | None = None,
                 max_rows: int | None = None) -> FactImportResult:
    """Check every row of a file of `kind` (orders, invoices or payments), then post them in
    one transaction, kept only when no row has a problem (or, with `all_or_nothing` off, the
    rows without one) and this is not a dry run.

    `source` is the source of rows without a source column. `progress(n)` is called as rows
    are done: once for every row checked, then once more for every row posted. Raises
    PermissionRefused without the import permission (or the permission to post the kind), and
    ValidationFailed for an unknown kind (field "kind"), an unreadable file or one of more
    than `max_rows` rows (field "file")."""
    if kind not in COLUMNS:
        raise ValidationFailed(_("kind must be one of %(kinds)s") % {"kinds": ", ".join(KINDS)},
                               field="kind")
    if not actor.can(PERMISSION):
        raise PermissionRefused(_("your role may not import orders, invoices or payments"))
    source = source.strip() or DEFAULT_SOURCE
    if len(source) > MAX_LENGTHS["source"]:
        raise ValidationFailed(_("source is longer than 50 characters"), field="source")
    table = read_table(data, filename)
    total = len(table.records)
    if max_rows is not None and total > max_rows:
        raise ValidationFailed(_("the file has %(total)s rows; at most %(max)s can be imported "
                                 "at once: split it") % {"total": total, "max": max_rows},
                               field="file")
    columns, problems = check_header(kind, table)
    names = {name for _index, name, _text in columns}
    if not names >= {c.name for c in COLUMNS[kind] if c.required}:
        return FactImportResult(kind, total, [], [], problems, dry_run)

    checker = Checker(kind, source, columns)
    code_at = next(index for index, name, _text in columns if name == "customer")
    checker.customers = customers_among(actor, {
        cells[code_at].strip() for _n, cells in table.records
        if code_at < len(cells) and cells[code_at].strip()})
    rows: list[Row] = []
    for done, (number, cells) in enumerate(table.records, start=1):
        row = checker.check(number, cells, problems)
        if row is not None:
            rows.append(row)
        if progress and done % BATCH_SIZE == 0:
            progress(BATCH_SIZE)
    if progress and total % BATCH_SIZE:
        progress(total % BATCH_SIZE)

    headers = checker.headers
    created: list[str] = []
    replayed: list[str] = []
    refused: list[ImportProblem] = []

    def attempt() -> None:
        created.clear()
        replayed.clear()
        refused.clear()
        with transaction.atomic(), audit.deferred(), audit.Spool() as spool:
            writer = FactWriter(actor, kind, spool, filename)
            for chunk in _chunks(rows, BATCH_SIZE):
                outcome = writer.write(chunk)
                created.extend(outcome.created)
                replayed.extend(outcome.replayed)
                for row, error in outcome.refused:
                    for name, reasons in (error.errors or {error.field: [
                            error.message]}).items():
                        refused.extend(ImportProblem(row.number, _column_of(name, headers),
                                                     reason) for reason in reasons)
                if progress:
                    progress(len(chunk))
            if dry_run or ((problems or refused) and all_or_nothing):
                raise _RollBack
            writer.finish()
            spool.append(actor)
            if created:
                audit.record(actor, "ledger.import", object_type=f"ledger.{kind[:-1]}",
                             object_id="*", after={
                                 "kind": kind, "file": filename, "rows": total,
                                 "created": len(created), "replayed": len(replayed),
                                 "skipped": total - len(created) - len(replayed)})

    if rows:
        for insert_attempt in range(1, INSERT_ATTEMPTS + 1):
            try:
                # A deadlock with a concurrent writer (PostgreSQL) runs the whole import
                # again; so does a concurrent post of one of its identities.
                atomic_with_retry(attempt)
                break
            except _RollBack:
                if not dry_run:
                    created, replayed = [], []
                break
            except IntegrityError:
                if insert_attempt == INSERT_ATTEMPTS:
                    raise
    problems.extend(refused)
    problems.sort(key=lambda p: p.row)
    return FactImportResult(kind, total, created, replayed, problems, dry_run)
