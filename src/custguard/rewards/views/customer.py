"""A customer's points page (积分): what it may spend, what is pending, withheld or owed, and
when points expire next; points earned, spent and expired per month (ECharts); the open lots;
the entries with their reasons in plain language, filtered by kind and date, sorted and paged
with htmx; the membership tier with the progress to the next one and the newest coupons; and,
for the roles that may, the form that adjusts the points (views/adjust.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django_tables2 import RequestConfig

from custguard.core import clock
from custguard.core.tables import wants_partial
from custguard.customers.models import Customer
from custguard.customers.views.common import get_customer_or_404, user_of
from custguard.rewards import reasons, selectors, tier_selectors
from custguard.rewards.filters import EntryFilter
from custguard.rewards.forms import AdjustForm
from custguard.rewards.tables import EntryTable

LOTS_SHOWN = 50
COUPONS_SHOWN = 10
MONTHS = 12
COLOURS = {"earned": "#2fb344", "spent": "#206bc4", "expired": "#9ba9be"}


def month_chart(monthly: selectors.Monthly) -> dict[str, Any]:
    """Bars of the points earned, spent and expired per month (a month where more was taken
    back than earned shows below the axis)."""
    series = [("earned", _("Earned"), monthly.earned), ("spent", _("Spent"), monthly.spent),
              ("expired", _("Expired"), monthly.expired)]
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"bottom": 0},
        "grid": {"left": 50, "right": 20, "top": 20, "bottom": 50},
        "xAxis": {"type": "category", "data": [f"{m:%Y-%m}" for m in monthly.months]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [{"type": "bar", "name": label, "barMaxWidth": 24,
                    "itemStyle": {"color": COLOURS[code]}, "data": values}
                   for code, label, values in series],
    }


def _entries(request: HttpRequest, customer: Customer) -> tuple[EntryFilter, EntryTable]:
    filterset = EntryFilter(request.GET or None, queryset=selectors.entries_of(customer))
    table = EntryTable(filterset.qs, link_invoices=user_of(request).has_perm(
        "ledger.view_invoice"))
    RequestConfig(request, paginate={"per_page": settings.CUSTGUARD_PAGE_SIZE}).configure(table)
    return filterset, table


def points_page(request: HttpRequest, customer: Customer, *,
                adjust_form: AdjustForm | None = None) -> HttpResponse:
    """The whole page (also shown again by the adjustment when it is refused)."""
    filterset, table = _entries(request, customer)
    user = user_of(request)
    monthly = selectors.points_by_month(customer, selectors.last_months(clock.today(), MONTHS))
    lots = list(selectors.open_lots(customer)[:LOTS_SHOWN + 1])
    may_adjust = user.has_perm("rewards.adjust_points")
    context: dict[str, Any] = {
        "customer": customer,
        "summary": selectors.summary_of(customer),
        "monthly": monthly,
        "month_chart": month_chart(monthly),
        "lots": lots[:LOTS_SHOWN],
        "more_lots": (selectors.open_lots(customer).count() - LOTS_SHOWN
                      if len(lots) > LOTS_SHOWN else 0),
        "filter": filterset,
        "table": table,
        "may_adjust": may_adjust,
        "adjust_form": adjust_form or (AdjustForm(prefix="adjust") if may_adjust else None),
        "today": clock.today(),
    }
    if user.has_perm("rewards.view_tierstatus"):
        context |= tier_context(customer)
    if user.has_perm("rewards.view_coupon"):
        context |= {"show_coupons": True,
                    "coupons": list(selectors.coupons_of(customer)[:COUPONS_SHOWN])}
    return render(request, "rewards/customer/detail.html", context)


def tier_context(customer: Customer) -> dict[str, Any]:
    """The tier card: the tier, its benefits and the progress per rule to the next tier."""
    card = tier_selectors.card(customer)
    language = get_language() or "zh-hans"
    return {
        "tier_card": card,
        "tier_name": card.tier.name(language) if card.tier else card.code,
        "next_tier_name": card.next_tier.name(language) if card.next_tier else "",
        "progress": [(str(reasons.RULE_LABELS.get(check.rule, check.rule)), check)
                     for check in card.progress],
    }


@login_required
@permission_required("rewards.view_pointsentry", raise_exception=True)
def customer_points(request: HttpRequest, points_code: str) -> HttpResponse:
    """The points page of the customer whose code is `points_code` (the URL's name for it is
    the permission matrix's world key); the entries' filter, sorting and paging ask htmx for
    the entries alone."""
    customer = get_customer_or_404(request, points_code)
    htmx = getattr(request, "htmx", None)
    if wants_partial(request) and htmx is not None and htmx.target == EntryTable.results_id:
        filterset, table = _entries(request, customer)
        return render(request, "rewards/customer/entries.html",
                      {"customer": customer, "filter": filterset, "table": table})
    return points_page(request, customer)
