"""What an uploaded file really is: its content is sniffed (magic numbers), never trusted from
the name or the type the uploader declared.

A small table of signatures for the kinds of file custguard accepts (no dependency: `filetype`
guesses but does not tell a .docx from any zip nor look inside one, `python-magic` needs the C
libmagic on every machine). `check_upload()` refuses, with a reason naming the field `file`:

- programs, whatever their name: Windows (MZ), Linux (ELF), macOS (Mach-O), Java classes,
  WebAssembly, and scripts (`#!`);
- web pages and SVG images (text that starts as HTML/SVG or carries a `<script`), which a
  browser would run;
- Office files with macros (a `vbaProject.bin` inside a .docx/.xlsx) and zip archives holding
  programs or scripts (by their members' names);
- content of another kind than the file's extension says (a PNG named .pdf, a program named
  .pdf), or than the declared content type says (a PNG sent as `application/pdf`); a generic
  declared type (`application/octet-stream`, none) is not a claim and passes;
- content of no known kind.
"""

from __future__ import annotations

import codecs
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO
from urllib.parse import quote

from django.utils.translation import gettext as _

from custguard.core.errors import ValidationFailed

HEAD = 64 * 1024  # bytes read to sniff: signatures, and enough text to judge it
NAME_MAX = 255
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream",
                           "application/unknown", "application/x-unknown"})

# extension → (the type it is served as, the declared types that agree with it)
TYPES: dict[str, tuple[str, frozenset[str]]] = {
    "pdf": ("application/pdf", frozenset({"application/pdf", "application/x-pdf"})),
    "png": ("image/png", frozenset({"image/png", "image/x-png"})),
    "jpg": ("image/jpeg", frozenset({"image/jpeg", "image/jpg", "image/pjpeg"})),
    "jpeg": ("image/jpeg", frozenset({"image/jpeg", "image/jpg", "image/pjpeg"})),
    "gif": ("image/gif", frozenset({"image/gif"})),
    "webp": ("image/webp", frozenset({"image/webp"})),
    "heic": ("image/heic", frozenset({"image/heic", "image/heif", "image/heic-sequence"})),
    "txt": ("text/plain", frozenset({"text/plain"})),
    "csv": ("text/csv", frozenset({"text/csv", "text/plain", "application/csv", "text/x-csv",
                                   "text/comma-separated-values",
                                   "application/vnd.ms-excel"})),  # what Windows sends
    "eml": ("message/rfc822", frozenset({"message/rfc822", "text/plain"})),
    "doc": ("application/msword", frozenset({"application/msword"})),
    "xls": ("application/vnd.ms-excel", frozenset({"application/vnd.ms-excel",
                                                   "application/msexcel"})),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             frozenset({"application/vnd.openxmlformats-officedocument.wordprocessingml."
                        "document"})),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             frozenset({"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})),
    "zip": ("application/zip", frozenset({"application/zip", "application/x-zip-compressed",
                                          "application/x-zip", "multipart/x-zip"})),
    "mp3": ("audio/mpeg", frozenset({"audio/mpeg", "audio/mp3", "audio/mpeg3",
                                     "audio/x-mpeg"})),
    "mp4": ("video/mp4", frozenset({"video/mp4", "audio/mp4", "application/mp4"})),
}

# what the content is → the extensions it may carry
KINDS: dict[str, frozenset[str]] = {
    "pdf": frozenset({"pdf"}), "png": frozenset({"png"}), "jpeg": frozenset({"jpg", "jpeg"}),
    "gif": frozenset({"gif"}), "webp": frozenset({"webp"}), "heic": frozenset({"heic"}),
    "text": frozenset({"txt", "csv", "eml"}), "ole": frozenset({"doc", "xls"}),
    "docx": frozenset({"docx"}), "xlsx": frozenset({"xlsx"}), "zip": frozenset({"zip"}),
    "mp3": frozenset({"mp3"}), "mp4": frozenset({"mp4"}),
}

HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1",
                         b"msf1"})
PROGRAM_MEMBERS = frozenset({"exe", "dll", "com", "scr", "msi", "bat", "cmd", "ps1", "vbs",
                             "vbe", "js", "jse", "wsf", "hta", "lnk", "jar", "sh", "app",
                             "apk", "elf", "so", "dylib", "html", "htm", "svg"})
MARKUP_STARTS = ("<!doctype html", "<html", "<head", "<body", "<svg", "<script")
BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True)
class Checked:
    name: str          # the display name, sanitised
    extension: str     # lower case, without the dot
    content_type: str  # what it is served as


def _kind_label(kind: str) -> str:
    return {
        "pdf": _("a PDF document"), "png": _("a PNG image"), "jpeg": _("a JPEG image"),
        "gif": _("a GIF image"), "webp": _("a WebP image"), "heic": _("a HEIC image"),
        "text": _("plain text"), "ole": _("a legacy Word or Excel file"),
        "docx": _("a Word document (.docx)"), "xlsx": _("an Excel workbook (.xlsx)"),
        "zip": _("a zip archive"), "mp3": _("an MP3 recording"), "mp4": _("an MP4 video"),
    }[kind]


def _refuse(reason: str) -> ValidationFailed:
    return ValidationFailed(reason, field="file", code="file_refused")


def display_name(raw: str, fallback: str = "evidence") -> str:
    """The uploader's file name, kept only to show and to name a download: no directories
    (either separator), no control or direction-override characters, no leading dots, at most
    NAME_MAX characters with the extension kept."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = " ".join(name.split()).strip(". ")
    if not name:
        return fallback
    if len(name) > NAME_MAX:
        suffix = PurePosixPath(name).suffix
        suffix = suffix if len(suffix) <= 16 else ""
        name = name[:NAME_MAX - len(suffix)] + suffix
    return name


def _program(head: bytes) -> str | None:
    if head[:2] == b"MZ":
        return _("a Windows program")
    if head[:4] == b"\x7fELF":
        return _("a Linux program")
    if head[:4] in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                    b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe"):
        return _("a macOS or Java program")
    if head[:4] == b"\x00asm":
        return _("a WebAssembly program")
    text = head
    for bom in BOMS:
        if text.startswith(bom):
            text = text[len(bom):]
    if text.lstrip()[:2] == b"#!":
        return _("a script")
    return None


def _text(head: bytes) -> str | None:
    """The head decoded when it is text (UTF-8, UTF-16 with a BOM, or GB18030), else None."""
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            try:
                return codecs.getincrementaldecoder(encoding)().decode(head[len(bom):])
            except UnicodeDecodeError:
                return None
    if b"\x00" in head:
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(head)
        except UnicodeDecodeError:
            continue
        if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f\x1b" for ch in text):
            return None
        return text
    return None


def _zip_kind(stream: IO[bytes]) -> str:
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _refuse(_("the zip archive is damaged")) from None
    finally:
        stream.seek(0)
    lowered = [name.lower() for name in names]
    if any(name.rsplit("/", 1)[-1] == "vbaproject.bin" for name in lowered):
        raise _refuse(_("the file contains macros, which are not accepted"))
    if "word/document.xml" in lowered:
        return "docx"
    if "xl/workbook.xml" in lowered:
        return "xlsx"
    for name in lowered:
        if PurePosixPath(name).suffix.lstrip(".") in PROGRAM_MEMBERS:
            raise _refuse(_("the zip archive holds a program, script or web page "
                            "(%(name)s), which is not accepted") % {"name": name})
    return "zip"


def sniff(stream: IO[bytes]) -> str:
    """The kind of the content (a key of KINDS); refuses programs, web pages and the unknown."""
    stream.seek(0)
    head = stream.read(HEAD)
    stream.seek(0)
    program = _program(head)
    if program:
        raise _refuse(_("the file is %(what)s; programs and scripts are not accepted") % {
            "what": program})
    if b"%PDF" in head[:1024]:
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _zip_kind(stream)
    if head[4:8] == b"ftyp":
        return "heic" if head[8:12] in HEIC_BRANDS else "mp4"
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))  # FF FE: like MP3
    if head[:3] == b"ID3" or (not utf16 and len(head) > 1 and head[0] == 0xFF
                              and head[1] & 0xE0 == 0xE0):
        return "mp3"
    text = _text(head)
    if text is not None:
        lowered = text.lstrip().lower()
        if (lowered.startswith(MARKUP_STARTS) or "<script" in lowered
                or (lowered.startswith("<?xml") and "<svg" in lowered)):
            raise _refuse(_("the file is a web page or SVG image, which a browser would run; "
                            "it is not accepted"))
        return "text"
    raise _refuse(_("the content of the file is of no accepted kind"))


def check_upload(raw_name: str, declared_type: str, stream: IO[bytes],
                 allowed: list[str]) -> Checked:
    """Sniff an upload and compare it with its name and declared type (see the module)."""
    name = display_name(raw_name)
    extension = PurePosixPath(name).suffix.lower().lstrip(".")
    accepted = [kind.lower() for kind in allowed]
    if extension not in accepted or extension not in TYPES:
        raise _refuse(_("files of type .%(ext)s are not accepted; accepted: %(types)s") % {
            "ext": extension or "?", "types": ", ".join(accepted)})
    kind = sniff(stream)
    if extension not in KINDS[kind]:
        raise _refuse(_("the file is named .%(ext)s but its content is %(kind)s") % {
            "ext": extension, "kind": _kind_label(kind)})
    served, agreeing = TYPES[extension]
    declared = (declared_type or "").split(";", 1)[0].strip().lower()
    if declared not in GENERIC_TYPES and declared not in agreeing:
        raise _refuse(_("the file was sent as %(declared)s but its content is %(kind)s") % {
            "declared": declared[:100], "kind": _kind_label(kind)})
    return Checked(name=name, extension=extension, content_type=served)


def attachment_disposition(name: str, fallback_stem: str = "download") -> str:
    """`Content-Disposition: attachment` naming the file as `name`: an ASCII `filename` for
    old clients and, when the name is not plain ASCII (a Chinese name), RFC 5987's
    `filename*=utf-8''…` that browsers prefer (RFC 6266)."""
    name = display_name(name, fallback_stem)
    path = PurePosixPath(name)

    def ascii_only(text: str) -> str:
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return "".join("_" if ch in '"\\;%' or not ch.isprintable() else ch for ch in text)

    stem, suffix = ascii_only(path.stem).strip(". "), ascii_only(path.suffix)
    if not stem.strip(" _-"):
        stem = fallback_stem
    ascii_name = f"{stem}{suffix}"
    if ascii_name == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{ascii_name}\"; filename*=utf-8''{quote(name, safe='')}"
