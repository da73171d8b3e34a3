"""Writing checked customer rows, a batch at a time inside the import's one transaction: the
same data as `services.create_customer` (customer, standing, first contact), with set-based
SQL instead of one model instance per row.

Serials: one conditional UPDATE per region and batch (regions in code order, so concurrent
imports cannot deadlock) takes a block of serials, handed out in file order. Audit: one
`customer.import_batch` entry per batch lists every customer it created with all its audited
values (and contact); the entries go to a spool and are appended when the import ends, so
the chain's head is locked last and memory stays flat.

The SQL is built from the models' own table and column names (quoted), never from the file;
every value is a query parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import F, Model

from custguard.core.actors import Actor
from custguard.core.services import audit
from custguard.customers.importing.checking import Row
from custguard.customers.models import Contact, Customer, Region, Standing
from custguard.customers.services import AUDITED_FIELDS, MAX_SERIAL

REGIONS_PER_STATEMENT = 100  # (3 parameters each: under SQLite's 999)
CONTACT_AUDIT = ["contact_name", "contact_role", "contact_phone", "contact_email"]


class RegionFilledUp(Exception):
    def __init__(self, region: str, row: int) -> None:
        super().__init__(region)
        self.region = region
        self.row = row


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(model: type[Model], name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _defaults(model: type[Model], skip: set[str]) -> list[tuple[str, Any]]:
    """(column, database value of the field's default) of every concrete column not in
    `skip`: what a model instance would have saved."""
    return [(connection.ops.quote_name(f.column),
             f.get_db_prep_save(f.get_default(), connection))
            for f in model._meta.concrete_fields if f.attname not in skip]


class Writer:
    def __init__(self, actor: Actor, now: Any, spool: audit.Spool, filename: str) -> None:
        self.actor = actor
        self.spool = spool
        self.filename = filename
        ops = connection.ops
        self.stamp = ops.adapt_datetimefield_value(now)
        customer_fields = [f for f in Customer._meta.concrete_fields if not f.primary_key]
        self.customer_attnames = [f.attname for f in customer_fields]
        self.insert_customers = (
            f"INSERT INTO {_table(Customer)} "  # noqa: S608
            f"({', '.join(ops.quote_name(f.column) for f in customer_fields)}) "
            f"VALUES ({', '.join(['%s'] * len(customer_fields))})")
        fixed = _defaults(Standing, {"customer_id", "status", "updated_at"})
        self.standing_params = [value for _column_name, value in fixed] + [self.stamp]
        self.insert_standing = (
            f"INSERT INTO {_table(Standing)} ({_column(Standing, 'customer')}, "  # noqa: S608
            f"{_column(Standing, 'status')}, {', '.join(c for c, _v in fixed)}, "
            f"{_column(Standing, 'updated_at')}) "
            f"SELECT {_column(Customer, 'id')}, {_column(Customer, 'status')}, "
            f"{', '.join(['%s'] * len(self.standing_params))} FROM {_table(Customer)} WHERE ")
        self.region_range = (f"({_column(Customer, 'region')} = %s AND "
                             f"{_column(Customer, 'serial')} BETWEEN %s AND %s)")
        self.insert_contacts = (
            f"INSERT INTO {_table(Contact)} ({_column(Contact, 'customer')}, "  # noqa: S608
            f"{_column(Contact, 'name')}, {_column(Contact, 'role')}, "
            f"{_column(Contact, 'phone')}, {_column(Contact, 'email')}, "
            f"{_column(Contact, 'is_primary')}) "
            f"SELECT {_column(Customer, 'id')}, %s, %s, %s, %s, %s FROM {_table(Customer)} "
            f"WHERE {_column(Customer, 'code')} = %s")
        self.primary = Contact._meta.get_field("is_primary").get_db_prep_save(True, connection)
        self.audit_columns = [*AUDITED_FIELDS, *CONTACT_AUDIT]

    def write(self, rows: Sequence[Row]) -> list[str]:
        """Write one batch; returns the codes created, in file order."""
        ranges = self._take_serials(rows)
        codes = [f"{row.region}{row.serial:03d}" for row in rows]
        stamp = self.stamp
        attnames = self.customer_attnames
        values = []
        for row, code in zip(rows, codes, strict=True):
            fields = row.fields
            fields.update(code=code, region_id=row.region, serial=row.serial, group_id=None,
                          created_at=stamp, updated_at=stamp)
            values.append(tuple([fields[name] for name in attnames]))
        with connection.cursor() as cursor:
            cursor.executemany(self.insert_customers, values)
            for start in range(0, len(ranges), REGIONS_PER_STATEMENT):
                part = ranges[start:start + REGIONS_PER_STATEMENT]
                cursor.execute(self.insert_standing + " OR ".join([self.region_range]
                                                                   * len(part)),
                               [*self.standing_params, *[v for r in part for v in r]])
            contacts = [(*row.contact, self.primary, code)
                        for row, code in zip(rows, codes, strict=True) if row.contact]
            if contacts:
                cursor.executemany(self.insert_contacts, contacts)
        self._audit(rows, codes)
        return codes

    def _take_serials(self, rows: Sequence[Row]) -> list[tuple[str, int, int]]:
        by_region: dict[str, list[Row]] = {}
        for row in rows:
            by_region.setdefault(row.region, []).append(row)
        for code in sorted(by_region):
            wanted = len(by_region[code])
            taken = Region.objects.filter(pk=code, last_serial__lte=MAX_SERIAL - wanted).update(
                last_serial=F("last_serial") + wanted)
            if not taken:
                raise RegionFilledUp(code, by_region[code][0].number)
        last = dict(Region.objects.filter(pk__in=list(by_region))
                    .values_list("code", "last_serial"))
        ranges = []
        for code, members in sorted(by_region.items()):
            first = last[code] - len(members) + 1
            for offset, row in enumerate(members):
                row.serial = first + offset
            ranges.append((code, first, last[code]))
        return ranges

    def _audit(self, rows: Sequence[Row], codes: list[str]) -> None:
        records = []
        for row, code in zip(rows, codes, strict=True):
            fields = row.fields
            records.append([code, row.region,
                            *[fields["account_manager_id"] if name == "account_manager"
                              else fields[name] for name in AUDITED_FIELDS[2:]],
                            *(row.contact or ("", "", "", ""))])
        self.spool.add(audit.PendingEntry(
            action="customer.import_batch", object_type="customers.customer",
            object_id=f"{codes[0]}..{codes[-1]}" if len(codes) > 1 else codes[0],
            after={"file": self.filename, "first_row": rows[0].number,
                   "last_row": rows[-1].number, "count": len(rows),
                   "columns": self.audit_columns, "customers": records}))
