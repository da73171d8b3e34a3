"""The reminders (/classification/reminders/): class A customers ranked below their share,
for their account managers to answer what is being done about it; filtered by state (not
answered, overdue, answered), month and customer, sorted and paged with htmx; a reminder's page
with the answer form. The write is classification.services.moves.answer_reminder."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from custguard.classification import reasons, selectors
from custguard.classification.forms import AnswerForm, ReminderFilterForm
from custguard.classification.models import ClassReminder
from custguard.classification.services import moves
from custguard.classification.tables import ReminderTable, state_badge
from custguard.core import clock
from custguard.core.errors import DomainError, NotFound
from custguard.core.tables import list_page
from custguard.customers.views.common import actor, user_of


def _reminder_or_404(request: HttpRequest, pk: int) -> ClassReminder:
    try:
        return selectors.reminder_in_scope(user_of(request), pk)
    except NotFound as error:
        raise Http404 from error


@login_required
@permission_required("classification.view_classreminder", raise_exception=True)
def reminder_list(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    today = clock.today()
    form = ReminderFilterForm(request.GET)
    table = ReminderTable(form.apply(user, selectors.reminders_for(user), today), today=today)
    return list_page(request, table, {"form": form},
                     page="classification/reminders/list.html",
                     results="classification/reminders/results.html")


def _detail(request: HttpRequest, reminder: ClassReminder, form: AnswerForm | None = None,
            ) -> HttpResponse:
    user = user_of(request)
    return render(request, "classification/reminders/detail.html", {
        "reminder": reminder,
        "customer": reminder.customer,
        "badge": state_badge(selectors.reminder_state(reminder)),
        "reasons": reasons.describe_all(reminder.reasons),
        "current": selectors.class_of(reminder.customer),
        "can_answer": reminder.answered_at is None
        and user.has_perm("classification.change_classreminder"),
        "form": form or AnswerForm(),
    })


@login_required
@permission_required("classification.view_classreminder", raise_exception=True)
def reminder_detail(request: HttpRequest, reminder_id: int) -> HttpResponse:
    return _detail(request, _reminder_or_404(request, reminder_id))


@login_required
@require_POST
@permission_required("classification.change_classreminder", raise_exception=True)
def reminder_answer(request: HttpRequest, reminder_id: int) -> HttpResponse:
    reminder = _reminder_or_404(request, reminder_id)
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            moves.answer_reminder(actor(request), reminder, answer=form.cleaned_data["answer"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("Your answer about %(code)s %(name)s is recorded.") % {
                "code": reminder.customer.code, "name": reminder.customer.name})
            return redirect("classification:reminders")
    return _detail(request, _reminder_or_404(request, reminder_id), form)
