"""Notices to customers (/conduct/notices/): the queue of notices awaiting the customer's
response (overdue ones first and marked), filtered, sorted, paged and exported; a notice's page
with the letter as we sent it, its PDF, the delivery status, "send the e-mail again" once an
address is on file, the customer's response (or the form to record it) and its history.
The writes are conduct.services.notices."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from custguard.conduct.labels import measure_labels
from custguard.conduct.models import Notice
from custguard.conduct.services import notices
from custguard.conduct.services.common import MAX_REASON, today
from custguard.conduct.views.blacklist import history
from custguard.core import exports
from custguard.core.errors import DomainError
from custguard.core.forms import StyledFormMixin
from custguard.core.models import User
from custguard.core.tables import list_page
from custguard.credit.views.reviews import BaseTable, actor, customer_link, local_time, user_of
from custguard.customers import selectors
from custguard.customers.views.common import mask_email

Delivery = Notice.Delivery
AWAITING, OVERDUE, RESPONDED, ALL = "awaiting", "overdue", "responded", "all"
DELIVERY_BADGES = {Delivery.PENDING: "bg-azure-lt", Delivery.SENT: "bg-green-lt",
                   Delivery.FAILED: "bg-red-lt", Delivery.NO_ADDRESS: "bg-yellow-lt"}


def visible_notices(user: User) -> QuerySet[Notice]:
    """Notices of the customers the user may see."""
    qs = Notice.objects.select_related("customer", "penalty", "penalty__case").defer("body_html")
    if selectors.sees_all_customers(user):
        return qs
    return qs.filter(customer__in=selectors.customers_for(user).values("pk"))


def notice_or_404(request: HttpRequest, pk: int) -> Notice:
    notice = visible_notices(user_of(request)).defer(None).filter(pk=pk).first()
    if notice is None:
        raise Http404
    return notice


def delivery_badge(notice: Notice) -> SafeString:
    return format_html('<span class="badge {}" data-delivery="{}">{}</span>',
                       DELIVERY_BADGES.get(notice.delivery, "bg-secondary-lt"),  # type: ignore[call-overload]
                       notice.delivery, notice.get_delivery_display())


def response_badge(notice: Notice, on: dt.date) -> SafeString:
    if notice.responded_at is not None:
        if notices.responded_late(notice):
            return format_html('<span class="badge bg-orange-lt" data-response="late">{}</span>',
                               _("Responded late"))
        return format_html('<span class="badge bg-green-lt" data-response="responded">{}</span>',
                           _("Responded"))
    if notices.is_overdue(notice, on):
        days = (on - notice.response_due_on).days
        return format_html('<span class="badge bg-red" data-response="overdue">{}</span>',
                           _("Overdue by %(days)d day(s)") % {"days": days})
    return format_html('<span class="badge bg-yellow-lt" data-response="awaiting">{}</span>',
                       _("Awaiting response"))


# --- the queue --------------------------------------------------------------------------------


class NoticeFilterForm(StyledFormMixin, forms.Form):
    state = forms.ChoiceField(label=gettext_lazy("Response"), required=False, choices=[
        (AWAITING, gettext_lazy("Awaiting response")), (OVERDUE, gettext_lazy("Overdue")),
        (RESPONDED, gettext_lazy("Responded")), (ALL, gettext_lazy("All"))])
    delivery = forms.ChoiceField(label=gettext_lazy("Delivery"), required=False,
                                 choices=[("", gettext_lazy("All")), *Delivery.choices])
    customer = forms.CharField(
        label=gettext_lazy("Customer"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("code or name"),
                                      "type": "search"}))


def filter_notices(request: HttpRequest, user: User) -> tuple[NoticeFilterForm, QuerySet[Notice]]:
    """Without filters, the queue shows the notices still awaiting a response."""
    data = request.GET.copy()
    if not data.get("state"):
        data["state"] = AWAITING
    form = NoticeFilterForm(data)
    qs = visible_notices(user)
    if not form.is_valid():
        return form, qs.none()
    values = form.cleaned_data
    state = values["state"]
    if state == AWAITING:
        qs = qs.filter(responded_at__isnull=True)
    elif state == OVERDUE:
        qs = qs.filter(responded_at__isnull=True, response_due_on__lt=today())
    elif state == RESPONDED:
        qs = qs.filter(responded_at__isnull=False)
    if values["delivery"]:
        qs = qs.filter(delivery=values["delivery"])
    text = values["customer"].strip()
    if text:
        found = selectors.search_customers(selectors.customers_for(user), text)
        qs = qs.filter(customer__in=found.values("pk"))
    return form, qs


def _row_attrs(record: Notice) -> str:
    return "table-danger" if notices.is_overdue(record) else ""


class NoticeTable(BaseTable):
    results_id = "notice-results"
    reference = tables.Column(verbose_name=gettext_lazy("Reference"),
                              order_by=("reference",))
    customer = tables.Column(verbose_name=gettext_lazy("Customer"), empty_values=(),
                             order_by=("customer__code", "pk"))
    measures = tables.Column(verbose_name=gettext_lazy("Measures"), empty_values=(),
                             orderable=False, accessor="penalty__measures")
    created_at = tables.Column(verbose_name=gettext_lazy("Issued"),
                               order_by=("-created_at", "-pk"),
                               attrs={"td": {"class": "text-nowrap"}})
    delivery = tables.Column(verbose_name=gettext_lazy("Delivery"), empty_values=(),
                             order_by=("delivery", "pk"))
    response_due_on = tables.Column(verbose_name=gettext_lazy("Respond by"),
                                    order_by=("response_due_on", "pk"),
                                    attrs={"td": {"class": "text-nowrap"}})
    appeal_deadline = tables.Column(verbose_name=gettext_lazy("Appeal by"),
                                    order_by=("appeal_deadline", "pk"),
                                    attrs={"td": {"class": "text-nowrap"}})
    response = tables.Column(verbose_name=gettext_lazy("Response"), empty_values=(),
                             order_by=("responded_at", "pk"))
    action = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta(BaseTable.Meta):
        order_by = "response_due_on"  # the most urgent first
        empty_text = gettext_lazy("No notices match.")
        attrs = {"class": "table table-vcenter card-table", "data-testid": "notice-table"}
        row_attrs = {"data-notice": lambda record: record.pk, "class": _row_attrs}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today()

    def render_reference(self, record: Notice) -> SafeString:
        return format_html('<a class="font-monospace" href="{}">{}</a>',
                           reverse("conduct:notice_detail", args=[record.pk]), record.reference)

    def render_customer(self, record: Notice) -> SafeString:
        return customer_link(record.customer)

    def render_measures(self, record: Notice) -> str:
        return ", ".join(measure_labels(record.penalty.measures))

    def render_created_at(self, value: dt.datetime) -> str:
        return local_time(value)

    def render_delivery(self, record: Notice) -> SafeString:
        return delivery_badge(record)

    def render_response_due_on(self, value: dt.date) -> str:
        return value.isoformat()

    def render_appeal_deadline(self, value: dt.date) -> str:
        return value.isoformat()

    def render_response(self, record: Notice) -> SafeString:
        return response_badge(record, self.today)

    def render_action(self, record: Notice) -> SafeString:
        return format_html('<a class="btn btn-sm" href="{}">{}</a>',
                           reverse("conduct:notice_detail", args=[record.pk]),
                           pgettext("action", "Open"))


@login_required
@permission_required("conduct.view_notice", raise_exception=True)
def notice_list(request: HttpRequest) -> HttpResponse:
    form, qs = filter_notices(request, user_of(request))
    table = NoticeTable(qs)
    overdue = visible_notices(user_of(request)).filter(responded_at__isnull=True,
                                                       response_due_on__lt=today()).count()
    return list_page(request, table, {"form": form, "overdue": overdue},
                     page="conduct/notices/notice_list.html",
                     results="conduct/notices/notice_results.html")


EXPORT_HEADERS = [
    gettext_lazy("reference"), gettext_lazy("customer code"), gettext_lazy("customer"),
    gettext_lazy("ladder step"), gettext_lazy("measures"), gettext_lazy("language"),
    gettext_lazy("issued at"), gettext_lazy("delivery"), gettext_lazy("delivered at"),
    gettext_lazy("respond by"), gettext_lazy("appeal by"), gettext_lazy("overdue"),
    gettext_lazy("responded at"), gettext_lazy("response"),
    gettext_lazy("response recorded by"),
]


def _export_rows(rows: Iterator[Notice]) -> Iterator[list[object]]:
    day = today()
    for n in rows:
        yield [
            n.reference, n.customer.code, n.customer.name, n.penalty.step_code,
            ", ".join(measure_labels(n.penalty.measures)), n.language, n.created_at,
            n.get_delivery_display(), n.delivered_at, n.response_due_on, n.appeal_deadline,
            notices.is_overdue(n, day), n.responded_at, n.response, n.response_recorded_by,
        ]


@login_required
@permission_required("conduct.view_notice", raise_exception=True)
def notice_export(request: HttpRequest) -> HttpResponse:
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    user = user_of(request)
    _form, qs = filter_notices(request, user)
    table = NoticeTable(qs)
    RequestConfig(request, paginate=False).configure(table)
    return exports.export_response(
        "notices", [str(h) for h in EXPORT_HEADERS],
        _export_rows(table.data.data.iterator(chunk_size=500)), fmt)


# --- one notice -------------------------------------------------------------------------------


class ResponseForm(StyledFormMixin, forms.Form):
    response = forms.CharField(label=gettext_lazy("The customer's response"),
                               max_length=MAX_REASON, widget=forms.Textarea(attrs={"rows": 4}))
    responded_at = forms.DateTimeField(
        label=gettext_lazy("Received at"), required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                   format="%Y-%m-%dT%H:%M"),
        help_text=gettext_lazy("When the response reached us; leave empty for now."))


def _detail(request: HttpRequest, notice: Notice, *,
            response_form: ResponseForm | None = None, status: int = 200) -> HttpResponse:
    user = user_of(request)
    recipient, _name = notices.recipient_of(notice.penalty)
    show_pii = selectors.sees_pii(user)
    can_respond = user.has_perm("conduct.record_response") and notice.responded_at is None
    can_resend = (user.has_perm("conduct.record_response")
                  and notice.delivery in (Delivery.FAILED, Delivery.NO_ADDRESS))
    return render(request, "conduct/notices/notice_detail.html", {
        "notice": notice,
        "customer": notice.customer,
        "penalty": notice.penalty,
        "measures": measure_labels(notice.penalty.measures),
        # Our own rendering of the letter, stored when the notice was issued: safe to show.
        "letter": mark_safe(notices.letter_fragment(notice.body_html)),  # noqa: S308
        "delivery": delivery_badge(notice),
        "response_state": response_badge(notice, today()),
        "recipient": notice.recipient if show_pii else mask_email(notice.recipient),
        "address_now": (recipient if show_pii else mask_email(recipient)) if recipient else "",
        "can_respond": can_respond,
        "can_resend": can_resend,
        "response_form": response_form or ResponseForm(prefix="response"),
        "history": history("conduct.notice", notice.pk),
        "late": notices.responded_late(notice),
    }, status=status)


@login_required
@permission_required("conduct.view_notice", raise_exception=True)
def notice_detail(request: HttpRequest, notice_id: int) -> HttpResponse:
    return _detail(request, notice_or_404(request, notice_id))


@login_required
@permission_required("conduct.view_notice", raise_exception=True)
def notice_pdf(request: HttpRequest, notice_id: int) -> FileResponse:
    """The PDF letter, streamed to whoever may see the customer (never served from MEDIA)."""
    notice = notice_or_404(request, notice_id)
    if not notice.pdf:
        raise Http404
    try:
        stream = notice.pdf.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(stream, as_attachment=True, filename=f"{notice.reference}.pdf",
                            content_type="application/pdf")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
@permission_required("conduct.record_response", raise_exception=True)
def notice_response(request: HttpRequest, notice_id: int) -> HttpResponse:
    notice = notice_or_404(request, notice_id)
    form = ResponseForm(request.POST, prefix="response")
    if form.is_valid():
        try:
            notices.record_response(actor(request), notice,
                                    response=form.cleaned_data["response"],
                                    responded_at=form.cleaned_data["responded_at"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("The customer's response to %(ref)s is recorded.") % {
                "ref": notice.reference})
            return redirect("conduct:notice_detail", notice_id=notice.pk)
    notice.refresh_from_db()
    return _detail(request, notice, response_form=form)


@login_required
@require_POST
@permission_required("conduct.record_response", raise_exception=True)
def notice_resend(request: HttpRequest, unsent_notice_id: int) -> HttpResponse:
    notice = notice_or_404(request, unsent_notice_id)
    try:
        sent = notices.resend(actor(request), notice)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Notice %(ref)s is being sent to %(to)s.") % {
            "ref": sent.reference,
            "to": sent.recipient if selectors.sees_pii(user_of(request))
            else mask_email(sent.recipient)})
    return redirect("conduct:notice_detail", notice_id=notice.pk)

