"""The review queue (/credit/reviews/): customers due for a credit review, riskiest first, with
filters (grade, region, account manager, overdue only), sorting, paging and export; the review
page of one customer, where a credit manager records a review; and "rescore now".

The writes are credit.services.reviews.record_review and rescore_now. A few helpers here
(tables, money, the customer cell) are shared with the overrides pages."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from custguard.core import clock, exports
from custguard.core.actors import Actor
from custguard.core.errors import DomainError
from custguard.core.forms import StyledFormMixin
from custguard.core.models import User
from custguard.core.services.policies import policy_in_force
from custguard.core.tables import HtmxTable, list_page
from custguard.credit import reasons as reason_text
from custguard.credit.models import CreditOverride, CreditReview
from custguard.credit.services import reviews, scoring
from custguard.customers import selectors
from custguard.customers.filters import region_filter_choices
from custguard.customers.models import Customer, Standing
from custguard.customers.views.common import get_customer_or_404
from custguard.policy import GradeCode

GRADE_BADGES = {"AAA": "bg-green-lt", "AA": "bg-green-lt", "A": "bg-teal-lt", "BBB": "bg-azure-lt",
                "BB": "bg-yellow-lt", "B": "bg-orange-lt", "C": "bg-red-lt", "D": "bg-red"}
TOP_REASONS = 5
HISTORY_ROWS = 10


# --- shared with the overrides pages ----------------------------------------------------------


def user_of(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def actor(request: HttpRequest) -> Actor:
    return Actor.for_user(user_of(request))


def money(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return formats.number_format(value, 2, use_l10n=True, force_grouping=True)


def grade_badge(grade: str) -> SafeString:
    if not grade:
        return format_html('<span class="badge bg-secondary-lt" data-grade="">{}</span>',
                           _("not rated"))
    return format_html('<span class="badge {}" data-grade="{}">{}</span>',
                       GRADE_BADGES.get(grade, "bg-secondary-lt"), grade, grade)


def customer_link(customer: Customer, url_name: str = "customers:detail") -> SafeString:
    return format_html('<a href="{}" class="font-monospace fw-bold">{}</a><div class="small">{}'
                       "</div>", reverse(url_name, args=[customer.code]), customer.code,
                       customer.name)


def local_time(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


def safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


BaseTable = HtmxTable


# --- the queue --------------------------------------------------------------------------------


class ReviewFilterForm(StyledFormMixin, forms.Form):
    q = forms.CharField(label=gettext_lazy("Customer"), required=False, max_length=200,
                        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("code or name"),
                                                      "type": "search"}))
    grade = forms.MultipleChoiceField(
        label=gettext_lazy("Grade"), required=False,
        choices=[(code.value, code.value) for code in GradeCode] + [
            ("-", gettext_lazy("not rated"))],
        widget=forms.SelectMultiple(attrs={"size": 1}))
    region = forms.ChoiceField(label=gettext_lazy("Region"), required=False)
    account_manager = forms.ModelChoiceField(label=gettext_lazy("Account manager"),
                                             required=False, queryset=User.objects.none(),
                                             empty_label=gettext_lazy("All"))
    overdue = forms.BooleanField(label=gettext_lazy("Overdue receivables only"),
                                 required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [  # type: ignore[attr-defined]
            ("", _("All")), *region_filter_choices()]
        if selectors.sees_all_customers(user):
            field: forms.ModelChoiceField = self.fields["account_manager"]  # type: ignore[assignment,type-arg]
            field.queryset = selectors.account_managers()
        else:
            del self.fields["account_manager"]


def filter_queue(form: ReviewFilterForm, qs: QuerySet[Customer]) -> QuerySet[Customer]:
    if not form.is_bound:
        return qs
    if not form.is_valid():
        return qs.none()
    data = form.cleaned_data
    if data["q"]:
        qs = selectors.search_customers(qs, data["q"])
    if data["grade"]:
        grades = [g for g in data["grade"] if g != "-"]
        condition = Q(standing__grade__in=grades)
        if "-" in data["grade"]:
            condition |= Q(standing__grade="")
        qs = qs.filter(condition)
    if data["region"]:
        qs = qs.filter(Q(region__code=data["region"]) | Q(region__parent__code=data["region"]))
    if data.get("account_manager"):
        qs = qs.filter(account_manager=data["account_manager"])
    if data["overdue"]:
        qs = qs.filter(standing__overdue_amount__gt=0)
    return qs


def _standing(customer: Customer) -> Standing | None:
    try:
        return customer.standing
    except Standing.DoesNotExist:
        return None


class ReviewTable(BaseTable):
    results_id = "review-results"
    customer = tables.Column(verbose_name=gettext_lazy("Customer"), empty_values=(),
                             order_by=("code",))
    grade = tables.Column(verbose_name=gettext_lazy("Grade"), empty_values=(),
                          order_by=("-risk", "code"), accessor="standing__grade")
    score = tables.Column(verbose_name=gettext_lazy("Score"), accessor="standing__score",
                          order_by=("standing__score", "code"),
                          attrs={"td": {"class": "text-end"}})
    credit_limit = tables.Column(verbose_name=gettext_lazy("Credit limit"), empty_values=(),
                                 accessor="standing__credit_limit",
                                 order_by=("standing__credit_limit", "code"),
                                 attrs={"td": {"class": "text-end text-nowrap"}})
    overdue_amount = tables.Column(verbose_name=gettext_lazy("Overdue"), empty_values=(),
                                   accessor="standing__overdue_amount",
                                   order_by=("-standing__overdue_amount", "code"),
                                   attrs={"td": {"class": "text-end text-nowrap"}})
    days_past_due = tables.Column(verbose_name=gettext_lazy("Days past due"), empty_values=(),
                                  accessor="standing__oldest_open_due_on",
                                  order_by=("standing__oldest_open_due_on", "code"),
                                  attrs={"td": {"class": "text-end"}})
    next_review_on = tables.Column(verbose_name=gettext_lazy("Review due"), empty_values=(),
                                   accessor="standing__next_review_on",
                                   order_by=("standing__next_review_on", "code"),
                                   attrs={"td": {"class": "text-nowrap"}})
    last_reviewed_at = tables.Column(verbose_name=gettext_lazy("Last reviewed"),
                                     empty_values=(), order_by=("last_reviewed_at", "code"),
                                     attrs={"td": {"class": "text-nowrap"}})
    account_manager = tables.Column(verbose_name=gettext_lazy("Account manager"),
                                    order_by=("account_manager__username", "code"),
                                    default="—")
    region = tables.Column(verbose_name=gettext_lazy("Region"), order_by=("region__code", "code"))
    action = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta(BaseTable.Meta):
        empty_text = gettext_lazy("No customer is due for review.")
        attrs = {"class": "table table-vcenter card-table table-striped",
                 "data-testid": "review-table"}
        row_attrs = {"data-code": lambda record: record.code}

    def __init__(self, *args: Any, can_review: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.can_review = can_review
        self.today = clock.today()

    def render_customer(self, record: Customer) -> SafeString:
        return customer_link(record)

    def render_grade(self, record: Customer) -> SafeString:
        standing = _standing(record)
        return grade_badge(standing.grade if standing else "")

    def render_credit_limit(self, value: Decimal | None) -> str:
        return money(value)

    def render_overdue_amount(self, value: Decimal | None) -> str:
        return money(value) if value else "—"

    def render_days_past_due(self, record: Customer) -> str:
        standing = _standing(record)
        days = standing.days_past_due(self.today) if standing else 0
        return str(days) if days else "—"

    def render_next_review_on(self, record: Customer) -> SafeString:
        standing = _standing(record)
        due = standing.next_review_on if standing else None
        label = due.isoformat() if due else "—"
        if not getattr(record, "ever_reviewed", True):
            return format_html('{} <span class="badge bg-purple-lt">{}</span>', label,
                               _("never reviewed"))
        if due is not None and due < self.today:
            return format_html('<span class="text-danger">{}</span>', label)
        return format_html("{}", label)

    def render_last_reviewed_at(self, value: Any) -> str:
        return local_time(value)

    def render_region(self, record: Customer) -> str:
        return record.region.full_name

    def render_action(self, record: Customer) -> SafeString:
        label = (pgettext("credit review", "Review") if self.can_review
                 else pgettext("action", "Open"))
        return format_html('<a class="btn btn-sm" href="{}">{}</a>',
                           reverse("credit:review", args=[record.code]), label)


def _queue(request: HttpRequest) -> tuple[ReviewFilterForm, QuerySet[Customer]]:
    user = user_of(request)
    form = ReviewFilterForm(request.GET or None, user=user)
    return form, filter_queue(form, reviews.review_queue(user))


@login_required
@permission_required("credit.view_creditreview", raise_exception=True)
def review_list(request: HttpRequest) -> HttpResponse:
    form, qs = _queue(request)
    table = ReviewTable(qs, can_review=user_of(request).has_perm("credit.add_creditreview"))
    return list_page(request, table, {"form": form},
                     page="credit/reviews/review_list.html",
                     results="credit/reviews/review_results.html")


EXPORT_HEADERS = [
    gettext_lazy("code"), gettext_lazy("name"), gettext_lazy("grade"), gettext_lazy("score"),
    gettext_lazy("credit limit"), gettext_lazy("overdue amount"),
    gettext_lazy("days past due"), gettext_lazy("review due"), gettext_lazy("never reviewed"),
    gettext_lazy("last reviewed"), gettext_lazy("account manager"), gettext_lazy("region"),
]


def _export_rows(customers: Iterator[Customer]) -> Iterator[list[object]]:
    today = clock.today()
    for c in customers:
        standing = _standing(c)
        yield [
            c.code, c.name, standing.grade if standing else "",
            standing.score if standing else None,
            standing.credit_limit if standing else None,
            standing.overdue_amount if standing else None,
            standing.days_past_due(today) if standing else None,
            standing.next_review_on if standing else None,
            not getattr(c, "ever_reviewed", True), getattr(c, "last_reviewed_at", None),
            c.account_manager.get_username() if c.account_manager else "",
            c.region.full_name,
        ]


@login_required
@permission_required("credit.view_creditreview", raise_exception=True)
def review_export(request: HttpRequest) -> HttpResponse:
    """The queue as it is filtered and sorted, every page, as CSV or XLSX."""
    fmt = request.GET.get("format", "csv")
    if not exports.is_format(fmt):
        raise Http404
    _form, qs = _queue(request)
    table = ReviewTable(qs)
    RequestConfig(request, paginate=False).configure(table)
    rows = table.data.data  # the table's ordering
    return exports.export_response("review-queue", [str(h) for h in EXPORT_HEADERS],
                                   _export_rows(rows.iterator(chunk_size=500)), fmt)


# --- one customer -----------------------------------------------------------------------------


class ReviewForm(StyledFormMixin, forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Review note"), max_length=reviews.MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("What you looked at and what you concluded. The customer is "
                               "rescored now; the next review date follows from its grade."))


def _review_page(request: HttpRequest, customer: Customer, form: ReviewForm) -> HttpResponse:
    standing = _standing(customer)
    latest = scoring.latest_score(customer.pk)
    try:
        _version, policy = policy_in_force()
    except DomainError:
        policy = None
    top = reason_text.describe_all((latest.reasons or [])[:TOP_REASONS], policy) if latest else []
    limit = reason_text.describe_all(latest.limit_reasons or [], policy) if latest else []
    user = user_of(request)
    return render(request, "credit/reviews/review_detail.html", {
        "customer": customer,
        "standing": standing,
        "days_past_due": standing.days_past_due(clock.today()) if standing else 0,
        "score": latest,
        "reasons": top,
        "limit_reasons": limit,
        "history": CreditReview.objects.filter(customer=customer)
        .select_related("reviewed_by", "score")[:HISTORY_ROWS],
        "overrides": CreditOverride.objects.filter(
            customer=customer, status__in=[CreditOverride.Status.ACTIVE,
                                           CreditOverride.Status.PENDING]),
        "form": form,
        "can_review": user.has_perm("credit.add_creditreview"),
        "can_rescore": user.has_perm("credit.rescore"),
        "can_override": user.has_perm("credit.add_creditoverride"),
    })


@login_required
@permission_required("credit.view_creditreview", raise_exception=True)
def review_detail(request: HttpRequest, review_code: str) -> HttpResponse:
    """GET: the customer's credit file for review. POST (credit.add_creditreview): record it."""
    customer = get_customer_or_404(request, review_code)
    if request.method != "POST":
        return _review_page(request, customer, ReviewForm())
    if not user_of(request).has_perm("credit.add_creditreview"):
        raise PermissionDenied
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            review = reviews.record_review(actor(request), customer,
                                           note=form.cleaned_data["note"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("Review of %(code)s recorded; next review on "
                                        "%(day)s.") % {"code": customer.code,
                                                       "day": review.next_review_on.isoformat()})
            return redirect("credit:reviews")
    return _review_page(request, customer, form)


@login_required
@require_POST
@permission_required("credit.rescore", raise_exception=True)
def rescore(request: HttpRequest, review_code: str) -> HttpResponse:
    customer = get_customer_or_404(request, review_code)
    try:
        score = reviews.rescore_now(actor(request), customer)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(code)s rescored: %(score)s points, grade %(grade)s.") % {
            "code": customer.code, "score": score.score, "grade": score.grade})
    return redirect(safe_next(request, reverse("credit:review", args=[customer.code])))
