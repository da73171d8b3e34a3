"""Customer import from a CSV or spreadsheet file: the file is read as a stream, every row is
checked, and the rows are written a batch at a time inside one transaction, with the same data
shape as `services.create_customer` (customer, standing, first contact), one audit entry per
batch listing the customers it created, and one summary audit entry for the import.

Every problem is reported, each naming the spreadsheet row (the header is row 1) and the
column as written in the file. By default a file with any problem writes nothing: writing
stops at the first problem, the rest of the file is still checked, and the transaction is
rolled back at the end. `all_or_nothing=False` writes the rows that have none.

The parts: `reading` (the file as numbered rows), `checking` (header, cells, region room),
`writing` (serials and set-based inserts).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils.translation import gettext as _

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused
from custguard.core.services import audit
from custguard.customers.importing.checking import (
    COLUMNS,
    REQUIRED_COLUMNS,
    Capacity,
    Checker,
    Row,
    canonical_column,
    check_header,
    column_names,
)
from custguard.customers.importing.reading import (
    ImportProblem,
    Source,
    StrayCells,
    Table,
    Tally,
    too_many_rows,
    unknown_columns,
)
from custguard.customers.importing.writing import RegionFilledUp, Writer

__all__ = ["COLUMNS", "ImportProblem", "ImportResult", "canonical_column", "import_customers",
           "read_rows"]

PERMISSION = "customers.import_customers"
BATCH_SIZE = 5000
IMPORT_PAGE_CACHE_KIB = 128 * 1024


@dataclass(frozen=True)
class ImportResult:
    rows: int
    created: Sequence[str]  # the codes created: the first thousand, and their count as len()
    problems: list[ImportProblem]
    dry_run: bool

    @property
    def ok(self) -> bool:
        return not self.problems


def read_rows(data: Source, filename: str) -> list[dict[str, str]]:
    """The file's rows as dicts keyed by field name (`客户名称` → `name`; unknown headers as
    written). The header must be the first non-blank row. Blank rows are left out. Raises
    ValidationFailed(field="file") when the file cannot be read."""
    table = Table(data, filename)
    try:
        names = column_names(table.header)
        width = len(names)
        return [dict(zip(names, (cells + [""] * (width - len(cells)))[:width], strict=True))
                for _number, cells in table.records()]
    finally:
        table.close()


@contextlib.contextmanager
def page_cache() -> Iterator[None]:
    """On SQLite, a larger page cache for the import's connection while it writes: the
    customer table's nine indexes on random keys (name, phone, ID number…) otherwise spill
    the default 2 MB cache on every batch. Bounded, so memory stays flat."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = -{IMPORT_PAGE_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {before}")


class _RollBack(Exception):
    """Leave the import's transaction so that it rolls back."""


def import_customers(actor: Actor, data: Source, filename: str, *, dry_run: bool = False,
                     all_or_nothing: bool = True, progress: Callable[[int], None] | None = None,
                     max_rows: int | None = None) -> ImportResult:
    """Check every row of the file (bytes, or a binary file open for reading), then — unless
    `dry_run`, and only when no row has a problem unless `all_or_nothing` is off — create the
    customers in one transaction.

    `progress(n)` is called as rows are done: once for every row checked, then once more for
    every row written. Raises PermissionRefused without the import permission, and
    ValidationFailed(field="file") for an unreadable file or one of more than `max_rows` rows.
    """
    if not actor.can(PERMISSION):
        raise PermissionRefused(_("your role may not import customers"))
    table = Table(data, filename)
    try:
        return _import(actor, table, filename, dry_run=dry_run, all_or_nothing=all_or_nothing,
                       progress=progress, max_rows=max_rows)
    finally:
        table.close()


def _import(actor: Actor, table: Table, filename: str, *, dry_run: bool, all_or_nothing: bool,
            progress: Callable[[int], None] | None, max_rows: int | None) -> ImportResult:
    header = check_header(table.header_row, table.header)
    problems = list(header.problems)
    if not header.names() >= set(REQUIRED_COLUMNS):
        total = sum(1 for _record in table.records())
        if max_rows is not None and total > max_rows:
            raise too_many_rows(total, max_rows)
        return ImportResult(rows=total, created=[], problems=problems, dry_run=dry_run)

    checker = Checker(actor, header.columns)
    stray = StrayCells(header.blank, header.width)
    capacity = Capacity(checker.regions, header.text_of("region"))
    region_at = header.index_of("region")
    created = Tally()
    counted = [0]  # rows read, also when the work stops with an exception
    try:
        with contextlib.ExitStack() as stack:
            spool = stack.enter_context(audit.Spool())
            if not dry_run:
                stack.enter_context(transaction.atomic())
                stack.enter_context(page_cache())
            writer = Writer(actor, clock.now(), spool, filename)
            run = _Run(checker, stray, capacity, region_at, writer, problems, created,
                       writing=not dry_run, all_or_nothing=all_or_nothing, progress=progress)
            total = run.through(table, max_rows, counted)
            stray_names = stray.names()
            if stray_names:
                problems.append(unknown_columns(header.row, stray_names, COLUMNS))
            if dry_run:
                return _result(total, Tally(), problems, dry_run)
            if not len(created) or (problems and all_or_nothing):
                raise _RollBack
            spool.append(actor)
            audit.record(actor, "customer.import", object_type="customers.customer",
                         object_id="*", after={"file": filename, "rows": total,
                                               "created": len(created),
                                               "skipped": total - len(created)})
    except _RollBack:
        return _result(counted[0], Tally(), problems, dry_run)
    except RegionFilledUp as full:
        problems.append(ImportProblem(
            full.row, header.text_of("region"),
            _("region %(code)s filled up while the file was being imported (customers were "
              "added meanwhile); nothing was imported: check the region and try again") % {
                "code": full.region}))
        return _result(sum(1 for _record in table.records()) + counted[0], Tally(), problems,
                       dry_run)
    return _result(total, created, problems, dry_run)


class _Run:
    """One pass over the rows: check each, write the good ones a batch at a time while the
    import may still be kept."""

    def __init__(self, checker: Checker, stray: StrayCells, capacity: Capacity,
                 region_at: int, writer: Writer, problems: list[ImportProblem],
                 created: Tally, *, writing: bool, all_or_nothing: bool,
                 progress: Callable[[int], None] | None) -> None:
        self.checker, self.stray, self.capacity = checker, stray, capacity
        self.region_at, self.writer, self.problems = region_at, writer, problems
        self.created, self.writing, self.all_or_nothing = created, writing, all_or_nothing
        self.progress = progress
        self.batch: list[Row] = []
        self.checked = 0

    def through(self, table: Table, max_rows: int | None, counted: list[int]) -> int:
        checker, problems, batch = self.checker, self.problems, self.batch
        see, fits = self.stray.see, self.capacity.fits
        all_or_nothing, region_at, regions = self.all_or_nothing, self.region_at, checker.regions
        total = 0
        for number, cells in table.records():
            total += 1
            counted[0] = total
            if max_rows is not None and total > max_rows:
                raise too_many_rows(total + sum(1 for _record in table.records()), max_rows)
            see(cells)
            row = checker.check(number, cells, problems)
            if row is not None:
                if fits(number, row.region, problems):
                    batch.append(row)
            elif all_or_nothing:
                # A row with other problems still needs its serial once it is fixed.
                region = cells[region_at] if region_at < len(cells) else ""
                if region in regions:
                    fits(number, region, problems)
            self.checked += 1
            if self.checked >= BATCH_SIZE:
                self.flush()
        self.flush()
        return total

    def flush(self) -> None:
        if self.progress and self.checked:
            self.progress(self.checked)
        self.checked = 0
        if self.batch and self.writing and not (self.problems and self.all_or_nothing):
            self.created.extend(self.writer.write(self.batch))
            if self.progress:
                self.progress(len(self.batch))
        self.batch.clear()


def _result(total: int, created: Tally, problems: list[ImportProblem],
            dry_run: bool) -> ImportResult:
    problems.sort(key=lambda p: p.row)
    return ImportResult(rows=total, created=created, problems=problems, dry_run=dry_run)
