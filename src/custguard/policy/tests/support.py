"""Helpers shared by the policy tests: mutable copies of the default document."""

from __future__ import annotations

import copy
from typing import Any

from custguard.policy import document_data, load_default_policy, validate_policy_data


def default_data() -> dict[str, Any]:
    """A deep, mutable copy of the default policy as plain data."""
    return copy.deepcopy(document_data(load_default_policy()))


def problem_paths(data: object) -> list[str]:
    return [problem.path for problem in validate_policy_data(data)]


def problems_at(data: object, path: str) -> list[str]:
    """Messages of the problems found at exactly `path`."""
    return [p.message for p in validate_policy_data(data) if p.path == path]
