"""The base of the project's tables: Tabler styling and the htmx refresh of one element."""

from __future__ import annotations

import django_tables2 as tables

TEMPLATE = "includes/table.html"


class HtmxTable(tables.Table):
    """Sorting and paging links refresh the element `results_id` of the page through htmx
    (the page renders the table inside `<div id="{{ table.results_id }}">`)."""

    results_id = "results"

    class Meta:
        template_name = TEMPLATE
        attrs = {"class": "table table-vcenter card-table table-striped"}
