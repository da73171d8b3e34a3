"""Human-readable paths into a policy document, e.g. `scorecard.factors[2].bins[0].upper`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def join_path(prefix: str, segment: str | int) -> str:
    """Append a mapping key (`.name`, or `["odd key"]`) or a list index (`[3]`) to a path."""
    if isinstance(segment, int):
        return f"{prefix}[{segment}]"
    if _NAME.match(segment):
        return f"{prefix}.{segment}" if prefix else segment
    return f"{prefix}[{json.dumps(segment, ensure_ascii=False)}]"


def format_loc(loc: Iterable[str | int]) -> str:
    path = ""
    for segment in loc:
        path = join_path(path, segment)
    return path
