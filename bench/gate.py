"""Benchmark the order gate over HTTP against a trivial endpoint of the same server.

    .venv/bin/python bench/gate.py [--seconds 8] [--clients 16] [--workers 2]
                                   [--facts 100000] [--database-url URL] [--instances 2]

Sets up a fresh database (SQLite in a temporary directory by default; with a PostgreSQL URL, a
scratch database created next to the one named and dropped afterwards), migrates it, publishes
the default policy, creates an API user (credit manager: it may read regions and ask the gate)
with a token, 20 customers rated "A" in 5 groups of 4 with a unified group limit (so every
reservation moves a group row and a customer row, and 4 customers contend for each group row),
limits high enough that every order is allowed, and two more customers for the history test:
one with 10 facts and one with `--facts` facts (invoices and payments bulk-inserted, the
standing counters set to match). Then it starts the real server (`custguard serve`: granian,
WSGI, `--workers` processes) on a free port and loads it with wrk (Debian's `wrk`, C, one
keep-alive connection per client, a Lua script that builds each request body and checks each
answer), measuring requests per second and p50/p95/p99/max latency for:

  trivial           GET /api/v1/regions/110000 (a one-row read behind the same authentication,
                    permission check and middleware as the gate: the floor of this server)
  gate check        POST /api/v1/gate/check, check only (reads standing, stores the answer)
  gate reserve      POST /api/v1/gate/check with reserve (unique order ids: every call reserves)
  50 clients        check and reserve again with 50 connections (max latency, "database is
                    locked" in the server log)
  history 10 / N    gate check for the customer with 10 facts and for the one with N facts, two
                    wrk processes at the same time (half the clients each), so both are
                    measured under the same load

and prints the ratios gate / trivial and N facts / 10 facts. An answer that is not HTTP 200, or
a gate answer that is not "allow" (and, for reserve, a new reservation), counts as an error.

After the load, the invariants are checked on the database: every customer's and group's
`posted` and `reserved` equal what the ledger and the pending reservations add up to
(credit.services.reconciliation), no customer or group is past its limit, every reservation
has its gate answer, and the audit chain verifies.

With `--instances 2` (meant for PostgreSQL) it then starts a second `custguard serve` on
another port against the same database and runs check + reserve through both at once (two wrk
processes, half the clients each), and prints the throughput ratio to one instance. Both runs
use `--instance-workers` workers per instance (default 1), so that one instance does not
already occupy every CPU of a small machine.

wrk runs on the same machine as the server, so absolute figures depend on the CPUs it has
(and on anything else running there: the load average is printed); the ratios are the
figures that count. bench/request_path.py points the same wrk at a bare Django Ninja app:
its rate there is the generator's headroom over every figure here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

GROUPS = 5
PER_GROUP = 4
HOST = "127.0.0.1"
LIMIT = Decimal("900000000000.00")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="length of each load test")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--many-clients", type=int, default=50,
                        help="clients of the high-concurrency run")
    parser.add_argument("--workers", type=int, default=2, help="granian worker processes")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per worker (custguard serve's default: 1)")
    parser.add_argument("--instances", type=int, default=1, choices=(1, 2),
                        help="2: also run check + reserve through two server instances")
    parser.add_argument("--instance-workers", type=int, default=1,
                        help="workers per instance in the one-vs-two-instances comparison")
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
    from custguard.customers.models import GroupStanding, Region, Standing

    system = Actor.system("bench")
    beijing = Region.objects.get(pk="110000")
    codes = []
    for g in range(GROUPS):
        members = [services.create_customer(system, region=beijing, kind="enterprise",
                                            name=f"压测集团{g}成员{n}") for n in range(PER_GROUP)]
        services.create_group(system, name=f"压测集团{g}", parent=members[0], members=members)
        codes.extend(member.code for member in members)
    small, big = (services.create_customer(system, region=beijing, name=f"压测历史客户{n}",
                                           kind="enterprise").code for n in range(2))
    Standing.objects.update(grade="A", credit_limit=LIMIT)
    GroupStanding.objects.update(has_limit=True, credit_limit=LIMIT * PER_GROUP)
    bulk_history(small, 10)
    bulk_history(big, args.facts)
    return World(token=secret, pool=codes, small=small, big=big, big_facts=args.facts)


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


def start_server(port: int, workers: int, workdir: str, name: str = "server",
                 threads: int = 1) -> subprocess.Popen[bytes]:
    log = open(Path(workdir, f"{name}.log"), "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "custguard", "serve", "--host", HOST, "--port", str(port),
         "--workers", str(workers), "--threads", str(threads)],
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


# --- the load: wrk with a Lua script -----------------------------------------------------------

LUA = r"""
local mode, token, prefix = "%(mode)s", "%(token)s", "%(prefix)s"
local customers = {%(customers)s}
counter, bad, id = 0, 0, 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept-Language"] = "en"

function request()
  counter = counter + 1
  if mode == "trivial" then
    return wrk.format("GET", "/api/v1/regions/110000")
  end
  local customer = customers[(counter + id) %% #customers + 1]
  local body
  if mode == "reserve" then
    body = string.format('{"customer":"%%s","amount":"100.00","reserve":true,' ..
                         '"source":"bench","external_id":"%%s-%%d-%%d"}',
                         customer, prefix, id, counter)
  else
    body = string.format('{"customer":"%%s","amount":"100.00"}', customer)
  end
  return wrk.format("POST", "/api/v1/gate/check", nil, body)
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
  elseif mode ~= "trivial" then
    if not string.find(body, '"outcome": *"allow"') then
      bad = bad + 1
    elseif mode == "reserve" and not string.find(body, '"replayed": *false') then
      bad = bad + 1
    end
  end
end

function done(summary, latency, requests)
  local wrong = 0
  for _, thread in ipairs(threads) do wrong = wrong + thread:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'CGJSON {"requests":%%d,"duration_us":%%d,"socket_errors":%%d,"wrong":%%d,' ..
    '"p50":%%.0f,"p95":%%.0f,"p99":%%.0f,"max":%%.0f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, wrong,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


@dataclass
class Figures:
    name: str
    clients: int
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @classmethod
    def combined(cls, name: str, parts: list[Figures]) -> Figures:
        """Two wrk processes run side by side: their requests add up; of the percentiles the
        worse one is kept (wrk gives percentiles, not the samples to merge)."""
        return cls(name, sum(p.clients for p in parts), sum(p.requests for p in parts),
                   max(p.seconds for p in parts), max(p.p50_ms for p in parts),
                   max(p.p95_ms for p in parts), max(p.p99_ms for p in parts),
                   max(p.max_ms for p in parts), sum(p.errors for p in parts))


@dataclass(frozen=True)
class Load:
    mode: str  # trivial | check | reserve
    customers: tuple[str, ...] = ()
    prefix: str = ""


def wrk_process(port: int, token: str, load: Load, clients: int, seconds: int,
                workdir: str) -> subprocess.Popen[str]:
    script = Path(workdir, f"{load.mode}-{load.prefix or 'x'}-{port}-{secrets.token_hex(3)}.lua")
    script.write_text(LUA % {"mode": load.mode, "token": token, "prefix": load.prefix,
                             "customers": ",".join(f'"{c}"' for c in load.customers)})
    threads = max(1, min(2, clients))
    return subprocess.Popen(
        ["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds}s", "--timeout", "10s",
         "-s", str(script), f"http://{HOST}:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def collect(name: str, clients: int, process: subprocess.Popen[str]) -> Figures:
    output, _ = process.communicate()
    found = re.search(r"^CGJSON (\{.*\})$", output, re.MULTILINE)
    if process.returncode != 0 or found is None:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{output}")
    data = json.loads(found.group(1))
    return Figures(name, clients, data["requests"], data["duration_us"] / 1e6,
                   data["p50"] / 1000, data["p95"] / 1000, data["p99"] / 1000,
                   data["max"] / 1000, data["socket_errors"] + data["wrong"])


def drive(name: str, ports: list[int], token: str, load: Load, clients: int, seconds: int,
          workdir: str) -> Figures:
    """`clients` connections for `seconds`, spread evenly over the servers on `ports`."""
    shares = [clients // len(ports) + (i < clients % len(ports)) for i in range(len(ports))]
    # Each wrk process numbers its orders from 1: a prefix of its own keeps them unique.
    processes = [wrk_process(port, token, Load(load.mode, load.customers, f"{load.prefix}p{n}"),
                             share, seconds, workdir)
                 for n, (port, share) in enumerate(zip(ports, shares, strict=True))]
    parts = [collect(name, share, process)
             for share, process in zip(shares, processes, strict=True)]
    return parts[0] if len(parts) == 1 else Figures.combined(name, parts)


def run_tests(port: int, args: argparse.Namespace, world: World, workdir: str
              ) -> list[Figures]:
    pool, token, seconds = tuple(world.pool), world.token, args.seconds

    def load(name: str, what: Load, clients: int = args.clients) -> Figures:
        return drive(name, [port], token, what, clients, seconds, workdir)

    drive("warm-up", [port], token, Load("reserve", pool, "W"), args.clients, 2, workdir)
    results = [
        load("trivial: GET /api/v1/regions/110000", Load("trivial")),
        load("gate check (check only)", Load("check", pool)),
        load("gate check + reserve", Load("reserve", pool, "R")),
        load("gate check, many clients", Load("check", pool), args.many_clients),
        load("gate check + reserve, many clients", Load("reserve", pool, "M"),
             args.many_clients),
    ]
    half = max(1, args.clients // 2)
    small = wrk_process(port, token, Load("check", (world.small,)), half, seconds, workdir)
    big = wrk_process(port, token, Load("check", (world.big,)), half, seconds, workdir)
    results.append(collect("gate check, 10 facts (side by side)", half, small))
    results.append(collect(f"gate check, {world.big_facts:,} facts (side by side)", half, big))
    return results


def run_instances(args: argparse.Namespace, world: World, workdir: str) -> list[Figures]:
    """Check + reserve through one instance, then through two at once, same clients."""
    servers = []
    ports = [free_port(), free_port()]
    try:
        for n, port in enumerate(ports):
            servers.append(start_server(port, args.instance_workers, workdir, f"server-{n}"))
        for n, (port, server) in enumerate(zip(ports, servers, strict=True)):
            wait_answering(port, server, Path(workdir, f"server-{n}.log"),
                           {"Authorization": f"Bearer {world.token}"})
            drive("warm-up", [port], world.token, Load("reserve", tuple(world.pool), f"IW{n}"),
                  4, 2, workdir)
        pool, token, clients = tuple(world.pool), world.token, args.clients
        one = drive("reserve, 1 instance", ports[:1], token, Load("reserve", pool, "I1"),
                    clients, args.seconds, workdir)
        two = drive("reserve, 2 instances", ports, token, Load("reserve", pool, "I2"),
                    clients, args.seconds, workdir)
        one_check = drive("check, 1 instance", ports[:1], token, Load("check", pool), clients,
                          args.seconds, workdir)
        two_check = drive("check, 2 instances", ports, token, Load("check", pool), clients,
                          args.seconds, workdir)
    finally:
        for server in servers:
            stop_server(server)
    return [one_check, two_check, one, two]


# --- the invariants after the load -------------------------------------------------------------


def invariants() -> list[str]:
    """What must hold after any amount of concurrent gate traffic; the problems found."""
    from django.db.models import Count, F, Q

    from custguard.core.services import audit
    from custguard.credit.models import Reservation
    from custguard.credit.services import reconciliation
    from custguard.customers.models import GroupStanding, Standing

    problems = [f"drift: {drift}" for drift in reconciliation.find_drift()]
    over = Q(posted__gt=F("credit_limit") - F("reserved"))
    problems += [f"customer {s.pk} past its limit" for s in Standing.objects.filter(over)]
    problems += [f"group {g.pk} past its limit"
                 for g in GroupStanding.objects.filter(over & Q(has_limit=True))]
    unanswered = Reservation.objects.annotate(n=Count("checks")).filter(n=0).count()
    if unanswered:
        problems.append(f"{unanswered} reservation(s) without their gate answer")
    broken = audit.verify_chain()
    if broken is not None:
        problems.append(f"audit chain: {broken}")
    return problems


def counts() -> str:
    from custguard.core.models import AuditEntry
    from custguard.credit.models import GateCheck, Reservation

    return (f"{Reservation.objects.count():,} reservations, {GateCheck.objects.count():,} gate "
            f"answers, {AuditEntry.objects.count():,} audit entries")


# --- the run ----------------------------------------------------------------------------------


def run(args: argparse.Namespace, workdir: str) -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk (make bench does)", file=sys.stderr)
        return 2
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
    server = start_server(port, args.workers, workdir, "server", args.threads)
    try:
        wait_answering(port, server, Path(workdir, "server.log"),
                       {"Authorization": f"Bearer {world.token}"})
        results = run_tests(port, args, world, workdir)
    finally:
        stop_server(server)
    scaling = run_instances(args, world, workdir) if args.instances == 2 else []
    print(f"machine: {os.cpu_count()} CPUs; load average {load_before:.2f} before the run, "
          f"{os.getloadavg()[0]:.2f} after; load generator: wrk {wrk_version()}")
    locked = sum(log.read_text(errors="replace").count("database is locked")
                 for log in Path(workdir).glob("server*.log"))
    report(args, vendor, results, scaling, locked)
    problems = invariants()
    print(f"invariants after the load ({counts()}): "
          + ("all hold" if not problems else f"{len(problems)} broken"))
    for problem in problems[:20]:
        print(f"  {problem}")
    failed = problems or locked or any(f.errors for f in results + scaling)
    return 1 if failed else 0


def wrk_version() -> str:
    output = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    found = re.search(r"wrk (\S+)", output)
    return found.group(1) if found else "?"


def reconcile_seconds() -> str:
    from custguard.core.actors import Actor
    from custguard.credit.services import reconciliation

    started = time.perf_counter()
    drifts = reconciliation.reconcile(Actor.job("bench"))
    return f"{len(drifts)} drift(s), {time.perf_counter() - started:.2f} s"


def row(f: Figures) -> str:
    return (f"{f.name:<44} {f.clients:>7} {f.rate:>8.0f} {f.p50_ms:>7.2f} {f.p95_ms:>7.2f} "
            f"{f.p99_ms:>7.2f} {f.max_ms:>8.2f} {f.errors:>6}")


def report(args: argparse.Namespace, vendor: str, results: list[Figures],
           scaling: list[Figures], locked: int) -> None:
    print(f"database: {vendor}; server: custguard serve (granian WSGI), {args.workers} workers "
          f"× {args.threads} thread(s); wrk keep-alive connections; {args.seconds} s per test")
    header = (f"{'test':<44} {'clients':>7} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} "
              f"{'p99 ms':>7} {'max ms':>8} {'errors':>6}")
    print(header)
    print("-" * len(header))
    for f in results:
        print(row(f))
    trivial, check, reserve, many_check, many_reserve, small, big = results
    print()
    print(f"ratio gate check / trivial:    {check.rate / trivial.rate:.2f} (target >= 0.6)")
    print(f"ratio gate reserve / trivial:  {reserve.rate / trivial.rate:.2f} (target >= 0.35); "
          f"reserve p99 {reserve.p99_ms:.1f} ms (target <= 25)")
    print(f"{args.many_clients} clients: max latency check {many_check.max_ms:.0f} ms, reserve "
          f"{many_reserve.max_ms:.0f} ms (target <= 250); \"database is locked\" in the server "
          f"log: {locked}")
    print(f"history {args.facts:,} facts vs 10 facts: p50 {big.p50_ms:.2f} vs "
          f"{small.p50_ms:.2f} ms ({big.p50_ms / small.p50_ms:.2f}x, target <= 1.1), p99 "
          f"{big.p99_ms:.2f} vs {small.p99_ms:.2f} ms ({big.p99_ms / small.p99_ms:.2f}x)")
    if scaling:
        print()
        print(f"one instance vs two (custguard serve --workers {args.instance_workers} each, "
              f"one {vendor} database, {args.clients} clients spread over the instances):")
        for f in scaling:
            print(row(f))
        one_check, two_check, one, two = scaling
        print(f"ratio 2 instances / 1: check {two_check.rate / one_check.rate:.2f}, "
              f"reserve {two.rate / one.rate:.2f}")


if __name__ == "__main__":
    sys.exit(main())
