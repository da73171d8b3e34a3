"""Reading an import file as a stream of numbered rows: CSV (UTF-8 with or without BOM, UTF-16
with a BOM, or GB18030; comma or tab separated) and spreadsheets (.xlsx, .xls, .ods).

Nothing here holds the whole file: a CSV is decoded and split as it is read, a large .xlsx is
pulled row by row from its sheet's XML (`xlsx_stream`). Small workbooks, and the formats openpyxl
cannot read (.xls, .xlsb, .ods), are read with calamine, which loads the sheet into memory
but is about ten times faster; `IN_MEMORY_SPREADSHEET_BYTES` bounds the memory that takes.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from django.utils.translation import gettext as _

from custguard.core.errors import ValidationFailed

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
STREAMED_SUFFIXES = (".xlsx", ".xlsm")
# A workbook up to this size (the file, compressed) is read by calamine in memory: about
# 25 bytes of memory per byte of file. Larger ones are streamed.
IN_MEMORY_SPREADSHEET_BYTES = 4 * 1024 * 1024
CHUNK = 1024 * 1024
Source = bytes | IO[bytes]


@dataclass(frozen=True)
class ImportProblem:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("row %(row)s, column %(column)s: %(message)s") % {
            "row": self.row, "column": self.column, "message": self.message}


def header_key(text: str) -> str:
    """A header cell as a column index knows it (case, spaces, dashes and a trailing `*` do
    not matter)."""
    return "".join(text.strip().strip("\ufeff").rstrip("*＊").casefold().replace("-", "_")
                   .split())


def column_letter(index: int) -> str:
    """Spreadsheet column letter of a 0-based index (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class HeaderMap:
    columns: list[tuple[int, str, str]]  # (cell index, field name, header as written)
    problems: list[ImportProblem]
    blank: set[int]  # indexes of header cells left empty


def unknown_columns(row: int, unknown: list[str], columns: Sequence[str]) -> ImportProblem:
    return ImportProblem(
        row, ", ".join(unknown),
        _("unknown column(s); the columns are: %(columns)s (or their Chinese names)") % {
            "columns": ", ".join(columns)})


def map_header(row: int, header: list[str], name_of: Callable[[str], str | None],
               known: Sequence[str], required: Sequence[str],
               stray: Callable[[int], bool] | None = None) -> HeaderMap:
    """Which field each header cell names (`name_of` of its text), with a problem for every
    unknown column, every field named twice and every required field missing. A blank
    header cell is reported as unknown, by its letter, when `stray(index)` says data lies
    under it."""
    problems: list[ImportProblem] = []
    columns: list[tuple[int, str, str]] = []
    seen: dict[str, str] = {}
    unknown: list[str] = []
    blank: set[int] = set()
    for index, text in enumerate(header):
        if not text:
            blank.add(index)
            if stray is not None and stray(index):
                unknown.append(f"({column_letter(index)})")
            continue
        name = name_of(text)
        if name is None:
            unknown.append(text)
        elif name in seen:
            problems.append(ImportProblem(
                row, text, _("names the same field (%(field)s) as column %(column)s") % {
                    "field": name, "column": repr(seen[name])}))
        else:
            seen[name] = text
            columns.append((index, name, text))
    if unknown:
        problems.append(unknown_columns(row, unknown, known))
    problems.extend(ImportProblem(row, name, _("this required column is missing"))
                    for name in required if name not in seen)
    return HeaderMap(columns, problems, blank)


def too_many_rows(total: int, max_rows: int) -> ValidationFailed:
    return ValidationFailed(_("the file has %(total)s rows; at most %(max)s can be imported "
                              "at once: split it") % {"total": total, "max": max_rows},
                            field="file")


class StrayCells:
    """Cells with data under an empty header cell or right of the header, found as the rows
    stream by; reported once, as one problem of the header row."""

    def __init__(self, blank: set[int], width: int) -> None:
        self.blank = sorted(blank)
        self.width = width
        self.found: set[int] = set()
        self.beyond = False

    def see(self, cells: list[str]) -> None:
        size = len(cells)
        for index in self.blank:
            if index < size and cells[index]:
                self.found.add(index)
        if size > self.width and not self.beyond and any(cells[self.width:]):
            self.beyond = True

    def names(self) -> list[str]:
        names = [f"({column_letter(index)})" for index in sorted(self.found)]
        if self.beyond:
            names.append(f"({column_letter(self.width)})")
        return names


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Spreadsheets store codes and phone numbers typed as numbers as floats.
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def _stream(source: Source) -> IO[bytes]:
    return io.BytesIO(source) if isinstance(source, bytes | bytearray) else source


def _size(stream: IO[bytes]) -> int:
    position = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    stream.seek(position)
    return end


def _unreadable_text() -> ValidationFailed:
    return ValidationFailed(_("the file is neither UTF-8 nor GB18030 text; save it as "
                              "\"CSV UTF-8\" or as an .xlsx workbook"), field="file")


def _encoding(stream: IO[bytes]) -> str:
    """UTF-8 (BOM or not) or UTF-16 by its BOM; otherwise GB18030 (what Excel on Chinese
    Windows saves as "CSV") when any part of the file is not UTF-8. One pass through a C
    decoder, a megabyte at a time."""
    stream.seek(0)
    head = stream.read(4)
    stream.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while block := stream.read(CHUNK):
            decoder.decode(block)
        decoder.decode(b"", final=True)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"
    finally:
        stream.seek(0)


def _csv_rows(stream: IO[bytes]) -> Iterator[list[str]]:
    encoding = _encoding(stream)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        first = text.readline()
        delimiter = "\t" if "\t" in first and "," not in first else ","
        text.seek(0)
        for record in csv.reader(text, delimiter=delimiter):
            yield [cell.strip() for cell in record]
    except UnicodeDecodeError:
        raise _unreadable_text() from None
    except csv.Error as error:
        raise ValidationFailed(_("the CSV file cannot be read: %(error)s") % {"error": error},
                               field="file") from None
    finally:
        text.detach()


def _unreadable_spreadsheet(error: Exception) -> ValidationFailed:
    return ValidationFailed(_("the spreadsheet cannot be read: %(error)s") % {
        "error": error}, field="file")


def _calamine_rows(stream: IO[bytes]) -> Iterator[list[str]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(stream)
        # Keep empty leading rows and columns so row numbers match the spreadsheet's.
        rows = workbook.get_sheet_by_index(0).iter_rows()
    except Exception as error:  # calamine raises several kinds for damaged or foreign files
        raise _unreadable_spreadsheet(error) from None
    for row in rows:
        yield [cell_text(value) for value in row]


def _streamed_xlsx_rows(stream: IO[bytes]) -> Iterator[list[str]]:
    from custguard.customers.importing import xlsx_stream

    try:
        for row in xlsx_stream.rows(stream):
            yield [cell_text(value) for value in row]
    except xlsx_stream.UnreadableWorkbook as error:
        raise _unreadable_spreadsheet(error) from None


def is_spreadsheet(stream: IO[bytes], filename: str) -> bool:
    name = filename.lower()
    if name.endswith(SPREADSHEET_SUFFIXES):
        return True
    if name.endswith((".csv", ".txt", ".tsv")):
        return False
    # No telling suffix: a zip (xlsx, ods) or an OLE compound file (xls) is a spreadsheet.
    stream.seek(0)
    head = stream.read(8)
    stream.seek(0)
    return head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0"))


def _is_streamed(stream: IO[bytes], filename: str) -> bool:
    name = filename.lower()
    if _size(stream) <= IN_MEMORY_SPREADSHEET_BYTES:
        return False
    if name.endswith(STREAMED_SUFFIXES):
        return True
    if name.endswith(SPREADSHEET_SUFFIXES):
        return False
    try:
        with zipfile.ZipFile(stream) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False
    finally:
        stream.seek(0)


class Table:
    """The header (the first non-blank row) and then the numbered non-blank rows of a file,
    read as they are asked for. Raises ValidationFailed(field="file") when the file cannot
    be read — at once for its header, later for a damaged part further on."""

    def __init__(self, source: Source, filename: str) -> None:
        stream = _stream(source)
        stream.seek(0)
        if not is_spreadsheet(stream, filename):
            raw = _csv_rows(stream)
        elif _is_streamed(stream, filename):
            raw = _streamed_xlsx_rows(stream)
        else:
            raw = _calamine_rows(stream)
        self._raw = raw
        number = 0
        for number, cells in enumerate(raw, start=1):  # noqa: B007 - used after the loop
            if any(cells):
                self.header: list[str] = cells
                self.header_row = number
                break
        else:
            raise ValidationFailed(_("the file is empty: the first row must name the columns"),
                                   field="file")

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(spreadsheet row, cells) of every non-blank row after the header; once."""
        for number, cells in enumerate(self._raw, start=self.header_row + 1):
            if any(cells):
                yield number, cells

    def close(self) -> None:
        close = getattr(self._raw, "close", None)
        if close is not None:
            close()


class Tally:
    """A growing list that keeps only its first `keep` items but counts them all, so that a
    result listing what an import of a million rows created stays small. `len()` is the
    count; indexing and iteration see the kept items."""

    def __init__(self, keep: int = 1000) -> None:
        self.keep = keep
        self.items: list[str] = []
        self.count = 0

    def append(self, item: str) -> None:
        self.count += 1
        if len(self.items) < self.keep:
            self.items.append(item)

    def extend(self, items: Sequence[str]) -> None:
        self.count += len(items)
        room = self.keep - len(self.items)
        if room > 0:
            self.items.extend(items[:room])

    def clear(self) -> None:
        self.items.clear()
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[str]:
        return iter(self.items)

    def __getitem__(self, index: Any) -> Any:
        return self.items[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Tally):
            return (self.count, self.items) == (other.count, other.items)
        if isinstance(other, list):
            return self.count == len(self.items) and self.items == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Tally({self.items!r}, count={self.count})"
