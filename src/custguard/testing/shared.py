"""Helpers for test data that is built once per module and shared by its tests.

The fixtures themselves are in `src/custguard/conftest.py` (`module_db`, `module_regions`,
`module_personas`, `shared_personas`); docs/testing.md explains when to use them."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from types import ModuleType
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

T = TypeVar("T")


def fresh_copy(value: T) -> T:
    """A test's own copy of shared data, so that changing an instance in one test cannot leak
    into the next (the database side is rolled back by the test's savepoint)."""
    return copy.deepcopy(value)


def union_world(modules: Iterable[ModuleType], personas: dict[str, Any]) -> dict[str, Any]:
    """What every matrix module's `setup_world(personas)` creates, merged into one dict."""
    values: dict[str, Any] = {}
    for module in modules:
        setup = getattr(module, "setup_world", None)
        if setup is not None:
            values.update(setup(personas))
    return values


def table_rows(*models: type[Model]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of each model's table in primary-key order, as the database returns it.

    One plain SELECT per table, without the ORM's query building and field conversion: the
    permission matrices compare these before and after every request, thousands of times."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in models:
            meta = model._meta
            cursor.execute(f"SELECT * FROM {quote(meta.db_table)} "  # noqa: S608
                           f"ORDER BY {quote(meta.pk.column)}")
            rows[model.__name__] = cursor.fetchall()
    return rows
