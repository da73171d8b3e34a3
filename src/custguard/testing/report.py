"""A pytest plugin that ends every pass with its slowest tests and the tests over budget.

Loaded with `-p custguard.testing.report` (pyproject's addopts). A test's time is the sum of
its setup, call and teardown, so slow fixtures count against the test that pays for them.
The per-test budget comes from docs/testing.md; `CUSTGUARD_TEST_PASS` names the pass
(sqlite, postgres, browser) in the summary.
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

import pytest

SLOWEST = 15
# A test that takes longer than this on the 2-core CI machine is a defect to fix
# (docs/testing.md, "The budget"); tests that must race real commits have their own.
BUDGET_SECONDS = {"default": 1.0, "transactional": 5.0}


class SlowestTests:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.transactional: set[str] = set()

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid] += report.duration
        if report.when == "setup" and "transactional" in getattr(report, "keywords", {}):
            self.transactional.add(report.nodeid)

    def budget_of(self, nodeid: str) -> float:
        kind = "transactional" if nodeid in self.transactional else "default"
        return BUDGET_SECONDS[kind]

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.seconds:
            return
        name = os.environ.get("CUSTGUARD_TEST_PASS", "this pass")
        total = sum(self.seconds.values())
        tests = len(self.seconds)
        write = terminalreporter.write_line
        terminalreporter.section(f"slowest {SLOWEST} tests of {name} (setup + call + teardown)")
        ranked = sorted(self.seconds.items(), key=lambda item: item[1], reverse=True)
        for nodeid, seconds in ranked[:SLOWEST]:
            write(f"{seconds:8.2f} s  {nodeid}")
        over = [nodeid for nodeid, seconds in ranked if seconds > self.budget_of(nodeid)]
        write(f"{tests} tests, {total:.1f} s of test time, {total / tests:.3f} s a test on "
              f"average; {len(over)} over their budget (docs/testing.md)")


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # xdist workers report to the controller
        config.pluginmanager.register(SlowestTests(), "custguard-slowest-tests")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that need real commits, so that the summary judges them by their own
    budget."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        fixtures = getattr(item, "fixturenames", ())
        if (marker is not None and marker.kwargs.get("transaction")) or \
                "live_server" in fixtures or "transactional_db" in fixtures:
            item.add_marker("transactional")
