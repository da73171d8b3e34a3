"""Benchmark the customer import against a plain INSERT of the same rows.

    .venv/bin/python bench/import_customers.py [--rows 100000] [--database-url URL]

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
import math
import os
import random
import secrets
import sys
import tempfile
import time
from pathlib import Path
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
                  seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    kinds = ["enterprise"] * 6 + ["dealer"] * 3 + ["individual"]
    industries = [chr(c) for c in range(ord("A"), ord("S") + 1)] + [""] * 3
    scales = ["micro", "small", "small", "medium", "large"]
    tiers = ["strategic", "important", "general", "general", "potential"]
    statuses = ["active"] * 8 + ["prospect", "dormant"]
    rows = []
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
        rows.append([
            name, kind, region, rng.choice(industries), rng.choice(scales),
            rng.choice(managers), rng.choice(DEPARTMENTS), rng.choice(tiers),
            rng.choice(statuses), phone, id_number,
            f"{rng.choice(WORDS)}路{rng.randint(1, 999)}号{rng.randint(1, 30)}楼",
            "老客户，按月结算" if rng.random() < 0.1 else "",
            contact, rng.choice(ROLES) if with_contact else "",
            f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}" if with_contact else "",
            f"c{i}@example.com" if with_contact and rng.random() < 0.5 else "",
        ])
    return rows


def to_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def main() -> int:
    args = parse_args()
    workdir = tempfile.mkdtemp(prefix="cg-bench-")
    os.environ["CUSTGUARD_DATA_DIR"] = workdir
    os.environ.setdefault("CUSTGUARD_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("CUSTGUARD_AUDIT_KEY", secrets.token_urlsafe(32))
    os.environ["CUSTGUARD_DEBUG"] = "false"  # DEBUG keeps every query in memory
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


def run(args: argparse.Namespace, workdir: str) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from custguard.core.actors import Actor
    from custguard.core.models import AuditEntry, User
    from custguard.customers.importing import import_customers
    from custguard.customers.models import Contact, Customer, Region, Standing

    call_command("migrate", verbosity=0)
    managers = [f"am{i:02d}" for i in range(1, 21)]
    User.objects.bulk_create([User(username=name, display_name=name) for name in managers])
    leaf_regions = list(Region.objects.filter(parent__isnull=False).order_by("code")
                        .values_list("code", flat=True))
    needed = max(50, math.ceil(args.rows / 990))
    if needed > len(leaf_regions):
        print(f"{args.rows} rows need {needed} regions; the table has {len(leaf_regions)}")
        return 2
    regions = leaf_regions[:needed]
    rows = generate_rows(args.rows, regions, managers, args.seed)
    data = to_csv(rows)
    Path(workdir, "bench.csv").write_bytes(data)

    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    print(f"rows: {args.rows} over {len(regions)} regions; CSV {len(data) / 1e6:.1f} MB")
    started = time.perf_counter()
    result = import_customers(Actor.job("bench"), data, "bench.csv")
    import_seconds = time.perf_counter() - started
    if result.problems or len(result.created) != args.rows:
        print(f"import FAILED: {len(result.problems)} problem(s), e.g. {result.problems[:3]}")
        return 1
    counts = (Customer.objects.count(), Standing.objects.count(), Contact.objects.count(),
              AuditEntry.objects.count())
    print(f"written: {counts[0]} customers, {counts[1]} standing rows, {counts[2]} contacts, "
          f"{counts[3]} audit entries")

    columns = [f.column for f in Customer._meta.concrete_fields if not f.primary_key]
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_plain (id INTEGER PRIMARY KEY, "
                       + ", ".join(f"{c} TEXT" for c in columns) + ")"
                       if connection.vendor == "sqlite" else
                       "CREATE TABLE bench_plain (id BIGSERIAL PRIMARY KEY, "
                       + ", ".join(f"{c} TEXT" for c in columns) + ")")
    plain = plain_rows(rows, columns)
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO bench_plain ({', '.join(columns)}) VALUES ({placeholders})"
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, plain)
    plain_seconds = time.perf_counter() - started

    import_rate = args.rows / import_seconds
    plain_rate = args.rows / plain_seconds
    print(f"import_customers: {import_seconds:8.2f} s  {import_rate:10,.0f} rows/s")
    print(f"plain executemany: {plain_seconds:7.2f} s  {plain_rate:10,.0f} rows/s")
    print(f"ratio: the import takes {import_seconds / plain_seconds:.1f}x the time of a bare "
          f"INSERT of the customer rows")
    return 0


def plain_rows(rows: list[list[str]], columns: list[str]) -> list[tuple[str, ...]]:
    """The same rows as tuples in the customer table's column order (codes made up in order)."""
    import datetime as dt

    now = dt.datetime.now(dt.UTC).isoformat()
    serials: dict[str, int] = {}
    out = []
    for row in rows:
        values = dict(zip(HEADER, row, strict=True))
        region = values["region"]
        serials[region] = serials.get(region, 0) + 1
        values.update(code=f"{region}{serials[region]:03d}", region_id=region,
                      serial=str(serials[region]), account_manager_id=values["account_manager"],
                      group_id="", created_at=now, updated_at=now)
        out.append(tuple(values.get(c, "") for c in columns))
    return out


if __name__ == "__main__":
    sys.exit(main())
