"""Break a service on purpose and check that the test suite notices.

Usage: python -m custguard.testing.mutations [NAME ...] [-- PYTEST ARGS]

Each mutation below replaces one piece of production code with a plausible bug (the gate skips
the limit check, the audit verification always succeeds …), runs the suite on SQLite, and
reports how many tests failed: a mutation that no test catches "survives", and the command
exits 1. The source file is restored afterwards, also on Ctrl-C. docs/testing.md lists the
results of the last run.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent  # src/custguard


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str  # relative to src/custguard
    original: str
    broken: str
    meaning: str


MUTATIONS = [
    Mutation("gate-skips-limit-check", "policy/gate.py",
             "    if exposure.used + amount <= top:\n        return None\n",
             "    return None\n",
             "the gate decision never finds a customer or group over its limit"),
    Mutation("reserve-skips-room-check", "credit/services/exposure.py",
             "    return Q(GreaterThanOrEqual(ceiling, used))\n",
             "    return Q()\n",
             "the conditional UPDATE that reserves credit no longer re-checks the limit"),
    Mutation("audit-verify-always-succeeds", "core/services/audit.py",
             "    expected_prev = GENESIS_HASH\n",
             "    return None\n",
             "verifying the audit chain reports no problem, whatever was altered"),
    Mutation("actor-may-do-anything", "core/actors.py",
             "        return self.user is not None and self.user.has_perm(perm)\n",
             "        return True\n",
             "services no longer check the acting user's permission"),
]


def run(mutation: Mutation, pytest_args: list[str]) -> tuple[int, int, float]:
    """Apply the mutation, run the suite, restore; return (failed, passed, seconds)."""
    path = SOURCE / mutation.path
    text = path.read_text(encoding="utf-8")
    if text.count(mutation.original) != 1:
        raise SystemExit(f"{mutation.name}: the code to break is not found exactly once in "
                         f"{mutation.path}; update the mutation")
    path.write_text(text.replace(mutation.original, mutation.broken), encoding="utf-8")
    start = time.monotonic()
    try:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-m", "not browser",
             *pytest_args],
            capture_output=True, text=True, check=False)
    finally:
        path.write_text(text, encoding="utf-8")
    seconds = time.monotonic() - start
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    failed = sum(int(n) for n in re.findall(r"(\d+) (?:failed|error)", summary))
    passed = sum(int(n) for n in re.findall(r"(\d+) passed", summary))
    if not failed and result.returncode not in (0, 1):
        sys.stderr.write(result.stdout[-2000:] + result.stderr[-2000:])
        raise SystemExit(f"{mutation.name}: pytest exited {result.returncode}")
    return failed, passed, seconds


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="the mutations to try (default: all): "
                             + ", ".join(m.name for m in MUTATIONS))
    own, pytest_args = (argv, []) if "--" not in argv else (
        argv[:argv.index("--")], argv[argv.index("--") + 1:])
    args = parser.parse_args(own)
    unknown = set(args.names) - {m.name for m in MUTATIONS}
    if unknown:
        parser.error(f"unknown mutation: {', '.join(sorted(unknown))}")
    chosen = [m for m in MUTATIONS if not args.names or m.name in args.names]
    survived = []
    for mutation in chosen:
        failed, passed, seconds = run(mutation, pytest_args or ["-n", "2", "--dist",
                                                                "loadfile"])
        verdict = f"killed by {failed} failing tests" if failed else "SURVIVED"
        print(f"{mutation.name:30} {verdict:28} ({passed} passed, {seconds:.0f} s): "
              f"{mutation.meaning}", flush=True)
        if not failed:
            survived.append(mutation.name)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
