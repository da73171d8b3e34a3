"""The nightly refresh of due states: invoices fall due without any new fact."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import AuditEntry
from custguard.customers.models import Customer, CustomerGroup, GroupStanding, Standing
from custguard.ledger.tasks import refresh_due_states
from custguard.ledger.tests.conftest import NOW, days
from custguard.ledger.tests.factories import group_standing, invoice, payment, standing

pytestmark = pytest.mark.django_db

D = Decimal
JOB = Actor.job("nightly")


def test_invoices_falling_due_are_counted_overnight(finance: Actor, customer: Customer,
                                                    group: CustomerGroup, policy: Any) -> None:
    member = group.members.exclude(pk=group.parent_id).get()
    invoice(finance, customer, "A", "100.00", issued=days(-10), due=days(2))
    invoice(finance, member, "B", "40.00", issued=days(-10), due=days(5))
    invoice(finance, member, "C", "60.00", issued=days(-10), due=days(20))
    assert standing(customer).overdue_amount == 0
    assert refresh_due_states(JOB) == 0  # nothing changed yet: nothing written
    assert not AuditEntry.objects.filter(action="ledger.refresh_due_states").exists()

    later = days(10)
    with clock.frozen_at(NOW + dt.timedelta(days=10)):
        done: list[int] = []
        assert refresh_due_states(JOB, progress=done.append) == 3  # 2 customers + the group
        assert sum(done) == 2
        assert refresh_due_states(JOB) == 0  # idempotent
    assert later > days(5)
    row = standing(customer)
    assert (row.overdue_amount, row.oldest_open_due_on) == (D("100.00"), days(2))
    assert standing(member).overdue_amount == D("40.00")
    totals = group_standing(member)
    assert (totals.overdue_amount, totals.oldest_open_due_on) == (D("40.00"), days(5))
    entry = AuditEntry.objects.get(action="ledger.refresh_due_states")
    assert entry.after == {"as_of": later.isoformat(), "customers": 2, "groups": 1}
    assert entry.actor_kind == "job"


def test_an_explicit_day_is_honoured(finance: Actor, customer: Customer) -> None:
    invoice(finance, customer, "A", "100.00", issued=days(-10), due=days(2))
    assert refresh_due_states(JOB, today=days(3)) == 1
    assert standing(customer).overdue_amount == D("100.00")
    assert refresh_due_states(JOB, today=days(0)) == 1
    assert standing(customer).overdue_amount == D("0.00")


def test_drift_is_corrected(finance: Actor, customer: Customer, other_customer: Customer,
                            group: CustomerGroup) -> None:
    invoice(finance, customer, "A", "100.00", issued=days(-40), due=days(-10))
    payment(finance, other_customer, "P", "5.00")
    Standing.objects.filter(pk=customer.pk).update(overdue_amount=D("1.00"),
                                                   oldest_open_due_on=days(-99))
    # a customer with nothing open whose row still shows something owed
    Standing.objects.filter(pk=other_customer.pk).update(overdue_amount=D("7.00"),
                                                         oldest_open_due_on=days(-3))
    GroupStanding.objects.filter(pk=group.pk).update(overdue_amount=D("3.00"))
    assert refresh_due_states(JOB) == 3
    assert (standing(customer).overdue_amount, standing(customer).oldest_open_due_on) == (
        D("100.00"), days(-10))
    assert (standing(other_customer).overdue_amount,
            standing(other_customer).oldest_open_due_on) == (D("0.00"), None)
    assert GroupStanding.objects.get(pk=group.pk).overdue_amount == D("0.00")
    assert refresh_due_states(JOB) == 0


def test_the_scheduler_form(finance: Actor, customer: Customer) -> None:
    from custguard.ledger.tasks import refresh_due_states_job

    invoice(finance, customer, "A", "100.00", issued=days(-10), due=days(2))
    with clock.frozen_at(NOW + dt.timedelta(days=5)):
        assert refresh_due_states_job(JOB) == "due state refreshed: 1 standing row(s) changed"
