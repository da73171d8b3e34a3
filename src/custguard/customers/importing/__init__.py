"""Customer import from a CSV or spreadsheet file: read, check every row, then write all rows in
one transaction with the same data shape as `services.create_customer` (customer, standing,
contacts, one audit entry per customer) plus one summary audit entry for the import.

Every row is checked before anything is written and every problem is reported, each naming the
spreadsheet row (the header is row 1) and the column as written in the file. By default a file
with any problem writes nothing; `all_or_nothing=False` writes the rows that have none.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.db.models import F
from django.utils import translation
from django.utils.translation import gettext as _

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused, ValidationFailed
from custguard.core.models import User
from custguard.core.services import audit
from custguard.customers.models import (
    Contact,
    Customer,
    CustomerKind,
    CustomerStatus,
    Industry,
    Region,
    ScaleBand,
    Standing,
    ValueTier,
    phone_validator,
)
from custguard.customers.selectors import sees_all_customers
from custguard.customers.services import (
    CONTACT_FIELDS,
    CUSTOMER_FIELDS,
    MAX_SERIAL,
    _contact_values,
    _snapshot,
)

PERMISSION = "customers.import_customers"
BATCH_SIZE = 1000
REQUIRED_COLUMNS = ("name", "kind", "region")
CONTACT_COLUMNS = {"contact_name": "name", "contact_role": "role", "contact_phone": "phone",
                   "contact_email": "email"}
# The import fills every contact field the service knows; fail loudly if the two drift apart.
assert {*CONTACT_COLUMNS.values(), "is_primary"} == set(CONTACT_FIELDS)
COLUMNS = [*REQUIRED_COLUMNS, *[f for f in CUSTOMER_FIELDS if f not in REQUIRED_COLUMNS],
           *CONTACT_COLUMNS]

# Column names as they appear in files: the field name itself (any case, spaces or dashes for
# underscores) or one of these aliases.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("名称", "客户名称", "客户名"),
    "kind": ("类型", "客户类型"),
    "region": ("地区", "地区代码", "区域", "区域代码", "region_code"),
    "industry": ("行业",),
    "scale_band": ("规模", "scale"),
    "account_manager": ("客户经理",),
    "department": ("部门",),
    "value_tier": ("价值等级", "tier"),
    "status": ("状态",),
    "phone": ("电话",),
    "id_number": ("证件号码", "统一社会信用代码", "身份证号"),
    "address": ("地址",),
    "notes": ("备注",),
    "contact_name": ("联系人", "联系人姓名"),
    "contact_role": ("联系人职务",),
    "contact_phone": ("联系人电话",),
    "contact_email": ("联系人邮箱",),
}

# Chinese labels accepted for coded columns, besides the codes and the model's own labels
# (in English and in the zh-hans catalog, whichever are installed).
CHOICE_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "kind": {
        CustomerKind.ENTERPRISE: ("企业", "企业客户", "公司"),
        CustomerKind.DEALER: ("经销商",),
        CustomerKind.INDIVIDUAL: ("个人", "个人客户"),
    },
    "scale_band": {
        ScaleBand.MICRO: ("微型", "微"),
        ScaleBand.SMALL: ("小型", "小"),
        ScaleBand.MEDIUM: ("中型", "中"),
        ScaleBand.LARGE: ("大型", "大"),
    },
    "value_tier": {
        ValueTier.STRATEGIC: ("战略", "战略客户"),
        ValueTier.IMPORTANT: ("重要", "重要客户"),
        ValueTier.GENERAL: ("一般", "一般客户", "普通"),
        ValueTier.POTENTIAL: ("潜在", "潜在客户"),
    },
    "status": {
        CustomerStatus.PROSPECT: ("潜在", "潜在客户", "意向", "意向客户"),
        CustomerStatus.ACTIVE: ("活跃", "正常", "有效"),
        CustomerStatus.DORMANT: ("休眠",),
        CustomerStatus.CLOSED: ("关闭", "已关闭", "注销"),
    },
    "industry": {  # the section names of GB/T 4754-2017
        Industry.AGRICULTURE: ("农、林、牧、渔业", "农林牧渔业"),
        Industry.MINING: ("采矿业",),
        Industry.MANUFACTURING: ("制造业",),
        Industry.UTILITIES: ("电力、热力、燃气及水生产和供应业",),
        Industry.CONSTRUCTION: ("建筑业",),
        Industry.TRADE: ("批发和零售业",),
        Industry.LOGISTICS: ("交通运输、仓储和邮政业",),
        Industry.HOSPITALITY: ("住宿和餐饮业",),
        Industry.IT: ("信息传输、软件和信息技术服务业",),
        Industry.FINANCE: ("金融业",),
        Industry.REAL_ESTATE: ("房地产业",),
        Industry.LEASING: ("租赁和商务服务业",),
        Industry.RESEARCH: ("科学研究和技术服务业",),
        Industry.ENVIRONMENT: ("水利、环境和公共设施管理业",),
        Industry.HOUSEHOLD: ("居民服务、修理和其他服务业",),
        Industry.EDUCATION: ("教育",),
        Industry.HEALTH: ("卫生和社会工作",),
        Industry.CULTURE: ("文化、体育和娱乐业",),
        Industry.PUBLIC: ("公共管理、社会保障和社会组织",),
    },
}
CHOICE_ENUMS = {"kind": CustomerKind, "scale_band": ScaleBand, "value_tier": ValueTier,
                "status": CustomerStatus, "industry": Industry}
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")


@dataclass(frozen=True)
class ImportProblem:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("row %(row)s, column %(column)s: %(message)s") % {
            "row": self.row, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class ImportResult:
    rows: int
    created: list[str]
    problems: list[ImportProblem]
    dry_run: bool

    @property
    def ok(self) -> bool:
        return not self.problems


# --- reading ------------------------------------------------------------------------------


def _key(text: str) -> str:
    return "".join(text.strip().strip("\ufeff").rstrip("*＊").casefold().replace("-", "_").split())


def _column_index() -> dict[str, str]:
    index = {_key(name): name for name in COLUMNS}
    index.update({_key(name.replace("_", " ")): name for name in COLUMNS})
    for name, aliases in COLUMN_ALIASES.items():
        index.update({_key(alias): name for alias in aliases})
    return index


_COLUMN_INDEX = _column_index()


def canonical_column(header: str) -> str | None:
    """The field a header names (`客户名称` → `name`), or None when it names none."""
    return _COLUMN_INDEX.get(_key(header))


def _letter(index: int) -> str:
    """Spreadsheet column letter of a 0-based index (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cell_text(value: Any) -> str:
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


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # Excel on Chinese Windows saves "CSV" in the ANSI code page (GBK, a subset of GB18030).
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ValidationFailed(_("the file is neither UTF-8 nor GB18030 text; save it as "
                                 "\"CSV UTF-8\" or as an .xlsx workbook"),
                               field="file") from None


def _csv_table(data: bytes) -> list[list[str]]:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    try:
        return [[cell.strip() for cell in record]
                for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as error:
        raise ValidationFailed(_("the CSV file cannot be read: %(error)s") % {"error": error},
                               field="file") from None


def _spreadsheet_table(data: bytes) -> list[list[str]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        # Keep empty leading rows and columns so row numbers match the spreadsheet's.
        cells = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as error:  # calamine raises several kinds for damaged or foreign files
        raise ValidationFailed(_("the spreadsheet cannot be read: %(error)s") % {
            "error": error}, field="file") from None
    return [[_cell_text(value) for value in row] for row in cells]


def _is_spreadsheet(data: bytes, filename: str) -> bool:
    name = filename.lower()
    if name.endswith(SPREADSHEET_SUFFIXES):
        return True
    if name.endswith((".csv", ".txt", ".tsv")):
        return False
    # No telling suffix: a zip (xlsx, ods) or an OLE compound file (xls) is a spreadsheet.
    return data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0"))


@dataclass
class _Table:
    header: list[str]  # as written in the file, stripped
    header_row: int  # 1-based spreadsheet row of the header
    records: list[tuple[int, list[str]]]  # (spreadsheet row, cells) of every non-blank row


def _read_table(data: bytes, filename: str) -> _Table:
    raw = _spreadsheet_table(data) if _is_spreadsheet(data, filename) else _csv_table(data)
    header_at = next((i for i, row in enumerate(raw) if any(row)), None)
    if header_at is None:
        raise ValidationFailed(_("the file is empty: the first row must name the columns"),
                               field="file")
    records = [(number, row) for number, row in enumerate(raw[header_at + 1:], start=header_at + 2)
               if any(row)]
    return _Table(raw[header_at], header_at + 1, records)


def _column_names(header: Sequence[str]) -> list[str]:
    """The field name of each header cell, else its text, else `(column letter)`."""
    return [canonical_column(text) or text or f"({_letter(i)})" for i, text in enumerate(header)]


def read_rows(data: bytes, filename: str) -> list[dict[str, str]]:
    """The file's rows as dicts keyed by field name (`客户名称` → `name`; unknown headers as
    written). The header must be the first non-blank row; a CSV may be UTF-8 (with or without
    BOM) or GB18030; spreadsheets (.xlsx, .xls, .ods) are read with calamine. Blank rows are
    left out. Raises ValidationFailed(field="file") when the file cannot be read."""
    table = _read_table(data, filename)
    names = _column_names(table.header)
    width = len(names)
    return [dict(zip(names, (cells + [""] * (width - len(cells)))[:width], strict=True))
            for _number, cells in table.records]


# --- checking -----------------------------------------------------------------------------


def _choice_index(name: str) -> dict[str, str]:
    enum = CHOICE_ENUMS[name]
    index: dict[str, str] = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            index.update({_key(str(label)): value for value, label in enum.choices})
    for value, aliases in CHOICE_ALIASES[name].items():
        index.update({_key(alias): str(value) for alias in aliases})
    index.update({_key(value): value for value in enum.values})
    return index


def _choice_hint(name: str) -> str:
    """The codes with their labels in the active language (as the import page lists them)."""
    return ", ".join(f"{value} ({label})" for value, label in CHOICE_ENUMS[name].choices)


def _too_long(length: int, limit: int) -> str:
    return _("is %(length)s characters long; at most %(limit)s are allowed") % {
        "length": length, "limit": limit}


def _max_length(model: type[Customer] | type[Contact], name: str) -> int | None:
    length = model._meta.get_field(name).max_length
    return int(length) if length else None


@dataclass(slots=True)
class _Row:
    number: int
    region: str
    fields: dict[str, Any]
    contact: dict[str, Any] | None
    serial: int = 0


@dataclass
class _Checker:
    """Checks rows against the registry as it was when the import started (one query each for
    regions and users)."""

    actor: Actor
    columns: list[tuple[int, str, str]]  # (cell index, field name, header as written)
    regions: dict[str, int] = field(default_factory=dict)  # code → last serial
    users: dict[str, User] = field(default_factory=dict)
    choices: dict[str, dict[str, str]] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    lengths: dict[str, int | None] = field(default_factory=dict)
    own_only: bool = False
    email: EmailValidator = field(default_factory=EmailValidator)

    def __post_init__(self) -> None:
        self.regions = dict(Region.objects.values_list("code", "last_serial"))
        self.users = {u.username: u for u in User.objects.only("id", "username", "is_active")}
        self.choices = {name: _choice_index(name) for name in CHOICE_ENUMS}
        self.hints = {name: _choice_hint(name) for name in CHOICE_ENUMS}
        self.labels = {name: str(Customer._meta.get_field(name).verbose_name)
                       for name in CHOICE_ENUMS}
        self.lengths = {name: _max_length(Customer, name)
                        for name in CUSTOMER_FIELDS if name != "account_manager"}
        self.lengths.update({column: _max_length(Contact, name)
                             for column, name in CONTACT_COLUMNS.items()})
        self.defaults = {name: str(Customer._meta.get_field(name).get_default())
                         for name in CHOICE_ENUMS}
        self.own_only = not sees_all_customers(self.actor)

    def check(self, number: int, cells: list[str],
              problems: list[ImportProblem]) -> _Row | None:
        values: dict[str, str] = {}
        headers: dict[str, str] = {}
        width = len(cells)
        for index, name, header in self.columns:
            values[name] = cells[index] if index < width else ""
            headers[name] = header
        found = len(problems)

        def problem(name: str, message: str) -> None:
            problems.append(ImportProblem(number, headers.get(name, name), message))

        fields: dict[str, Any] = {}
        for name in REQUIRED_COLUMNS:
            if not values[name]:
                problem(name, _("is required"))
        for name in CUSTOMER_FIELDS:
            value = values.get(name, "")
            if name == "account_manager":
                fields[name] = self._manager(value, problem)
                continue
            if name in self.choices:
                if not value:
                    fields[name] = self.defaults.get(name, "")
                    continue
                code = self.choices[name].get(_key(value))
                if code is None:
                    problem(name, _("%(value)s is not a valid %(field)s; use one of: "
                                    "%(choices)s") % {
                        "value": repr(value), "field": self.labels[name],
                        "choices": self.hints[name]})
                fields[name] = code
                continue
            limit = self.lengths.get(name)
            if limit and len(value) > limit:
                problem(name, _too_long(len(value), limit))
            if name == "phone" and value:
                self._phone(value, name, problem)
            fields[name] = value
        region = values["region"]
        if region:
            if not (len(region) == 6 and region.isdigit()):
                problem("region", _("%(value)s is not a 6-digit region code") % {
                    "value": repr(region)})
            elif region not in self.regions:
                problem("region", _("region %(code)s is not in the region table") % {
                    "code": region})
        contact = self._contact(values, problem)
        if len(problems) > found:
            return None
        return _Row(number, region, fields, contact)

    def _manager(self, username: str, problem: Callable[[str, str], None]) -> User | None:
        if not username:
            if self.own_only:
                return self.actor.user
            return None
        user = self.users.get(username)
        if user is None:
            problem("account_manager", _("there is no user named %(username)s") % {
                "username": repr(username)})
        elif not user.is_active:
            problem("account_manager", _("user %(username)s is not active") % {
                "username": repr(username)})
        elif self.own_only and (self.actor.user is None or user.pk != self.actor.user.pk):
            problem("account_manager", _("an account manager may only import customers "
                                         "assigned to themselves"))
        return user

    @staticmethod
    def _phone(value: str, name: str, problem: Callable[[str, str], None]) -> None:
        try:
            phone_validator(value)
        except ValidationError as error:
            problem(name, " ".join(str(m) for m in error.messages))

    def _contact(self, values: dict[str, str],
                 problem: Callable[[str, str], None]) -> dict[str, Any] | None:
        given = {column: values.get(column, "") for column in CONTACT_COLUMNS}
        if not any(given.values()):
            return None
        if not given["contact_name"]:
            problem("contact_name", _("is required when other contact columns are filled"))
        for column, value in given.items():
            limit = self.lengths.get(column)
            if limit and len(value) > limit:
                problem(column, _too_long(len(value), limit))
        if given["contact_phone"]:
            self._phone(given["contact_phone"], "contact_phone", problem)
        if given["contact_email"]:
            try:
                self.email(given["contact_email"])
            except ValidationError:
                problem("contact_email", _("%(value)s is not an email address") % {
                    "value": repr(given["contact_email"])})
        contact = {CONTACT_COLUMNS[column]: value for column, value in given.items()}
        contact["is_primary"] = True
        return contact


def _check_header(table: _Table) -> tuple[list[tuple[int, str, str]], list[ImportProblem]]:
    row = table.header_row
    problems: list[ImportProblem] = []
    columns: list[tuple[int, str, str]] = []
    seen: dict[str, str] = {}
    unknown: list[str] = []
    for index, text in enumerate(table.header):
        if not text:
            if any(index < len(cells) and cells[index] for _n, cells in table.records):
                unknown.append(f"({_letter(index)})")
            continue
        name = canonical_column(text)
        if name is None:
            unknown.append(text)
        elif name in seen:
            problems.append(ImportProblem(
                row, text, _("names the same field (%(field)s) as column %(column)s") % {
                    "field": name, "column": repr(seen[name])}))
        else:
            seen[name] = text
            columns.append((index, name, text))
    width = len(table.header)
    if any(len(cells) > width and any(cells[width:]) for _n, cells in table.records):
        unknown.append(f"({_letter(width)})")
    if unknown:
        problems.append(ImportProblem(
            row, ", ".join(unknown),
            _("unknown column(s); the columns are: %(columns)s (or their Chinese names)") % {
                "columns": ", ".join(COLUMNS)}))
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            problems.append(ImportProblem(row, name, _("this required column is missing")))
    return columns, problems


def _check_capacity(rows: list[_Row], regions: dict[str, int],
                    problems: list[ImportProblem], header: str) -> list[_Row]:
    """Drop (and report) the rows that would take a region past serial 999."""
    counts: dict[str, int] = {}
    fitting: list[_Row] = []
    for row in rows:
        taken = counts.get(row.region, 0) + 1
        counts[row.region] = taken
        room = MAX_SERIAL - regions[row.region]
        if taken > room:
            problems.append(ImportProblem(
                row.number, header,
                _("region %(code)s is full: it has room for %(room)s more customer(s) and "
                  "this file adds %(taken)s or more; ask an administrator to split the "
                  "region") % {"code": row.region, "room": max(room, 0), "taken": taken}))
        else:
            fitting.append(row)
    return fitting


# --- writing ------------------------------------------------------------------------------


class _RegionFilledUp(Exception):
    def __init__(self, region: str, row: int) -> None:
        super().__init__(region)
        self.region = region
        self.row = row


def _chunks(rows: list[_Row], size: int) -> Iterator[list[_Row]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _take_serials(rows: list[_Row]) -> None:
    """One conditional UPDATE per region (in code order, so concurrent imports cannot deadlock)
    takes a block of serials; they are handed out in file order."""
    by_region: dict[str, list[_Row]] = {}
    for row in rows:
        by_region.setdefault(row.region, []).append(row)
    for code in sorted(by_region):
        wanted = len(by_region[code])
        taken = Region.objects.filter(pk=code, last_serial__lte=MAX_SERIAL - wanted).update(
            last_serial=F("last_serial") + wanted)
        if not taken:
            raise _RegionFilledUp(code, by_region[code][0].number)
    last = dict(Region.objects.values_list("code", "last_serial"))
    for code, members in by_region.items():
        first = last[code] - len(members) + 1
        for offset, row in enumerate(members):
            row.serial = first + offset


def _write(actor: Actor, rows: list[_Row], progress: Callable[[int], None] | None) -> list[str]:
    now = clock.now()
    _take_serials(rows)
    created: list[str] = []
    for batch in _chunks(rows, BATCH_SIZE):
        customers = [Customer(code=f"{row.region}{row.serial:03d}", region_id=row.region,
                              serial=row.serial, created_at=now, updated_at=now, **row.fields)
                     for row in batch]
        Customer.objects.bulk_create(customers, batch_size=BATCH_SIZE)
        Standing.objects.bulk_create(
            [Standing(customer_id=c.pk, status=c.status, updated_at=now) for c in customers],
            batch_size=BATCH_SIZE)
        contacts: list[list[Contact]] = []
        for row, customer in zip(batch, customers, strict=True):
            contacts.append([Contact(customer_id=customer.pk, **row.contact)]
                            if row.contact else [])
        Contact.objects.bulk_create([c for group in contacts for c in group],
                                    batch_size=BATCH_SIZE)
        audit.record_many(actor, [
            audit.PendingEntry(
                action="customer.create", object_type="customers.customer",
                object_id=customer.pk, customer_id=customer.pk,
                after=_snapshot(customer) | {
                    "code": customer.code, "region": customer.region_id,
                    "contacts": [_contact_values(c) for c in own]})
            for customer, own in zip(customers, contacts, strict=True)])
        created.extend(customer.code for customer in customers)
        if progress:
            progress(len(batch))
    return created


def import_customers(actor: Actor, data: bytes, filename: str, *, dry_run: bool = False,
                     all_or_nothing: bool = True, progress: Callable[[int], None] | None = None,
                     max_rows: int | None = None) -> ImportResult:
    """Check every row of the file, then (unless `dry_run`, and only when no row has a problem
    unless `all_or_nothing` is off) create the customers in one transaction.

    `progress(n)` is called as rows are done: once for every row checked, then once more for
    every row written. Raises PermissionRefused without the import permission, and
    ValidationFailed(field="file") for an unreadable file or one of more than `max_rows` rows.
    """
    if not actor.can(PERMISSION):
        raise PermissionRefused(_("your role may not import customers"))
    table = _read_table(data, filename)
    total = len(table.records)
    if max_rows is not None and total > max_rows:
        raise ValidationFailed(_("the file has %(total)s rows; at most %(max)s can be imported "
                                 "at once: split it") % {"total": total, "max": max_rows},
                               field="file")
    columns, problems = _check_header(table)
    if not {name for _index, name, _text in columns} >= set(REQUIRED_COLUMNS):
        return ImportResult(rows=total, created=[], problems=problems, dry_run=dry_run)

    checker = _Checker(actor, columns)
    region_index = next(index for index, name, _text in columns if name == "region")
    valid: list[_Row] = []
    claimed: list[_Row] = []  # rows that take a serial in an existing region
    for done, (number, cells) in enumerate(table.records, start=1):
        row = checker.check(number, cells, problems)
        if row is not None:
            valid.append(row)
            claimed.append(row)
        elif all_or_nothing:
            # A row with other problems still needs its serial once it is fixed.
            region = cells[region_index] if region_index < len(cells) else ""
            if region in checker.regions:
                claimed.append(_Row(number, region, {}, None))
        if progress and done % BATCH_SIZE == 0:
            progress(BATCH_SIZE)
    if progress and total % BATCH_SIZE:
        progress(total % BATCH_SIZE)
    region_header = next(text for _i, name, text in columns if name == "region")
    fitting = {id(r) for r in _check_capacity(claimed, checker.regions, problems, region_header)}
    valid = [row for row in valid if id(row) in fitting]
    problems.sort(key=lambda p: p.row)

    if dry_run or not valid or (problems and all_or_nothing):
        return ImportResult(rows=total, created=[], problems=problems, dry_run=dry_run)
    try:
        with transaction.atomic():
            created = _write(actor, valid, progress)
            audit.record(actor, "customer.import", object_type="customers.customer",
                         object_id="*", after={"file": filename, "rows": total,
                                               "created": len(created),
                                               "skipped": total - len(created)})
    except _RegionFilledUp as full:
        problems.append(ImportProblem(
            full.row, region_header,
            _("region %(code)s filled up while the file was being imported (customers were "
              "added meanwhile); nothing was imported: check the region and try again") % {
                "code": full.region}))
        problems.sort(key=lambda p: p.row)
        return ImportResult(rows=total, created=[], problems=problems, dry_run=dry_run)
    return ImportResult(rows=total, created=created, problems=problems, dry_run=dry_run)

