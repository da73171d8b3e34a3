"""The home page: real counts of the registry and a chart."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from custguard.customers.selectors import customers_for
from custguard.reports.selectors import registry_counts


@login_required
def home(request: HttpRequest) -> HttpResponse:
    counts = registry_counts(customers_for(request.user))  # type: ignore[arg-type]
    provinces = list(reversed(counts.by_province))
    province_chart = {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 90, "right": 20, "top": 10, "bottom": 30},
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "data": [name for _code, name, _n in provinces]},
        "series": [{"type": "bar", "name": _("Customers"),
                    "data": [n for _code, _name, n in provinces]}],
    }
    tier_chart = {
        "tooltip": {"trigger": "item"},
        "legend": {"bottom": 0},
        "series": [{"type": "pie", "radius": ["40%", "70%"], "name": _("Value tier"),
                    "data": [{"name": label, "value": n} for _c, label, n in counts.by_tier]}],
    }
    return render(request, "reports/home.html", {
        "counts": counts, "province_chart": province_chart, "tier_chart": tier_chart,
    })
