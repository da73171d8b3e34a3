"""Importing orders, invoices or payments from a CSV or XLSX file: upload, dry run, row-level
problem report, and a template per kind."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from custguard.core import exports
from custguard.core.errors import DomainError
from custguard.customers.forms import max_import_rows
from custguard.customers.views.common import actor
from custguard.ledger.forms import FactImportForm
from custguard.ledger.importing import COLUMNS, KIND_LABELS, import_facts

SHOWN = 50


@login_required
@permission_required("ledger.import_facts", raise_exception=True)
def fact_import(request: HttpRequest) -> HttpResponse:
    initial_kind = request.GET.get("kind", "invoices")
    form = FactImportForm(request.POST or None, request.FILES or None,
                          initial={"kind": initial_kind if initial_kind in COLUMNS
                                   else "invoices"})
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = import_facts(actor(request), form.cleaned_data["kind"], upload.read(),
                                  upload.name, dry_run=form.cleaned_data["dry_run"],
                                  source=form.cleaned_data["source"],
                                  max_rows=max_import_rows())
        except DomainError as error:
            form.add_domain_error(error)
    return render(request, "ledger/import.html", {
        "form": form,
        "failed": request.method == "POST" and bool(form.errors),
        "result": result,
        "result_kind": KIND_LABELS[result.kind] if result else "",
        "created_shown": result.created[:SHOWN] if result else [],
        "created_more": max(0, len(result.created) - SHOWN) if result else 0,
        "max_rows": max_import_rows(),
        "kinds": [(kind, KIND_LABELS[kind], [(c.name, c.required, str(c.help))
                                              for c in columns])
                  for kind, columns in COLUMNS.items()],
    })


@login_required
@permission_required("ledger.import_facts", raise_exception=True)
def import_template(request: HttpRequest) -> HttpResponse:
    fmt = request.GET.get("format", "csv")
    kind = request.GET.get("kind", "invoices")
    if not exports.is_format(fmt) or kind not in COLUMNS:
        raise Http404
    return exports.export_response(f"{kind}-import-template",
                                   [c.name for c in COLUMNS[kind]], [], fmt)
