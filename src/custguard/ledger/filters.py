"""Filters of the ledger's lists (django-filter). The same FilterSet scopes a page and its
export."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from custguard.core.forms import StyledFormMixin
from custguard.ledger import selectors
from custguard.ledger.models import Invoice, Order, Payment

DATE = forms.DateInput(attrs={"type": "date"})


class LedgerFilterForm(StyledFormMixin, forms.Form):
    pass


def _search(qs: QuerySet[Any], value: str) -> QuerySet[Any]:
    """Customer code (prefix) or name, or the document's number or external id."""
    text = value.strip()
    if not text:
        return qs
    return qs.filter(Q(customer__code__startswith=text) | Q(customer__name__icontains=text)
                     | Q(number__icontains=text) | Q(external_id=text))


class _FactFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"), method="filter_q",
        widget=forms.TextInput(attrs={"placeholder": _("customer code or name, document "
                                                       "number"), "type": "search"}))

    def filter_q(self, qs: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return _search(qs, value)


class InvoiceFilter(_FactFilter):
    status = django_filters.ChoiceFilter(label=_("status"), method="filter_status",
                                         choices=selectors.InvoiceStatus.choices,
                                         empty_label=_("All"))
    kind = django_filters.ChoiceFilter(label=_("kind"), choices=Invoice.Kind.choices,
                                       empty_label=_("All"))
    due_from = django_filters.DateFilter(label=_("due from"), field_name="due_on",
                                         lookup_expr="gte", widget=DATE)
    due_to = django_filters.DateFilter(label=_("due to"), field_name="due_on",
                                       lookup_expr="lte", widget=DATE)

    class Meta:
        model = Invoice
        fields = ["q", "status", "kind", "due_from", "due_to"]
        form = LedgerFilterForm

    def filter_status(self, qs: QuerySet[Invoice], name: str, value: str) -> QuerySet[Invoice]:
        return selectors.with_status(qs, value) if value else qs


class PaymentFilter(_FactFilter):
    kind = django_filters.ChoiceFilter(label=_("kind"), choices=Payment.Kind.choices,
                                       empty_label=_("All"))
    received_from = django_filters.DateFilter(label=_("received from"),
                                              field_name="received_on", lookup_expr="gte",
                                              widget=DATE)
    received_to = django_filters.DateFilter(label=_("received to"), field_name="received_on",
                                            lookup_expr="lte", widget=DATE)
    unapplied = django_filters.BooleanFilter(
        label=_("unapplied money"), method="filter_unapplied",
        widget=forms.Select(choices=[("", _("All")), ("true", _("Yes")), ("false", _("No"))]))

    class Meta:
        model = Payment
        fields = ["q", "kind", "received_from", "received_to", "unapplied"]
        form = LedgerFilterForm

    def filter_unapplied(self, qs: QuerySet[Payment], name: str,
                         value: bool | None) -> QuerySet[Payment]:
        if value is None:
            return qs
        return qs.filter(unapplied_amount__gt=0) if value else qs.filter(unapplied_amount=0)


class OrderState:
    OPEN = "open"
    INVOICED = "invoiced"
    CANCELLED = "cancelled"
    CHOICES = [(OPEN, pgettext_lazy("order state", "Open")), (INVOICED, _("Invoiced")),
               (CANCELLED, _("Cancelled"))]


def orders_with_state(qs: QuerySet[Order]) -> QuerySet[Order]:
    """Orders annotated with `invoiced` (an invoice names the order) and `cancelled`."""
    invoiced = Invoice.objects.filter(order_source=OuterRef("source"),
                                      order_external_id=OuterRef("external_id"))
    return qs.annotate(invoiced=Exists(invoiced),
                       cancelled=Exists(Order.objects.filter(cancels=OuterRef("pk"))))


class OrderFilter(_FactFilter):
    kind = django_filters.ChoiceFilter(label=_("kind"), choices=Order.Kind.choices,
                                       empty_label=_("All"))
    state = django_filters.ChoiceFilter(label=_("state"), choices=OrderState.CHOICES,
                                        method="filter_state", empty_label=_("All"))
    ordered_from = django_filters.DateFilter(label=_("date from"), field_name="ordered_on",
                                             lookup_expr="gte", widget=DATE)
    ordered_to = django_filters.DateFilter(label=_("date to"), field_name="ordered_on",
                                           lookup_expr="lte", widget=DATE)

    class Meta:
        model = Order
        fields = ["q", "kind", "state", "ordered_from", "ordered_to"]
        form = LedgerFilterForm

    def filter_state(self, qs: QuerySet[Order], name: str, value: str) -> QuerySet[Order]:
        orders = qs.filter(kind=Order.Kind.ORDER)
        if value == OrderState.CANCELLED:
            return orders.filter(cancelled=True)
        if value == OrderState.INVOICED:
            return orders.filter(invoiced=True, cancelled=False)
        if value == OrderState.OPEN:
            return orders.filter(invoiced=False, cancelled=False)
        return qs
