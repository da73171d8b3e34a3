"""Small SQL expressions that Django does not spell the same way on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from django.db.models import Func, IntegerField


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
