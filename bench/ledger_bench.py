"""What the benchmarks over a loaded ledger share (bench/points.py, bench/classification.py):
their command line and a scratch database in production settings, dropped afterwards."""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from import_customers import drop_postgres, scratch_postgres  # noqa: E402


def parse_args(description: str, customers: int, invoices: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--customers", type=int, default=customers)
    parser.add_argument("--invoices", type=int, default=invoices)
    parser.add_argument("--database-url", default=None,
                        help="postgresql://... (a scratch database is created and dropped); "
                             "default: SQLite in a temporary directory")
    parser.add_argument("--seed", type=int, default=20250630)
    return parser.parse_args()


def in_scratch_database(args: argparse.Namespace, prefix: str,
                        run: Callable[[argparse.Namespace], int]) -> int:
    """Run `run(args)` against a fresh database (DEBUG off), then drop it."""
    workdir = tempfile.mkdtemp(prefix=prefix)
    os.environ["CUSTGUARD_DATA_DIR"] = workdir
    os.environ.setdefault("CUSTGUARD_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("CUSTGUARD_AUDIT_KEY", secrets.token_urlsafe(32))
    os.environ["CUSTGUARD_DEBUG"] = "false"  # DEBUG keeps every query in memory
    os.environ["DJANGO_SETTINGS_MODULE"] = "custguard.settings"
    scratch = scratch_postgres(args.database_url) if args.database_url else None
    os.environ["CUSTGUARD_DATABASE_URL"] = (scratch[2] if scratch is not None
                                            else "sqlite:///bench.sqlite3")
    try:
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if scratch is not None:
            drop_postgres(scratch[0], scratch[1])
        shutil.rmtree(workdir, ignore_errors=True)
