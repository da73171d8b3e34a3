"""Benchmark the customer import against a plain INSERT of the same rows.

    .venv/bin/python bench/import_customers.py [--rows 100000] [--database-url URL]
                                               [--format csv|xlsx|both]

BENCH_PROFILE=1 prints a cProfile of each import (slower; for finding the cost, not timing).

For each format the import runs in a child process (so its peak RSS is the import's own,
not the generator's), from a file on disk; the line it prints per format is
`engine rows format import-rows/s executemany-rows/s ratio peak-RSS`, where ratio is
import rows/s divided by executemany rows/s (the issue's target: >= 0.3).

Sets up a fresh database (SQLite in a temporary directory by default; with a PostgreSQL URL, a
scratch database created next to the one named and dropped afterwards), migrates it, writes N
deterministic rows spread over the shipped region table into a CSV file, and times
`import_customers` end to end (parse, check, serials, customers, standing, contacts, audit chain).
Then it times one `cursor.executemany` INSERT of the same rows into a bare table with the
customer table's columns, in the same database, and prints both rates and their ratio.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

HEADER = ["name", "kind", "region", "industry", "scale_band", "account_manager", "department",
          "value_tier", "status", "phone", "id_number", "address", "notes", "contact_name",
          "contact_role", "contact_phone", "contact_email"]
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
            "彭曾肖田董袁潘于蒋蔡余杜叶程")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰文斌"
WORDS = ["鑫达", "恒信", "华远", "宏图", "联创", "金桥", "永盛", "瑞丰", "中科", "新源", "天润",
         "博远", "汇通", "东方", "正泰", "安达", "富华", "嘉和", "明德", "海川"]
TRADES = ["贸易", "科技", "机械", "建材", "食品", "物流", "电子", "化工", "医药", "纺织"]
ROLES = ["采购经理", "财务", "总经理", "仓库主管", "业务员"]
DEPARTMENTS = ["华北销售部", "华东销售部", "华南销售部", "西部销售部", "大客户部"]
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default=None,
                        help="postgresql://... to benchmark PostgreSQL (a scratch database is "
                             "created and dropped); default: SQLite in a temporary directory")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--format", choices=["csv", "xlsx", "both"], default="both")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
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


def generate_rows(count: int, regions: list[str], managers: list[str],
                  seed: int) -> Iterator[list[str]]:
    rng = random.Random(seed)
    kinds = ["enterprise"] * 6 + ["dealer"] * 3 + ["individual"]
    industries = [chr(c) for c in range(ord("A"), ord("S") + 1)] + [""] * 3
    scales = ["micro", "small", "small", "medium", "large"]
    tiers = ["strategic", "important", "general", "general", "potential"]
    statuses = ["active"] * 8 + ["prospect", "dormant"]
    for i in range(count):
        region = regions[i % len(regions)]
        kind = rng.choice(kinds)
        if kind == "individual":
            name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
            id_number = f"{region}19{rng.randint(50, 99)}{rng.randint(101, 1228):04d}" \
                        f"{rng.randint(0, 999):03d}{rng.choice('0123456789X')}"
        else:
            name = f"{rng.choice(WORDS)}{rng.choice(WORDS)}{rng.choice(TRADES)}有限公司"
            id_number = "91" + region + "".join(rng.choices(CREDIT_CHARS, k=10))
        phone = f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}"
        with_contact = rng.random() < 0.7
        contact = rng.choice(SURNAMES) + rng.choice(GIVEN) if with_contact else ""
        yield [
            name, kind, region, rng.choice(industries), rng.choice(scales),
            rng.choice(managers), rng.choice(DEPARTMENTS), rng.choice(tiers),
            rng.choice(statuses), phone, id_number,
            f"{rng.choice(WORDS)}路{rng.randint(1, 999)}号{rng.randint(1, 30)}楼",
            "老客户，按月结算" if rng.random() < 0.1 else "",
            contact, rng.choice(ROLES) if with_contact else "",
            f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}" if with_contact else "",
            f"c{i}@example.com" if with_contact and rng.random() < 0.5 else "",
        ]


def to_csv(rows: Iterable[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def write_csv(path: Path, rows: Iterable[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(rows)


XLSX_PARTS = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types '
    'xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default '
    'Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/><Override '
    'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships '
    'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship '
    'Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook '
    'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>',
}


def write_xlsx(path: Path, rows: Iterable[list[str]], header: list[str] = HEADER) -> None:
    """A minimal .xlsx as Excel saves one (one sheet, text in the shared-strings table),
    written as a stream: openpyxl's writer takes minutes for a million rows."""
    from xml.sax.saxutils import escape

    shared: dict[str, int] = {}

    def line(cells: list[str]) -> bytes:
        return ("<row>" + "".join(f'<c t="s"><v>{shared.setdefault(cell, len(shared))}</v></c>'
                                  if cell else "<c/>" for cell in cells)
                + "</row>").encode("utf-8")

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for name, text in XLSX_PARTS.items():
            book.writestr(name, text)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet '
                        b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                        b"<sheetData>")
            sheet.write(line(header))
            for row in rows:
                sheet.write(line(row))
            sheet.write(b"</sheetData></worksheet>")
        with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as strings:
            strings.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst '
                          f'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                          f'uniqueCount="{len(shared)}">'.encode())
            for text in shared:
                strings.write(f"<si><t>{escape(text)}</t></si>".encode())
            strings.write(b"</sst>")


def main() -> int:
    args = parse_args()
    if args.child:
        return child(args)
    return in_scratch_database(args.database_url, lambda workdir: run(args, workdir))


def in_scratch_database(database_url: str | None, body: Callable[[str], int]) -> int:
    """`body(workdir)` with production settings on a fresh database: SQLite in a temporary
    directory, or a scratch PostgreSQL database next to `database_url`, dropped afterwards."""
    workdir = tempfile.mkdtemp(prefix="cg-bench-")
    os.environ["CUSTGUARD_DATA_DIR"] = workdir
    os.environ.setdefault("CUSTGUARD_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("CUSTGUARD_AUDIT_KEY", secrets.token_urlsafe(32))
    os.environ["CUSTGUARD_DEBUG"] = "false"  # DEBUG keeps every query in memory
    os.environ["DJANGO_SETTINGS_MODULE"] = "custguard.settings"
    scratch: tuple[str, str, str] | None = None
    if database_url:
        scratch = scratch_postgres(database_url)
        os.environ["CUSTGUARD_DATABASE_URL"] = scratch[2]
    else:
        os.environ["CUSTGUARD_DATABASE_URL"] = "sqlite:///bench.sqlite3"
    try:
        return body(workdir)
    finally:
        from django.db import connections

        connections.close_all()
        if scratch is not None:
            drop_postgres(scratch[0], scratch[1])


def child(args: argparse.Namespace) -> int:
    """Import one file (in a process of its own) and print seconds, rows and peak RSS."""
    import django

    django.setup()
    from custguard.core.actors import Actor
    from custguard.customers.importing import import_customers

    path = Path(args.child)

    def one_import() -> Any:
        with path.open("rb") as stream:
            return import_customers(Actor.job("bench"), stream, path.name)

    return measure_import(one_import)


def import_in_child(argv: list[str], rows: int) -> dict[str, Any] | None:
    """What `measure_import` printed in a child process running `argv`, or None (with the
    reason printed) when the child failed or did not import every row."""
    done = subprocess.run([sys.executable, *argv], capture_output=True, text=True, check=False)
    if any(os.environ.get(name) for name in ("BENCH_PROFILE", "BENCH_TRACEMALLOC",
                                             "BENCH_RSS")):
        print(done.stderr)
    if done.returncode:
        print(done.stdout, done.stderr)
        return None
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if outcome["problems"] or outcome["created"] != rows:
        print(f"import FAILED: {outcome}")
        return None
    return outcome


def measure_import(one_import: Callable[[], Any]) -> int:
    """Run an import (in its child process) and print, as one JSON line, its seconds, how many
    it created, its first problems and the process's peak RSS. BENCH_PROFILE=1 adds a cProfile
    and BENCH_TRACEMALLOC=1 the top allocations, on stderr."""
    if os.environ.get("BENCH_TRACEMALLOC"):
        import tracemalloc

        tracemalloc.start()
    profile = None
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    started = time.perf_counter()
    result = one_import()
    seconds = time.perf_counter() - started
    if os.environ.get("BENCH_TRACEMALLOC"):
        import tracemalloc

        current, peak = tracemalloc.get_traced_memory()
        print(f"traced now {current / 1e6:.0f} MB, peak {peak / 1e6:.0f} MB", file=sys.stderr)
        for stat in tracemalloc.take_snapshot().statistics("lineno")[:8]:
            print(stat, file=sys.stderr)
    if profile is not None:
        import pstats

        profile.disable()
        order = os.environ.get("BENCH_PROFILE_SORT", "tottime")  # or cumulative
        pstats.Stats(profile, stream=sys.stderr).sort_stats(order).print_stats(25)
    print(json.dumps({"seconds": seconds, "created": len(result.created),
                      "problems": [str(p) for p in result.problems[:3]],
                      "rss_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started its program: VmHWM belongs to
    the process's own address space. (getrusage's ru_maxrss is kept across exec, so a child
    started by a large parent reports the parent's size.)"""
    status = Path("/proc/self/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
    return 0


def run(args: argparse.Namespace, workdir: str) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from custguard.core.models import AuditEntry, User
    from custguard.core.services.audit import verify_chain
    from custguard.customers.models import Contact, Customer, Region, Standing

    call_command("migrate", verbosity=0)
    managers = [f"am{i:02d}" for i in range(1, 21)]
    User.objects.bulk_create([User(username=name, display_name=name) for name in managers])
    leaf_regions = list(Region.objects.filter(parent__isnull=False).order_by("code")
                        .values_list("code", flat=True))
    formats = ["csv", "xlsx"] if args.format == "both" else [args.format]
    needed = len(formats) * max(25, math.ceil(args.rows / 990))
    if needed > len(leaf_regions):
        print(f"{args.rows} rows need {needed} regions; the table has {len(leaf_regions)}")
        return 2
    columns = [f.column for f in Customer._meta.concrete_fields if not f.primary_key]
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_plain (id INTEGER PRIMARY KEY, "
                       + ", ".join(f"{c} TEXT" for c in columns) + ")"
                       if connection.vendor == "sqlite" else
                       "CREATE TABLE bench_plain (id BIGSERIAL PRIMARY KEY, "
                       + ", ".join(f"{c} TEXT" for c in columns) + ")")
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    lines = []
    for index, fmt in enumerate(formats):
        share = len(leaf_regions[:needed]) // len(formats)
        regions = leaf_regions[index * share:(index + 1) * share]
        path = Path(workdir, f"bench.{fmt}")
        started = time.perf_counter()
        (write_csv if fmt == "csv" else write_xlsx)(
            path, generate_rows(args.rows, regions, managers, args.seed))
        print(f"{fmt}: {args.rows} rows over {len(regions)} regions, "
              f"{path.stat().st_size / 1e6:.1f} MB, written in "
              f"{time.perf_counter() - started:.1f} s")
        plain = list(plain_rows(generate_rows(args.rows, regions, managers, args.seed),
                                columns))
        customer_rate = time_customer_table(args.rows, regions, managers, args.seed)
        connection.close()  # the child imports; it must see the committed users
        outcome = import_in_child([__file__, "--child", str(path)], args.rows)
        if outcome is None:
            return 1
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO bench_plain ({', '.join(columns)}) VALUES ({placeholders})"
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, plain)
        bare_rate = args.rows / (time.perf_counter() - started)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM bench_plain")
        import_rate = args.rows / outcome["seconds"]
        lines.append(f"{connection.vendor:10} {args.rows:>9} {fmt:5} {import_rate:>12,.0f} "
                     f"{customer_rate:>15,.0f} {import_rate / customer_rate:>7.2f} "
                     f"{bare_rate:>12,.0f} {outcome['rss_mb']:>9.0f}")
        path.unlink()
    counts = (Customer.objects.count(), Standing.objects.count(), Contact.objects.count(),
              AuditEntry.objects.count())
    print(f"written: {counts[0]} customers, {counts[1]} standing rows, {counts[2]} contacts, "
          f"{counts[3]} audit entries; audit chain "
          f"{'sound' if verify_chain() is None else 'BROKEN'}")
    print(f"{'engine':10} {'rows':>9} {'file':5} {'import r/s':>12} {'executemany r/s':>15} "
          f"{'ratio':>7} {'bare r/s':>12} {'peak MB':>9}")
    for line in lines:
        print(line)
    print("executemany = one executemany of the same rows into the customer table itself (its "
          "indexes included, committed); ratio = import rows/s / that (target >= 0.3); bare = "
          "the same executemany into an index-free table of TEXT columns, for reference; peak "
          "MB = the import process's peak RSS")
    return 0


def time_customer_table(count: int, regions: list[str], managers: list[str], seed: int) -> float:
    """Rows/s of one executemany of the rows, typed as the import writes them, into the customer
    table itself (the issue's baseline: the same rows into the same table), committed, then
    deleted so that the import finds the table as it was."""
    import datetime as dt

    from django.db import connection, transaction

    from custguard.core.models import User
    from custguard.customers.models import Customer

    fields = [f for f in Customer._meta.concrete_fields if not f.primary_key]
    users = dict(User.objects.filter(username__in=managers).values_list("username", "pk"))
    now = dt.datetime.now(dt.UTC)
    rows = []
    serials: dict[str, int] = {}
    for row in generate_rows(count, regions, managers, seed):
        values: dict[str, object] = dict(zip(HEADER, row, strict=True))
        region = str(values["region"])
        serials[region] = serials.get(region, 0) + 1
        values.update(code=f"{region}{serials[region]:03d}", region_id=region,
                      serial=serials[region], account_manager_id=users[row[5]],
                      group_id=None, created_at=now, updated_at=now)
        rows.append(tuple(f.get_db_prep_save(values[f.attname], connection) for f in fields))
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(Customer._meta.db_table)} "  # noqa: S608
           f"({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    seconds = time.perf_counter() - started
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {quote(Customer._meta.db_table)} "  # noqa: S608
                       f"WHERE {quote('region_id')} IN ({', '.join(['%s'] * len(regions))})",
                       regions)
    with connection.cursor() as cursor:  # the import gets no free pages the baseline left
        cursor.execute(f"VACUUM {quote(Customer._meta.db_table)}"
                       if connection.vendor == "postgresql" else "VACUUM")
    return count / seconds


def plain_rows(rows: Iterable[list[str]], columns: list[str]) -> Iterator[tuple[str, ...]]:
    """The same rows as tuples in the customer table's column order (codes made up in order)."""
    import datetime as dt

    now = dt.datetime.now(dt.UTC).isoformat()
    serials: dict[str, int] = {}
    for row in rows:
        values = dict(zip(HEADER, row, strict=True))
        region = values["region"]
        serials[region] = serials.get(region, 0) + 1
        values.update(code=f"{region}{serials[region]:03d}", region_id=region,
                      serial=str(serials[region]), account_manager_id=values["account_manager"],
                      group_id="", created_at=now, updated_at=now)
        yield tuple(values.get(c, "") for c in columns)


if __name__ == "__main__":
    sys.exit(main())
