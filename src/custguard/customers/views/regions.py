"""The region code table, read-only: search by code or name, filter by parent."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from custguard.core.tables import wants_partial
from custguard.customers import selectors
from custguard.customers.forms import RegionFilterForm


@login_required
@permission_required("customers.view_region", raise_exception=True)
def region_list(request: HttpRequest) -> HttpResponse:
    form = RegionFilterForm(request.GET or None)
    qs = selectors.regions().annotate(child_count=Count("children"))
    if form.is_valid():
        q = form.cleaned_data["q"].strip()
        parent = form.cleaned_data["parent"]
        if q:
            qs = qs.filter(Q(code__startswith=q) | Q(name__icontains=q))
        if parent == RegionFilterForm.TOP_LEVEL:
            qs = qs.filter(parent__isnull=True)
        elif parent:
            qs = qs.filter(Q(parent_id=parent) | Q(pk=parent))
    page = Paginator(qs.order_by("code"), settings.CUSTGUARD_PAGE_SIZE).get_page(
        request.GET.get("page"))
    context = {"form": form, "page_obj": page}
    if wants_partial(request):
        return render(request, "customers/includes/region_table.html", context)
    return render(request, "customers/region_list.html", context)
