"""The ledger's list tables (django-tables2): sortable columns; overdue invoices highlighted
with their days past due."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from custguard.core import clock
from custguard.core.tables import TEMPLATE
from custguard.ledger import selectors
from custguard.ledger.models import Fact, Invoice, Order, Payment

TABLE_TEMPLATE = TEMPLATE
TABLE_CLASS = "table table-vcenter card-table"


def _customer(record: Fact) -> str:
    customer = record.customer
    url = reverse("customers:detail", args=[customer.code])
    return format_html('<a href="{}" class="font-monospace">{}</a> {}', url, customer.code,
                       customer.name)


def _document(record: Fact) -> str:
    return format_html('<span class="font-monospace">{}</span>{}',
                       record.number or record.external_id,
                       format_html('<div class="small text-secondary">{}/{}</div>',
                                   record.source, record.external_id)
                       if record.number else "")


class _FactTable(tables.Table):
    results_id = "ledger-results"  # the element htmx refreshes when sorting or paging

    customer = tables.Column(verbose_name=_("customer"),
                             order_by=("customer__code", "-pk"), empty_values=())
    amount = tables.Column(verbose_name=_("amount"), attrs={"td": {"class": "text-end"},
                                                            "th": {"class": "text-end"}})

    def render_customer(self, record: Fact) -> str:
        return _customer(record)


class InvoiceTable(_FactTable):
    results_id = "invoice-results"
    document = tables.Column(verbose_name=_("invoice"), empty_values=(),
                             order_by=("number", "external_id"))
    kind = tables.Column(verbose_name=_("kind"), order_by=("kind", "-pk"))
    issued_on = tables.Column(verbose_name=_("issue date"), order_by=("issued_on", "pk"))
    due_on = tables.Column(verbose_name=_("due date"), order_by=("due_on", "pk"),
                           default="—")
    open_amount = tables.Column(verbose_name=_("open"), attrs={"td": {"class": "text-end"},
                                                               "th": {"class": "text-end"}})
    status = tables.Column(verbose_name=_("status"), empty_values=(), orderable=False)
    days_past_due = tables.Column(verbose_name=_("days past due"), empty_values=(),
                                  order_by=("due_on", "pk"),
                                  attrs={"td": {"class": "text-end"},
                                         "th": {"class": "text-end"}})

    class Meta:
        model = Invoice
        fields = ("document", "customer", "kind", "issued_on", "due_on", "amount",
                  "open_amount", "status", "days_past_due")
        sequence = fields
        order_by = "-issued_on"
        template_name = TABLE_TEMPLATE
        empty_text = _("No invoices match.")
        attrs = {"class": TABLE_CLASS, "data-testid": "invoice-table"}
        row_attrs = {
            "data-id": lambda record: record.pk,
            "data-status": lambda record: selectors.invoice_status(record) or "",
            "class": lambda record: (
                "table-danger" if selectors.invoice_status(record) == "overdue" else ""),
        }

    def __init__(self, *args: Any, today: dt.date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today or clock.today()

    def render_document(self, record: Invoice) -> str:
        url = reverse("ledger:invoice_detail", args=[record.pk])
        return format_html('<a href="{}">{}</a>', url, _document(record))

    def render_kind(self, record: Invoice) -> str:
        return record.get_kind_display()

    def render_status(self, record: Invoice) -> str:
        status = selectors.invoice_status(record, self.today)
        if status is None:
            return "—"
        css = {"open": "bg-blue-lt", "overdue": "bg-red-lt", "settled": "bg-green-lt"}[status]
        return format_html('<span class="badge {}">{}</span>', css,
                           selectors.InvoiceStatus(status).label)

    def render_days_past_due(self, record: Invoice) -> str:
        if record.kind != Invoice.Kind.INVOICE:
            return "—"
        days = selectors.days_past_due(record, self.today)
        if days and record.open_amount > 0:
            return format_html('<span class="text-danger fw-bold" data-dpd="{}">{}</span>',
                               days, days)
        return str(days)


class PaymentTable(_FactTable):
    results_id = "payment-results"
    received_on = tables.Column(verbose_name=_("received on"), order_by=("received_on", "pk"))
    document = tables.Column(verbose_name=_("payment"), empty_values=(),
                             order_by=("number", "external_id"))
    kind = tables.Column(verbose_name=_("kind"), order_by=("kind", "-pk"))
    unapplied_amount = tables.Column(verbose_name=_("unapplied"),
                                     attrs={"td": {"class": "text-end"},
                                            "th": {"class": "text-end"}})
    applied_to = tables.Column(verbose_name=_("applied to"), empty_values=(),
                               orderable=False)

    class Meta:
        model = Payment
        fields = ("received_on", "document", "customer", "kind", "amount",
                  "unapplied_amount", "applied_to")
        sequence = fields
        order_by = "-received_on"
        template_name = TABLE_TEMPLATE
        empty_text = _("No payments match.")
        attrs = {"class": f"{TABLE_CLASS} table-striped", "data-testid": "payment-table"}
        row_attrs = {"data-id": lambda record: record.pk}

    def render_document(self, record: Payment) -> str:
        return _document(record)

    def render_kind(self, record: Payment) -> str:
        if record.kind == Payment.Kind.REVERSAL and record.reverses is not None:
            return format_html("{} ← {}", record.get_kind_display(),
                               record.reverses.number or record.reverses.external_id)
        return record.get_kind_display()

    def render_applied_to(self, record: Payment) -> str:
        allocations = list(record.allocations.all())
        if not allocations:
            return "—"
        return format_html_join(
            " ", '<a class="badge bg-secondary-lt" href="{}">{} {}</a>',
            ((reverse("ledger:invoice_detail", args=[a.invoice_id]),
              a.invoice.number or a.invoice.external_id, a.amount) for a in allocations))


class OrderTable(_FactTable):
    results_id = "order-results"
    ordered_on = tables.Column(verbose_name=_("date"), order_by=("ordered_on", "pk"))
    document = tables.Column(verbose_name=_("order"), empty_values=(),
                             order_by=("number", "external_id"))
    kind = tables.Column(verbose_name=_("kind"), order_by=("kind", "-pk"))
    state = tables.Column(verbose_name=_("state"), empty_values=(), orderable=False)

    class Meta:
        model = Order
        fields = ("ordered_on", "document", "customer", "kind", "amount", "state")
        sequence = fields
        order_by = "-ordered_on"
        template_name = TABLE_TEMPLATE
        empty_text = _("No orders match.")
        attrs = {"class": f"{TABLE_CLASS} table-striped", "data-testid": "order-table"}
        row_attrs = {"data-id": lambda record: record.pk}

    def render_document(self, record: Order) -> str:
        return _document(record)

    def render_kind(self, record: Order) -> str:
        if record.kind == Order.Kind.CANCELLATION and record.cancels is not None:
            return format_html("{} ← {}", record.get_kind_display(),
                               record.cancels.number or record.cancels.external_id)
        return record.get_kind_display()

    def render_state(self, record: Order) -> str:
        if record.kind != Order.Kind.ORDER:
            return "—"
        if getattr(record, "cancelled", False):
            return format_html('<span class="badge bg-secondary-lt">{}</span>', _("Cancelled"))
        if getattr(record, "invoiced", False):
            return format_html('<span class="badge bg-green-lt">{}</span>', _("Invoiced"))
        return format_html('<span class="badge bg-blue-lt">{}</span>',
                           pgettext_lazy("order state", "Open"))
