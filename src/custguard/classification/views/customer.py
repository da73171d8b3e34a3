"""A customer's class page (/classification/customers/<code>/): the class now and since when,
the move waiting for a decision, the history of every change with its reasons, and the
reminders its account manager was sent. The customer page links here with a small card
(classification/includes/class_card.html)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from custguard.classification import selectors
from custguard.classification.tables import move_html, reasons_html, state_badge
from custguard.core import clock
from custguard.customers.views.common import get_customer_or_404

HISTORY_ROWS = 120  # ten years of monthly runs


@login_required
@permission_required("classification.view_classchange", raise_exception=True)
def customer_class(request: HttpRequest, customer_code: str) -> HttpResponse:
    customer = get_customer_or_404(request, customer_code)
    today = clock.today()
    history = selectors.history_of(customer)[:HISTORY_ROWS]
    reminders = selectors.reminders_of(customer)
    pending = selectors.open_proposal_of(customer)
    return render(request, "classification/customer.html", {
        "customer": customer,
        "current": selectors.class_of(customer),
        "pending": pending,
        "pending_move": move_html(pending.from_class, pending.to_class) if pending else "",
        "history": [(change, move_html(change.from_class, change.to_class),
                     reasons_html(change.reasons)) for change in history],
        "reminders": [(reminder, state_badge(selectors.reminder_state(reminder, today)),
                       reasons_html(reminder.reasons)) for reminder in reminders],
    })
