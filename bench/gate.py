"""Benchmark the order gate over HTTP against a trivial endpoint of the same server.

    .venv/bin/python bench/gate.py [--requests 3000] [--clients 16] [--workers 2]
                                   [--facts 100000] [--database-url URL]

Sets up a fresh database (SQLite in a temporary directory by default; with a PostgreSQL URL, a
scratch database created next to the one named and dropped afterwards), migrates it, publishes
the default policy, creates an API user (credit manager: it may read regions and ask the gate)
with a token, 64 customers rated "A" with limits high enough that every order is allowed, and
two more customers for the history test: one with 10 facts and one with `--facts` facts
(invoices and payments bulk-inserted, the standing counters set to match). Then it starts the
real server (`custguard serve`: granian, WSGI, `--workers` processes) on a free port and drives
it with `--clients` threads, each on its own keep-alive connection (http.client), measuring
requests per second and p50/p99 latency for:

  trivial           GET /api/v1/regions/110000 (a one-row read behind the same authentication,
                    permission check and middleware as the gate: the floor of this server)
  gate check        POST /api/v1/gate/check, check only (reads standing, stores the answer)
  gate reserve      POST /api/v1/gate/check with reserve (unique order ids: every call reserves)
  history 10 / N    gate check for the customer with 10 facts and for the one with N facts,
                    interleaved in one run (even requests / odd requests), so both are
                    measured under the same load

and prints the ratios gate / trivial and N facts / 10 facts. The load generator runs on the
same machine as the server, so absolute figures depend on the CPUs it has (and on anything
else running there: the load average is printed); the ratios are the figures that count.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

POOL = 64
WARMUP = 200
HOST = "127.0.0.1"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="measured requests per test")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="granian worker processes")
    parser.add_argument("--facts", type=int, default=100_000,
                        help="facts of the customer with a long history")
    parser.add_argument("--database-url", default=None,
                        help="postgresql://... to benchmark PostgreSQL (a scratch database is "
                             "created and dropped); default: SQLite in a temporary directory")
    return parser.parse_args()


def scratch_postgres(url: str) -> tuple[str, str, str]:
    """Create a scratch database on the server of `url`; return (maintenance url, name, url)."""
    import psycopg

    name = f"cg_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    return url, name, urlunsplit(parts._replace(path=f"/{name}"))


def drop_postgres(maintenance_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def main() -> int:
    args = parse_args()
    workdir = tempfile.mkdtemp(prefix="cg-bench-gate-")
    os.environ["CUSTGUARD_DATA_DIR"] = workdir
    os.environ.setdefault("CUSTGUARD_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("CUSTGUARD_AUDIT_KEY", secrets.token_urlsafe(32))
    os.environ["CUSTGUARD_DEBUG"] = "false"  # DEBUG keeps every query in memory
    os.environ["CUSTGUARD_TESTING"] = "false"
    os.environ["CUSTGUARD_HTTPS"] = "false"  # plain HTTP on the loopback
    os.environ["CUSTGUARD_ALLOWED_HOSTS"] = f"{HOST},localhost"
    os.environ["CUSTGUARD_LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_SETTINGS_MODULE"] = "custguard.settings"
    scratch: tuple[str, str, str] | None = None
    if args.database_url:
        scratch = scratch_postgres(args.database_url)
        os.environ["CUSTGUARD_DATABASE_URL"] = scratch[2]
    else:
        os.environ["CUSTGUARD_DATABASE_URL"] = "sqlite:///bench.sqlite3"
    try:
        return run(args, workdir)
    finally:
        from django.db import connections

        connections.close_all()
        if scratch is not None:
            drop_postgres(scratch[0], scratch[1])


# --- set-up -----------------------------------------------------------------------------------


@dataclass
class World:
    token: str
    pool: list[str]  # customer codes
    small: str
    big: str
    big_facts: int


def api_user() -> str:
    """Migrate, publish the default policy, make a credit manager (it may read regions and ask
    the gate) with an API token; return the token's secret."""
    import django

    django.setup()
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from custguard.core.actors import Actor
    from custguard.core.models import User
    from custguard.core.services import policies, tokens
    from custguard.policy import default_policy_text

    call_command("migrate", verbosity=0)
    system = Actor.system("bench")
    policies.publish_source(system, default_policy_text(), note="bench")
    user = User.objects.create_user(username="bench", password=secrets.token_urlsafe(16))
    user.groups.add(Group.objects.get(name="credit_manager"))
    _token, secret = tokens.create_token(system, user=user, name="bench", expires_days=1)
    return secret


def setup(args: argparse.Namespace) -> World:
    secret = api_user()
    from custguard.core.actors import Actor
    from custguard.customers import services
    from custguard.customers.models import Region, Standing

    system = Actor.system("bench")
    beijing = Region.objects.get(pk="110000")
    codes = []
    for n in range(POOL + 2):
        customer = services.create_customer(system, region=beijing, name=f"压测客户{n:03d}",
                                            kind="enterprise")
        codes.append(customer.code)
    Standing.objects.update(grade="A", credit_limit=Decimal("900000000000.00"))
    small, big = codes[POOL], codes[POOL + 1]
    bulk_history(small, 10)
    bulk_history(big, args.facts)
    return World(token=secret, pool=codes[:POOL], small=small, big=big, big_facts=args.facts)


def bulk_history(code: str, facts: int) -> None:
    """`facts` facts, half invoices and half payments settling them, inserted directly; the
    standing counters are set to what the facts add up to (the reconciliation agrees)."""
    from django.db import transaction

    from custguard.customers.models import Customer, Standing
    from custguard.ledger.models import Invoice, Payment

    customer = Customer.objects.get(code=code)
    now = dt.datetime.now(dt.UTC)
    today = dt.date.today()
    invoices = facts // 2
    payments = facts - invoices
    amount = Decimal("100.00")
    with transaction.atomic():
        for start in range(0, invoices, 5000):
            Invoice.objects.bulk_create([Invoice(
                customer=customer, source="bench", external_id=f"{code}-I{n}", amount=amount,
                open_amount=Decimal("0.00"), recorded_at=now, recorded_by="bench",
                issued_on=today - dt.timedelta(days=n % 1500 + 30),
                due_on=today - dt.timedelta(days=n % 1500),
                settled_on=today - dt.timedelta(days=n % 1500))
                for n in range(start, min(start + 5000, invoices))])
        for start in range(0, payments, 5000):
            Payment.objects.bulk_create([Payment(
                customer=customer, source="bench", external_id=f"{code}-P{n}", amount=amount,
                recorded_at=now, recorded_by="bench",
                received_on=today - dt.timedelta(days=n % 1500))
                for n in range(start, min(start + 5000, payments))])
        posted = amount * invoices - amount * payments
        Standing.objects.filter(pk=customer.pk).update(posted=posted)


# --- the server -------------------------------------------------------------------------------


def start_server(port: int, workers: int, workdir: str) -> subprocess.Popen[bytes]:
    log = open(Path(workdir, "server.log"), "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "custguard", "serve", "--host", HOST, "--port", str(port),
         "--workers", str(workers)],
        env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return process


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop the server we started: its process group (granian and its workers)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_ready(port: int, token: str, process: subprocess.Popen[bytes], workdir: str) -> None:
    wait_answering(port, process, Path(workdir, "server.log"),
                   {"Authorization": f"Bearer {token}"})


def wait_answering(port: int, process: subprocess.Popen[bytes], log: Path,
                   headers: dict[str, str]) -> None:
    """Until GET /api/v1/regions/110000 answers 200 (the server's log if it exits first)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{log.stem} exited: " +
                               log.read_text(errors="replace")[-2000:])
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("GET", "/api/v1/regions/110000", headers=headers)
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{log.stem} did not answer within 90 s")


# --- the load ---------------------------------------------------------------------------------

Request = tuple[str, str, bytes | None]  # method, path, body


@dataclass
class Figures:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


@dataclass
class Run:
    latencies: list[tuple[int, float]]  # (request index, seconds)
    seconds: float
    errors: int

    def figures(self, name: str, part: Callable[[int], bool] | None = None) -> Figures:
        """The figures of the run, or of the requests whose index `part` accepts (the others
        ran interleaved with them, under the same load)."""
        kept = [latency for index, latency in self.latencies if part is None or part(index)]
        quantiles = statistics.quantiles(kept, n=100, method="inclusive")
        seconds = self.seconds * len(kept) / len(self.latencies)
        return Figures(name, len(kept), seconds, quantiles[49] * 1000, quantiles[98] * 1000,
                       self.errors)


def drive(port: int, token: str, clients: int, count: int,
          make: Callable[[int], Request], check: Callable[[int, bytes], bool]) -> Run:
    """`count` requests made by `make(i)` from `clients` threads on keep-alive connections."""
    latencies: list[tuple[int, float]] = []
    errors = 0
    lock = threading.Lock()
    next_index = 0
    barrier = threading.Barrier(clients + 1)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
               "Accept-Language": "en"}

    def client() -> None:
        nonlocal next_index, errors
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        mine: list[tuple[int, float]] = []
        bad = 0
        barrier.wait()
        while True:
            with lock:
                index = next_index
                next_index += 1
            if index >= count:
                break
            method, path, body = make(index)
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                ok = response.status == 200 and check(index, payload)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
                ok = False
            mine.append((index, time.perf_counter() - started))
            bad += not ok
        conn.close()
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return Run(latencies, time.perf_counter() - started, errors)


def gate_body(customer: str, **extra: Any) -> bytes:
    return json.dumps({"customer": customer, "amount": "100.00", **extra}).encode()


def allowed(_index: int, payload: bytes) -> bool:
    return bool(json.loads(payload).get("outcome") == "allow")


def reserved(_index: int, payload: bytes) -> bool:
    body = json.loads(payload)
    return bool(body.get("outcome") == "allow" and body.get("reservation")
                and not body.get("replayed"))


def run_tests(port: int, args: argparse.Namespace, world: World) -> list[Figures]:
    """The throughput tests one after the other; then the two histories interleaved (even
    requests for the customer with 10 facts, odd for the one with many), so that both are
    measured under exactly the same load."""
    pool, token, clients, count = world.pool, world.token, args.clients, args.requests

    def check(i: int) -> Request:
        return "POST", "/api/v1/gate/check", gate_body(pool[i % len(pool)])

    def reserve(prefix: str) -> Callable[[int], Request]:
        return lambda i: ("POST", "/api/v1/gate/check", gate_body(
            pool[i % len(pool)], reserve=True, source="bench", external_id=f"{prefix}-{i}"))

    def trivial(_i: int) -> Request:
        return "GET", "/api/v1/regions/110000", None

    def history(i: int) -> Request:
        return "POST", "/api/v1/gate/check", gate_body(world.small if i % 2 == 0 else world.big)

    def any_ok(_index: int, _payload: bytes) -> bool:
        return True

    drive(port, token, clients, WARMUP, reserve("W"), reserved)  # warm-up, not reported
    drive(port, token, clients, WARMUP, trivial, any_ok)
    results = [
        drive(port, token, clients, count, trivial, any_ok).figures(
            "trivial: GET /api/v1/regions/110000"),
        drive(port, token, clients, count, check, allowed).figures("gate check (check only)"),
        drive(port, token, clients, count, reserve("R"), reserved).figures(
            "gate check + reserve"),
    ]
    both = drive(port, token, clients, 2 * count, history, allowed)
    results.append(both.figures("gate check, 10 facts (interleaved)", lambda i: i % 2 == 0))
    results.append(both.figures(f"gate check, {world.big_facts:,} facts (interleaved)",
                                lambda i: i % 2 == 1))
    return results


def run(args: argparse.Namespace, workdir: str) -> int:
    started = time.perf_counter()
    world = setup(args)
    from django.db import connection

    vendor = connection.vendor
    drifts = reconcile_seconds()
    connection.close()
    print(f"database: {vendor}; set-up {time.perf_counter() - started:.1f} s "
          f"(reconciliation over {world.big_facts + 10:,} facts: {drifts})")
    port = free_port()
    load_before = os.getloadavg()[0]
    server = start_server(port, args.workers, workdir)
    try:
        wait_ready(port, world.token, server, workdir)
        results = run_tests(port, args, world)
    finally:
        stop_server(server)
    print(f"machine: {os.cpu_count()} CPUs; load average {load_before:.2f} before the run, "
          f"{os.getloadavg()[0]:.2f} after")
    report(args, vendor, results)
    return 1 if any(f.errors for f in results) else 0


def reconcile_seconds() -> str:
    from custguard.core.actors import Actor
    from custguard.credit.services import reconciliation

    started = time.perf_counter()
    drifts = reconciliation.reconcile(Actor.job("bench"))
    return f"{len(drifts)} drift(s), {time.perf_counter() - started:.2f} s"


def report(args: argparse.Namespace, vendor: str, results: list[Figures]) -> None:
    print(f"database: {vendor}; server: custguard serve (granian WSGI), {args.workers} workers; "
          f"{args.clients} concurrent keep-alive clients; {args.requests} requests per test")
    header = f"{'test':<44} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    print(header)
    print("-" * len(header))
    for f in results:
        print(f"{f.name:<44} {f.rate:>9.0f} {f.p50_ms:>8.2f} {f.p99_ms:>8.2f} {f.errors:>7}")
    trivial = results[0]
    check, reserve = results[1], results[2]
    small, big = results[3], results[4]
    print()
    print(f"ratio gate check / trivial:    throughput {check.rate / trivial.rate:.2f}, "
          f"p50 latency {check.p50_ms / trivial.p50_ms:.2f}x")
    print(f"ratio gate reserve / trivial:  throughput {reserve.rate / trivial.rate:.2f}, "
          f"p50 latency {reserve.p50_ms / trivial.p50_ms:.2f}x")
    print(f"history {args.facts:,} facts vs 10 facts: p50 {big.p50_ms:.2f} vs "
          f"{small.p50_ms:.2f} ms ({big.p50_ms / small.p50_ms:.2f}x), p99 {big.p99_ms:.2f} vs "
          f"{small.p99_ms:.2f} ms ({big.p99_ms / small.p99_ms:.2f}x)")


if __name__ == "__main__":
    sys.exit(main())
