"""custguard's PostgreSQL backend: the gate's written-out statements are prepared, the ORM
keeps client-side binding (any number of values)."""

from __future__ import annotations

import pytest
from django.db import connection

from custguard.core import sql
from custguard.customers.models import Customer

pytestmark = [pytest.mark.django_db, pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")]


def _prepared(text: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                       [f"%{text}%"])
        return int(cursor.fetchone()[0])


def test_a_written_out_statement_is_prepared_after_a_few_runs() -> None:
    statement = "SELECT %s::int + 40 AS custguard_prepare_probe"
    for run in range(connection.settings_dict["OPTIONS"]["prepare_threshold"] + 1):
        with sql.prepared_cursor() as cursor:
            cursor.execute(statement, [run])
            assert cursor.fetchone() == (run + 40,)
    assert _prepared("custguard_prepare_probe") == 1
    # An ORM query run as often is not: it is bound on the client.
    for _run in range(6):
        list(Customer.objects.filter(name="custguard_orm_probe"))
    assert _prepared("custguard_orm_probe") == 0


def test_the_orms_cursor_takes_more_values_than_a_server_bound_statement_could() -> None:
    # Server-side binding allows 65,535 parameters a statement; an ORM IN list may hold more.
    values = list(range(65_536))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT cardinality(ARRAY[{', '.join(['%s'] * len(values))}]::int[])",
                       values)
        assert cursor.fetchone() == (len(values),)
