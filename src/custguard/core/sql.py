"""Small SQL expressions that Django does not spell the same way on SQLite and PostgreSQL, and
the helpers of the few statements written by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Func, IntegerField

from custguard.core.money import CENT


class DaysBetween(Func):
    """Whole days from `earlier` to `later` (both dates): later - earlier."""

    arity = 2
    output_field = IntegerField()

    def __init__(self, later: Any, earlier: Any, **extra: Any) -> None:
        super().__init__(later, earlier, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection,
                           template="CAST(julianday(%(expressions)s) AS INTEGER)",
                           arg_joiner=") - julianday(", **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="(%(expressions)s)",
                           arg_joiner=" - ", **extra)


# --- hand-written statements on the hot paths -------------------------------------------------
# The ORM compiles a query anew on every call; on the order gate that compilation costs more
# than the database's work. The few statements there are written out once, with the table and
# column names taken from the models.


def table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model: Any, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def money(value: Any) -> Decimal:
    """A money column as read by a raw cursor: SQLite gives an int or a float, PostgreSQL a
    Decimal; whole cents either way (str() of a float is its shortest exact repr)."""
    return Decimal(str(value if value is not None else 0)).quantize(CENT)


def date_value(value: Any) -> dt.date | None:
    """A date column as read by a raw cursor: SQLite gives ISO text, PostgreSQL a date."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
