"""core.filetypes: the content of an upload decides what it is, not its name or its declared
type; names are sanitised for display; downloads are named with RFC 5987 for Chinese names.
Pure functions: no database."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.utils import translation

from custguard.core import filetypes
from custguard.core.errors import ValidationFailed

ALLOWED = ["pdf", "jpg", "jpeg", "png", "gif", "webp", "txt", "csv", "doc", "docx", "xls",
           "xlsx", "zip", "mp3", "mp4", "eml", "heic"]


def zipped(*members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in members:
            archive.writestr(member, b"<xml/>")
    return buffer.getvalue()


GOOD = {
    "report.pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
    "photo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "photo.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "photo.jpeg": b"\xff\xd8\xff\xe1\x00\x10Exif\x00",
    "anim.gif": b"GIF89a\x01\x00\x01\x00",
    "photo.webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    "iphone.heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00",
    "notes.txt": "核查日期：2026-12-01\n外包装完好。\n".encode(),
    "gbk.csv": "运单号,发货仓\nYT1,客户仓库\n".encode("gb18030"),
    "utf16.txt": b"\xff\xfe" + "记录".encode("utf-16-le"),
    "mail.eml": b"From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n",
    "old.doc": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 32,
    "old.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 32,
    "contract.docx": zipped("[Content_Types].xml", "word/document.xml"),
    "ledger.xlsx": zipped("[Content_Types].xml", "xl/workbook.xml"),
    "photos.zip": zipped("a.jpg", "b/c.pdf"),
    "call.mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00",
    "video.mp4": b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00",
}


@pytest.mark.parametrize("name", list(GOOD))
def test_each_accepted_kind_is_recognised(name: str) -> None:
    checked = filetypes.check_upload(name, "application/octet-stream", io.BytesIO(GOOD[name]),
                                     ALLOWED)
    assert checked.name == name
    assert checked.content_type == filetypes.TYPES[checked.extension][0]


BAD = {
    # name, content, declared type, the reason's words
    "a Windows program named .pdf": ("invoice.pdf", b"MZ\x90\x00\x03\x00", "application/pdf",
                                     "a Windows program"),
    "a Linux program named .png": ("photo.png", b"\x7fELF\x02\x01\x01", "image/png",
                                   "a Linux program"),
    "a Mach-O program named .jpg": ("photo.jpg", b"\xcf\xfa\xed\xfe\x07\x00", "",
                                    "a macOS or Java program"),
    "a script named .txt": ("notes.txt", b"#!/bin/sh\nrm -rf /\n", "text/plain", "a script"),
    "a PNG named .pdf": ("report.pdf", GOOD["photo.png"], "application/pdf",
                         "named .pdf but its content is a PNG image"),
    "a PNG declared as a PDF": ("photo.png", GOOD["photo.png"], "application/pdf",
                                "sent as application/pdf but its content is a PNG image"),
    "a PDF declared as HTML": ("report.pdf", GOOD["report.pdf"], "text/html; charset=utf-8",
                               "sent as text/html"),
    "a web page named .txt": ("notes.txt", b"  <!DOCTYPE html><html><body>hi", "text/plain",
                              "a web page or SVG image"),
    "a script tag in a .csv": ("data.csv", b"a,b\n1,<script>alert(1)</script>\n", "text/csv",
                               "a web page or SVG image"),
    "an SVG named .txt": ("logo.txt", b'<?xml version="1.0"?>\n<svg onload="x()"/>', "",
                          "a web page or SVG image"),
    "a macro workbook": ("book.xlsx", zipped("xl/workbook.xml", "xl/vbaProject.bin"), "",
                         "macros"),
    "a zip holding a program": ("photos.zip", zipped("a.jpg", "setup.EXE"), "application/zip",
                                "holds a program, script or web page (setup.exe)"),
    "a damaged zip": ("photos.zip", b"PK\x03\x04 not really", "", "damaged"),
    "a docx named .zip": ("contract.zip", GOOD["contract.docx"], "",
                          "named .zip but its content is a Word document"),
    "binary of no kind": ("report.pdf", b"\x01\x02\x03\x04\x00\x00", "",
                          "of no accepted kind"),
    "a type not allowed": ("tool.exe", b"MZ", "", "files of type .exe are not accepted"),
    "a type allowed without a content check": ("archive.rar", b"Rar!\x1a\x07", "",
                                               "files of type .rar are not accepted"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_programs_web_pages_and_mismatches_are_refused_naming_the_file(case: str) -> None:
    name, content, declared, reason = BAD[case]
    with pytest.raises(ValidationFailed) as refused, translation.override("en"):
        filetypes.check_upload(name, declared, io.BytesIO(content), [*ALLOWED, "rar"])
    assert refused.value.field == "file"
    assert reason in refused.value.message


def test_the_reason_is_translated() -> None:
    with pytest.raises(ValidationFailed) as refused, translation.override("zh-hans"):
        filetypes.check_upload("invoice.pdf", "", io.BytesIO(b"MZ\x90\x00"), ALLOWED)
    assert "程序" in refused.value.message


def test_sniffing_leaves_the_stream_at_its_start() -> None:
    stream = io.BytesIO(GOOD["contract.docx"])
    filetypes.check_upload("contract.docx", "", stream, ALLOWED)
    assert stream.tell() == 0


@pytest.mark.parametrize(("raw", "shown"), [
    ("../../x.pdf", "x.pdf"),
    ("..\\..\\windows\\x.pdf", "x.pdf"),
    ("/etc/passwd", "passwd"),
    ("evil\u202egpj.pdf", "evilgpj.pdf"),  # a right-to-left override hides the real extension
    ("  .hidden.pdf ", "hidden.pdf"),
    ("a\x00b\nc.pdf", "abc.pdf"),
    ("..", "evidence"),
    ("", "evidence"),
    ("现场 照片.pdf", "现场 照片.pdf"),
    ("长" * 300 + ".pdf", "长" * 251 + ".pdf"),
])
def test_display_names_are_sanitised(raw: str, shown: str) -> None:
    assert filetypes.display_name(raw) == shown


def test_downloads_are_attachments_with_an_rfc_5987_name() -> None:
    assert filetypes.attachment_disposition("report.pdf") == 'attachment; filename="report.pdf"'
    chinese = filetypes.attachment_disposition("现场 照片.pdf", fallback_stem="evidence-7")
    assert chinese == ("attachment; filename=\"evidence-7.pdf\"; "
                       "filename*=utf-8''%E7%8E%B0%E5%9C%BA%20%E7%85%A7%E7%89%87.pdf")
    quoted = filetypes.attachment_disposition('a"b;c.pdf')
    assert quoted.startswith('attachment; filename="a_b_c.pdf"; filename*=utf-8\'\'a%22b%3Bc.pdf')
