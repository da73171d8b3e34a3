"""Importing orders, invoices or payments from a CSV or spreadsheet file, one kind per file.

Every row is read and checked, then posted through the same services as the API inside one
`services.posting` transaction, so the import is one transaction and each customer is rescored
once. Every problem is reported with the spreadsheet row (the header is row 1), the column as
written in the file and the reason — whether the cell cannot be read (a date, an amount, an
unknown customer code) or the service refused the fact (a due date before the issue date, an
allocation above what is open, an identity already used with other values). By default a file
with any problem writes nothing; `all_or_nothing=False` writes the rows that have none. A dry
run posts everything and rolls it back, so it finds exactly the problems a real run would.

A row whose (source, external_id) was imported or posted before is a replay: it changes
nothing and is counted, so importing the same file twice is harmless.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from custguard.core.actors import Actor
from custguard.core.errors import DomainError, PermissionRefused, ValidationFailed
from custguard.core.services import audit
from custguard.core.transactions import atomic_with_retry
from custguard.customers.importing import reading
from custguard.customers.importing.reading import ImportProblem
from custguard.customers.models import Customer
from custguard.customers.selectors import customers_for
from custguard.ledger import services
from custguard.ledger.services import AllocationRequest, Posted

PERMISSION = "ledger.import_facts"
BATCH_SIZE = 500
DEFAULT_SOURCE = "import"


# --- reading: the customer import's streaming reader ------------------------------------


@dataclass
class _ReadTable:
    header: list[str]
    header_row: int
    records: list[tuple[int, list[str]]]


def read_table(data: bytes | IO[bytes], filename: str) -> _ReadTable:
    """The header row and the numbered non-blank rows of a CSV (UTF-8 or GB18030) or
    spreadsheet file; raises ValidationFailed(field="file") when it cannot be read. (The fact
    import still holds the rows in memory: it posts them through the services row by row.)"""
    table = reading.Table(data, filename)
    try:
        return _ReadTable(table.header, table.header_row, list(table.records()))
    finally:
        table.close()


header_key = reading.header_key
column_letter = reading.column_letter


# --- the columns of each kind --------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    aliases: tuple[str, ...]
    help: str | Promise


CUSTOMER = Column("customer", True, ("客户编码", "客户代码", "客户编号", "customer_code"),
                  gettext_lazy("9-digit customer code"))
SOURCE = Column("source", False, ("来源", "来源系统"),
                gettext_lazy("System the fact comes from (default: the one chosen for the "
                             "upload); with external_id it identifies the fact"))
EXTERNAL_ID = Column("external_id", True, ("外部编号", "外部单号", "外部id", "erp编号"),
                     gettext_lazy("The fact's id in its source system; importing it again "
                                  "changes nothing"))
AMOUNT = Column("amount", True, ("金额",), gettext_lazy("Greater than zero, at most two "
                                                       "decimal places"))
DATE_HELP = gettext_lazy("Date, e.g. 2025-06-30, not in the future")

COLUMNS: dict[str, list[Column]] = {
    "orders": [
        CUSTOMER, EXTERNAL_ID,
        Column("ordered_on", True, ("订单日期", "下单日期", "日期"), DATE_HELP),
        Column("amount", True, ("金额", "订单金额"), AMOUNT.help),
        Column("number", False, ("订单号", "单号", "单据号"), gettext_lazy("Order number")),
        SOURCE,
    ],
    "invoices": [
        CUSTOMER, EXTERNAL_ID,
        Column("issued_on", True, ("开票日期", "发票日期", "日期"), DATE_HELP),
        Column("due_on", True, ("到期日", "到期日期", "应收日期"),
               gettext_lazy("Date, not before the issue date")),
        Column("amount", True, ("金额", "发票金额", "开票金额"), AMOUNT.help),
        Column("number", False, ("发票号", "发票号码", "单号"), gettext_lazy("Invoice number")),
        SOURCE,
        Column("order_external_id", False, ("订单外部编号", "关联订单"),
               gettext_lazy("The order invoiced (its gate reservation becomes posted)")),
        Column("order_source", False, ("订单来源",),
               gettext_lazy("Source of that order (default: the invoice's source)")),
    ],
    "payments": [
        CUSTOMER, EXTERNAL_ID,
        Column("received_on", True, ("收款日期", "到账日期", "日期"), DATE_HELP),
        Column("amount", True, ("金额", "收款金额"), AMOUNT.help),
        Column("number", False, ("收款单号", "单号"), gettext_lazy("Receipt number")),
        SOURCE,
        Column("invoice_external_id", False, ("核销发票", "发票外部编号"),
               gettext_lazy("The invoice the payment pays; empty: oldest due invoices "
                            "first")),
        Column("invoice_source", False, ("发票来源",),
               gettext_lazy("Source of that invoice (default: the payment's source)")),
        Column("allocated_amount", False, ("核销金额",),
               gettext_lazy("How much of the payment goes to that invoice (default: all of "
                            "it)")),
    ],
}
KINDS = tuple(COLUMNS)
KIND_LABELS = {"orders": gettext_lazy("Orders"), "invoices": gettext_lazy("Invoices"),
               "payments": gettext_lazy("Payments")}
MAX_LENGTHS = {"source": 50, "external_id": 100, "number": 64, "order_external_id": 100,
               "order_source": 50, "invoice_external_id": 100, "invoice_source": 50}
DATE_COLUMNS = {"ordered_on", "issued_on", "due_on", "received_on"}


def column_index(kind: str) -> dict[str, str]:
    """Header key → column name for one kind: the name itself (any case, spaces or dashes for
    underscores) or one of its aliases."""
    index: dict[str, str] = {}
    for column in COLUMNS[kind]:
        index[header_key(column.name)] = column.name
        index[header_key(column.name.replace("_", " "))] = column.name
        index.update({header_key(alias): column.name for alias in column.aliases})
    return index


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


# --- parsing cells -----------------------------------------------------------------------


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MONEY_NOISE = re.compile(r"[,，\s¥￥]|^CNY|^RMB", re.IGNORECASE)


def parse_date(text: str) -> dt.date:
    """2025-06-30, 2025/6/30, 2025.6.30, 2025年6月30日, 20250630, or a spreadsheet date
    (with a time of day, which is ignored)."""
    value = text.strip()
    if "T" in value or " " in value.strip():
        head = re.split(r"[T ]", value, maxsplit=1)[0]
        if _DATE.match(head):
            value = head
    match = _DATE.match(value) or _COMPACT_DATE.match(value)
    if match is None:
        raise ValueError(value)
    year, month, day = (int(part) for part in match.groups())
    return dt.date(year, month, day)


def parse_amount(text: str, column: str) -> Decimal:
    return services.clean_amount(_MONEY_NOISE.sub("", text.strip()), column)


# --- checking ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    number: int
    customer: Customer
    values: dict[str, Any]


@dataclass
class _Checker:
    kind: str
    source: str
    columns: list[tuple[int, str, str]]  # (cell index, column name, header as written)
    customers: dict[str, Customer] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {name: text for _index, name, text in self.columns}

    def check(self, number: int, cells: list[str],
              problems: list[ImportProblem]) -> _Row | None:
        values = {name: (cells[index] if index < len(cells) else "").strip()
                  for index, name, _text in self.columns}
        headers = self.headers
        found = len(problems)

        def problem(name: str, message: str) -> None:
            problems.append(ImportProblem(number, headers.get(name, name), message))

        parsed: dict[str, Any] = {}
        for column in COLUMNS[self.kind]:
            text = values.get(column.name, "")
            if not text:
                if column.required:
                    problem(column.name, _("is required"))
                continue
            limit = MAX_LENGTHS.get(column.name)
            if limit and len(text) > limit:
                problem(column.name, _("is %(length)s characters long; at most %(limit)s are "
                                       "allowed") % {"length": len(text), "limit": limit})
                continue
            if column.name in DATE_COLUMNS:
                try:
                    parsed[column.name] = parse_date(text)
                except ValueError:
                    problem(column.name, _("%(value)s is not a date; write it as 2025-06-30")
                            % {"value": repr(text)})
            elif column.name in ("amount", "allocated_amount"):
                try:
                    parsed[column.name] = parse_amount(text, column.name)
                except ValidationFailed as error:
                    problem(column.name, _("%(value)s: %(reason)s") % {
                        "value": repr(text), "reason": error.message})
            else:
                parsed[column.name] = text
        customer = None
        code = values.get("customer", "")
        if code:
            customer = self.customers.get(code)
            if customer is None:
                problem("customer", _("there is no customer %(code)s, or it is not one of "
                                      "yours") % {"code": repr(code)})
        if self.kind == "payments" and not parsed.get("invoice_external_id") and (
                values.get("invoice_source") or values.get("allocated_amount")):
            problem("invoice_external_id",
                    _("is required when invoice_source or allocated_amount is given"))
        if len(problems) > found or customer is None:
            return None
        parsed.setdefault("source", self.source)
        return _Row(number, customer, parsed)


def _check_header(kind: str, table: Any) -> tuple[list[tuple[int, str, str]],
                                                    list[ImportProblem]]:
    index = column_index(kind)
    mapped = reading.map_header(
        table.header_row, table.header, lambda text: index.get(header_key(text)),
        [c.name for c in COLUMNS[kind]], [c.name for c in COLUMNS[kind] if c.required],
        stray=lambda position: any(position < len(cells) and cells[position]
                                   for _n, cells in table.records))
    columns, problems = mapped.columns, mapped.problems
    return columns, problems


def _customers(actor: Actor, codes: set[str]) -> dict[str, Customer]:
    """The customers the actor may see among `codes`, a few hundred per query."""
    found: dict[str, Customer] = {}
    ordered = sorted(codes)
    scoped = customers_for(actor)
    for start in range(0, len(ordered), BATCH_SIZE):
        found.update({c.code: c for c in scoped.filter(code__in=ordered[start:start
                                                                         + BATCH_SIZE])})
    return found


# --- posting -----------------------------------------------------------------------------


def _post(actor: Actor, kind: str, row: _Row) -> Posted[Any]:
    v = row.values
    if kind == "orders":
        return services.post_order(actor, row.customer, source=v["source"],
                                   external_id=v["external_id"], ordered_on=v["ordered_on"],
                                   amount=v["amount"], number=v.get("number", ""))
    if kind == "invoices":
        order_external_id = v.get("order_external_id", "")
        return services.post_invoice(
            actor, row.customer, source=v["source"], external_id=v["external_id"],
            issued_on=v["issued_on"], due_on=v["due_on"], amount=v["amount"],
            number=v.get("number", ""), order_external_id=order_external_id,
            order_source=v.get("order_source", v["source"] if order_external_id else ""))
    allocations = None
    if v.get("invoice_external_id"):
        allocations = [AllocationRequest(
            invoice_source=v.get("invoice_source", v["source"]),
            invoice_external_id=v["invoice_external_id"],
            amount=v.get("allocated_amount", v["amount"]))]
    return services.post_payment(actor, row.customer, source=v["source"],
                                 external_id=v["external_id"], received_on=v["received_on"],
                                 amount=v["amount"], number=v.get("number", ""),
                                 allocations=allocations)


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


def _chunks(rows: Sequence[_Row], size: int) -> Iterator[Sequence[_Row]]:
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
    columns, problems = _check_header(kind, table)
    names = {name for _index, name, _text in columns}
    if not names >= {c.name for c in COLUMNS[kind] if c.required}:
        return FactImportResult(kind, total, [], [], problems, dry_run)

    checker = _Checker(kind, source, columns)
    code_at = next(index for index, name, _text in columns if name == "customer")
    checker.customers = _customers(actor, {cells[code_at].strip() for _n, cells in table.records
                                           if code_at < len(cells) and cells[code_at].strip()})
    rows: list[_Row] = []
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
        with services.posting(actor):
            for chunk in _chunks(rows, BATCH_SIZE):
                for row in chunk:
                    try:
                        posted = _post(actor, kind, row)
                    except PermissionRefused:
                        raise
                    except DomainError as error:
                        for name, reasons in (error.errors or {error.field: [
                                error.message]}).items():
                            refused.extend(ImportProblem(row.number, _column_of(name, headers),
                                                         reason) for reason in reasons)
                        continue
                    identity = f"{posted.fact.source}/{posted.fact.external_id}"
                    (created if posted.created else replayed).append(identity)
                if progress:
                    progress(len(chunk))
            if dry_run or ((problems or refused) and all_or_nothing):
                raise _RollBack
            if created:
                audit.record(actor, "ledger.import", object_type=f"ledger.{kind[:-1]}",
                             object_id="*", after={
                                 "kind": kind, "file": filename, "rows": total,
                                 "created": len(created), "replayed": len(replayed),
                                 "skipped": total - len(created) - len(replayed)})

    if rows:
        try:
            # A deadlock with a concurrent writer (PostgreSQL) runs the whole import again.
            atomic_with_retry(attempt)
        except _RollBack:
            if not dry_run:
                created, replayed = [], []
    problems.extend(refused)
    problems.sort(key=lambda p: p.row)
    return FactImportResult(kind, total, created, replayed, problems, dry_run)
