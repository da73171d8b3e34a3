"""Importing orders, invoices or payments from a CSV or spreadsheet file, one kind per file.

The file is streamed: a batch of rows at a time is read, checked (`checking`) and written
(`writing`) inside one transaction, so memory stays flat however long the file is. The result
is the same facts, allocations, counters, due state and scores as posting each row through
the ledger services, with set-based SQL, and each touched customer rescored once.
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

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused, ValidationFailed
from custguard.core.services import audit
from custguard.core.transactions import atomic_with_retry
from custguard.customers.importing import reading
from custguard.customers.importing.reading import (
    ImportProblem,
    StrayCells,
    Tally,
    too_many_rows,
    unknown_columns,
)
from custguard.ledger.importing.checking import (
    BATCH_SIZE,
    Checker,
    CustomerCodes,
    check_header,
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
from custguard.ledger.importing.writing import FactWriter, Refusal

__all__ = ["COLUMNS", "DEFAULT_SOURCE", "KINDS", "KIND_LABELS", "Column", "FactImportResult",
           "column_index", "import_facts", "parse_amount", "parse_date"]

PERMISSION = "ledger.import_facts"
# A concurrent post of an identity this import is inserting makes the insert fail on the
# unique (source, external_id); the import then runs again and finds it as a replay.
INSERT_ATTEMPTS = 3


@dataclass(frozen=True)
class FactImportResult:
    kind: str
    rows: int
    created: Tally  # "source/external_id" of the facts stored (the first 1,000; len: all)
    replayed: Tally  # rows posted before: nothing changed
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


def _batches(records: Iterator[tuple[int, list[str]]], size: int
             ) -> Iterator[list[tuple[int, list[str]]]]:
    batch: list[tuple[int, list[str]]] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_facts(actor: Actor, kind: str, data: bytes | IO[bytes], filename: str, *,
                 dry_run: bool = False, all_or_nothing: bool = True,
                 source: str = DEFAULT_SOURCE, progress: Callable[[int], None] | None = None,
                 max_rows: int | None = None) -> FactImportResult:
    """Check every row of a file of `kind` (orders, invoices or payments) and post it, a
    batch at a time as the file is read, in one transaction, kept only when no row has a
    problem (or, with `all_or_nothing` off, the rows without one) and this is not a dry run.
    The file is read once (again only when a concurrent writer makes the import start over),
    so memory does not grow with it.

    `source` is the source of rows without a source column. `progress(n)` is called twice
    for every row: when it is checked and when its batch is posted. Raises PermissionRefused
    without the import permission (or the permission to post the kind), and ValidationFailed
    for an unknown kind (field "kind"), an unreadable file or one of more than `max_rows`
    rows (field "file")."""
    if kind not in COLUMNS:
        raise ValidationFailed(_("kind must be one of %(kinds)s") % {"kinds": ", ".join(KINDS)},
                               field="kind")
    if not actor.can(PERMISSION):
        raise PermissionRefused(_("your role may not import orders, invoices or payments"))
    source = source.strip() or DEFAULT_SOURCE
    if len(source) > MAX_LENGTHS["source"]:
        raise ValidationFailed(_("source is longer than 50 characters"), field="source")
    run = _Import(actor, kind, data, filename, dry_run=dry_run, all_or_nothing=all_or_nothing,
                  source=source, progress=progress, max_rows=max_rows)
    for insert_attempt in range(1, INSERT_ATTEMPTS + 1):
        try:
            # A deadlock with a concurrent writer (PostgreSQL) runs the whole import again;
            # so does a concurrent post of one of its identities.
            return atomic_with_retry(run.attempt)
        except IntegrityError:
            if insert_attempt == INSERT_ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


@dataclass
class _Done:
    """What one attempt found: rows read, facts created and replayed, and the problems (the
    rows' own, then the services' refusals)."""

    problems: list[ImportProblem]
    total: int = 0
    created: Tally = field(default_factory=Tally)
    replayed: Tally = field(default_factory=Tally)
    refused: list[ImportProblem] = field(default_factory=list)


class _Import:
    """One import; `attempt` reads the file from its start and does all of it."""

    def __init__(self, actor: Actor, kind: str, data: bytes | IO[bytes], filename: str, *,
                 dry_run: bool, all_or_nothing: bool, source: str,
                 progress: Callable[[int], None] | None, max_rows: int | None) -> None:
        self.actor, self.kind, self.data, self.filename = actor, kind, data, filename
        self.dry_run, self.all_or_nothing, self.source = dry_run, all_or_nothing, source
        self.progress, self.max_rows = progress, max_rows

    def attempt(self) -> FactImportResult:
        table = reading.Table(self.data, self.filename)
        try:
            return self._through(table)
        finally:
            table.close()

    def _count(self, table: reading.Table, counted: int) -> int:
        """All the rows: `counted` already read and the rest of the table; raises when they
        are more than `max_rows`."""
        total = counted + sum(1 for _record in table.records())
        if self.max_rows is not None and total > self.max_rows:
            raise too_many_rows(total, self.max_rows)
        return total

    def _through(self, table: reading.Table) -> FactImportResult:
        kind = self.kind
        header = check_header(kind, table.header_row, table.header)
        problems = list(header.problems)
        names = {name for _index, name, _text in header.columns}
        if not names >= {c.name for c in COLUMNS[kind] if c.required}:
            return FactImportResult(kind, self._count(table, 0), Tally(), Tally(), problems,
                                    self.dry_run)
        done = _Done(problems)
        try:
            # The batch entries are spooled, then appended after the deferred ones (the
            # reservations converted, the rescoring) and outside `deferred`, which would
            # hold them all in memory.
            with transaction.atomic(), audit.Spool() as spool:
                with audit.deferred():
                    writer = FactWriter(self.actor, kind, spool, self.filename)
                    self._pass(table, header, writer, done)
                    if self.dry_run or ((problems or done.refused) and self.all_or_nothing):
                        raise _RollBack
                    writer.finish()
                spool.append(self.actor)
                if done.created:
                    audit.record(self.actor, "ledger.import", object_type=f"ledger.{kind[:-1]}",
                                 object_id="*", after={
                                     "kind": kind, "file": self.filename, "rows": done.total,
                                     "created": len(done.created),
                                     "replayed": len(done.replayed),
                                     "skipped": done.total - len(done.created)
                                     - len(done.replayed)})
        except _RollBack:
            if not self.dry_run:
                done.created, done.replayed = Tally(), Tally()
        problems.extend(done.refused)
        problems.sort(key=lambda p: p.row)
        return FactImportResult(kind, done.total, done.created, done.replayed, problems,
                                self.dry_run)

    def _pass(self, table: reading.Table, header: reading.HeaderMap, writer: FactWriter,
              done: _Done) -> None:
        """Read, check and write the rows a batch at a time; data under a blank header cell
        is a problem of the header row, known once every row is read."""
        checker = Checker(self.kind, self.source, header.columns)
        codes = CustomerCodes(self.actor, next(
            index for index, name, _text in header.columns if name == "customer"))
        stray = StrayCells(header.blank, len(table.header))
        for batch in _batches(table.records(), BATCH_SIZE):
            done.total += len(batch)
            if self.max_rows is not None and done.total > self.max_rows:
                self._count(table, done.total)
            checker.customers = codes.look_up(batch)
            rows = []
            for number, cells in batch:
                stray.see(cells)
                row = checker.check(number, cells, done.problems)
                if row is not None:
                    rows.append(row)
            if self.progress:
                self.progress(len(batch))
            outcome = writer.write(rows)
            done.created.extend(outcome.created)
            done.replayed.extend(outcome.replayed)
            done.refused.extend(self._refusals(outcome.refused, checker.headers))
            if self.progress:
                self.progress(len(batch))
        stray_names = stray.names()
        if stray_names:
            done.problems.append(unknown_columns(
                table.header_row, stray_names, [c.name for c in COLUMNS[self.kind]]))

    @staticmethod
    def _refusals(refused: list[Refusal], headers: dict[str, str]) -> Iterator[ImportProblem]:
        """The services' refusals of a batch's rows, one problem per field and reason."""
        for row, error in refused:
            for name, reasons in (error.errors or {error.field: [error.message]}).items():
                for reason in reasons:
                    yield ImportProblem(row.number, _column_of(name, headers), reason)
