"""Writing checked fact rows a batch at a time inside the import's one transaction: the same
facts, allocations, counters, due state and scores as posting each row through
`ledger.services`, with set-based SQL instead of one service call per row.

For each batch, in file order:

1. the services' own checks (a date in the future, a due date before the issue date, an
   order reference half given, an allocation above the payment), in the services' words;
2. the facts already stored under the batch's identities are read with one query; a row whose
   identity is stored, or was created earlier in the file, is a replay when its values are the
   same and is refused (Conflict) when they differ, as `services._post` decides;
3. a payment is applied in memory to the invoice it names or to the customer's oldest due
   invoices first; the invoices the batch can reach are read (and locked) with two queries, so
   each payment sees what the ones before it left open, as posting them one by one would;
4. the new facts, allocations and changed invoices are written with `executemany`; an invoice
   for an order the gate reserved credit for converts that reservation (`gate.convert`);
5. one `ledger.import_batch` audit entry per batch lists every fact it created with its
   values; the entries go to a spool appended when the import ends (the chain's head last).

`finish()` then moves the posted counters once per customer (`exposure.add_posted_many`),
refreshes the due state of every customer touched (`exposure.refresh_due_states`) and rescores
them with the batch rescoring, once for the whole import, and tells the apps above which
invoices the payments settled (`ledger.hooks`).

The SQL is built from the models' own table and column names; every value is a parameter.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.utils.translation import gettext as _

from custguard.core import clock, sql
from custguard.core.actors import Actor
from custguard.core.errors import DomainError, PermissionRefused
from custguard.core.money import CENT
from custguard.core.services import audit
from custguard.credit.models import Reservation
from custguard.credit.services import exposure, gate
from custguard.ledger import hooks, services
from custguard.ledger.importing.checking import Row
from custguard.ledger.models import Allocation, Invoice, Order, Payment

ZERO = Decimal("0.00")
MODELS: dict[str, type[models.Model]] = {"orders": Order, "invoices": Invoice,
                                         "payments": Payment}
PLAIN_KIND = {"orders": Order.Kind.ORDER, "invoices": Invoice.Kind.INVOICE,
              "payments": Payment.Kind.PAYMENT}
PERMISSIONS = {"orders": "ledger.add_order", "invoices": "ledger.add_invoice",
               "payments": "ledger.add_payment"}
# The values a repeated row must match (besides the customer), as the services compare them.
COMPARED = {"orders": ["kind", "amount", "ordered_on", "number"],
            "invoices": ["kind", "amount", "issued_on", "due_on", "number", "order_source",
                         "order_external_id"],
            "payments": ["kind", "amount", "received_on", "number"]}
DATE_OF = {"orders": "ordered_on", "invoices": "issued_on", "payments": "received_on"}
# What the batch's audit entry lists of each fact, in this order.
AUDITED = {"orders": ["customer", "source", "external_id", "number", "ordered_on", "amount"],
           "invoices": ["customer", "source", "external_id", "number", "issued_on", "due_on",
                        "amount", "order_source", "order_external_id"],
           "payments": ["customer", "source", "external_id", "number", "received_on",
                        "amount", "allocations", "unapplied"]}
Refusal = tuple[Row, DomainError]
CUSTOMERS_PER_READ = 500  # customer keys per query (parameters: under SQLite's 999)


@dataclass(slots=True)
class _Invoice:
    """An open invoice a payment of the batch may reach, as it stands after the payments of
    the file so far."""

    pk: int
    customer_id: int
    source: str
    external_id: str
    open_amount: Decimal
    settled_on: dt.date | None


@dataclass
class BatchOutcome:
    created: list[str] = field(default_factory=list)  # "source/external_id"
    replayed: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def _attnames(model: type[models.Model]) -> list[str]:
    """The columns an insert writes: all but the key."""
    return [f.attname for f in model._meta.concrete_fields if not f.primary_key]


def _identities(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """A filter for the facts with (at least) these (source, external_id) identities: both
    columns, so that the unique index on them serves it; the caller drops the extra pairs."""
    wanted = set(pairs)
    return {"source__in": sorted({source for source, _e in wanted}),
            "external_id__in": sorted({external_id for _s, external_id in wanted})}


def _select_by_identity(model: type[models.Model], names: Sequence[str],
                        pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[Any]]:
    """The columns `names` of the stored facts with these identities, by identity, as the
    raw cursor gives them. A statement written out: the ORM's compilation of a few hundred
    parameters costs more than the database's index lookups."""
    wanted = set(pairs)
    if not wanted:
        return {}
    where = _identities(wanted)
    by_source, source_params = sql.among(sql.column(model, "source"), where["source__in"])
    by_external_id, external_id_params = sql.among(sql.column(model, "external_id"),
                                                   where["external_id__in"])
    statement = (
        f"SELECT {sql.column(model, 'source')}, {sql.column(model, 'external_id')}, "  # noqa: S608
        f"{', '.join(sql.column(model, name) for name in names)} FROM {sql.table(model)} "
        f"WHERE {by_source} AND {by_external_id}")
    with connection.cursor() as cursor:
        cursor.execute(statement, [*source_params, *external_id_params])
        return {(row[0], row[1]): list(row[2:]) for row in cursor.fetchall()
                if (row[0], row[1]) in wanted}


class FactWriter:
    def __init__(self, actor: Actor, kind: str, spool: audit.Spool, filename: str) -> None:
        if not actor.can(PERMISSIONS[kind]):
            raise PermissionRefused(_("your role may not post this kind of fact"))
        self.actor = actor
        self.kind = kind
        self.model = MODELS[kind]
        self.spool = spool
        self.filename = filename
        self.today = clock.today()
        self.stamp = connection.ops.adapt_datetimefield_value(clock.now())
        self.recorded_by = actor.label[:150]
        self.attnames = _attnames(self.model)
        self.compared = COMPARED[kind]
        self.plain_kind = PLAIN_KIND[kind]
        self.compared_values = [name for name in self.compared if name != "kind"]
        self.posted: dict[int, Decimal] = {}  # customer id → change of posted receivables
        self.touched: set[int] = set()
        self.invoices_changed: set[int] = set()  # settled or reopened by the payments
        # The invoices the payments reach (see _reachable).
        self.invoices: dict[int, _Invoice] = {}
        self.named: dict[tuple[str, str], _Invoice] = {}
        self.open_by_customer: dict[int, list[_Invoice]] = {}

    # --- one batch ----------------------------------------------------------------------

    def write(self, rows: Sequence[Row]) -> BatchOutcome:
        outcome = BatchOutcome()
        # The facts of earlier batches are written by now, so `_stored` finds them; the rows
        # of this batch not yet written → the values a later row with their identity must
        # match. (Nothing here grows with the file.)
        created: dict[tuple[str, str], dict[str, Any]] = {}
        stored = self._stored(rows)
        reservations = self._reservations(rows) if self.kind == "invoices" else {}
        named, oldest_first = self._reachable(rows) if self.kind == "payments" else ({}, {})
        new: list[tuple[Row, dict[str, Any]]] = []
        for row in rows:
            values = row.values
            identity = (values["source"], values["external_id"])
            try:
                self._check(row)
                expected = {"customer_id": row.customer.pk, "kind": self.plain_kind,
                            **{name: values[name] for name in self.compared_values}}
                before = stored.get(identity) or created.get(identity)
                if before is not None:
                    services.refuse_different(before, expected, *identity)
                    outcome.replayed.append("/".join(identity))
                    continue
                extra = (self._convertible(row, reservations) if self.kind == "invoices"
                         else self._apply(row, named, oldest_first)
                         if self.kind == "payments" else {})
            except DomainError as error:
                outcome.refused.append((row, error))
                continue
            created[identity] = expected
            new.append((row, extra))
            outcome.created.append("/".join(identity))
        if new:
            self._insert(new)
            if self.kind == "payments":
                self._write_allocations(new)
            elif self.kind == "invoices":
                self._convert(new)
            self._audit(new)
        return outcome

    def _check(self, row: Row) -> None:
        """The services' checks of the row's own values, in their order."""
        values = row.values
        services.not_future(values[DATE_OF[self.kind]], DATE_OF[self.kind], self.today)
        if self.kind == "invoices":
            services.check_due_on(values["issued_on"], values["due_on"])
            services.check_order_reference(row.values["order_source"],
                                           row.values["order_external_id"])
        elif (self.kind == "payments" and values.get("invoice_external_id")
              and values.get("allocated_amount", values["amount"]) > values["amount"]):
            raise services.allocations_exceed_payment()

    def _stored(self, rows: Sequence[Row]) -> dict[tuple[str, str], dict[str, Any]]:
        """The stored facts with the identities of the batch, by identity."""
        names = ["customer_id", *self.compared]
        typed = [sql.money if name == "amount" else sql.date_value if name.endswith("_on")
                 else None for name in names]
        found = _select_by_identity(self.model, names, (
            (row.values["source"], row.values["external_id"]) for row in rows))
        return {identity: {name: convert(value) if convert else value
                           for name, convert, value in zip(names, typed, values, strict=True)}
                for identity, values in found.items()}

    # --- invoices -----------------------------------------------------------------------

    def _reservations(self, rows: Sequence[Row]) -> dict[tuple[str, str], Reservation]:
        """The gate reservations of the orders the batch's invoices name."""
        wanted = {(row.values["order_source"], row.values["order_external_id"])
                  for row in rows if row.values.get("order_external_id")}
        if not wanted:
            return {}
        found = Reservation.objects.filter(**_identities(wanted))
        return {(r.source, r.external_id): r for r in found
                if (r.source, r.external_id) in wanted}

    def _convertible(self, row: Row, reservations: dict[tuple[str, str], Reservation]
                     ) -> dict[str, Any]:
        reference = (row.values["order_source"], row.values["order_external_id"])
        reservation = reservations.get(reference)
        if reservation is None:
            return {}
        refusal = gate.conversion_refusal(reservation, row.customer.pk)
        if refusal is not None:
            raise refusal
        return {"converts": reference}

    def _convert(self, new: Sequence[tuple[Row, dict[str, Any]]]) -> None:
        converting = [(row, extra["converts"]) for row, extra in new if "converts" in extra]
        if not converting:
            return
        keys = self._keys([row for row, _reference in converting])
        for row, (source, external_id) in converting:
            invoice = Invoice(pk=keys[(row.values["source"], row.values["external_id"])],
                              customer_id=row.customer.pk)
            gate.convert(self.actor, source, external_id, invoice)

    # --- payments -----------------------------------------------------------------------

    def _reachable(self, rows: Sequence[Row]) -> tuple[dict[tuple[str, str], _Invoice],
                                                        dict[int, list[_Invoice]]]:
        """The invoices the payments name, by identity, and the open invoices of the customers
        whose payments go oldest due first, in that order; each invoice one object, read and
        locked the first time a batch needs it, then kept for the rest of the import (only
        this import can change them now), so memory grows with the open invoices of the
        customers paying."""
        names = {(row.values.get("invoice_source", row.values["source"]),
                  row.values["invoice_external_id"])
                 for row in rows if row.values.get("invoice_external_id")} - set(self.named)
        customers = sorted({row.customer.pk for row in rows
                            if not row.values.get("invoice_external_id")}
                           - set(self.open_by_customer))
        fields = ["pk", "customer_id", "source", "external_id", "open_amount", "settled_on"]
        invoices = Invoice.objects.select_for_update(no_key=True).filter(
            kind=Invoice.Kind.INVOICE)
        by_pk = self.invoices

        def known(values: tuple[Any, ...]) -> _Invoice:
            invoice = by_pk.get(values[0])
            if invoice is None:
                invoice = by_pk[values[0]] = _Invoice(*values)
            return invoice

        if names:
            for values in invoices.filter(**_identities(names)).order_by("pk")\
                    .values_list(*fields):
                if (values[2], values[3]) in names:
                    self.named[(values[2], values[3])] = known(values)
        for customer_id in customers:
            self.open_by_customer[customer_id] = []
        for start in range(0, len(customers), CUSTOMERS_PER_READ):
            for values in invoices.filter(
                    customer_id__in=customers[start:start + CUSTOMERS_PER_READ],
                    open_amount__gt=0).order_by("customer_id", "due_on", "issued_on", "pk")\
                    .values_list(*fields):
                self.open_by_customer[values[1]].append(known(values))
        return self.named, self.open_by_customer

    def _apply(self, row: Row, named: dict[tuple[str, str], _Invoice],
               by_customer: dict[int, list[_Invoice]]) -> dict[str, Any]:
        """Apply a new payment to invoices in memory, or refuse it as `post_payment` would;
        returns its allocations and what is left unapplied."""
        values = row.values
        left = values["amount"]
        received_on = values["received_on"]
        applied: list[tuple[_Invoice, Decimal]] = []
        if values.get("invoice_external_id"):
            source = values.get("invoice_source", values["source"])
            external_id = values["invoice_external_id"]
            share = values.get("allocated_amount", left)
            invoice = named.get((source, external_id))
            if invoice is None or invoice.customer_id != row.customer.pk:
                raise services.no_such_invoice(source, external_id,
                                               "allocations[0].invoice_external_id")
            if share > invoice.open_amount:
                raise services.not_enough_open(invoice.source, invoice.external_id,
                                               invoice.open_amount, "allocations[0].amount")
            applied.append((invoice, share))
        else:
            remaining = left
            queue = by_customer.get(row.customer.pk, [])
            for invoice in queue:
                if remaining <= 0:
                    break
                if invoice.open_amount > 0:
                    share = min(remaining, invoice.open_amount)
                    applied.append((invoice, share))
                    remaining -= share
        for invoice, share in applied:
            invoice.open_amount = (invoice.open_amount - share).quantize(CENT)
            invoice.settled_on = received_on if invoice.open_amount == 0 else None
            left -= share
        queue = by_customer.get(row.customer.pk)
        if queue:  # the settled invoices at the head are never reached again
            settled = next((n for n, invoice in enumerate(queue) if invoice.open_amount > 0),
                           len(queue))
            del queue[:settled]
        return {"allocations": applied, "unapplied": left}

    def _write_allocations(self, new: Sequence[tuple[Row, dict[str, Any]]]) -> None:
        keys = self._keys([row for row, extra in new if extra["allocations"]])
        attnames = _attnames(Allocation)
        allocations = []
        changed: dict[int, _Invoice] = {}
        for row, extra in new:
            payment_id = keys.get((row.values["source"], row.values["external_id"]))
            for invoice, share in extra["allocations"]:
                fields = {"invoice_id": invoice.pk, "payment_id": payment_id,
                          "credit_note_id": None, "amount": share,
                          "applied_on": row.values["received_on"]}
                allocations.append(tuple(fields[name] for name in attnames))
                changed[invoice.pk] = invoice
        if not allocations:
            return
        sql.insert_rows(Allocation, attnames, allocations)
        self.invoices_changed.update(changed)
        sql.update_rows(Invoice, "id", ["open_amount", "settled_on"],
                        [(pk, invoice.open_amount, invoice.settled_on)
                         for pk, invoice in sorted(changed.items())])

    # --- writing ------------------------------------------------------------------------

    def _keys(self, rows: Sequence[Row]) -> dict[tuple[str, str], int]:
        """The keys of facts this batch inserted, by identity."""
        if not rows:
            return {}
        found = _select_by_identity(self.model, ["id"], (
            (row.values["source"], row.values["external_id"]) for row in rows))
        return {identity: values[0] for identity, values in found.items()}

    def _insert(self, new: Sequence[tuple[Row, dict[str, Any]]]) -> None:
        sign = {"orders": 0, "invoices": 1, "payments": -1}[self.kind]
        fixed = {"recorded_at": self.stamp, "recorded_by": self.recorded_by,
                 "kind": self.plain_kind, "cancels_id": None, "corrects_id": None,
                 "reverses_id": None, "settled_on": None}
        columns = operator.itemgetter(*self.attnames)
        params = []
        for row, extra in new:
            values = row.values
            customer_id = row.customer.pk
            params.append(columns({**fixed, **values, "customer_id": customer_id,
                                   "open_amount": values["amount"],
                                   "unapplied_amount": extra.get("unapplied")}))
            self.touched.add(customer_id)
            if sign:
                self.posted[customer_id] = (self.posted.get(customer_id, ZERO)
                                            + sign * values["amount"])
        sql.insert_rows(self.model, self.attnames, params)

    def _audit(self, new: Sequence[tuple[Row, dict[str, Any]]]) -> None:
        names = AUDITED[self.kind]
        facts = []
        for row, extra in new:
            listed = {**row.values, "customer": row.customer.code}
            if self.kind == "payments":
                listed["allocations"] = [[f"{invoice.source}/{invoice.external_id}", share]
                                         for invoice, share in extra["allocations"]]
                listed["unapplied"] = extra["unapplied"]
            facts.append([listed[name] for name in names])
        first, last = new[0][0].number, new[-1][0].number
        self.spool.add(audit.PendingEntry(
            action="ledger.import_batch", object_type=self.model._meta.label_lower,
            object_id=f"rows {first}-{last}",
            after={"file": self.filename, "first_row": first, "last_row": last,
                   "count": len(new), "columns": AUDITED[self.kind], "facts": facts}))

    # --- the end of the import --------------------------------------------------------

    def finish(self) -> None:
        """Counters, due state and scores of the customers touched, once for the import."""
        exposure.add_posted_many(self.posted)
        touched = sorted(self.touched)
        exposure.refresh_due_states(touched, self.today)
        services.rescore_many(self.actor, touched)
        hooks.invoices_changed(self.actor, sorted(self.invoices_changed))


