"""The customer list's filters. The same FilterSet scopes the page and its exports."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from custguard.core.errors import ValidationFailed
from custguard.core.forms import StyledFormMixin
from custguard.core.models import User
from custguard.core.services.policies import policy_in_force
from custguard.customers import selectors
from custguard.customers.models import Customer, CustomerKind, CustomerStatus, ValueTier


class CustomerFilterForm(StyledFormMixin, forms.Form):
    pass


def region_filter_choices() -> list[tuple[str, Any]]:
    """Every region, each province followed by its prefectures (choosing a province matches
    all customers in it)."""
    tops: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    children: list[Any] = []
    for region in selectors.regions().order_by("code"):
        if region.parent_id is None:
            tops[region.code] = (region.name, [(region.code, _("%(name)s (all)") % {
                "name": region.name})])
        else:
            children.append(region)
    orphans: list[tuple[str, str]] = []
    for region in children:
        if region.parent_id in tops:
            tops[region.parent_id][1].append((region.code, region.name))
        else:
            orphans.append((region.code, region.full_name))
    choices: list[tuple[str, Any]] = [(name, options) for name, options in tops.values()]
    return choices + ([(_("Other"), orphans)] if orphans else [])


def value_segment_choices() -> list[tuple[str, str]]:
    """The value segments of the policy in force (the monthly run sets them); none before a
    policy is published."""
    try:
        policy = policy_in_force()[1]
    except ValidationFailed:
        return []
    language = get_language() or "zh-hans"
    return [(tier.code, tier.description(language))
            for tier in policy.classification.value_tiers]


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"), method="filter_q",
        widget=forms.TextInput(attrs={"placeholder": _("code, name or phone"),
                                      "type": "search"}))
    region = django_filters.ChoiceFilter(label=_("region"), choices=region_filter_choices,
                                         method="filter_region", empty_label=_("All"))
    kind = django_filters.ChoiceFilter(label=_("kind"), choices=CustomerKind.choices,
                                       empty_label=_("All"))
    value_tier = django_filters.ChoiceFilter(label=_("value tier"), choices=ValueTier.choices,
                                             empty_label=_("All"))
    value_segment = django_filters.ChoiceFilter(
        label=_("value segment"), choices=value_segment_choices,
        field_name="standing__value_segment", empty_label=_("All"))
    account_manager = django_filters.ModelChoiceFilter(
        label=_("account manager"), queryset=User.objects.none(), empty_label=_("All"))
    status = django_filters.ChoiceFilter(label=_("status"), choices=CustomerStatus.choices,
                                         empty_label=_("All"))

    class Meta:
        model = Customer
        fields = ["q", "region", "kind", "value_tier", "value_segment", "account_manager",
                  "status"]
        form = CustomerFilterForm

    def __init__(self, data: Any = None, queryset: QuerySet[Customer] | None = None, *,
                 user: User, **kwargs: Any) -> None:
        super().__init__(data, queryset, **kwargs)
        if selectors.sees_all_customers(user):
            self.filters["account_manager"].queryset = selectors.account_managers()
        else:
            # An account manager sees only their own customers: the filter would be pointless.
            del self.filters["account_manager"]

    def filter_q(self, qs: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        return selectors.search_customers(qs, value)

    def filter_region(self, qs: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        if not value:
            return qs
        return qs.filter(Q(region__code=value) | Q(region__parent__code=value))
