"""`custguard serve --workers 2` survives a worker killed with SIGKILL (issue 9 §3)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

DEADLINE = 20.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text()
        found |= {int(child) for child in text.split()}
    return found


def _wait_for(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)  # a polling step bounded by the deadline, not a fixed wait
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, list[str]]]:
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env |= {"CUSTGUARD_DATA_DIR": str(tmp_path / "data"), "CUSTGUARD_TESTING": "false",
            "CUSTGUARD_DEBUG": "true"}
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "custguard", "serve", "--workers", "2", "--threads", "1",
         "--port", str(port), "--respawn-interval", "0.2", "--kill-timeout", "5"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        log.extend(iter(process.stdout.readline, ""))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield process, f"http://127.0.0.1:{port}/login/", log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.budget(8, why="starts a real granian server with two workers, kills one, "
                             "waits for its respawn and a graceful stop")
def test_a_killed_worker_is_respawned_and_sigterm_stops_cleanly(server) -> None:  # type: ignore[no-untyped-def]
    process, url, log = server
    _wait_for(lambda: _get(url), "the server to answer")
    _wait_for(lambda: len(_children(process.pid)) == 2, "two workers")
    workers = _children(process.pid)

    results: list[tuple[float, bool]] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            results.append((time.monotonic(), _get(url)))

    thread = threading.Thread(target=client)
    thread.start()
    try:
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        _wait_for(lambda: len(_children(process.pid) - {victim}) == 2, "a respawned worker")
        assert process.poll() is None, "the main process exited with a worker"
        new_workers = _children(process.pid)
        assert victim not in new_workers and len(new_workers - workers) == 1
        # the new worker has loaded the app (granian logs it) and serves alongside the other
        _wait_for(lambda: sum("Started worker" in line for line in log) >= 3,
                  "the respawned worker to start")
        ready_at = time.monotonic()
        _wait_for(lambda: sum(1 for at, _ in results if at > ready_at) >= 10,
                  "requests after the respawn")
    finally:
        stop.set()
        thread.join()
    assert any(ok for at, ok in results if at > killed_at)
    after = [ok for at, ok in results if at > ready_at]
    assert after and all(after), "a request failed after the worker was replaced"

    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert time.monotonic() - started < 3, "the stop waited for the kill timeout"
