"""The ledger's lists (invoices, payments, orders: filter, sort, paginate, export) and the
invoice page, each scoped to the user's customers."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_filters import FilterSet
from django_tables2 import RequestConfig, Table

from custguard.core import clock, exports
from custguard.core.tables import list_page
from custguard.customers.views.common import user_of
from custguard.ledger import selectors
from custguard.ledger.filters import InvoiceFilter, OrderFilter, PaymentFilter, orders_with_state
from custguard.ledger.models import Allocation, Invoice, Order, Payment
from custguard.ledger.tables import InvoiceTable, OrderTable, PaymentTable

ZERO = Decimal("0.00")


def _page(request: HttpRequest, filterset: FilterSet, table: Table, *, title: Any,
          export_url: str, testid: str) -> HttpResponse:
    return list_page(request, table, {"filter": filterset, "title": title,
                                      "export_url": export_url, "testid": testid,
                                      "list_url": request.path},
                     page="ledger/fact_list.html",
                     results="ledger/includes/results.html")


def _export(request: HttpRequest, table: Table, stem: str, headers: list[Any],
            rows: Any) -> HttpResponse:
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    RequestConfig(request, paginate=False).configure(table)
    ordered: QuerySet[Any] = table.data.data  # the table's ordering
    return exports.export_response(stem, [str(h) for h in headers],
                                   rows(ordered.iterator(chunk_size=500)), fmt)


# --- invoices --------------------------------------------------------------------------------


def _invoices(request: HttpRequest) -> tuple[InvoiceFilter, InvoiceTable]:
    qs = selectors.facts_for(user_of(request), Invoice)
    filterset = InvoiceFilter(request.GET or None, queryset=qs)
    return filterset, InvoiceTable(filterset.qs, today=clock.today())


@login_required
@permission_required("ledger.view_invoice", raise_exception=True)
def invoice_list(request: HttpRequest) -> HttpResponse:
    filterset, table = _invoices(request)
    return _page(request, filterset, table, title=_("Invoices"),
                 export_url="ledger:invoice_export", testid="invoices")


INVOICE_HEADERS = [
    _("customer code"), _("customer"), _("kind"), _("source"), _("external id"),
    _("invoice number"), _("issue date"), _("due date"), _("amount"), _("open amount"),
    _("settled on"), _("status"), _("days past due"), _("order external id"),
]


@login_required
@permission_required("ledger.view_invoice", raise_exception=True)
def invoice_export(request: HttpRequest) -> HttpResponse:
    """The list as it is filtered and sorted, every page, as CSV or XLSX."""
    _filterset, table = _invoices(request)
    today = clock.today()
    labels = dict(selectors.InvoiceStatus.choices)

    def rows(invoices: Iterator[Invoice]) -> Iterator[list[object]]:
        for i in invoices:
            status = selectors.invoice_status(i, today)
            yield [i.customer.code, i.customer.name, i.get_kind_display(), i.source,
                   i.external_id, i.number, i.issued_on, i.due_on, i.amount, i.open_amount,
                   i.settled_on, labels[status] if status else "",
                   selectors.days_past_due(i, today) if status else None,
                   i.order_external_id]

    return _export(request, table, "invoices", INVOICE_HEADERS, rows)


@login_required
@permission_required("ledger.view_invoice", raise_exception=True)
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = (selectors.facts_for(user_of(request), Invoice)
               .select_related("corrects", "customer__group")
               .prefetch_related(
                   Prefetch("allocations", queryset=Allocation.objects.select_related(
                       "payment", "payment__reverses", "credit_note").order_by("applied_on",
                                                                               "pk")),
                   Prefetch("applied", queryset=Allocation.objects.select_related(
                       "invoice").order_by("pk")),
                   Prefetch("credit_notes", queryset=Invoice.objects.order_by("issued_on",
                                                                              "pk")))
               .filter(pk=pk).first())
    if invoice is None:
        raise Http404
    today = clock.today()
    allocations = list(invoice.allocations.all())
    return render(request, "ledger/invoice_detail.html", {
        "invoice": invoice,
        "status": selectors.invoice_status(invoice, today),
        "status_label": dict(selectors.InvoiceStatus.choices).get(
            selectors.invoice_status(invoice, today) or "", ""),
        "days_past_due": selectors.days_past_due(invoice, today),
        "allocations": allocations,
        "paid": sum((a.amount for a in allocations if a.payment_id), ZERO),
        "credited": sum((a.amount for a in allocations if a.credit_note_id), ZERO),
        "credit_notes": list(invoice.credit_notes.all()),
        "applied": list(invoice.applied.all()),
    })


# --- payments --------------------------------------------------------------------------------


def _payments(request: HttpRequest) -> tuple[PaymentFilter, PaymentTable]:
    qs = (selectors.facts_for(user_of(request), Payment).select_related("reverses")
          .prefetch_related(Prefetch("allocations", queryset=Allocation.objects.select_related(
              "invoice").order_by("pk"))))
    filterset = PaymentFilter(request.GET or None, queryset=qs)
    return filterset, PaymentTable(filterset.qs)


@login_required
@permission_required("ledger.view_payment", raise_exception=True)
def payment_list(request: HttpRequest) -> HttpResponse:
    filterset, table = _payments(request)
    return _page(request, filterset, table, title=_("Payments"),
                 export_url="ledger:payment_export", testid="payments")


PAYMENT_HEADERS = [
    _("customer code"), _("customer"), _("kind"), _("source"), _("external id"),
    _("payment number"), _("received on"), _("amount"), _("unapplied"), _("reverses"),
    _("applied to"),
]


@login_required
@permission_required("ledger.view_payment", raise_exception=True)
def payment_export(request: HttpRequest) -> HttpResponse:
    _filterset, table = _payments(request)

    def rows(payments: Iterator[Payment]) -> Iterator[list[object]]:
        for p in payments:
            applied = "; ".join(f"{a.invoice.number or a.invoice.external_id} {a.amount}"
                                for a in p.allocations.all())
            yield [p.customer.code, p.customer.name, p.get_kind_display(), p.source,
                   p.external_id, p.number, p.received_on, p.amount, p.unapplied_amount,
                   p.reverses.external_id if p.reverses else "", applied]

    return _export(request, table, "payments", PAYMENT_HEADERS, rows)


# --- orders ----------------------------------------------------------------------------------


def _orders(request: HttpRequest) -> tuple[OrderFilter, OrderTable]:
    qs = orders_with_state(selectors.facts_for(user_of(request), Order).select_related(
        "cancels"))
    filterset = OrderFilter(request.GET or None, queryset=qs)
    return filterset, OrderTable(filterset.qs)


@login_required
@permission_required("ledger.view_order", raise_exception=True)
def order_list(request: HttpRequest) -> HttpResponse:
    filterset, table = _orders(request)
    return _page(request, filterset, table, title=_("Orders"),
                 export_url="ledger:order_export", testid="orders")


ORDER_HEADERS = [
    _("customer code"), _("customer"), _("kind"), _("source"), _("external id"),
    _("order number"), _("date"), _("amount"), _("state"), _("cancels"),
]


@login_required
@permission_required("ledger.view_order", raise_exception=True)
def order_export(request: HttpRequest) -> HttpResponse:
    _filterset, table = _orders(request)

    def rows(orders: Iterator[Order]) -> Iterator[list[object]]:
        for o in orders:
            state = ""
            if o.kind == Order.Kind.ORDER:
                state = str(_("Cancelled") if getattr(o, "cancelled", False) else
                            _("Invoiced") if getattr(o, "invoiced", False) else
                            pgettext_lazy("order state", "Open"))
            yield [o.customer.code, o.customer.name, o.get_kind_display(), o.source,
                   o.external_id, o.number, o.ordered_on, o.amount, state,
                   o.cancels.external_id if o.cancels else ""]

    return _export(request, table, "orders", ORDER_HEADERS, rows)
