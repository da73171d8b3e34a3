"""Policy documents as text and data: parsing, validation with every problem located, the
shipped default, canonical JSON and checksums."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from functools import cache, lru_cache
from importlib import resources

from pydantic import ValidationError

from .paths import format_loc
from .schema import PolicyDocument
from .source_text import SourceData, SourceError, read_source
from .upgrades import upgraded

DEFAULT_POLICY_FILE = "default_policy.yaml"


@dataclass(frozen=True)
class PolicyProblem:
    """One thing wrong with a policy document. `path` is empty for the document as a whole;
    line and column (1-based) are known when the problem was found in YAML text."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.path or "(document)"
        if self.line is not None:
            where += f" (line {self.line}, column {self.column})"
        return f"{where}: {self.message}"


class PolicyError(ValueError):
    """A policy document that cannot be used; `problems` lists everything wrong with it."""

    def __init__(self, problems: Sequence[PolicyProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid policy document:\n" + "\n".join(map(str, self.problems)))


def _problems_of(error: ValidationError, source: SourceData | None) -> list[PolicyProblem]:
    problems: list[PolicyProblem] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        message = item["msg"]
        if loc and loc[-1] == "[key]":
            loc = loc[:-1]
            message = f"invalid key: {message}"
        if not loc and item["type"] == "model_type":
            message = "the policy document must be a mapping of sections"
        position = source.position_of(loc) if source is not None else None
        line, column = position if position is not None else (None, None)
        problems.append(PolicyProblem(format_loc(loc), message, line, column))
    return problems


def _validate(
    data: object, source: SourceData | None = None
) -> tuple[PolicyDocument | None, list[PolicyProblem]]:
    try:
        return PolicyDocument.model_validate(upgraded(data)), []
    except ValidationError as error:
        return None, _problems_of(error, source)


def _read(text: str) -> tuple[SourceData | None, list[PolicyProblem]]:
    try:
        return read_source(text), []
    except SourceError as error:
        return None, [PolicyProblem("", error.message, error.line, error.column)]


def validate_policy_data(data: object) -> list[PolicyProblem]:
    """Every problem of an already-parsed document (e.g. a JSON body); empty when it is valid."""
    return _validate(data)[1]


def validate_policy_text(text: str) -> list[PolicyProblem]:
    """Every problem of a YAML or JSON document, with line and column where the text has them."""
    source, problems = _read(text)
    if source is None:
        return problems
    return _validate(source.data, source)[1]


def parse_policy_data(data: object) -> PolicyDocument:
    document, problems = _validate(data)
    if document is None:
        raise PolicyError(problems)
    return document


def parse_policy_text(text: str) -> PolicyDocument:
    """The document in YAML or JSON text; raises PolicyError listing every problem.

    A text already parsed in this process gives the same (immutable) document at once: the
    same policy is published, uploaded and compared many times."""
    return _parse_policy_text(text)


@lru_cache(maxsize=16)
def _parse_policy_text(text: str) -> PolicyDocument:
    source, problems = _read(text)
    if source is None:
        raise PolicyError(problems)
    document, problems = _validate(source.data, source)
    if document is None:
        raise PolicyError(problems)
    return document


def default_policy_text() -> str:
    package = resources.files(__package__ or "custguard.policy")
    return package.joinpath(DEFAULT_POLICY_FILE).read_text(encoding="utf-8")


@cache
def load_default_policy() -> PolicyDocument:
    """The default policy shipped with custguard (immutable, so it is parsed once)."""
    return parse_policy_text(default_policy_text())


def _plain(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def document_data(doc: PolicyDocument) -> dict[str, object]:
    """The document as JSON-ready data (Decimals as strings): what versions store and diff."""
    data = _plain(doc.model_dump(mode="python"))
    assert isinstance(data, dict)
    return data


def canonical_json(doc: PolicyDocument) -> str:
    """One text per meaning: sorted keys, no whitespace, Decimals as strings, UTF-8 kept."""
    return json.dumps(
        document_data(doc), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
        allow_nan=False,
    )


def checksum(doc: PolicyDocument) -> str:
    """SHA-256 (hex) of the canonical JSON."""
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()
