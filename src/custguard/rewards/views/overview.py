"""The points overview (积分负债): the points the company owes the customers the user may see,
by the month they expire, in points and in money at the policy's redemption value (table and
ECharts), with the withheld points and the debt beside it; the points issued, spent and
expired per month over the last twelve (ECharts); its XLSX (or CSV) export; and the
customers with the most points to spend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from custguard.core import clock, exports
from custguard.customers.views.common import user_of
from custguard.rewards import selectors
from custguard.rewards.views.customer import MONTHS, month_chart

TOP = 20
COLOURS = {"available": "#2fb344", "pending": "#f59f00"}


def liability_chart(found: selectors.Liability) -> dict[str, Any]:
    """Outstanding points per expiry month, available and pending stacked."""
    series = [("available", _("Available points"), [row.available for row in found.months]),
              ("pending", _("Pending points"), [row.pending for row in found.months])]
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"bottom": 0},
        "grid": {"left": 60, "right": 20, "top": 20, "bottom": 50},
        "xAxis": {"type": "category", "data": [f"{row.month:%Y-%m}" for row in found.months]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [{"type": "bar", "stack": "points", "name": label, "barMaxWidth": 36,
                    "itemStyle": {"color": COLOURS[code]}, "data": values}
                   for code, label, values in series],
    }


@login_required
@permission_required("rewards.view_pointslot", raise_exception=True)
def overview(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    rules = selectors.points_rules()
    found = selectors.liability(user, rules)
    monthly = selectors.points_by_month_for(user, selectors.last_months(clock.today(), MONTHS))
    return render(request, "rewards/overview/overview.html", {
        "liability": found,
        "liability_chart": liability_chart(found),
        "monthly": monthly,
        "month_chart": month_chart(monthly),
        "balances": selectors.top_balances(user, top=TOP, rules=rules),
        "top": TOP,
        "redemption_value": rules.redemption_value if rules is not None else None,
    })


EXPORT_HEADERS = [
    gettext_lazy("expiry month"), gettext_lazy("available points"),
    gettext_lazy("pending points"), gettext_lazy("outstanding points"), gettext_lazy("value"),
]


def export_rows(found: selectors.Liability) -> Iterator[list[object]]:
    for row in found.months:
        yield [f"{row.month:%Y-%m}", row.available, row.pending, row.points, row.value]
    yield [_("Total"), found.available, found.pending, found.points, found.value]


@login_required
@permission_required("rewards.view_pointslot", raise_exception=True)
def overview_export(request: HttpRequest) -> HttpResponse:
    """The liability by expiry month as the overview shows it, with a total row."""
    fmt = request.GET.get("format", "xlsx")
    if not exports.is_format(fmt):
        raise Http404
    found = selectors.liability(user_of(request))
    return exports.export_response("points-liability", [str(h) for h in EXPORT_HEADERS],
                                   export_rows(found), fmt)
