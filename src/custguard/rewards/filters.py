"""The filters of a customer's points entries (django-filter): kind and date range."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from custguard.core.forms import StyledFormMixin
from custguard.rewards.models import PointsEntry

DATE = forms.DateInput(attrs={"type": "date"})


class EntryFilterForm(StyledFormMixin, forms.Form):
    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:  # type: ignore[operator]
            self.add_error("date_to", _("the end of the range lies before its start"))
        return data


class EntryFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("kind"), choices=PointsEntry.Kind.choices,
                                       empty_label=_("All"))
    date_from = django_filters.DateFilter(label=_("dated from"), field_name="on",
                                          lookup_expr="gte", widget=DATE)
    date_to = django_filters.DateFilter(label=_("dated to"), field_name="on", lookup_expr="lte",
                                        widget=DATE)

    class Meta:
        model = PointsEntry
        fields = ["kind", "date_from", "date_to"]
        form = EntryFilterForm
