"""Reading policy text (YAML or JSON) into plain data without losing precision or mistakes.

Numbers with a fraction become Decimal (never float), a key given twice is an error rather than
a silent overwrite, and for YAML the line and column of every value are kept so that problems
found later can point at the text.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Position = tuple[int, int]
PathKey = tuple[str | int, ...]


class SourceError(Exception):
    """The text is not well-formed. Line and column are 1-based when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class SourceData:
    data: object
    positions: dict[PathKey, Position] = field(default_factory=dict)

    def position_of(self, loc: PathKey) -> Position | None:
        """Position of the deepest part of `loc` that exists in the text."""
        for end in range(len(loc), -1, -1):
            position = self.positions.get(loc[:end])
            if position is not None:
                return position
        return None


# libyaml's parser (PyYAML's C extension) is about ten times faster than the pure-Python one
# and gives the same nodes with the same marks; the constructors below stay in Python.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _PolicyLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"found duplicate key {key!r}", key_node.start_mark,
                    )
                seen.add(key)
        mapping: dict[Hashable, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def _construct_decimal(loader: _PolicyLoader, node: ScalarNode) -> Decimal:
    text = loader.construct_scalar(node).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        # YAML 1.1 spellings such as .inf, .nan or base-60 numbers.
        return Decimal(repr(loader.construct_yaml_float(node)))


_PolicyLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def _mark(node: Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _collect_positions(node: Node, path: PathKey, out: dict[PathKey, Position]) -> None:
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode):
                child = (*path, key_node.value)
                out.setdefault(child, _mark(key_node))
                _collect_positions(value_node, child, out)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            out.setdefault(child, _mark(item))
            _collect_positions(item, child, out)


def _read_yaml(text: str) -> SourceData:
    loader = _PolicyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return SourceData(None)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = ": ".join(part for part in (error.context, error.problem) if part)
        if mark is None:
            raise SourceError(f"YAML error: {message}") from error
        raise SourceError(f"YAML error: {message}", mark.line + 1, mark.column + 1) from error
    except yaml.YAMLError as error:
        raise SourceError(f"YAML error: {error}") from error
    finally:
        loader.dispose()
    positions: dict[PathKey, Position] = {(): _mark(node)}
    _collect_positions(node, (), positions)
    return SourceData(data, positions)


class _DuplicateKeyError(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _read_json(text: str) -> SourceData:
    try:
        return SourceData(json.loads(text, parse_float=Decimal, object_pairs_hook=_unique_pairs))
    except json.JSONDecodeError as error:
        raise SourceError(f"JSON error: {error.msg}", error.lineno, error.colno) from error
    except _DuplicateKeyError as error:
        raise SourceError(f"JSON error: found duplicate key {error.args[0]!r}") from error


def read_source(text: str) -> SourceData:
    """JSON when the text starts with `{`, YAML otherwise."""
    if text.lstrip().startswith("{"):
        return _read_json(text)
    return _read_yaml(text)
