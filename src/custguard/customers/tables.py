"""The customer list table (django-tables2): sortable columns, PII masked for roles without
core.view_pii."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from custguard.core.tables import TEMPLATE
from custguard.customers import selectors
from custguard.customers.models import Customer

BADGE_TEMPLATE = "customers/includes/badge.html"


class CustomerTable(tables.Table):
    results_id = "customer-results"
    code = tables.Column(verbose_name=_("code"), order_by=("code",),
                         attrs={"td": {"class": "text-nowrap"}})
    name = tables.Column(verbose_name=_("name"), order_by=("name", "code"))
    kind = tables.Column(verbose_name=_("kind"), order_by=("kind", "code"))
    region = tables.Column(verbose_name=_("region"), order_by=("region__code", "code"))
    value_tier = tables.TemplateColumn(
        template_name=BADGE_TEMPLATE, verbose_name=_("value tier"),
        order_by=("value_tier", "code"), extra_context={"badge": "tier"})
    account_manager = tables.Column(verbose_name=_("account manager"),
                                    order_by=("account_manager__username", "code"),
                                    default="—")
    status = tables.TemplateColumn(template_name=BADGE_TEMPLATE, verbose_name=_("status"),
                                   order_by=("status", "code"), extra_context={"badge": "status"})
    phone = tables.Column(verbose_name=_("phone"), orderable=False, default="")
    created_at = tables.Column(verbose_name=_("created"), order_by=("created_at", "code"),
                               attrs={"td": {"class": "text-nowrap"}})

    class Meta:
        model = Customer
        fields = ("code", "name", "kind", "region", "value_tier", "account_manager", "status",
                  "phone", "created_at")
        sequence = fields
        order_by = "code"
        template_name = TEMPLATE
        empty_text = _("No customers match.")
        attrs = {"class": "table table-vcenter card-table table-striped",
                 "data-testid": "customer-table"}
        row_attrs = {"data-code": lambda record: record.code}

    def __init__(self, *args: Any, show_pii: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.show_pii = show_pii

    def render_code(self, value: str) -> str:
        url = reverse("customers:detail", args=[value])
        return format_html('<a href="{}" class="font-monospace fw-bold">{}</a>', url, value)

    def render_kind(self, record: Customer) -> str:
        return record.get_kind_display()

    def render_region(self, record: Customer) -> str:
        return format_html('<span title="{}">{}</span>', record.region.code,
                           record.region.full_name)

    def render_phone(self, value: str) -> str:
        return value if self.show_pii else selectors.mask_phone(value)

    def render_created_at(self, value: Any) -> str:
        return timezone.localtime(value).strftime("%Y-%m-%d")
