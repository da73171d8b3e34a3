"""The OpenAPI document tells the truth (issue 9 §1): one schema per component name, and the
problem responses every operation can give documented on each."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ninja.openapi.schema import OpenAPISchema

from custguard.api import problems
from custguard.api.api import api


def _conflicting_components(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """Names under which the API's models emitted different schemas (the later one wins in
    the document, so the earlier operation's schema lies)."""
    emitted: dict[str, list[str]] = {}
    original = OpenAPISchema.add_schema_definitions

    def record(self: OpenAPISchema, definitions: dict[str, Any]) -> None:
        for name, schema in definitions.items():
            text = json.dumps(schema, sort_keys=True, default=str)
            if text not in emitted.setdefault(name, []):
                emitted[name].append(text)
        original(self, definitions)

    monkeypatch.setattr(OpenAPISchema, "add_schema_definitions", record)
    api.get_openapi_schema()
    return {name: schemas for name, schemas in emitted.items() if len(schemas) > 1}


def test_no_component_name_is_emitted_with_two_schemas(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _conflicting_components(monkeypatch) == {}


def test_every_operation_documents_its_problem_responses() -> None:
    schema = api.get_openapi_schema()
    assert schema["components"]["schemas"]["Problem"] == problems.PROBLEM_SCHEMA
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            documented = set(operation["responses"])
            expected = {401, 403, 404, 409, 422}
            if "requestBody" in operation:
                expected |= {400, 413}
            assert expected <= documented, f"{method.upper()} {path}: {documented}"
            for status in expected:
                content = operation["responses"][status]["content"]
                assert list(content) == [problems.CONTENT_TYPE], f"{method} {path} {status}"
