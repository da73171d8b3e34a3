"""The pass summary of custguard.testing.report: every test over its budget is named."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from custguard.testing.report import SLOWEST, SlowestTests


class Terminal:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def section(self, title: str) -> None:
        self.lines.append(f"== {title}")

    def write_line(self, line: str) -> None:
        self.lines.append(line)


def _report(nodeid: str, when: str, duration: float, **extra: Any) -> Any:
    return SimpleNamespace(nodeid=nodeid, when=when, duration=duration,
                           user_properties=extra.get("user_properties", []),
                           keywords=extra.get("keywords", {}))


def _summary(durations: dict[str, tuple[float, str]],
             monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The summary lines of a pass whose tests took these (seconds, kind)."""
    monkeypatch.setenv("CUSTGUARD_TEST_PASS", "sqlite")
    plugin = SlowestTests()
    for nodeid, (seconds, kind) in durations.items():
        plugin.pytest_runtest_logreport(_report(nodeid, "setup", 0.0, keywords={kind: 1}))
        plugin.pytest_runtest_logreport(_report(nodeid, "call", seconds))
    terminal = Terminal()
    plugin.pytest_terminal_summary(terminal)
    return terminal.lines


def _named(lines: list[str]) -> list[str]:
    return [line for line in lines if line.endswith("OVER BUDGET")]


def test_a_test_over_budget_below_the_slowest_list_is_still_named(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The slowest are Hypothesis tests within their 3 s budget; a plain test just over its
    # 1 s budget ranks below all of them.
    durations = {f"t.py::test_property_{n}": (2.0, "property") for n in range(SLOWEST)}
    durations["t.py::test_plain_but_slow"] = (1.2, "test")
    durations["t.py::test_fast"] = (0.1, "test")
    lines = _summary(durations, monkeypatch)
    assert any("1 over their budget" in line for line in lines)
    assert _named(lines) == ["    1.20 s  t.py::test_plain_but_slow  OVER BUDGET"]


def test_a_test_over_budget_in_the_slowest_list_is_named_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _summary({"t.py::test_property": (2.5, "property"),
                      "t.py::test_plain": (1.5, "test"),
                      "t.py::test_fast": (0.2, "test")}, monkeypatch)
    assert any("1 over their budget" in line for line in lines)
    assert _named(lines) == ["    1.50 s  t.py::test_plain  OVER BUDGET"]
