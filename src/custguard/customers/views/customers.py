"""Customer pages: list (filters, sort, htmx refresh), export, detail, create, edit, contacts."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from custguard.core import exports
from custguard.core import selectors as core_selectors
from custguard.core.errors import DomainError
from custguard.core.tables import list_page
from custguard.customers import selectors, services
from custguard.customers.filters import CustomerFilter
from custguard.customers.forms import ContactForm, CustomerCreateForm, CustomerForm
from custguard.customers.models import Contact, Customer, Standing
from custguard.customers.tables import CustomerTable
from custguard.customers.views.common import (
    actor,
    contact_rows,
    customer_pii,
    get_customer_or_404,
    shown,
    timeline,
    user_of,
)

TIMELINE_LIMIT = 100


def _filtered(request: HttpRequest) -> tuple[CustomerFilter, CustomerTable]:
    user = user_of(request)
    filterset = CustomerFilter(request.GET or None, queryset=selectors.customers_for(user),
                               user=user)
    table = CustomerTable(filterset.qs, show_pii=selectors.sees_pii(user))
    return filterset, table


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_list(request: HttpRequest) -> HttpResponse:
    filterset, table = _filtered(request)
    return list_page(request, table, {"filter": filterset},
                     page="customers/customer_list.html",
                     results="customers/includes/customer_table.html")


EXPORT_HEADERS = [
    gettext_lazy("code"), gettext_lazy("name"), gettext_lazy("kind"),
    gettext_lazy("region code"), gettext_lazy("region"), gettext_lazy("industry"),
    gettext_lazy("scale"), gettext_lazy("account manager"), gettext_lazy("department"),
    gettext_lazy("value tier"), gettext_lazy("status"), gettext_lazy("group"),
    gettext_lazy("phone"), gettext_lazy("ID / credit code"), gettext_lazy("address"),
    gettext_lazy("primary contact"), gettext_lazy("contact phone"),
    gettext_lazy("contact e-mail"), gettext_lazy("created at"),
]


def _export_rows(customers: Iterator[Customer], show_pii: bool) -> Iterator[list[object]]:
    for c in customers:
        contacts = list(c.contacts.all())
        contact = contacts[0] if contacts else None
        yield [
            c.code, c.name, c.get_kind_display(), c.region_id, c.region.full_name,
            c.get_industry_display(), c.get_scale_band_display(),
            c.account_manager.get_username() if c.account_manager else "", c.department,
            c.get_value_tier_display(), c.get_status_display(), c.group.name if c.group else "",
            shown("phone", c.phone, show_pii), shown("id_number", c.id_number, show_pii),
            shown("address", c.address, show_pii), contact.name if contact else "",
            shown("phone", contact.phone, show_pii) if contact else "",
            shown("email", contact.email, show_pii) if contact else "", c.created_at,
        ]


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_export(request: HttpRequest) -> HttpResponse:
    """The list as it is filtered and sorted, every page, as CSV or XLSX."""
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    filterset, table = _filtered(request)
    RequestConfig(request, paginate=False).configure(table)
    customers = table.data.data.prefetch_related("contacts")  # the table's ordering
    headers = [str(label) for label in EXPORT_HEADERS]
    show_pii = selectors.sees_pii(user_of(request))
    return exports.export_response("customers", headers,
                                   _export_rows(customers.iterator(chunk_size=500), show_pii),
                                   fmt)


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_detail(request: HttpRequest, code: str) -> HttpResponse:
    customer = get_customer_or_404(request, code)
    show_pii = selectors.sees_pii(user_of(request))
    try:
        standing: Standing | None = customer.standing
    except Standing.DoesNotExist:
        standing = None
    entries = core_selectors.customer_timeline(customer.pk)[:TIMELINE_LIMIT]
    group = customer.group
    return render(request, "customers/customer_detail.html", {
        "customer": customer,
        "pii": customer_pii(customer, show_pii),
        "contacts": contact_rows(customer.contacts.all(), show_pii),
        "standing": standing,
        "group": group,
        "group_size": group.members.count() if group else 0,
        "timeline": timeline(entries, show_pii),
        "timeline_limit": TIMELINE_LIMIT,
        "show_pii": show_pii,
    })


@login_required
@permission_required("customers.add_customer", raise_exception=True)
def customer_create(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    form = CustomerCreateForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.create_customer(actor(request),
                                                region=form.cleaned_data["region"],
                                                **form.service_fields())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("Customer %(code)s %(name)s created.") % {
                "code": customer.code, "name": customer.name})
            return redirect("customers:detail", code=customer.code)
    return render(request, "customers/customer_form.html", {"form": form, "customer": None})


@login_required
@permission_required("customers.change_customer", raise_exception=True)
def customer_edit(request: HttpRequest, code: str) -> HttpResponse:
    customer = get_customer_or_404(request, code)
    form = CustomerForm(request.POST or None, user=user_of(request), customer=customer)
    if request.method == "POST" and form.is_valid():
        changes = form.changed_service_fields()
        try:
            services.update_customer(actor(request), customer,
                                     reason=form.cleaned_data.get("reason", ""), **changes)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            if changes:
                messages.success(request, _("Customer %(code)s saved.") % {"code": code})
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect("customers:detail", code=code)
    return render(request, "customers/customer_form.html", {"form": form, "customer": customer})


# --- contacts ---------------------------------------------------------------------------------


def _contact_or_404(customer: Customer, contact_id: int) -> Contact:
    contact = customer.contacts.filter(pk=contact_id).first()
    if contact is None:
        raise Http404
    return contact


def _contact_form_page(request: HttpRequest, customer: Customer, form: ContactForm,
                       contact: Contact | None) -> HttpResponse:
    return render(request, "customers/contact_form.html",
                  {"form": form, "customer": customer, "contact": contact})


@login_required
@permission_required("customers.change_customer", raise_exception=True)
def contact_add(request: HttpRequest, code: str) -> HttpResponse:
    customer = get_customer_or_404(request, code)
    form = ContactForm(request.POST or None, user=user_of(request))
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.add_contact(actor(request), customer, **form.cleaned_data)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("Contact %(name)s added.") % {"name": contact.name})
            return redirect("customers:detail", code=code)
    return _contact_form_page(request, customer, form, None)


@login_required
@permission_required("customers.change_customer", raise_exception=True)
def contact_edit(request: HttpRequest, code: str, contact_id: int) -> HttpResponse:
    customer = get_customer_or_404(request, code)
    contact = _contact_or_404(customer, contact_id)
    form = ContactForm(request.POST or None, user=user_of(request), contact=contact)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_contact(actor(request), contact, **{
                name: form.cleaned_data[name] for name in form.changed_data})
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("Contact %(name)s saved.") % {
                "name": form.cleaned_data["name"]})
            return redirect("customers:detail", code=code)
    return _contact_form_page(request, customer, form, contact)


@login_required
@permission_required("customers.change_customer", raise_exception=True)
@require_POST
def contact_delete(request: HttpRequest, code: str, contact_id: int) -> HttpResponse:
    customer = get_customer_or_404(request, code)
    contact = _contact_or_404(customer, contact_id)
    try:
        services.remove_contact(actor(request), contact)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Contact %(name)s removed.") % {"name": contact.name})
    return redirect("customers:detail", code=code)
