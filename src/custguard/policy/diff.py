"""Structural differences between two versions of a policy document, for review screens.

Lists of objects that all carry a distinct `code` are matched by code, so inserting a violation
type shows as one addition instead of a change to every later entry; such a list whose codes
kept their items but changed order is reported as a change of the list itself, with the code
sequences as old and new values. Other lists are matched by index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from .paths import join_path

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class PolicyChange:
    path: str
    kind: ChangeKind
    old: object = None
    new: object = None


def diff_documents(a: Mapping[str, object], b: Mapping[str, object]) -> list[PolicyChange]:
    """Changes that turn document data `a` into `b`, parents before children, in `a`'s order
    with additions after."""
    changes: list[PolicyChange] = []
    _diff(a, b, "", changes)
    return changes


def _diff(old: object, new: object, path: str, out: list[PolicyChange]) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        _diff_mappings(old, new, path, out)
    elif isinstance(old, list | tuple) and isinstance(new, list | tuple):
        _diff_lists(old, new, path, out)
    elif not _same(old, new):
        out.append(PolicyChange(path, "changed", old, new))


def _diff_mappings(
    old: Mapping[object, object], new: Mapping[object, object], path: str,
    out: list[PolicyChange],
) -> None:
    for key, value in old.items():
        child = join_path(path, str(key))
        if key in new:
            _diff(value, new[key], child, out)
        else:
            out.append(PolicyChange(child, "removed", value, None))
    for key, value in new.items():
        if key not in old:
            out.append(PolicyChange(join_path(path, str(key)), "added", None, value))


def _codes(items: Sequence[object]) -> list[str] | None:
    """The items' codes when every item is a mapping with a distinct string `code`."""
    codes: list[str] = []
    for item in items:
        code = item.get("code") if isinstance(item, Mapping) else None
        if not isinstance(code, str):
            return None
        codes.append(code)
    return codes if len(set(codes)) == len(codes) else None


def _diff_lists(
    old: Sequence[object], new: Sequence[object], path: str, out: list[PolicyChange]
) -> None:
    old_codes, new_codes = _codes(old), _codes(new)
    if old_codes is None or new_codes is None:
        for index in range(max(len(old), len(new))):
            child = join_path(path, index)
            if index >= len(new):
                out.append(PolicyChange(child, "removed", old[index], None))
            elif index >= len(old):
                out.append(PolicyChange(child, "added", None, new[index]))
            else:
                _diff(old[index], new[index], child, out)
        return
    old_items = dict(zip(old_codes, old, strict=True))
    new_items = dict(zip(new_codes, new, strict=True))
    if [c for c in old_codes if c in new_items] != [c for c in new_codes if c in old_items]:
        out.append(PolicyChange(path, "changed", old_codes, new_codes))
    for code, item in old_items.items():
        child = f"{path}[{code}]"
        if code in new_items:
            _diff(item, new_items[code], child, out)
        else:
            out.append(PolicyChange(child, "removed", item, None))
    for code, item in new_items.items():
        if code not in old_items:
            out.append(PolicyChange(f"{path}[{code}]", "added", None, item))


def _same(old: object, new: object) -> bool:
    numbers = (int, float, Decimal)
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, numbers) and isinstance(new, numbers):
        return old == new
    if isinstance(old, str) and isinstance(new, str):
        return old == new
    return type(old) is type(new) and old == new
