"""Checking the rows of a fact file: every cell read and checked, every problem named with
its row and column; the services' own checks come later, when the rows are written."""

from __future__ import annotations

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


@dataclass
class Checker:
    kind: str
    source: str
    columns: list[tuple[int, str, str]]  # (cell index, column name, header as written)
    customers: dict[str, Customer] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {name: text for _index, name, text in self.columns}

    def check(self, number: int, cells: list[str],
              problems: list[ImportProblem]) -> Row | None:
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
        return Row(number, customer, parsed)


def check_header(kind: str, table: Any) -> tuple[list[tuple[int, str, str]],
                                                    list[ImportProblem]]:
    index = column_index(kind)
    mapped = reading.map_header(
        table.header_row, table.header, lambda text: index.get(header_key(text)),
        [c.name for c in COLUMNS[kind]], [c.name for c in COLUMNS[kind] if c.required],
        stray=lambda position: any(position < len(cells) and cells[position]
                                   for _n, cells in table.records))
    columns, problems = mapped.columns, mapped.problems
    return columns, problems


def customers_among(actor: Actor, codes: set[str]) -> dict[str, Customer]:
    """The customers the actor may see among `codes`, a few hundred per query."""
    found: dict[str, Customer] = {}
    ordered = sorted(codes)
    scoped = customers_for(actor)
    for start in range(0, len(ordered), BATCH_SIZE):
        found.update({c.code: c for c in scoped.filter(code__in=ordered[start:start
                                                                         + BATCH_SIZE])})
    return found


