"""Property-based fuzzing of the API's OpenAPI document with schemathesis (docs/testing.md).

Each app's `tests/test_api_fuzz.py` fuzzes the operations of its permission matrix (TABLE),
as a signed-in user of every role, against the matrix's world: a drawn case keeps its generated
path parameters or takes the world's real ones (from the matrix row), so that bodies also
reach the services behind a found object. The checks are schemathesis' `not_a_server_error`,
`status_code_conformance`, `content_type_conformance` and `response_schema_conformance`, and
ours: a 4xx is problem+json whose reasons are in the request's language (zh-Hans here).

The run is reproducible: hypothesis derandomized (one seed per test, from its name), no example
database, a bounded number of examples per operation and role (`FUZZ_EXAMPLES`, default 4;
raise it to explore: `FUZZ_EXAMPLES=200 make test-sqlite`)."""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Iterator
from typing import Any

from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
ACCEPT_LANGUAGE = "zh-hans"
_CJK = re.compile("[\u4e00-\u9fff]")
_CUSTOMER_CODE = re.compile("^[0-9]{9}$")


@functools.cache
def api_schema() -> Any:
    import schemathesis

    with connections_kept():
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    _warm_up(schema)
    return schema


def _warm_up(schema: Any) -> None:
    """Draw a few cases once per process, so that the first fuzz test does not pay for
    hypothesis' engine and schemathesis' strategy machinery being built (about 1 s)."""
    from hypothesis import HealthCheck, Phase, given, settings

    @given(case=_cases(schema["/api/v1/appeals"]["POST"]))
    @settings(max_examples=4, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    def draw(case: Any) -> None:
        case.as_transport_kwargs()

    draw()


@contextlib.contextmanager
def connections_kept() -> Iterator[None]:
    """Django closes the connection at the start and end of every request it serves; in a test
    that would close the test's transaction (Django's test client does the same as this)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def operation(method: str, route: str) -> Any:
    """The schemathesis operation of a matrix row's method and route ("/api/v1/…")."""
    return api_schema()[route][method.upper()]


def _cases(op: Any) -> Any:
    """The cases drawn for an operation: valid by its schema, and not."""
    from schemathesis import GenerationMode

    return op.as_strategy(GenerationMode.POSITIVE) | op.as_strategy(GenerationMode.NEGATIVE)


def _reasons_translated(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 4xx answers in problem+json, and every field reason is in the request's language."""
    if not 400 <= response.status_code < 500:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/problem+json"), (
        f"a {response.status_code} answered {content_type!r}, not problem+json")
    body = response.json()
    for error in body.get("errors") or []:
        assert _CJK.search(error["reason"]), (
            f"field {error['field']!r}: reason {error['reason']!r} is not in zh-Hans")
    return None


def _checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [not_a_server_error, status_code_conformance, content_type_conformance,
            response_schema_conformance, _reasons_translated]


def fuzz(method: str, route: str, authorization: str, world_params: list[dict[str, str]],
         customer_codes: list[str], examples: int = EXAMPLES) -> None:
    """Fuzz one operation as the holder of `authorization`; the first failing case fails."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    cases = _cases(operation(method, route))
    headers = {"Authorization": authorization, "Accept-Language": ACCEPT_LANGUAGE}
    checks = _checks()

    @given(case=cases, params=st.sampled_from([None, *world_params]),
           customer=st.sampled_from([None, *customer_codes]))
    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
              report_multiple_bugs=False)
    def run(case: Any, params: dict[str, str] | None, customer: str | None) -> None:
        if params:  # the world's real objects, so the request gets past the lookup
            case.path_parameters = {**(case.path_parameters or {}), **params}
        if customer and isinstance(case.body, dict) and "customer" in case.body:
            case.body = {**case.body, "customer": customer}
        case.call_and_validate(headers=headers, checks=checks)

    with connections_kept():
        run()


def world_values(rows: list[Any], method: str, route: str,
                 values: dict[str, Any]) -> list[dict[str, str]]:
    """The real path parameters of an operation, one mapping per matrix row of it."""
    found = []
    for row in rows:
        if row.method == method and row.route == route and row.params:
            found.append({name: str(values[key]) for name, key in row.params.items()})
    return found


def customer_codes(values: dict[str, Any]) -> list[str]:
    """The world's customer codes (for a body's `customer`)."""
    return sorted({str(v) for v in values.values() if _CUSTOMER_CODE.match(str(v))})


def operations(rows: list[Any]) -> list[tuple[str, str]]:
    """Each (method, route) of a matrix table once, in the table's order."""
    return list(dict.fromkeys((row.method, row.route) for row in rows))


def every_operation_and_role(rows: list[Any]) -> Any:
    """Parametrize a test by (method, route, role): each operation of a matrix table as each
    signed-in role (a request without credentials gets its 401 before any input is read)."""
    import pytest

    from custguard.testing.matrix import ANONYMOUS, ROLES

    return pytest.mark.parametrize(("method", "route", "role"), [
        (method, route, role) for method, route in operations(rows)
        for role in ROLES if role != ANONYMOUS])


def matrix_test(rows: list[Any], world_fixture: str = "world") -> Any:
    """The fuzz test of an app: each operation of its permission matrix `rows`, as each
    signed-in role, against the matrix's world (the fixture `world_fixture`: a dict of values,
    or an object with `.values`). The module defines the matrix's fixtures, `personas` and
    `bearer_for` (the shared ones) and the world."""
    import pytest

    # Set up before the test, so the world's build is timed as shared data, not as this call.
    @pytest.mark.usefixtures(world_fixture)
    @every_operation_and_role(rows)
    def test_no_input_breaks_the_api(method: str, route: str, role: str, request: Any,
                                     personas: dict[str, Any], bearer_for: Any,
                                     fuzz_schema: Any) -> None:
        world = request.getfixturevalue(world_fixture)
        values = world if isinstance(world, dict) else world.values
        authorization = bearer_for(personas[role])["HTTP_AUTHORIZATION"]
        fuzz(method, route, authorization, world_values(rows, method, route, values),
             customer_codes(values))

    return test_no_input_breaks_the_api
