"""Importing customers from a CSV or XLSX file: upload, dry run, row-level problem report."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from custguard.core import exports
from custguard.core.errors import DomainError
from custguard.customers.forms import ImportForm, max_import_rows
from custguard.customers.models import (
    CustomerKind,
    CustomerStatus,
    Industry,
    ScaleBand,
    ValueTier,
)
from custguard.customers.views.common import actor

TEMPLATE_COLUMNS = ["name", "kind", "region", "industry", "scale_band", "account_manager",
                    "department", "value_tier", "status", "phone", "id_number", "address",
                    "notes", "contact_name", "contact_role", "contact_phone", "contact_email"]
CREATED_LINKS = 50


def _column_help() -> list[tuple[str, bool, str]]:
    """(column, required, what it holds) for the page's reference table."""
    def codes(choices: list[tuple[str, Any]]) -> str:
        return ", ".join(f"{code} ({label})" for code, label in choices)
    return [
        ("name", True, str(_("Customer name"))),
        ("kind", True, codes(CustomerKind.choices)),
        ("region", True, str(_("6-digit region code (see the region table); the customer code "
                               "is assigned from it"))),
        ("industry", False, codes(Industry.choices)),
        ("scale_band", False, codes(ScaleBand.choices)),
        ("account_manager", False, str(_("Username of the account manager"))),
        ("department", False, ""),
        ("value_tier", False, codes(ValueTier.choices)),
        ("status", False, codes(CustomerStatus.choices)),
        ("phone", False, ""), ("id_number", False, str(_("Unified social credit code or ID "
                                                          "card number"))),
        ("address", False, ""), ("notes", False, ""),
        ("contact_name", False, str(_("Optional first contact"))), ("contact_role", False, ""),
        ("contact_phone", False, ""), ("contact_email", False, ""),
    ]


@login_required
@permission_required("customers.import_customers", raise_exception=True)
def customer_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        # Imported here so the rest of the UI does not depend on the importer's dependencies.
        from custguard.customers.importing import import_customers

        upload = form.cleaned_data["file"]
        try:
            result = import_customers(actor(request), upload.file, upload.name,
                                      dry_run=form.cleaned_data["dry_run"],
                                      max_rows=max_import_rows())
        except DomainError as error:
            form.add_domain_error(error)
    return render(request, "customers/import.html", {
        "form": form,
        "failed": request.method == "POST" and bool(form.errors),
        "result": result,
        "created_links": result.created[:CREATED_LINKS] if result else [],
        "created_more": max(0, len(result.created) - CREATED_LINKS) if result else 0,
        "max_rows": max_import_rows(),
        "columns": _column_help(),
    })


@login_required
@permission_required("customers.import_customers", raise_exception=True)
def import_template(request: HttpRequest) -> HttpResponse:
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    return exports.export_response("customer-import-template", TEMPLATE_COLUMNS, [], fmt)
