"""Shared vocabulary of the permission-matrix tests (docs/permissions.md, executable).

Each app keeps its own table of pages (tests/test_ui_permissions.py, TABLE of `Page`) and of API
routes (tests/test_api_permissions.py, TABLE of `Row`); the coverage tests in core and api
gather every app's table and insist that every URL pattern and every OpenAPI route has a row.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from typing import Any

ADMIN, CREDIT, SALES = "admin", "credit_manager", "sales_manager"
AM, COLLEAGUE = "account_manager", "account_manager_2"  # the colleague does not own the target
CS, FINANCE, AUDITOR = "customer_service", "finance", "auditor"
ERP = "erp_integration"
OUTSIDER, ANONYMOUS = "outsider", "anonymous"  # a user with no role; no credentials at all
ROLES = [ADMIN, CREDIT, SALES, AM, COLLEAGUE, CS, FINANCE, AUDITOR, ERP, OUTSIDER, ANONYMOUS]
PEOPLE = [ADMIN, CREDIT, SALES, AM, COLLEAGUE, CS, FINANCE, AUDITOR]  # the staff roles

APPS = ["core", "customers", "ledger", "credit", "conduct", "classification", "rewards", "reports",
        "api"]


def matrix(allowed: int, who: list[str], *, refused: int = 403, anonymous: int = 401,
           **special: int) -> dict[str, int]:
    """`allowed` for the roles in `who`, `refused` for the other signed-in users, `anonymous`
    for a request without credentials; `special` overrides single roles."""
    table = {role: allowed if role in who else refused for role in ROLES}
    table[ANONYMOUS] = anonymous
    table.update(special)
    return table


def gather(module_name: str) -> list[Any]:
    """Every app's TABLE from its tests/<module_name>.py and from each tests/<module_name>_*.py
    (a capability of the app with a matrix and world of its own, e.g. the rewards app's
    test_api_permissions_tiers.py)."""
    rows: list[Any] = []
    for app in APPS:
        package = f"custguard.{app}.tests"
        name = f"{package}.{module_name}"
        if importlib.util.find_spec(name) is not None:
            rows += getattr(importlib.import_module(name), "TABLE", [])
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for found in sorted(pkgutil.iter_modules(spec.submodule_search_locations)):
            if found.name.startswith(f"{module_name}_"):
                rows += getattr(importlib.import_module(f"{package}.{found.name}"), "TABLE", [])
    return rows
