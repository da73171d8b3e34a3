"""The streaming .xlsx reader against what Excel and other writers put in a workbook, and
against calamine reading the same files."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from custguard.customers.importing import xlsx_stream

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
WORKBOOK = (f'<workbook xmlns="{MAIN}" xmlns:r="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships">{properties}<sheets><sheet name="数据" '
            'sheetId="1" r:id="rId7"/></sheets></workbook>')
RELS = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="/xl/worksheets/data.xml"/>'
        '<Relationship Id="rId8" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/sharedStrings" Target="strings.xml"/>'
        '<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/styles" Target="styles.xml"/></Relationships>')
STRINGS = (f'<sst xmlns="{MAIN}"><si><t>甲公司</t></si>'
           '<si><r><t>富</t></r><r><rPr><b/></rPr><t>文本</t></r>'
           '<rPh sb="0" eb="1"><t>fu</t></rPh></si><si><t/></si></sst>')
# Styles: 0 general, 1 built-in date 14, 2 Chinese built-in date 31, 3 custom date, 4 number.
STYLES = (f'<styleSheet xmlns="{MAIN}"><numFmts><numFmt numFmtId="164" '
          'formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/>'
          '<numFmt numFmtId="165" formatCode="0.000"/></numFmts><cellXfs>'
          '<xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="31"/><xf numFmtId="164"/>'
          '<xf numFmtId="165"/></cellXfs></styleSheet>')


def workbook(sheet_data: str, *, prefix: str = "", date1904: bool = False) -> io.BytesIO:
    p = f"{prefix}:" if prefix else ""
    declaration = f'xmlns:{prefix}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><{p}worksheet {declaration}>'
             f'<{p}dimension ref="A1:E9"/><{p}sheetData>{sheet_data}</{p}sheetData>'
             f'<{p}pageMargins left="0.7"/></{p}worksheet>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        book.writestr("xl/workbook.xml", WORKBOOK.format(
            properties='<workbookPr date1904="1"/>' if date1904 else ""))
        book.writestr("xl/_rels/workbook.xml.rels", RELS)
        book.writestr("xl/worksheets/data.xml", sheet)
        book.writestr("xl/strings.xml", STRINGS)
        book.writestr("xl/styles.xml", STYLES)
    buffer.seek(0)
    return buffer


ROWS = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row>'
        '<row r="3"><c r="B3" t="inlineStr"><is><t>行内</t></is></c><c r="C3"><v>13800138000</v>'
        '</c><c r="D3" s="4"><v>2.5</v></c><c r="E3" t="b"><v>1</v></c></row>'
        '<row r="4"><c r="A4" s="1"><v>45352</v></c><c r="B4" s="2"><v>45352</v></c>'
        '<c r="C4" s="3"><v>45352.5</v></c><c r="D4" t="str"><f>A1&amp;"x"</f><v>甲x</v></c>'
        '<c r="E4" t="e"><v>#N/A</v></c></row>'
        '<row r="5"><c r="A5" t="s"><v>2</v></c><c r="B5"/></row>')
EXPECTED = [
    ["甲公司", None, "富文本"],
    [],
    [None, "行内", 13800138000.0, 2.5, True],
    [dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 1, 12), "甲x",
     "#N/A"],
    ["", None],
]


def test_values_positions_and_blank_rows_as_the_sheet_holds_them() -> None:
    assert list(xlsx_stream.rows(workbook(ROWS))) == EXPECTED


def test_a_prefixed_namespace_and_tiny_blocks_read_the_same(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx_stream, "CHUNK", 7)  # every row cut across blocks
    prefixed = ROWS.replace("<", "<x:").replace("<x:/", "</x:")
    assert list(xlsx_stream.rows(workbook(prefixed, prefix="x"))) == EXPECTED


def test_the_1904_calendar_shifts_dates() -> None:
    rows = list(xlsx_stream.rows(workbook('<row><c s="1"><v>1</v></c></row>', date1904=True)))
    assert rows == [[dt.datetime(1904, 1, 2)]]  # 1 in the 1900 calendar is 1900-01-01


def test_an_empty_sheet_has_no_rows() -> None:
    buffer = workbook("")
    text = zipfile.ZipFile(buffer).read("xl/worksheets/data.xml").replace(
        b"<sheetData></sheetData>", b"<sheetData/>")
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as book, zipfile.ZipFile(buffer) as source:
        for name in source.namelist():
            book.writestr(name, text if name.endswith("data.xml") else source.read(name))
    assert list(xlsx_stream.rows(empty)) == []


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda data: data[:len(data) // 2], "ends inside its rows"),
    (lambda data: data.replace(b"</c></row>", b"</row>", 1), "mismatched tag"),
])
def test_a_damaged_sheet_is_unreadable(damage: object, reason: str) -> None:
    buffer = workbook(ROWS)
    broken = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(broken, "w") as book:
        for name in source.namelist():
            data = source.read(name)
            book.writestr(name, damage(data) if name.endswith("data.xml") else data)  # type: ignore[operator]
    with pytest.raises(xlsx_stream.UnreadableWorkbook, match=reason):
        list(xlsx_stream.rows(broken))


def test_not_a_zip_is_unreadable() -> None:
    with pytest.raises(xlsx_stream.UnreadableWorkbook):
        list(xlsx_stream.rows(io.BytesIO(b"name,kind\n")))


def test_an_openpyxl_workbook_reads_as_calamine_reads_it() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["客户名称", "类型", "地区", "电话", "开户日期", "额度"])
    sheet.append(["表格公司", "企业", 130100, 13800138000, dt.date(2024, 3, 1), 1234.5])
    sheet.append([])
    sheet.append([None, "个人", "130200", None, dt.datetime(2023, 12, 31, 8, 30), True])
    buffer = io.BytesIO()
    book.save(buffer)
    streamed = list(xlsx_stream.rows(io.BytesIO(buffer.getvalue())))
    calamine = CalamineWorkbook.from_filelike(io.BytesIO(buffer.getvalue()))
    expected = calamine.get_sheet_by_index(0).to_python(skip_empty_area=False)

    def plain(value: object) -> object:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return dt.datetime.combine(value, dt.time())
        return "" if value is None else value

    assert [[plain(v) for v in row] for row in streamed] == [
        [plain(v) for v in row][:len(streamed_row)]
        for row, streamed_row in zip(expected, streamed, strict=True)]
