"""The region code table: the shipped default (China's provinces and prefectures) and imports of
a company's own table."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from custguard.core.actors import Actor
from custguard.core.errors import ValidationFailed
from custguard.core.services import audit

DEFAULT_TABLE = Path(__file__).resolve().parent / "data" / "regions_cn.csv"


@dataclass(frozen=True)
class RegionRow:
    line: int
    code: str
    name: str
    parent: str


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("row %(line)s, column %(column)s: %(message)s") % {
            "line": self.line, "column": self.column, "message": self.message}


def read_table(text: str) -> tuple[list[RegionRow], list[RowError]]:
    """Parse and check a `code,name,parent` CSV; every problem is returned, not just the first."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"code", "name", "parent"} - set(reader.fieldnames or [])
    if missing:
        return [], [RowError(1, ",".join(sorted(missing)), _("missing column(s)"))]
    rows: list[RegionRow] = []
    errors: list[RowError] = []
    for line, raw in enumerate(reader, start=2):
        code = (raw.get("code") or "").strip()
        name = (raw.get("name") or "").strip()
        parent = (raw.get("parent") or "").strip()
        if not (len(code) == 6 and code.isdigit()):
            errors.append(RowError(line, "code", _("%(value)s is not a 6-digit code") % {
                "value": repr(code)}))
        if not name:
            errors.append(RowError(line, "name", _("is empty")))
        elif len(name) > 100:
            errors.append(RowError(line, "name", _("is longer than 100 characters")))
        if parent and not (len(parent) == 6 and parent.isdigit()):
            errors.append(RowError(line, "parent", _("%(value)s is not a 6-digit code") % {
                "value": repr(parent)}))
        if parent and parent == code:
            errors.append(RowError(line, "parent", _("a region cannot be its own parent")))
        rows.append(RegionRow(line, code, name, parent))
    seen: dict[str, int] = {}
    for row in rows:
        if row.code in seen:
            errors.append(RowError(row.line, "code",
                                   _("%(code)s already appears on row %(line)s") % {
                                       "code": row.code, "line": seen[row.code]}))
        seen.setdefault(row.code, row.line)
    return rows, errors


def apply_table(region_model: Any, rows: list[RegionRow]) -> tuple[int, int]:
    """Insert new regions and rename existing ones, parents first. Returns (created, updated).
    Regions are never deleted: customer codes refer to them forever."""
    existing = {r.code: r for r in region_model.objects.all()}
    created = updated = 0
    pending = list(rows)
    known = set(existing) | {r.code for r in rows if not r.parent}
    while pending:
        ready = [r for r in pending if not r.parent or r.parent in known or r.parent in existing]
        if not ready:
            break
        for row in ready:
            current = existing.get(row.code)
            if current is None:
                region_model.objects.create(code=row.code, name=row.name,
                                            parent_id=row.parent or None)
                created += 1
            elif current.name != row.name or (current.parent_id or "") != row.parent:
                region_model.objects.filter(code=row.code).update(
                    name=row.name, parent_id=row.parent or None)
                updated += 1
            known.add(row.code)
        pending = [r for r in pending if r not in ready]
    return created, updated


def check_parents(rows: list[RegionRow], existing: dict[str, str]) -> list[RowError]:
    """Every parent must exist (in the file or the table) and no region may end up its own
    ancestor. `existing` maps the table's codes to their current parent codes ("" for none)."""
    parents = dict(existing) | {r.code: r.parent for r in rows}
    errors = []
    for row in rows:
        if not row.parent:
            continue
        if row.parent not in parents:
            errors.append(RowError(row.line, "parent",
                                   _("parent %(code)s is neither in the file nor known") % {
                                       "code": row.parent}))
            continue
        seen = {row.code}
        ancestor = row.parent
        while ancestor:
            if ancestor in seen:
                errors.append(RowError(
                    row.line, "parent",
                    _("%(code)s would become its own ancestor via %(ancestor)s") % {
                        "code": row.code, "ancestor": ancestor}))
                break
            seen.add(ancestor)
            ancestor = parents.get(ancestor, "")
    return errors


def import_regions(actor: Actor, text: str) -> tuple[int, int]:
    from custguard.customers.models import Region

    if not actor.can("customers.add_region"):
        from custguard.core.errors import PermissionRefused

        raise PermissionRefused(_("your role may not change the region table"))
    rows, errors = read_table(text)
    existing = {code: parent or "" for code, parent in
                Region.objects.values_list("code", "parent_id")}
    errors += check_parents(rows, existing)
    if errors:
        raise ValidationFailed(
            ngettext("%(count)d problem in the region table; nothing was imported",
                     "%(count)d problems in the region table; nothing was imported",
                     len(errors)) % {"count": len(errors)},
            errors={f"row {e.line}": [f"{e.column}: {e.message}"] for e in errors})
    with transaction.atomic():
        created, updated = apply_table(Region, rows)
        audit.record(actor, "region.import", object_type="customers.region", object_id="*",
                     after={"rows": len(rows), "created": created, "updated": updated})
    return created, updated


def load_default_table(region_model: Any) -> tuple[int, int]:
    rows, errors = read_table(DEFAULT_TABLE.read_text(encoding="utf-8"))
    if errors:
        raise ValueError(f"the shipped region table is broken: {errors[0]}")
    return apply_table(region_model, rows)
