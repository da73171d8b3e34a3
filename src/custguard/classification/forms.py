"""The classification pages' forms: the filters of the approvals inbox and the reminders, a
decision's note, a reminder's answer and the report's month. Limits are those of the services
(core/limits.py), so the form and the service refuse the same input."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from custguard.classification import selectors
from custguard.classification.models import ClassProposal
from custguard.core import limits
from custguard.core.errors import ValidationFailed
from custguard.core.forms import StyledFormMixin
from custguard.core.models import User
from custguard.customers import selectors as customer_selectors
from custguard.customers.filters import region_filter_choices
from custguard.customers.models import Customer

ALL = "all"


def run_choices() -> list[tuple[str, str]]:
    return [(f"{month:%Y-%m}", f"{month:%Y-%m}")
            for month in selectors.all_runs().values_list("month", flat=True)]


def _month(value: str) -> dt.date | None:
    return selectors.parse_month(value) if value else None


def _search(user: User, text: str) -> QuerySet[Customer] | None:
    text = (text or "").strip()
    if not text:
        return None
    return customer_selectors.search_customers(customer_selectors.customers_for(user), text)


class ProposalFilterForm(StyledFormMixin, forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False)
    run = forms.ChoiceField(label=gettext_lazy("Month"), required=False)
    move = forms.ChoiceField(label=gettext_lazy("Move"), required=False)
    region = forms.ChoiceField(label=gettext_lazy("Region"), required=False)
    customer = forms.CharField(
        label=gettext_lazy("Customer"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("code or name"),
                                      "type": "search"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [  # type: ignore[attr-defined]
            (ClassProposal.Status.PROPOSED, _("Waiting for a decision")),
            (ClassProposal.Status.APPROVED, ClassProposal.Status.APPROVED.label),
            (ClassProposal.Status.REJECTED, ClassProposal.Status.REJECTED.label),
            (ClassProposal.Status.SUPERSEDED, ClassProposal.Status.SUPERSEDED.label),
            (ALL, _("All"))]
        self.fields["run"].choices = [("", _("All")), *run_choices()]  # type: ignore[attr-defined]
        self.fields["move"].choices = [  # type: ignore[attr-defined]
            ("", _("All")), *[(f"{a}-{b}", f"{a} → {b}") for a, b in selectors.MOVES]]
        self.fields["region"].choices = [  # type: ignore[attr-defined]
            ("", _("All")), *region_filter_choices()]

    def apply(self, user: User, qs: QuerySet[ClassProposal]) -> QuerySet[ClassProposal]:
        """The inbox's proposals as filtered; waiting ones unless a status is chosen."""
        if not self.is_valid():
            return qs.none()
        data = self.cleaned_data
        status = data["status"] or ClassProposal.Status.PROPOSED
        from_class, _dash, to_class = (data["move"] or "").partition("-")
        qs = selectors.filter_proposals(qs, selectors.ProposalFilter(
            status="" if status == ALL else status, run=_month(data["run"]),
            from_class=from_class, to_class=to_class, region=data["region"]))
        found = _search(user, data["customer"])
        return qs if found is None else qs.filter(customer__in=found.values("pk"))


class DecisionForm(StyledFormMixin, forms.Form):
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=limits.REASON,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=gettext_lazy("Required to reject."))


class ReminderFilterForm(StyledFormMixin, forms.Form):
    state = forms.ChoiceField(label=gettext_lazy("State"), required=False)
    run = forms.ChoiceField(label=gettext_lazy("Month"), required=False)
    customer = forms.CharField(
        label=gettext_lazy("Customer"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("code or name"),
                                      "type": "search"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [  # type: ignore[attr-defined]
            ("open", _("Not answered")), ("overdue", _("Overdue")),
            ("answered", _("Answered")), (ALL, _("All"))]
        self.fields["run"].choices = [("", _("All")), *run_choices()]  # type: ignore[attr-defined]

    def apply(self, user: User, qs: Any, today: dt.date) -> Any:
        if not self.is_valid():
            return qs.none()
        data = self.cleaned_data
        state = data["state"] or "open"
        qs = selectors.with_state(qs, "" if state == ALL else state, today)
        month = _month(data["run"])
        if month is not None:
            qs = qs.filter(run__month=month)
        found = _search(user, data["customer"])
        return qs if found is None else qs.filter(customer__in=found.values("pk"))


class AnswerForm(StyledFormMixin, forms.Form):
    answer = forms.CharField(label=gettext_lazy("Answer"), max_length=limits.NOTE,
                             widget=forms.Textarea(attrs={"rows": 4}),
                             help_text=gettext_lazy("What is being done about the customer's "
                                                    "fall; it can be given once."))


class MonthForm(StyledFormMixin, forms.Form):
    month = forms.ChoiceField(label=gettext_lazy("Month"), required=False,
                              widget=forms.Select(attrs={"class": "js-autosubmit"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["month"].choices = run_choices()  # type: ignore[attr-defined]

    def chosen(self) -> dt.date | None:
        """The month asked for, else the newest run's (None: no run yet)."""
        if self.is_bound and self.is_valid() and self.cleaned_data["month"]:
            return selectors.parse_month(self.cleaned_data["month"])
        choices = self.fields["month"].choices  # type: ignore[attr-defined]
        return selectors.parse_month(choices[0][0]) if choices else None


class MigrationForm(StyledFormMixin, forms.Form):
    """The ABC migration report's period (months, YYYY-MM) and region."""

    since = forms.CharField(label=gettext_lazy("From month"), required=False, max_length=7,
                            widget=forms.TextInput(attrs={"type": "month"}))
    until = forms.CharField(label=gettext_lazy("To month"), required=False, max_length=7,
                            widget=forms.TextInput(attrs={"type": "month"}))
    region = forms.ChoiceField(label=gettext_lazy("Region"), required=False)

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_since, self.default_until = selectors.default_period(today)
        self.fields["region"].choices = [  # type: ignore[attr-defined]
            ("", _("All")), *region_filter_choices()]

    def _clean_month(self, name: str, default: dt.date) -> dt.date:
        value = self.cleaned_data.get(name) or ""
        if not value:
            return default
        try:
            return selectors.parse_month(value, field=name)
        except ValidationFailed as error:
            raise forms.ValidationError(error.message) from error

    def clean_since(self) -> dt.date:
        return self._clean_month("since", self.default_since)

    def clean_until(self) -> dt.date:
        return self._clean_month("until", self.default_until)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "since" in data and "until" in data:
            try:
                selectors.check_period(data["since"], data["until"])
            except ValidationFailed as error:
                self.add_error(error.field or None, error.message)
        return data

    def period(self) -> tuple[dt.date, dt.date, str]:
        """The period asked for (the last twelve months when nothing is asked)."""
        if not self.is_bound:
            return self.default_since, self.default_until, ""
        data = self.cleaned_data
        return data["since"], data["until"], data.get("region") or ""
