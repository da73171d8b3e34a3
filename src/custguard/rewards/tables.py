"""The points pages' tables (django-tables2): a customer's entries, sortable and paged with
htmx, each with its reasons in plain language."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from custguard.core.tables import TEMPLATE
from custguard.rewards import reasons
from custguard.rewards.models import PointsEntry

NUMBER = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}
KIND_BADGES = {
    PointsEntry.Kind.EARN: "bg-green-lt", PointsEntry.Kind.RELEASE: "bg-green-lt",
    PointsEntry.Kind.RESTORE: "bg-green-lt", PointsEntry.Kind.REFUND: "bg-green-lt",
    PointsEntry.Kind.MATURE: "bg-teal-lt", PointsEntry.Kind.WITHHOLD: "bg-yellow-lt",
    PointsEntry.Kind.FORFEIT: "bg-secondary-lt", PointsEntry.Kind.EXPIRE: "bg-secondary-lt",
    PointsEntry.Kind.REVERSE: "bg-orange-lt", PointsEntry.Kind.DEDUCT: "bg-red-lt",
    PointsEntry.Kind.REDEEM: "bg-blue-lt", PointsEntry.Kind.ADJUST: "bg-purple-lt",
}


def signed(value: int) -> str:
    """A change of points with its sign, coloured: +120 green, −40 red, 0 grey."""
    if value > 0:
        return format_html('<span class="text-green">+{}</span>', f"{value:,}")
    if value < 0:
        return format_html('<span class="text-red">−{}</span>', f"{-value:,}")
    return format_html('<span class="text-secondary">0</span>')


class EntryTable(tables.Table):
    results_id = "points-entries"  # the element htmx refreshes when sorting or paging

    on = tables.DateColumn(verbose_name=_("date"), format="Y-m-d", order_by=("on", "pk"))
    kind = tables.Column(verbose_name=_("kind"), order_by=("kind", "pk"))
    points = tables.Column(verbose_name=pgettext_lazy("points ledger", "points"),
                           order_by=("points", "pk"), attrs=NUMBER)
    withheld = tables.Column(verbose_name=_("withheld"), order_by=("withheld", "pk"),
                             attrs=NUMBER)
    reasons = tables.Column(verbose_name=_("reasons"), orderable=False, empty_values=())
    invoice = tables.Column(verbose_name=_("invoice"), orderable=False, empty_values=())
    note = tables.Column(verbose_name=_("note"), orderable=False, default="")
    recorded_by = tables.Column(verbose_name=_("recorded by"), order_by=("recorded_at", "pk"))

    class Meta:
        model = PointsEntry
        fields = ("on", "kind", "points", "withheld", "reasons", "invoice", "note",
                  "recorded_by")
        sequence = fields
        order_by = ("-on",)
        template_name = TEMPLATE
        empty_text = _("No points entries match.")
        attrs = {"class": "table table-vcenter card-table table-sm",
                 "data-testid": "points-entries-table"}
        row_attrs = {"data-entry": lambda record: record.pk,
                     "data-kind": lambda record: record.kind}

    def __init__(self, *args: Any, link_invoices: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.link_invoices = link_invoices

    def render_kind(self, record: PointsEntry) -> str:
        return format_html('<span class="badge {}">{}</span>',
                           KIND_BADGES.get(record.kind, "bg-secondary-lt"),
                           record.get_kind_display())

    def render_points(self, value: int) -> str:
        return signed(value)

    def render_withheld(self, value: int) -> str:
        return signed(value) if value else ""

    def render_reasons(self, record: PointsEntry) -> str:
        return format_html_join(
            "", '<div class="small" data-reason="{}">{}</div>',
            ((item.code, item.text) for item in reasons.describe_all(record.reasons)))

    def render_invoice(self, record: PointsEntry) -> str:
        invoice = record.invoice
        if invoice is None:
            return ""
        text = invoice.number or f"{invoice.source}/{invoice.external_id}"
        if not self.link_invoices:
            return format_html('<span class="font-monospace">{}</span>', text)
        return format_html('<a class="font-monospace" href="{}">{}</a>',
                           reverse("ledger:invoice_detail", args=[invoice.pk]), text)

    def render_recorded_by(self, record: PointsEntry) -> str:
        return format_html('{}<div class="small text-secondary">{}</div>', record.recorded_by,
                           f"{timezone.localtime(record.recorded_at):%Y-%m-%d %H:%M}")
