"""The base of the project's tables: Tabler styling and the htmx refresh of one element, and
the list page that renders one."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_tables2 import RequestConfig

TEMPLATE = "includes/table.html"


class HtmxTable(tables.Table):
    """Sorting and paging links refresh the element `results_id` of the page through htmx
    (the page renders the table inside `<div id="{{ table.results_id }}">`)."""

    results_id = "results"

    class Meta:
        template_name = TEMPLATE
        attrs = {"class": "table table-vcenter card-table table-striped"}


def wants_partial(request: HttpRequest) -> bool:
    """An htmx request for a fragment (not a full page restored from history)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def list_page(request: HttpRequest, table: tables.Table, context: dict[str, Any], *,
              page: str, results: str) -> HttpResponse:
    """`table` sorted and paginated by the request, rendered in the whole `page`, or only in
    its `results` fragment when htmx asks for it (sorting, paging, filtering)."""
    RequestConfig(request, paginate={"per_page": settings.CUSTGUARD_PAGE_SIZE}).configure(table)
    return render(request, results if wants_partial(request) else page,
                  {**context, "table": table})
