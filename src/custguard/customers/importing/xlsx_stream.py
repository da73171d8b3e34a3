"""The first worksheet of an .xlsx workbook as a stream of rows of cell values, pulled from
the zip member a block at a time and parsed by the C ElementTree parser, so memory stays flat
however long the sheet is (the shared-strings table, which the format keeps apart, is held).

Why not openpyxl's read-only reader: it builds descriptor-checked objects per cell and reads
about 6,000 rows of 17 text columns a second here, which made a large workbook import four
times slower than the same rows as CSV; this reader only takes what an import needs —
values (shared, inline and formula strings, numbers, booleans, errors, dates by their number
format) at their row and column — and leaves the rest of the format to openpyxl and calamine.
openpyxl still supplies the date conversion.
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET  # noqa: S405 - the workbook's own XML, no entities expanded
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from openpyxl.styles.numbers import is_date_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PACKAGE = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# Built-in number formats that show a date or time: the common ones (14-22, 45-47) and the
# East Asian ones (27-36, 50-58) that Chinese Excel writes for 2024年3月1日 and the like.
DATE_FORMAT_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])

ROW, CELL, VALUE, TEXT = f"{MAIN}row", f"{MAIN}c", f"{MAIN}v", f"{MAIN}t"
SHEET_DATA_TAG = f"{MAIN}sheetData"
CHUNK = 1024 * 1024
SHEET_DATA = re.compile(rb"<(?:(?P<prefix>[A-Za-z_][\w.-]*:))?sheetData\b[^>]*?(?P<empty>/?)>")
ROOT_TAG = re.compile(rb"<(?:(?P<prefix>[A-Za-z_][\w.-]*:))?worksheet\b")
INLINE, RUN = f"{MAIN}is", f"{MAIN}r"


class UnreadableWorkbook(Exception):
    """The file is not a workbook this reader understands (its message says why)."""


def rows(stream: IO[bytes]) -> Iterator[list[Any]]:
    """Every row of the first worksheet from row 1, blank rows included (as []), so that the
    n-th row yielded is spreadsheet row n. Values: str, float, bool, datetime or None."""
    try:
        archive = zipfile.ZipFile(stream)
        sheet, strings_part, styles_part, calendar = _parts(archive)
        shared = _shared_strings(archive, strings_part)
        dates = _date_styles(archive, styles_part)
        yield from _sheet_rows(archive, sheet, shared, dates, calendar)
    except (zipfile.BadZipFile, KeyError, ET.ParseError, ValueError, IndexError) as error:
        raise UnreadableWorkbook(str(error) or type(error).__name__) from None


def _parts(archive: zipfile.ZipFile) -> tuple[str, str | None, str | None, Any]:
    """(first sheet, shared strings, styles, calendar) of the workbook, found through its
    relationships as the format prescribes, not by the usual file names."""
    root = ET.fromstring(archive.read("xl/workbook.xml"))  # noqa: S314
    properties = root.find(f"{MAIN}workbookPr")
    mac = properties is not None and properties.get("date1904") in ("1", "true")
    first = root.find(f"{MAIN}sheets/{MAIN}sheet")
    if first is None:
        raise UnreadableWorkbook("the workbook has no sheet")
    sheet_id = first.get(f"{RELATIONSHIP}id")
    targets: dict[str, str] = {}
    by_type: dict[str, str] = {}
    relationships = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))  # noqa: S314
    for relationship in relationships.iter(f"{PACKAGE}Relationship"):
        target = relationship.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
            posixpath.join("xl", target))
        targets[relationship.get("Id", "")] = path
        by_type[relationship.get("Type", "").rsplit("/", 1)[-1]] = path
    return (targets[sheet_id or ""], by_type.get("sharedStrings"), by_type.get("styles"),
            CALENDAR_MAC_1904 if mac else CALENDAR_WINDOWS_1900)


def _text(element: ET.Element) -> str:
    """The text of a string item: its plain text or its rich-text runs, without the phonetic
    (pinyin/furigana) guides."""
    plain = element.find(TEXT)
    if plain is not None:
        return plain.text or ""
    return "".join(run.findtext(TEXT) or "" for run in element.iter(RUN))


def _shared_strings(archive: zipfile.ZipFile, part: str | None) -> list[str]:
    if part is None or part not in archive.NameToInfo:
        return []
    strings = []
    item = f"{MAIN}si"
    with archive.open(part) as source:
        for _event, element in ET.iterparse(source):  # noqa: S314
            if element.tag == item:
                plain = element.findtext(TEXT)
                strings.append(_text(element) if plain is None else plain)
                element.clear()
    return strings


def _date_styles(archive: zipfile.ZipFile, part: str | None) -> frozenset[int]:
    """Indexes of the cell styles whose number format shows a date or time."""
    if part is None or part not in archive.NameToInfo:
        return frozenset()
    root = ET.fromstring(archive.read(part))  # noqa: S314
    custom = {int(fmt.get("numFmtId", "-1")): fmt.get("formatCode", "")
              for fmt in root.iter(f"{MAIN}numFmt")}
    cell_styles = root.find(f"{MAIN}cellXfs")
    if cell_styles is None:
        return frozenset()
    dates = set()
    for index, style in enumerate(cell_styles.iter(f"{MAIN}xf")):
        format_id = int(style.get("numFmtId", "0"))
        if format_id in custom:
            if is_date_format(custom[format_id]):
                dates.add(index)
        elif format_id in DATE_FORMAT_IDS:
            dates.add(index)
    return frozenset(dates)


def _column(reference: str) -> int:
    """0-based column of a cell reference such as "AB12"."""
    index = 0
    for char in reference:
        if char.isdigit():
            break
        index = index * 26 + ord(char.upper()) - 64
    return index - 1


def _sheet_rows(archive: zipfile.ZipFile, part: str, shared: list[str], dates: frozenset[int],
                calendar: Any) -> Iterator[list[Any]]:
    number = 0
    with archive.open(part) as source:
        for row in _row_elements(source):
            row_number = int(row.get("r") or number + 1)
            while number + 1 < row_number:
                number += 1
                yield []
            number = row_number
            cells: list[Any] = []
            for cell in row:
                if cell.tag != CELL:
                    continue
                reference = cell.get("r")
                if reference:
                    column = _column(reference)
                    if column > len(cells):
                        cells.extend([None] * (column - len(cells)))
                if cell.get("t") == "s":  # the common case, without a call
                    raw = cell.findtext(VALUE)
                    cells.append(None if raw is None else shared[int(raw)])
                else:
                    cells.append(_value(cell, dates, calendar))
            yield cells


def _row_elements(source: IO[bytes]) -> Iterator[ET.Element]:
    """The sheet's <row> elements, about a megabyte of XML at a time: each block is cut after
    its last complete row and parsed by one call of the C parser (no Python work per XML
    event), wrapped in the sheet's own opening tags so that its namespaces resolve."""
    buffer = b""
    while (opening := SHEET_DATA.search(buffer)) is None:
        block = source.read(CHUNK)
        if not block:
            raise UnreadableWorkbook("the worksheet has no sheetData")
        buffer += block
    if opening.group("empty"):
        return
    prefix = opening.group("prefix") or b""
    root = ROOT_TAG.search(buffer)
    root_prefix = (root.group("prefix") or b"") if root else b""
    head = buffer[:opening.end()]
    row_end, data_end = b"</" + prefix + b"row>", b"</" + prefix + b"sheetData>"
    tail = data_end + b"</" + root_prefix + b"worksheet>"
    buffer = buffer[opening.end():]
    finished = False
    while not finished:
        block = source.read(CHUNK)
        buffer += block
        cut = buffer.find(data_end)
        if cut >= 0:
            finished = True
        elif not block:
            raise UnreadableWorkbook("the worksheet ends inside its rows")
        else:
            cut = buffer.rfind(row_end)
            if cut < 0:
                continue
            cut += len(row_end)
        sheet_data = ET.fromstring(head + buffer[:cut] + tail).find(SHEET_DATA_TAG)  # noqa: S314
        if sheet_data is None:
            raise UnreadableWorkbook("the worksheet is not in the spreadsheetml namespace")
        yield from sheet_data.iter(ROW)
        buffer = buffer[cut:]


def _value(cell: ET.Element, dates: frozenset[int], calendar: Any) -> Any:
    """A cell other than a shared string (those are read in the row loop)."""
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        inline = cell.find(INLINE)
        return _text(inline) if inline is not None else None
    raw = cell.findtext(VALUE)
    if raw is None:
        return None
    if kind in ("str", "e", "d"):
        return raw
    if kind == "b":
        return raw == "1"
    number = float(raw)
    style = cell.get("s")
    if style is not None and int(style) in dates:
        return from_excel(number, calendar)
    return number
