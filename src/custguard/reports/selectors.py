"""Aggregates for the dashboards, over the customers a user may see."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, QuerySet
from django.db.models.functions import Coalesce

from custguard.customers.models import Customer, CustomerKind, ValueTier


@dataclass(frozen=True)
class RegistryCounts:
    total: int
    by_province: list[tuple[str, str, int]]  # (code, name, count), largest first
    by_kind: list[tuple[str, str, int]]
    by_tier: list[tuple[str, str, int]]
    groups: int


def registry_counts(customers: QuerySet[Customer], top_provinces: int = 15) -> RegistryCounts:
    province = (customers
                .annotate(province_code=Coalesce(F("region__parent__code"), F("region__code")),
                          province_name=Coalesce(F("region__parent__name"), F("region__name")))
                .values("province_code", "province_name")
                .annotate(n=Count("pk")).order_by("-n", "province_code"))
    kinds = dict(customers.values_list("kind").annotate(n=Count("pk")).order_by())
    tiers = dict(customers.values_list("value_tier").annotate(n=Count("pk")).order_by())
    return RegistryCounts(
        total=customers.count(),
        by_province=[(r["province_code"], r["province_name"], r["n"])
                     for r in province[:top_provinces]],
        by_kind=[(code, str(label), kinds.get(code, 0)) for code, label in CustomerKind.choices],
        by_tier=[(code, str(label), tiers.get(code, 0)) for code, label in ValueTier.choices],
        groups=customers.exclude(group=None).values("group").distinct().count(),
    )
