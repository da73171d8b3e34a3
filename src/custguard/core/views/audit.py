"""The audit log page: filter by actor, action, object, customer and date; export it.

Every entry is shown through `core.selectors.shown_audit_entries`: personal data in its
before/after values is masked for roles without `core.view_pii`."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from custguard.core import exports, pii, selectors
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


EXPORT_HEADERS = [_("sequence"), _("Time"), _("actor kind"), _("Actor"), _("Action"),
                  _("Object type"), _("Object id"), _("Customer code"), _("Before"), _("After"),
                  _("Reason"), _("Hash")]


def _filtered(request: HttpRequest) -> tuple[AuditFilterForm, QuerySet[AuditEntry]]:
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
    return form, qs.order_by("-seq")


def _customer_codes(entries: Iterable[AuditEntry]) -> dict[int, str]:
    return dict(Customer.objects.filter(
        pk__in={e.customer_id for e in entries if e.customer_id}).values_list("pk", "code"))


@login_required
@permission_required("core.view_auditentry", raise_exception=True)
def audit_log(request: HttpRequest) -> HttpResponse:
    form, qs = _filtered(request)
    shown = selectors.shown_audit_entries(Actor.for_user(request.user), qs)  # type: ignore[arg-type]
    page = Paginator(shown, 50).get_page(request.GET.get("page"))  # type: ignore[arg-type]
    customers = _customer_codes(page)
    for entry in page:
        entry.customer_code = customers.get(entry.customer_id)  # type: ignore[attr-defined]
    template = "core/audit_table.html" if request.htmx else "core/audit_log.html"  # type: ignore[attr-defined]
    return render(request, template, {"form": form, "page_obj": page,
                                      "show_pii": shown.show_pii})


@login_required
@permission_required("core.view_auditentry", raise_exception=True)
def audit_export(request: HttpRequest) -> HttpResponse:
    """The log as it is filtered, every page, as CSV or XLSX, PII masked like on the page."""
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    _form, qs = _filtered(request)
    shown = selectors.shown_audit_entries(Actor.for_user(request.user), qs)  # type: ignore[arg-type]
    return exports.export_response("audit-log", [capfirst(str(h)) for h in EXPORT_HEADERS],
                                   _export_rows(shown), fmt)


def _json(values: object) -> str:
    if values is None:
        return ""
    return json.dumps(values, ensure_ascii=False, sort_keys=True, cls=DjangoJSONEncoder)


def _export_rows(entries: Iterable[AuditEntry]) -> Iterator[list[object]]:
    iterator = iter(entries)
    while chunk := list(itertools.islice(iterator, 500)):
        codes = _customer_codes(chunk)
        for e in chunk:
            yield [e.seq, e.at, e.actor_kind, e.actor_label, e.action, e.object_type,
                   e.object_id, codes.get(e.customer_id) if e.customer_id else "",
                   _json(e.before), _json(e.after), e.reason, e.hash]


@login_required
@permission_required("core.view_auditentry", raise_exception=True)
def audit_entry(request: HttpRequest, seq: int) -> HttpResponse:
    actor = Actor.for_user(request.user)  # type: ignore[arg-type]
    entry = selectors.audit_entries_for(actor).filter(seq=seq).first()
    if entry is None:
        raise Http404
    show_pii = pii.sees_pii(actor)
    code = Customer.objects.filter(pk=entry.customer_id).values_list("code", flat=True).first()
    return render(request, "core/audit_entry.html", {
        "entry": selectors.shown_entry(entry, show_pii), "customer_code": code,
        "show_pii": show_pii})
