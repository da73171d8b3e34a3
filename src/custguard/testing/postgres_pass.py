"""Run the database tests again on PostgreSQL, or say clearly why that pass is skipped.

Usage: python -m custguard.testing.postgres_pass URL -- pytest ARGS...
With CI=true an unreachable PostgreSQL is a failure; elsewhere it prints one line and skips.
"""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") != 1:
        print("usage: python -m custguard.testing.postgres_pass URL -- COMMAND...", file=sys.stderr)
        return 2
    url, command = argv[0], argv[2:]
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if os.environ.get("CI", "").lower() == "true":
            print(f"PostgreSQL pass FAILED: cannot reach {url}: {reason}", file=sys.stderr)
            return 1
        print(f"PostgreSQL pass skipped: cannot reach {url} ({reason}); "
              "set CUSTGUARD_TEST_POSTGRES_URL to run it")
        return 0
    env = dict(os.environ, CUSTGUARD_DATABASE_URL=url)
    print(f"PostgreSQL pass on {url}")
    return subprocess.call(command, env=env)  # noqa: S603


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
