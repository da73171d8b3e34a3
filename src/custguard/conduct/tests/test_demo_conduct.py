"""The conduct demo: every stage of cases, penalties, notices, fines, rectifications, blacklist
entries and appeals is present, written through the services in time order under a frozen
clock; the same seed gives the same records; the audit chain holds (what the demo command
prints: core/tests/test_demo_command.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from custguard.conduct.demo import STORIES, build_conduct_demo, plan_conduct
from custguard.conduct.models import (
    Appeal,
    BlacklistEntry,
    ContractClause,
    Evidence,
    Fine,
    Notice,
    Penalty,
    RecoveryInstallment,
    RecoveryPlan,
    ViolationCase,
)
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.demo_users import ensure_demo_users
from custguard.core.models import AuditEntry, AuditHead, PolicyVersion, User
from custguard.core.services import policies
from custguard.core.services.audit import verify_chain
from custguard.customers.demo import build_registry_demo
from custguard.customers.models import Customer, Standing
from custguard.policy import default_policy_text

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime(2026, 6, 15, 10, 0))
TODAY = NOW.date()
CUSTOMERS = 40


@pytest.fixture(autouse=True)
def _fixed_day() -> Iterator[None]:
    with clock.frozen_at(NOW):
        yield


@pytest.fixture
def demo_users(regions: None) -> dict[str, User]:
    return ensure_demo_users("demo-pass-123")


def registry(users: dict[str, User], *, seed: int = 7) -> list[Customer]:
    """As `custguard demo` does before conduct: the policy published today, the registry."""
    actor = Actor.job("demo")
    if policies.version_in_force() is None:
        policies.publish_source(actor, default_policy_text(), note="demo")
    build_registry_demo(customers=CUSTOMERS, seed=seed, actor=actor, users=users)
    return list(Customer.objects.order_by("-pk")[:CUSTOMERS])[::-1]


def build(users: dict[str, User], *, seed: int = 7) -> Any:
    return build_conduct_demo(seed=seed, actor=Actor.job("demo"),
                              customers=registry(users, seed=seed), users=users)


def records() -> list[tuple[Any, ...]]:
    """Every conduct record by what it says, not by its keys (which a rolled-back sequence
    does not give back on PostgreSQL), nor the notices' references and PDFs (random and
    time-stamped on purpose)."""
    rows: list[tuple[Any, ...]] = []
    rows += ViolationCase.objects.order_by("customer__code", "occurred_on", "violation_type") \
        .values_list("customer__code", "violation_type", "severity", "occurred_on", "status",
                     "reported_at", "decided_at", "description", "decision_reason",
                     "reported_by_label")
    rows += Evidence.objects.order_by("case__customer__code", "sha256").values_list(
        "case__customer__code", "original_name", "sha256", "uploaded_at")
    rows += Penalty.objects.order_by("customer__code", "proposed_at", "step_code").values_list(
        "customer__code", "step_code", "status", "proposed_at", "approved_at", "starts_on",
        "ends_on", "ended_at", "fine_amount", "rectification_due_on", "rectified_at")
    rows += Fine.objects.order_by("customer__code", "due_on", "amount").values_list(
        "customer__code", "amount", "status", "due_on", "settled_at")
    rows += Notice.objects.order_by("customer__code", "created_at").values_list(
        "customer__code", "created_at", "response_due_on", "responded_at", "response")
    rows += BlacklistEntry.objects.order_by("customer__code", "proposed_at").values_list(
        "customer__code", "criterion", "status", "starts_on", "ends_on", "ended_at")
    rows += RecoveryInstallment.objects.order_by("plan__customer__code", "number").values_list(
        "plan__customer__code", "number", "due_on", "amount", "paid_at")
    rows += Appeal.objects.order_by("customer__code", "filed_at").values_list(
        "customer__code", "status", "filed_at", "review_due_on", "decided_at", "grounds")
    rows += ContractClause.objects.order_by("customer__code").values_list(
        "customer__code", "contract_number", "violation_type", "fine_amount", "valid_from")
    rows += Standing.objects.order_by("customer__code").values_list(
        "customer__code", "order_blocked", "service_suspended", "points_frozen", "blacklisted",
        "penalty_prepay_only", "penalty_limit_percent")
    return [tuple(str(v) for v in row) for row in rows]


class _Rollback(Exception):
    pass


def build_and_roll_back(users: dict[str, User], seed: int) -> list[tuple[Any, ...]]:
    seen: list[tuple[Any, ...]] = []
    try:
        with transaction.atomic():
            build(users, seed=seed)
            seen = records()
            raise _Rollback
    except _Rollback:
        pass
    return seen


@pytest.mark.budget(9, why="builds the conduct demo of 40 customers three times: the same "
                            "seed twice, another seed once")
def test_same_seed_gives_the_same_records(demo_users: dict[str, User]) -> None:
    first = build_and_roll_back(demo_users, seed=7)
    assert not ViolationCase.objects.exists()
    second = build_and_roll_back(demo_users, seed=7)
    assert first and first == second
    assert build_and_roll_back(demo_users, seed=8) != first


@pytest.mark.budget(3, why="one conduct demo of 40 customers, every stage of every story")
def test_every_stage_is_present(demo_users: dict[str, User]) -> None:
    customers = registry(demo_users)
    head = AuditHead.objects.values_list("seq", flat=True).get(pk=1)
    assert len(plan_conduct(customers, seed=7).stories) == len(STORIES)
    summary = build_conduct_demo(seed=7, actor=Actor.job("demo"), customers=customers,
                                 users=demo_users)

    def statuses(model: Any) -> set[str]:
        return set(model.objects.values_list("status", flat=True))

    assert statuses(ViolationCase) == {"reported", "investigating", "confirmed", "dismissed"}
    assert {"proposed", "active", "completed", "lifted", "overturned",
            "rejected"} <= statuses(Penalty)
    assert Penalty.objects.filter(replaces__isnull=False).exists()  # reduced on appeal
    assert Penalty.objects.filter(status="proposed", measures__icontains="TERMINATION").exists()
    assert Notice.objects.filter(responded_at__isnull=False).exists()
    assert Notice.objects.filter(responded_at__isnull=True).exists()
    open_rectification = Penalty.objects.filter(status="active", rectified_at__isnull=True,
                                                rectification_due_on__isnull=False)
    assert open_rectification.filter(rectification_due_on__lt=TODAY).exists()  # overdue
    assert open_rectification.filter(rectification_due_on__gte=TODAY).exists()  # due
    assert Penalty.objects.filter(rectified_at__isnull=False).exists()
    assert {"due", "paid", "waived"} <= statuses(Fine)
    assert Fine.objects.filter(status="due", due_on__lt=TODAY).exists()  # overdue
    assert Fine.objects.filter(clause__isnull=False).exists()  # the contract clause's amount
    assert {"proposed", "active", "lifted"} <= statuses(BlacklistEntry)
    plan = RecoveryPlan.objects.get()
    assert plan.status == "active"
    assert [i.paid_at is not None for i in plan.installments.order_by("number")] == [
        True, True, False, False]
    assert Standing.objects.get(pk=plan.customer_id).penalty_limit_percent == 50
    assert statuses(Appeal) == {"filed", "under_review", "upheld", "overturned", "reduced",
                                "withdrawn"}
    assert Appeal.objects.filter(status="filed", review_due_on__lt=TODAY).exists()  # overdue
    assert ContractClause.objects.exists()
    assert Evidence.objects.exists()
    # restrictions in force on the standing rows, as the gate reads them
    restricted = Standing.objects.filter(customer__violation_cases__isnull=False).distinct()
    for name in ("order_blocked", "service_suspended", "points_frozen", "blacklisted",
                 "penalty_prepay_only"):
        assert restricted.filter(**{name: True}).exists(), name
    # the history spans most of a year; the nightly job completed what ended
    first = ViolationCase.objects.order_by("occurred_on").values_list("occurred_on",
                                                                      flat=True)[0]
    assert (TODAY - first).days > 180
    assert all(p.ended_at is not None and timezone.localdate(p.ended_at) == p.ends_on
               for p in Penalty.objects.filter(status="completed"))
    # the history was decided by a policy in force then: the demo published one back then
    assert summary.history_policy is not None
    history = PolicyVersion.objects.get(number=summary.history_policy)
    assert history.effective_from < timezone.make_aware(dt.datetime.combine(first,
                                                                            dt.time.min))
    assert policies.version_in_force().number != summary.history_policy
    # the audit chain holds, and the demo's entries were appended in time order
    assert verify_chain() is None
    moments = list(AuditEntry.objects.filter(seq__gt=head).order_by("seq")
                   .values_list("at", flat=True))
    assert moments == sorted(moments)
    actions = set(AuditEntry.objects.filter(action__startswith="conduct.")
                  .values_list("action", flat=True))
    assert {"conduct.case_report", "conduct.case_confirm", "conduct.penalty_approve",
            "conduct.penalty_complete", "conduct.appeal_decide", "conduct.blacklist_lift",
            "conduct.recovery_paid", "conduct.fine_settle"} <= actions
    labels = [label for label, _value in summary.rows()]
    assert {"conduct cases", "penalties", "appeals", "blacklist"} <= set(labels)


def test_few_customers_tell_fewer_stories(demo_users: dict[str, User]) -> None:
    actor = Actor.job("demo")
    policies.publish_source(actor, default_policy_text(), note="demo")
    build_registry_demo(customers=6, seed=3, actor=actor, users=demo_users)
    made = list(Customer.objects.order_by("pk"))
    plan = plan_conduct(made, seed=3)
    assert 0 < len(plan.stories) <= 6 and not plan.background
    build_conduct_demo(seed=3, actor=actor, customers=made, users=demo_users, plan=plan)
    assert ViolationCase.objects.exists()
    assert verify_chain() is None
