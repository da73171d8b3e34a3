"""Small SQL expressions that Django does not spell the same way on SQLite and PostgreSQL, and
the helpers of the few statements written by hand."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
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


def among(column_sql: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """`column IN (values)` and its parameters: on PostgreSQL one array parameter (= ANY),
    which the driver does not have to parse anew for every number of values."""
    if connection.vendor == "postgresql":
        return f"{column_sql} = ANY(%s)", [list(values)]
    return f"{column_sql} IN ({', '.join(['%s'] * len(values))})", list(values)


def prepared_cursor() -> Any:
    """A cursor for a written-out statement on a hot path: on PostgreSQL bound on the server,
    so that the statement is prepared once its connection has run it a few times
    (core/backends/postgresql); elsewhere the usual cursor."""
    db = connections[DEFAULT_DB_ALIAS]
    make = getattr(db, "prepared_cursor", None)  # only custguard's PostgreSQL backend has one
    return make() if make is not None else db.cursor()


@functools.cache
def _insert_statement(model: Any, vendor: str) -> tuple[str, tuple[Any, ...]]:
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    statement = (f"INSERT INTO {table(model)} ({names}) "  # noqa: S608
                 f"VALUES ({', '.join(['%s'] * len(fields))}) "
                 f"RETURNING {connection.ops.quote_name(model._meta.pk.column)}")
    return statement, fields


def insert_instance(instance: Any, *,
                    along: tuple[str, Sequence[Any]] | None = None) -> Any:
    """Insert one new model instance with a statement spelled once per model, and give it its
    key: `instance.save()` without the compilation. Sends no save signals, so it is for rows
    that have no receivers (the gate's answers and reservations, audit entries).

    `along` is one more data-modifying statement (SQL, parameters) that does not depend on the
    new row: PostgreSQL runs it in the same round trip (`WITH along AS (…) INSERT …`), SQLite,
    which has no data-modifying WITH, just before."""
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the thread-local proxy
    statement, fields = _insert_statement(type(instance), db.vendor)
    values = _db_values(instance, fields, db)
    with prepared_cursor() as cursor:
        if along is not None and db.vendor == "postgresql":
            cursor.execute(f"WITH along AS ({along[0]}) {statement}", [*along[1], *values])
        else:
            if along is not None:
                cursor.execute(*along)
            cursor.execute(statement, values)
        instance.pk = cursor.fetchone()[0]
    _saved(instance, db)
    return instance


def _db_values(instance: Any, fields: Sequence[Any], db: Any) -> list[Any]:
    """The values of a new instance's `fields` as the database takes them (as save() would)."""
    return [f.get_db_prep_save(f.pre_save(instance, True), db) for f in fields]


def _saved(instance: Any, db: Any) -> None:
    instance._state.adding = False
    instance._state.db = db.alias


def insert_with_parent(parent: Any, child: Any, link: str) -> Any:
    """Insert a new `parent` and a new `child` whose foreign key `link` names it, as
    `insert_instance` does each: one round trip on PostgreSQL (the parent's INSERT as a WITH),
    two on SQLite. Gives both their keys; returns the child."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        insert_instance(parent)
        setattr(child, link, parent)
        return insert_instance(child)
    statement, fields, link_field = _insert_with_parent_statement(type(parent), type(child),
                                                                  link)
    values = _db_values(parent, _insert_statement(type(parent), db.vendor)[1], db)
    values += _db_values(child, [f for f in fields if f is not link_field], db)
    with prepared_cursor() as cursor:
        cursor.execute(statement, values)
        child.pk, parent.pk = cursor.fetchone()
    _saved(parent, db)
    _saved(child, db)
    setattr(child, link, parent)
    return child


@functools.cache
def _insert_with_parent_statement(parent_model: Any, child_model: Any, link: str
                                  ) -> tuple[str, tuple[Any, ...], Any]:
    parent_insert, _parent_fields = _insert_statement(parent_model, "postgresql")
    _child_insert, fields = _insert_statement(child_model, "postgresql")
    link_field = child_model._meta.get_field(link)
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in fields)
    # The key comes from the WITH through a scalar subquery: in VALUES every other
    # parameter still takes its column's type.
    parent_key = f"(SELECT {quote(parent_model._meta.pk.column)} FROM parent)"  # noqa: S608
    values = ", ".join(parent_key if f is link_field else "%s" for f in fields)
    statement = (f"WITH parent AS ({parent_insert}) "  # noqa: S608
                 f"INSERT INTO {table(child_model)} ({names}) VALUES ({values}) "
                 f"RETURNING {quote(child_model._meta.pk.column)}, {quote(link_field.column)}")
    return statement, fields, link_field


# --- bulk writes ------------------------------------------------------------------------------
# Set-based writers (the imports, the rescoring) insert and update thousands of rows at once.
# PostgreSQL takes them fastest through COPY (several times executemany's rate); SQLite runs
# executemany in C, which is its fastest path.


def insert_rows(model: Any, attnames: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert rows of `model`'s columns `attnames` (values in that order, as the database
    driver takes them)."""
    columns = ", ".join(column(model, name) for name in attnames)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table(model)} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(
                f"INSERT INTO {table(model)} ({columns}) "  # noqa: S608
                f"VALUES ({', '.join(['%s'] * len(attnames))})", list(rows))


def update_rows(model: Any, key: str, attnames: Sequence[str],
                rows: Iterable[Sequence[Any]]) -> None:
    """Set the columns `attnames` of many rows of `model`, each row given as (key value,
    *values). On PostgreSQL the values are copied into a temporary table of the session
    (emptied at commit) and applied with one UPDATE … FROM."""
    quote = connection.ops.quote_name
    names = [column(model, key), *[column(model, name) for name in attnames]]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(
                f"UPDATE {table(model)} SET "  # noqa: S608
                f"{', '.join(f'{name} = %s' for name in names[1:])} WHERE {names[0]} = %s",
                [(*row[1:], row[0]) for row in rows])
            return
        temp = quote(f"cg_updates_{model._meta.db_table}")
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {temp} "  # noqa: S608
                       f"ON COMMIT DELETE ROWS AS SELECT {', '.join(names)} "
                       f"FROM {table(model)} WITH NO DATA")
        cursor.execute(f"DELETE FROM {temp}")  # noqa: S608 - an earlier batch of this transaction
        with cursor.cursor.copy(f"COPY {temp} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        # The planner knows nothing of a fresh temporary table and would scan the whole
        # target table to join it; its statistics make it look up the rows by key.
        cursor.execute(f"ANALYZE {temp}")
        assignments = ", ".join(f"{name} = t.{name}" for name in names[1:])
        cursor.execute(f"UPDATE {table(model)} SET {assignments} FROM {temp} t "  # noqa: S608
                       f"WHERE {table(model)}.{names[0]} = t.{names[0]}")
