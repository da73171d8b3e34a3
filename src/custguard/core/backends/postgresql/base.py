"""Django's PostgreSQL backend, with a second kind of cursor for the few statements on the
order gate's path: bound on the server and prepared.

The ORM keeps Django's client-side binding (its queries are composed anew each time, and an
`IN` list or a bulk insert may hold any number of values; server-side binding allows at most
65,535 parameters a statement). The gate's statements are written out once per process
(`credit.services.exposure`, `credit.services.gate`, `core.services.audit`, `core.sql`) and run
thousands of times a minute: PostgreSQL took longer to plan them than to run them (0.19 ms vs
0.05 ms for the gate's one read). Through `prepared_cursor()` they are bound on the server, and
psycopg prepares a statement once this connection has run it `prepare_threshold` times
(custguard.env sets 5; empty in CUSTGUARD_DATABASE_URL turns it off). Client-side cursors are
never prepared, so the threshold touches nothing else.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str | None:
        """For the logged queries (DEBUG, tests): a server-bound statement spelled with its
        values, as the client-side ones are."""
        if isinstance(cursor, base.ServerBindingCursor):
            try:
                return str(self.compose_sql(sql, params))
            except base.Database.DataError:
                return None
        return super().last_executed_query(cursor, sql, params)  # type: ignore[no-any-return]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def prepared_cursor(self) -> Any:
        """A cursor like `cursor()`, but binding its parameters on the server (so that the
        statements it runs can be prepared): for written-out statements with few parameters."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            return self._prepare_cursor(base.ServerBindingCursor(self.connection))
