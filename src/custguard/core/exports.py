"""Spreadsheet downloads: one function that turns headers + rows into a CSV or XLSX response.

CSV is UTF-8 with a byte-order mark, so Excel opens Chinese text correctly. XLSX is written with
openpyxl's write-only mode, so memory stays flat for long exports. Cell values are rendered the
same way in both: Decimals exactly (never through float), times in the local time zone, booleans
as translated yes/no, None as an empty cell. Text that a spreadsheet would run as a formula is
neutralised (CSV/formula injection)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Literal

from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

ExportFormat = Literal["csv", "xlsx"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"

# A leading = @ tab or CR makes a spreadsheet treat the text as a formula. A leading + or - does
# too, unless the text is just a number or a phone number ("+86 138-0000-0000").
_FORMULA_START = ("=", "@", "\t", "\r")
_PLAIN_SIGNED = re.compile(r"^[+-][0-9 ()./-]*$")
_ILLEGAL_XML = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def is_format(value: str) -> bool:
    return value in FORMATS


def _neutralise(text: str) -> str:
    if text.startswith(_FORMULA_START) or (
            text[:1] in ("+", "-") and not _PLAIN_SIGNED.match(text)):
        return "'" + text
    return text


def _local(value: dt.datetime) -> dt.datetime:
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.replace(tzinfo=None)


def as_text(value: object) -> str:
    """A cell value as CSV text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return _local(value).strftime(DATETIME_FORMAT)
    if isinstance(value, dt.date):
        return value.strftime(DATE_FORMAT)
    if isinstance(value, int | float):
        return str(value)
    return _neutralise(str(value))


def _filename(stem: str, fmt: ExportFormat) -> str:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return f"{stem}-{stamp}.{fmt}"


def _csv_bytes(headers: list[str], rows: Iterable[list[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([as_text(h) for h in headers])
    for row in rows:
        writer.writerow([as_text(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _xlsx_bytes(title: str, headers: list[str], rows: Iterable[list[object]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=re.sub(r"[\\/*?:\[\]]", "-", title)[:31] or "export")
    bold = Font(bold=True)

    def cell(value: object) -> WriteOnlyCell | object:
        if value is None:
            return None
        if isinstance(value, bool):
            return as_text(value)
        if isinstance(value, Decimal | int | float):
            return value
        if isinstance(value, dt.datetime):
            written = WriteOnlyCell(sheet, value=_local(value))
            written.number_format = "yyyy-mm-dd hh:mm:ss"
            return written
        if isinstance(value, dt.date):
            written = WriteOnlyCell(sheet, value=value)
            written.number_format = "yyyy-mm-dd"
            return written
        text = _ILLEGAL_XML.sub("", str(value))
        written = WriteOnlyCell(sheet, value=text)
        written.data_type = "s"  # never a formula, whatever the text starts with
        return written

    header_cells = []
    for header in headers:
        header_cell = WriteOnlyCell(sheet, value=str(header))
        header_cell.font = bold
        header_cells.append(header_cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([cell(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_response(filename_stem: str, headers: list[str], rows: Iterable[list[object]],
                    fmt: ExportFormat | str) -> HttpResponse:
    """A download of `rows` under `headers` as CSV or XLSX. `filename_stem` should be ASCII
    (e.g. "customers"); the local date and time are appended."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    format_: ExportFormat = fmt  # type: ignore[assignment]
    headers = [str(h) for h in headers]
    if format_ == "csv":
        body = _csv_bytes(headers, rows)
    else:
        body = _xlsx_bytes(filename_stem, headers, rows)
    response = HttpResponse(body, content_type=CONTENT_TYPES[format_])
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=_filename(filename_stem, format_))
    response["Cache-Control"] = "no-store"
    return response
