"""Checking the rows of a fact file: every cell read and checked, every problem named with
its row and column; the services' own checks come later, when the rows are written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from custguard.core.actors import Actor
from custguard.core.errors import ValidationFailed
from custguard.customers.importing import reading
from custguard.customers.importing.reading import ImportProblem
from custguard.customers.models import Customer
from custguard.customers.selectors import customers_for
from custguard.ledger.importing.columns import (
    COLUMNS,
    DATE_COLUMNS,
    MAX_LENGTHS,
    column_index,
    header_key,
    parse_amount,
    parse_date,
)

BATCH_SIZE = 500


@dataclass(slots=True)
class Row:
    number: int
    customer: Customer
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Cell:
    """How one column of the kind is read: where, whether it must be there, how long it may
    be, and how it is parsed ("date", "amount" or "text")."""

    name: str
    index: int | None  # None: the file has no such column
    required: bool
    limit: int | None
    parse: str


@dataclass
class Checker:
    kind: str
    source: str
    columns: list[tuple[int, str, str]]  # (cell index, column name, header as written)
    customers: dict[str, Customer] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.headers = {name: text for _index, name, text in self.columns}
        at = {name: index for index, name, _text in self.columns}
        self.cells = [_Cell(column.name, at.get(column.name), column.required,
                            MAX_LENGTHS.get(column.name),
                            "date" if column.name in DATE_COLUMNS
                            else "amount" if column.name in ("amount", "allocated_amount")
                            else "text")
                      for column in COLUMNS[self.kind]]
        self.width = max(at.values(), default=-1) + 1

    def check(self, number: int, cells: list[str],
              problems: list[ImportProblem]) -> Row | None:
        if len(cells) < self.width:
            cells = cells + [""] * (self.width - len(cells))
        headers = self.headers
        found = len(problems)

        def problem(name: str, message: str) -> None:
            problems.append(ImportProblem(number, headers.get(name, name), message))

        parsed: dict[str, Any] = {}
        for cell in self.cells:
            text = cells[cell.index].strip() if cell.index is not None else ""
            if not text:
                if cell.required:
                    problem(cell.name, _("is required"))
                continue
            if cell.limit and len(text) > cell.limit:
                problem(cell.name, _("is %(length)s characters long; at most %(limit)s are "
                                     "allowed") % {"length": len(text), "limit": cell.limit})
                continue
            if cell.parse == "date":
                try:
                    parsed[cell.name] = parse_date(text)
                except ValueError:
                    problem(cell.name, _("%(value)s is not a date; write it as 2025-06-30")
                            % {"value": repr(text)})
            elif cell.parse == "amount":
                try:
                    parsed[cell.name] = parse_amount(text, cell.name)
                except ValidationFailed as error:
                    problem(cell.name, _("%(value)s: %(reason)s") % {
                        "value": repr(text), "reason": error.message})
            else:
                parsed[cell.name] = text
        customer = None
        code = parsed.get("customer", "")
        if code:
            customer = self.customers.get(code)
            if customer is None:
                problem("customer", _("there is no customer %(code)s, or it is not one of "
                                      "yours") % {"code": repr(code)})
        if self.kind == "payments" and not parsed.get("invoice_external_id") and (
                parsed.get("invoice_source") or "allocated_amount" in parsed
                or self._given(cells, "allocated_amount")):
            problem("invoice_external_id",
                    _("is required when invoice_source or allocated_amount is given"))
        if len(problems) > found or customer is None:
            return None
        # The defaults the services give, so that every row has every value of its kind.
        parsed.setdefault("source", self.source)
        parsed.setdefault("number", "")
        if self.kind == "invoices":
            parsed.setdefault("order_external_id", "")
            parsed.setdefault("order_source",
                              parsed["source"] if parsed["order_external_id"] else "")
        return Row(number, customer, parsed)

    def _given(self, cells: list[str], name: str) -> bool:
        index = next(cell.index for cell in self.cells if cell.name == name)
        return index is not None and bool(cells[index].strip())


def check_header(kind: str, header_row: int, header: list[str]) -> reading.HeaderMap:
    """The columns the header names, its problems, and its blank cells (data found under one
    as the rows stream by is reported at the end, see `StrayCells`)."""
    index = column_index(kind)
    return reading.map_header(
        header_row, header, lambda text: index.get(header_key(text)),
        [c.name for c in COLUMNS[kind]], [c.name for c in COLUMNS[kind] if c.required])


class CustomerCodes:
    """The customers the actor may see, looked up by code a batch of rows at a time (one
    query per batch for the codes not met before), so that the file is read once."""

    def __init__(self, actor: Actor, code_at: int) -> None:
        self.scoped = customers_for(actor)
        self.code_at = code_at
        self.found: dict[str, Customer] = {}
        self.missing: set[str] = set()

    def look_up(self, records: Sequence[tuple[int, list[str]]]) -> dict[str, Customer]:
        at = self.code_at
        codes = {cells[at].strip() for _number, cells in records if at < len(cells)}
        codes -= self.found.keys() | self.missing | {""}
        if codes:
            self.found.update({c.code: c for c in self.scoped.filter(code__in=sorted(codes))})
            self.missing |= codes - self.found.keys()
        return self.found


