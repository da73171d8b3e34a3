"""The audit log page: filter by actor, action, object, customer and date."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from custguard.core import selectors
from custguard.core.actors import Actor
from custguard.core.forms import StyledFormMixin
from custguard.core.models import AuditEntry
from custguard.customers.models import Customer


class AuditFilterForm(StyledFormMixin, forms.Form):
    actor = forms.CharField(label=_("Actor"), required=False)
    action = forms.ChoiceField(label=_("Action"), required=False)
    object_type = forms.ChoiceField(label=_("Object type"), required=False)
    object_id = forms.CharField(label=_("Object id"), required=False)
    customer = forms.CharField(label=_("Customer code"), required=False, max_length=9)
    date_from = forms.DateField(label=_("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        blank = [("", _("All"))]
        self.fields["action"].choices = blank + [(a, a) for a in selectors.audit_actions()]
        self.fields["object_type"].choices = blank + [
            (t, t) for t in selectors.audit_object_types()]

    def clean_customer(self) -> int | None:
        code = self.cleaned_data["customer"].strip()
        if not code:
            return None
        customer_id = Customer.objects.filter(code=code).values_list("pk", flat=True).first()
        if customer_id is None:
            raise forms.ValidationError(_("No customer has the code %(code)s."),
                                        params={"code": code})
        return int(customer_id)


@login_required
@permission_required("core.view_auditentry", raise_exception=True)
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    qs = selectors.audit_entries_for(Actor.for_user(request.user))  # type: ignore[arg-type]
    if form.is_valid():
        data = form.cleaned_data
        qs = selectors.filter_audit(
            qs, actor=data["actor"], action=data["action"], object_type=data["object_type"],
            object_id=data["object_id"], customer_id=data["customer"],
            date_from=data["date_from"], date_to=data["date_to"])
    elif form.is_bound:
        qs = qs.none()
    page = Paginator(qs.order_by("-seq"), 50).get_page(request.GET.get("page"))
    customers = dict(Customer.objects.filter(
        pk__in={e.customer_id for e in page if e.customer_id}).values_list("pk", "code"))
    for entry in page:
        entry.customer_code = customers.get(entry.customer_id)  # type: ignore[attr-defined]
    template = "core/audit_table.html" if request.htmx else "core/audit_log.html"  # type: ignore[attr-defined]
    return render(request, template, {"form": form, "page_obj": page})


@login_required
@permission_required("core.view_auditentry", raise_exception=True)
def audit_entry(request: HttpRequest, seq: int) -> HttpResponse:
    entry = AuditEntry.objects.filter(seq=seq).first()
    if entry is None:
        raise Http404
    code = Customer.objects.filter(pk=entry.customer_id).values_list("code", flat=True).first()
    return render(request, "core/audit_entry.html", {"entry": entry, "customer_code": code})
