"""The monthly ABC run through the ledger's own facts: initial classes by rank, classes by rule
and for new customers, a reminder before a downgrade is proposed, upgrades that need growth,
approvals, re-runs that change nothing, and the close with its report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from custguard.classification.models import (
    ClassChange,
    ClassificationRun,
    ClassProposal,
    ClassReminder,
    CustomerClass,
)
from custguard.classification.services import moves, runs
from custguard.classification.tests.conftest import new_customer, sell
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.customers.models import Customer
from custguard.ledger.tests.conftest import NOW, TODAY

pytestmark = pytest.mark.django_db

JOB = Actor.job("classification.monthly_run")


def classes(customers: list[Customer]) -> str:
    found = dict(CustomerClass.objects.values_list("customer_id", "abc"))
    return "".join(found.get(c.pk, "-") for c in customers)


def month_later(months: int) -> Any:
    return clock.frozen_at(NOW + dt.timedelta(days=31 * months))


def test_the_first_run_ranks_each_province_into_a_b_and_c(province: list[Customer]) -> None:
    result = runs.run_month(JOB)
    # Ten customers: the top 20 % (2) A, the next 50 % (5) B, the last 3 C.
    assert classes(province) == "CCCBBBBBAA"
    assert result.assigned == 10 and result.proposed == 0
    top = ClassChange.objects.get(customer=province[-1])
    assert top.kind == ClassChange.Kind.INITIAL
    assert [r["code"] for r in top.reasons] == ["CLASS_INITIAL", "CLASS_RANKED_A"]
    assert top.reasons[1]["params"]["position"] == 1
    assert top.reasons[1]["params"]["of"] == 10
    assert AuditEntry.objects.filter(action="classification.assign").count() == 1


def test_retail_and_new_customers_are_classed_by_rule(
        province: list[Customer], personas: dict[str, User], finance: Actor) -> None:
    shop = new_customer(personas, "个体门店", kind="individual")
    sell(finance, shop, "SHOP-1", "900000.00", paid=TODAY - dt.timedelta(days=5))
    fresh = new_customer(personas, "新客户", age_days=20)
    sell(finance, fresh, "NEW-1", "800000.00", paid=TODAY - dt.timedelta(days=5))
    runs.run_month(JOB)
    assert classes([shop, fresh]) == "CC"
    assert ClassChange.objects.get(customer=shop).reasons[1]["code"] == "CLASS_C_BY_RULE"
    assert ClassChange.objects.get(customer=fresh).reasons[1]["code"] == "CLASS_NEW_CUSTOMER"
    assert classes(province) == "CCCBBBBBAA"  # neither takes a place in the ranking


def test_an_a_customer_is_reminded_first_and_proposed_for_b_when_it_misses_again(
        province: list[Customer], finance: Actor, personas: dict[str, User]) -> None:
    runs.run_month(JOB)
    fallen = province[-1]  # A today; the others sell more from now on
    for n, customer in enumerate(province[:-1], start=1):
        sell(finance, customer, f"MORE-{n}", str(200000 + n * 1000), paid=TODAY)
    with month_later(1):
        first = runs.run_month(JOB)
        assert first.reminded == 1
        assert not ClassProposal.objects.filter(customer=fallen).exists()
        reminder = ClassReminder.objects.get(customer=fallen)
        assert reminder.reasons[0]["code"] == "CLASS_A_BELOW_SHARE"
        assert classes([fallen]) == "A"  # a reminder, not a move
        moves.answer_reminder(Actor.for_user(personas["account_manager"]), reminder,
                              answer="已约见客户，下月补货")
    with month_later(2):
        second = runs.run_month(JOB)
    proposal = ClassProposal.objects.get(customer=fallen, status="proposed")
    assert (proposal.from_class, proposal.to_class) == ("A", "B")
    assert proposal.reasons[0]["code"] == "CLASS_A_BELOW_SHARE_AGAIN"
    assert second.proposed >= 1
    manager = Actor.for_user(personas["sales_manager"])
    moves.decide(manager, proposal, approve=True)
    assert classes([fallen]) == "B"
    change = ClassChange.objects.get(proposal=proposal)
    assert change.kind == ClassChange.Kind.APPROVED
    with pytest.raises(Conflict):
        moves.decide(manager, proposal, approve=False, note="晚了")


def test_running_again_in_the_month_changes_nothing(province: list[Customer]) -> None:
    runs.run_month(JOB)
    before = (ClassChange.objects.count(), ClassProposal.objects.count(),
              ClassReminder.objects.count())
    again = runs.run_month(JOB)
    assert (again.assigned, again.proposed, again.reminded) == (0, 0, 0)
    assert (ClassChange.objects.count(), ClassProposal.objects.count(),
            ClassReminder.objects.count()) == before
    assert ClassificationRun.objects.count() == 1


def test_a_b_customer_moves_up_only_with_enough_growth(
        province: list[Customer], finance: Actor, personas: dict[str, User]) -> None:
    runs.run_month(JOB)
    riser = province[4]  # B
    sell(finance, riser, "BIG-1", "5000000.00", paid=TODAY)
    with month_later(1):
        runs.run_month(JOB)
    proposal = ClassProposal.objects.get(customer=riser, status="proposed")
    assert (proposal.from_class, proposal.to_class) == ("B", "A")
    with pytest.raises(ValidationFailed) as refused:
        moves.decide(Actor.for_user(personas["sales_manager"]), proposal, approve=False)
    assert refused.value.field == "note"
    with pytest.raises(PermissionRefused):
        moves.decide(Actor.for_user(personas["account_manager"]), proposal, approve=True)


def test_the_run_closes_at_its_time_with_the_report_and_then_refuses_to_run(
        province: list[Customer]) -> None:
    run = runs.run_month(JOB).run
    assert timezone.localtime(run.closes_at).isoformat().startswith("2025-06-27T17:00")
    assert runs.close_due(JOB, run.closes_at - dt.timedelta(minutes=1)) == 0
    assert runs.close_due(JOB, NOW) == 1
    run.refresh_from_db()
    assert run.status == ClassificationRun.Status.CLOSED
    assert [row for row in run.summary["by_region"] if row[1] == "A"] == [["11", "A", 2]]
    assert run.summary["pending_proposals"] == 0
    with pytest.raises(Conflict):
        runs.run_month(JOB)


def test_the_daily_job_runs_on_the_run_day_only(province: list[Customer]) -> None:
    assert runs.run_if_due(JOB, dt.date(2025, 6, 24)) is None
    assert runs.run_if_due(JOB, dt.date(2025, 6, 25)) is not None
    assert runs.run_if_due(JOB, dt.date(2025, 6, 26)) is None  # done this month
