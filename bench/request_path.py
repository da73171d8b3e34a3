"""Benchmark the request path: custguard's trivial API endpoint against a bare Ninja app.

    .venv/bin/python bench/request_path.py [--workers 2] [--connections 16] [--seconds 10]
                                           [--database-url URL]

Sets up a fresh database like bench/gate.py (migrated, default policy, a credit manager with an
API token), then, one after the other on the same port range and machine, with wrk (Debian's
`wrk`, one thread, keep-alive connections):

  custguard         GET /api/v1/regions/110000 with the bearer token, `custguard serve
                    --workers N` in production settings (DEBUG off, the production middleware)
  custguard static  GET /static/missing.css through the same server: the middleware and
                    whitenoise, no view, no database (what the request path costs without a view)
  bare Ninja        GET /api/v1/regions/110000 of bench/bare_ninja.py under granian with the same
                    worker and thread count, database and connection settings: the same ORM
                    read (Region.objects.get), nothing else
  bare Ninja SQL    the same row by one raw SELECT (what the ORM itself costs)

and prints requests/s, p50/p90/p99 and the ratio custguard / bare (issue 10, target ≥ 0.5).
wrk runs on the same two CPUs as the server: the ratio is the figure that counts. The bare app
at its rate shows that the load generator is not the bottleneck of the custguard figure.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gate import (
    HOST,
    api_user,
    drop_postgres,
    free_port,
    scratch_postgres,
    stop_server,
    wait_answering,
)

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "src"))

PATH = "/api/v1/regions/110000"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="granian worker processes")
    parser.add_argument("--threads", type=int, default=1,
                        help="granian blocking threads per worker (custguard serve's default)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10, help="seconds of load per test")
    parser.add_argument("--database-url", default=None,
                        help="postgresql://... to benchmark PostgreSQL (a scratch database is "
                             "created and dropped); default: SQLite in a temporary directory")
    return parser.parse_args()


@dataclass
class Figures:
    name: str
    rate: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNIT_MS[unit]


def wrk(name: str, url: str, args: argparse.Namespace, headers: dict[str, str],
        expect_ok: bool = True) -> Figures:
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "--latency"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)$", output, re.M))
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = int(failed.group(1)) if failed and expect_ok else 0
    socket_errors = re.search(r"Socket errors: (.*)", output)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return Figures(name, rate, _ms(latency["50"]), _ms(latency["90"]), _ms(latency["99"]),
                   errors)


def setup() -> str:
    """The database of bench/gate.py's API user; return its token's secret."""
    secret = api_user()
    from django.db import connections

    connections.close_all()
    return secret


def start(argv: list[str], workdir: str, name: str, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    log = open(Path(workdir, f"{name}.log"), "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(argv, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=cwd)


def wait_until_up(port: int, process: subprocess.Popen[bytes], workdir: str, name: str,
                  headers: dict[str, str]) -> None:
    wait_answering(port, process, Path(workdir, f"{name}.log"), headers)


def warm(url: str, headers: dict[str, str], args: argparse.Namespace) -> None:
    """Two seconds of load first: every worker has its connection and its imports."""
    short = argparse.Namespace(**{**vars(args), "seconds": 2})
    wrk("warm-up", url, short, headers)


def run(args: argparse.Namespace, workdir: str) -> list[Figures]:
    secret = setup()
    auth = {"Authorization": f"Bearer {secret}"}
    results = []
    port = free_port()
    server = start([sys.executable, "-m", "custguard", "serve", "--host", HOST, "--port",
                    str(port), "--workers", str(args.workers), "--threads", str(args.threads)],
                   workdir, "custguard")
    try:
        wait_until_up(port, server, workdir, "custguard", auth)
        base = f"http://{HOST}:{port}"
        warm(base + PATH, auth, args)
        results.append(wrk("custguard: GET /api/v1/regions/{code}, token", base + PATH, args,
                           auth))
        results.append(wrk("custguard: GET /static/missing.css (404)",
                           base + "/static/missing.css", args, {}, expect_ok=False))
    finally:
        stop_server(server)
    port = free_port()
    bare = start([sys.executable, "-m", "granian", "--interface", "wsgi", "--host", HOST,
                  "--port", str(port), "--workers", str(args.workers), "--blocking-threads",
                  str(args.threads), "--no-ws",
                  "bare_ninja:application"], workdir, "bare", cwd=BENCH)
    try:
        wait_until_up(port, bare, workdir, "bare", {})
        url = f"http://{HOST}:{port}{PATH}"
        warm(url, {}, args)
        results.append(wrk("bare Ninja: GET /api/v1/regions/{code} (ORM)", url, args, {}))
        results.append(wrk("bare Ninja: GET /api/v1/raw/regions/{code} (SQL)",
                           f"http://{HOST}:{port}/api/v1/raw{PATH[len('/api/v1'):]}", args, {}))
    finally:
        stop_server(bare)
    return results


def report(args: argparse.Namespace, vendor: str, results: list[Figures]) -> None:
    print(f"database: {vendor}; server: granian WSGI, {args.workers} workers × {args.threads} "
          f"threads; wrk, 1 thread, "
          f"{args.connections} keep-alive connections, {args.seconds} s a test; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    header = f"{'test':<48} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'errors':>7}"
    print(header)
    print("-" * len(header))
    for f in results:
        print(f"{f.name:<48} {f.rate:>8.0f} {f.p50_ms:>8.2f} {f.p90_ms:>8.2f} {f.p99_ms:>8.2f} "
              f"{f.errors:>7}")
    custguard, static, bare, raw = results
    print()
    print(f"ratio custguard / bare Ninja, the same ORM read: {custguard.rate / bare.rate:.2f} "
          f"(target >= 0.5)")
    print(f"ratio custguard / bare Ninja, a raw SELECT:      {custguard.rate / raw.rate:.2f}; "
          f"custguard static 404 / bare Ninja ORM: {static.rate / bare.rate:.2f}")


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk (make bench does)", file=sys.stderr)
        return 2
    workdir = tempfile.mkdtemp(prefix="cg-bench-path-")
    os.environ["CUSTGUARD_DATA_DIR"] = workdir
    os.environ.setdefault("CUSTGUARD_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("CUSTGUARD_AUDIT_KEY", secrets.token_urlsafe(32))
    os.environ["CUSTGUARD_DEBUG"] = "false"
    os.environ["CUSTGUARD_TESTING"] = "false"
    os.environ["CUSTGUARD_HTTPS"] = "false"  # plain HTTP on the loopback
    os.environ["CUSTGUARD_ALLOWED_HOSTS"] = f"{HOST},localhost"
    os.environ["CUSTGUARD_LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_SETTINGS_MODULE"] = "custguard.settings"
    scratch = None
    if args.database_url:
        scratch = scratch_postgres(args.database_url)
        os.environ["CUSTGUARD_DATABASE_URL"] = scratch[2]
        vendor = "postgresql"
    else:
        os.environ["CUSTGUARD_DATABASE_URL"] = "sqlite:///bench.sqlite3"
        vendor = "sqlite"
    try:
        results = run(args, workdir)
    finally:
        if scratch is not None:
            drop_postgres(scratch[0], scratch[1])
    report(args, vendor, results)
    return 1 if any(f.errors for f in (results[0], *results[2:])) else 0


if __name__ == "__main__":
    sys.exit(main())
