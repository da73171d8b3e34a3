"""A pytest plugin that ends every pass with its slowest tests and the tests over budget.

Loaded with `-p custguard.testing.report` (pyproject's addopts). A test's time is the sum of
its setup, call and teardown, so slow function fixtures count against the test that pays for
them. Data built once for a whole module, class or session (module_world, django_db_setup …)
is not charged to whichever test happened to run first: it is listed on its own line, as
"path::fixture [module data]", with its own budget. The budgets come from docs/testing.md;
`CUSTGUARD_TEST_PASS` names the pass (sqlite, postgres, browser) in the summary.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Generator
from typing import Any

import pytest

SLOWEST = 15
# Seconds on the 2-core CI machine (docs/testing.md, "The budget"). A test over its budget is
# a defect to fix, like a failing one.
BUDGET_SECONDS = {
    "test": 1.0,
    "property": 3.0,  # a Hypothesis test: hundreds of examples in one test
    "transactional": 5.0,  # races real threads or processes against committed data
    "browser": 12.0,  # drives real Chromium through whole pages against a live server
    "shared": 10.0,  # one build of data shared by a module, class or session
}
# PostgreSQL round trips cost more than SQLite's in-process calls; the same test may take this
# many times as long on the PostgreSQL pass.
PASS_FACTOR = {"postgres": 2.0}
SHARED_SCOPES = {"class", "module", "package", "session"}
SHARED_WORTH_LISTING = 0.05
_SHARED_KEY = "custguard_shared_setup"
_BUDGET_KEY = "custguard_budget"


class SlowestTests:
    """Collects the reports on the controller (or the only process, without xdist)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.kind: dict[str, str] = {}
        self.own_budget: dict[str, float] = {}
        self.factor = PASS_FACTOR.get(os.environ.get("CUSTGUARD_TEST_PASS", ""), 1.0)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        shared = 0.0
        # user_properties belong to the test item: the call and teardown reports repeat them
        for name, value in report.user_properties if report.when == "setup" else ():
            if name == _SHARED_KEY:
                for key, seconds in value:
                    self.seconds[key] += seconds
                    self.kind[key] = "shared"
                    shared += seconds
            elif name == _BUDGET_KEY:
                self.own_budget[report.nodeid] = value
        self.seconds[report.nodeid] += max(report.duration - shared, 0.0)
        if report.when == "setup":
            keywords = getattr(report, "keywords", {})
            kinds = ("browser", "transactional", "property")
            kind = next((k for k in kinds if k in keywords), "test")
            self.kind.setdefault(report.nodeid, kind)

    def budget_of(self, key: str) -> float:
        seconds = self.own_budget.get(key, BUDGET_SECONDS[self.kind.get(key, "test")])
        return seconds * self.factor

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.seconds:
            return
        name = os.environ.get("CUSTGUARD_TEST_PASS", "this pass")
        tests = [key for key in self.seconds if self.kind.get(key) != "shared"]
        total = sum(self.seconds.values())
        write = terminalreporter.write_line
        terminalreporter.section(f"slowest {SLOWEST} of {name} (setup + call + teardown; "
                                 "shared data on its own line)")
        ranked = sorted(self.seconds.items(), key=lambda item: item[1], reverse=True)
        for key, seconds in ranked[:SLOWEST]:
            over = "  OVER BUDGET" if seconds > self.budget_of(key) else ""
            write(f"{seconds:8.2f} s  {key}{over}")
        over = [key for key, seconds in ranked if seconds > self.budget_of(key)]
        average = sum(self.seconds[key] for key in tests) / max(len(tests), 1)
        write(f"{len(tests)} tests, {total:.1f} s of test time in all, {average:.3f} s a test "
              f"on average; {len(over)} over their budget (docs/testing.md)")
        listed = {key for key, _ in ranked[:SLOWEST]}
        for key in over:  # the ones over budget that the slowest list did not show
            if key not in listed:
                write(f"{self.seconds[key]:8.2f} s  {key}  OVER BUDGET")


class SharedSetupTimer:
    """Runs where the tests run (each xdist worker): times the fixtures built once for many
    tests and hands those seconds to the report of the test whose setup built them."""

    def __init__(self) -> None:
        self.pending: list[tuple[str, float]] = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any, request: Any) -> Generator[None]:
        if fixturedef.scope not in SHARED_SCOPES:
            yield
            return
        start = time.perf_counter()
        yield
        seconds = time.perf_counter() - start
        if seconds < SHARED_WORTH_LISTING:  # trivial ones stay with the test that set them up
            return
        node = request.node
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        where = node.nodeid if fixturedef.scope != "session" else f"session {worker}".strip()
        self.pending.append((f"{where}::{fixturedef.argname} [{fixturedef.scope} data]", seconds))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: Any) -> Generator[None]:
        outcome = yield
        if call.when != "setup":
            return
        report = outcome.get_result()
        if self.pending:
            report.user_properties.append((_SHARED_KEY, list(self.pending)))
            self.pending.clear()
        budget = item.get_closest_marker("budget")
        if budget is not None:
            report.user_properties.append((_BUDGET_KEY, float(budget.args[0])))


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SharedSetupTimer(), "custguard-shared-setup-timer")
    if not hasattr(config, "workerinput"):  # xdist workers report to the controller
        config.pluginmanager.register(SlowestTests(), "custguard-slowest-tests")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that need real commits and the Hypothesis tests, so that the summary
    judges them by their own budget; check that every `budget` marker says why."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        fixtures = getattr(item, "fixturenames", ())
        if (marker is not None and marker.kwargs.get("transaction")) or \
                "live_server" in fixtures or "transactional_db" in fixtures:
            item.add_marker("transactional")
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker("property")
        budget = item.get_closest_marker("budget")
        if budget is not None and (len(budget.args) != 1 or not budget.kwargs.get("why")):
            raise pytest.UsageError(f"{item.nodeid}: write @pytest.mark.budget(SECONDS, "
                                    "why=...) — the seconds it may take, and why")
