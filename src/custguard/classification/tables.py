"""The classification pages' tables (django-tables2, refreshed by htmx: core/tables.py) and the
small pieces of HTML they share with the pages: a class badge, a move, reasons as sentences."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy

from custguard.classification import reasons, selectors
from custguard.classification.models import ClassProposal, ClassReminder
from custguard.core.tables import HtmxTable
from custguard.credit.views.reviews import customer_link, local_time

CLASS_BADGES = {"A": "bg-green", "B": "bg-azure", "C": "bg-secondary"}
STATUS_BADGES = {"proposed": "bg-yellow-lt", "approved": "bg-green-lt",
                 "rejected": "bg-red-lt", "superseded": "bg-secondary-lt"}
STATE_BADGES = {"open": "bg-yellow-lt", "overdue": "bg-red", "answered": "bg-green-lt"}


def class_badge(abc: str | None) -> SafeString:
    if not abc:
        return format_html('<span class="badge bg-secondary-lt" data-class="">{}</span>',
                           _("not classified"))
    return format_html('<span class="badge {} fs-4" data-class="{}">{}</span>',
                       CLASS_BADGES.get(abc, "bg-secondary"), abc, abc)


def move_html(from_class: str, to_class: str) -> SafeString:
    return format_html('<span class="text-nowrap" data-move="{}-{}">{} → {}</span>',
                       from_class or "-", to_class, class_badge(from_class) if from_class
                       else "—", class_badge(to_class))


def reasons_html(stored: Iterable[Mapping[str, Any]]) -> SafeString:
    return format_html_join("", '<div class="small" data-reason="{}">{}</div>',
                            ((item.code, item.text) for item in reasons.describe_all(stored)))


def status_badge(proposal: ClassProposal) -> SafeString:
    return format_html('<span class="badge {}" data-status="{}">{}</span>',
                       STATUS_BADGES.get(proposal.status, "bg-secondary-lt"), proposal.status,
                       proposal.get_status_display())


STATE_LABELS = {"open": gettext_lazy("Not answered"), "overdue": gettext_lazy("Overdue"),
                "answered": gettext_lazy("Answered")}


def state_badge(state: str) -> SafeString:
    return format_html('<span class="badge {}" data-state="{}">{}</span>',
                       STATE_BADGES.get(state, "bg-secondary-lt"), state,
                       STATE_LABELS.get(state, state))


class ProposalTable(HtmxTable):
    results_id = "proposal-results"
    select = tables.CheckBoxColumn(accessor="pk", attrs={
        "input": {"form": "bulk-approve", "name": "proposal", "data-testid": "select"},
        "th__input": {"form": "bulk-approve", "data-select-all": "proposal",
                      "aria-label": gettext_lazy("Select all")}})
    customer = tables.Column(verbose_name=gettext_lazy("Customer"), empty_values=(),
                             order_by=("customer__code", "pk"))
    region = tables.Column(verbose_name=gettext_lazy("Region"), accessor="customer__region",
                           order_by=("customer__region__code", "pk"))
    move = tables.Column(verbose_name=gettext_lazy("Move"), empty_values=(),
                         order_by=("from_class", "to_class", "pk"))
    run = tables.Column(verbose_name=gettext_lazy("Month"), accessor="run__month",
                        order_by=("run__month", "pk"))
    score = tables.Column(verbose_name=pgettext_lazy("class ranking", "Score"),
                          order_by=("score", "pk"), attrs={"td": {"class": "text-end"}})
    why = tables.Column(verbose_name=gettext_lazy("Why"), empty_values=(), orderable=False)
    status = tables.Column(verbose_name=gettext_lazy("Status"), order_by=("status", "pk"))
    proposed = tables.Column(verbose_name=gettext_lazy("Proposed"), accessor="proposed_at",
                             order_by=("-proposed_at", "-pk"),
                             attrs={"td": {"class": "text-nowrap"}})
    action = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta(HtmxTable.Meta):
        order_by = "proposed"
        empty_text = gettext_lazy("No proposals match.")
        attrs = {"class": "table table-vcenter card-table table-striped",
                 "data-testid": "proposal-table"}
        row_attrs = {"data-proposal": lambda record: record.pk,
                     "data-status": lambda record: record.status}

    def render_customer(self, record: ClassProposal) -> SafeString:
        return customer_link(record.customer, "classification:customer")

    def render_region(self, record: ClassProposal) -> SafeString:
        region = record.customer.region
        return format_html('<span title="{}">{}</span>', region.code, region.full_name)

    def render_move(self, record: ClassProposal) -> SafeString:
        return move_html(record.from_class, record.to_class)

    def render_run(self, value: dt.date) -> str:
        return f"{value:%Y-%m}"

    def render_why(self, record: ClassProposal) -> SafeString:
        return reasons_html(record.reasons)

    def render_status(self, record: ClassProposal) -> SafeString:
        return status_badge(record)

    def render_proposed(self, record: ClassProposal) -> SafeString:
        decided = ""
        if record.decided_at is not None:
            decided = format_html('<div class="small text-secondary">{} {}</div>',
                                  local_time(record.decided_at),
                                  record.decided_by.get_username()
                                  if record.decided_by else "")
        return format_html("{}{}", local_time(record.proposed_at), decided)

    def render_action(self, record: ClassProposal) -> SafeString:
        return format_html('<a class="btn btn-sm" href="{}">{}</a>',
                           reverse("classification:proposal", args=[record.pk]),
                           pgettext("action", "Open"))


class ReminderTable(HtmxTable):
    results_id = "reminder-results"
    customer = tables.Column(verbose_name=gettext_lazy("Customer"), empty_values=(),
                             order_by=("customer__code", "pk"))
    account_manager = tables.Column(verbose_name=gettext_lazy("Account manager"),
                                    accessor="customer__account_manager",
                                    order_by=("customer__account_manager__username", "pk"))
    run = tables.Column(verbose_name=gettext_lazy("Month"), accessor="run__month",
                        order_by=("run__month", "pk"))
    why = tables.Column(verbose_name=gettext_lazy("Why"), empty_values=(), orderable=False)
    respond_by = tables.DateColumn(verbose_name=gettext_lazy("Answer by"), format="Y-m-d",
                                   order_by=("respond_by", "pk"))
    state = tables.Column(verbose_name=gettext_lazy("State"), empty_values=(),
                          order_by=("answered_at", "respond_by", "pk"))
    answer = tables.Column(verbose_name=gettext_lazy("Answer"), orderable=False)
    action = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta(HtmxTable.Meta):
        order_by = "respond_by"
        empty_text = gettext_lazy("No reminders match.")
        attrs = {"class": "table table-vcenter card-table table-striped",
                 "data-testid": "reminder-table"}
        row_attrs = {"data-reminder": lambda record: record.pk}

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def render_customer(self, record: ClassReminder) -> SafeString:
        return customer_link(record.customer, "classification:customer")

    def render_run(self, value: dt.date) -> str:
        return f"{value:%Y-%m}"

    def render_why(self, record: ClassReminder) -> SafeString:
        return reasons_html(record.reasons)

    def render_state(self, record: ClassReminder) -> SafeString:
        return state_badge(selectors.reminder_state(record, self.today))

    def render_answer(self, record: ClassReminder) -> SafeString:
        if not record.answer:
            return format_html("{}", "—")
        return format_html('{}<div class="small text-secondary">{} {}</div>', record.answer,
                           local_time(record.answered_at), record.answered_by)

    def render_action(self, record: ClassReminder) -> SafeString:
        label = pgettext("action", "Open") if record.answered_at else _("Answer")
        return format_html('<a class="btn btn-sm" href="{}" data-testid="reminder-open">{}</a>',
                           reverse("classification:reminder", args=[record.pk]), label)
