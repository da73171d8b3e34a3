"""Credit reviews: the queue (due, riskiest first, scoped), recording a review (rescore, review
record, next review date from the grade's interval, audit — in one transaction), refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.credit.models import CreditReview, CreditScore
from custguard.credit.services import reviews, scoring
from custguard.credit.tests.test_scoring_support import (
    SYSTEM,
    add_invoice,
    days_ago,
    good_history,
    new_customer,
    publish_policy,
)
from custguard.customers.models import Customer, Standing
from custguard.policy import GradeCode, load_default_policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def credit(regions: None, personas: dict[str, User]) -> Actor:
    publish_policy()
    return Actor.for_user(personas["credit_manager"])


def state() -> dict[str, Any]:
    return {"reviews": CreditReview.objects.count(), "scores": CreditScore.objects.count(),
            "audit": AuditEntry.objects.count(),
            "standings": list(Standing.objects.order_by("pk").values())}


def test_recording_a_review(credit: Actor) -> None:
    customer = new_customer("复核客户")
    add_invoice(customer, issued=days_ago(200), due=days_ago(170), amount="50000.00")
    scoring.rescore(SYSTEM, [customer.pk])
    Standing.objects.filter(pk=customer.pk).update(next_review_on=days_ago(2))

    review = reviews.record_review(credit, customer, note="  逾期严重，维持先款后货  ")

    score = CreditScore.objects.filter(customer=customer).latest("pk")
    assert score.trigger == "review" and review.score == score
    assert score.grade == "D"
    assert review.note == "逾期严重，维持先款后货"
    assert review.reviewed_by == credit.user
    assert review.next_review_on == clock.today() + dt.timedelta(days=30)
    assert Standing.objects.get(pk=customer.pk).next_review_on == review.next_review_on
    entry = AuditEntry.objects.filter(action="credit.review").get()
    assert entry.customer_id == customer.pk and entry.reason == review.note
    assert entry.before == {"next_review_on": days_ago(2).isoformat()}
    assert entry.after["grade"] == "D" and entry.after["interval_days"] == 30


def test_the_review_interval_follows_the_grade(credit: Actor) -> None:
    good = new_customer("优质客户", scale="large")
    good_history(good)
    review = reviews.record_review(credit, good, note="年度复核")
    grade = CreditScore.objects.filter(customer=good).latest("pk").grade
    interval = load_default_policy().grade_band(grade).review_interval_days
    assert review.next_review_on == clock.today() + dt.timedelta(days=interval)
    assert interval >= 180


def test_risky_grades_are_reviewed_at_least_quarterly() -> None:
    policy = load_default_policy()
    for band in policy.grades:
        if band.code.speculative:
            assert band.review_interval_days <= 90, band.code


def test_refusals_change_nothing(credit: Actor, personas: dict[str, User]) -> None:
    customer = new_customer("拒绝复核")
    before = state()
    for note in ("", "   ", None):
        with pytest.raises(ValidationFailed) as error:
            reviews.record_review(credit, customer, note=note)  # type: ignore[arg-type]
        assert error.value.field == "note"
    with pytest.raises(ValidationFailed) as error:
        reviews.record_review(credit, customer, note="长" * 2001)
    assert error.value.field == "note"
    for role in ("sales_manager", "auditor", "account_manager", "finance"):
        with pytest.raises(PermissionRefused):
            reviews.record_review(Actor.for_user(personas[role]), customer, note="无权")
        with pytest.raises(PermissionRefused):
            reviews.rescore_now(Actor.for_user(personas[role]), customer)
    customer.status = "closed"
    customer.save(update_fields=["status"])
    with pytest.raises(Conflict):
        reviews.record_review(credit, customer, note="已关闭")
    assert state() == before


def test_rescore_now(credit: Actor) -> None:
    customer = new_customer("立即评分")
    score = reviews.rescore_now(credit, customer)
    assert score.trigger == "manual" and score.customer_id == customer.pk
    assert Standing.objects.get(pk=customer.pk).grade == score.grade == "C"


def _grade(customer: Customer, grade: str, *, due_on: dt.date | None = None,
           overdue: str = "0", next_review: dt.date | None = None) -> None:
    Standing.objects.filter(pk=customer.pk).update(
        grade=grade, oldest_open_due_on=due_on, overdue_amount=overdue,
        next_review_on=next_review, scored_at=clock.now())


def test_the_queue_is_due_customers_riskiest_first(credit: Actor,
                                                   personas: dict[str, User]) -> None:
    am = personas["account_manager"]
    names = ["A级", "D级老欠", "D级新欠", "C级", "未评级", "BB级未到期", "已复核未到期", "关闭",
             "他人客户"]
    c = {name: new_customer(name, manager=am if name != "他人客户" else None) for name in names}
    _grade(c["A级"], "A", next_review=days_ago(1))
    _grade(c["D级老欠"], "D", due_on=days_ago(200), overdue="100", next_review=days_ago(-5))
    _grade(c["D级新欠"], "D", due_on=days_ago(20), overdue="9000", next_review=days_ago(-5))
    _grade(c["C级"], "C", next_review=clock.today())
    _grade(c["BB级未到期"], "BB", next_review=days_ago(-30))
    _grade(c["已复核未到期"], "B", next_review=days_ago(-30))
    _grade(c["关闭"], "D", next_review=days_ago(3))
    _grade(c["他人客户"], "D", next_review=days_ago(3))
    CreditReview.objects.create(customer=c["已复核未到期"], reviewed_at=clock.now(), note="ok",
                                next_review_on=days_ago(-30))
    Customer.objects.filter(pk=c["关闭"].pk).update(status="closed")

    queue = [customer.name for customer in reviews.review_queue(credit.user)]  # type: ignore[arg-type]
    # BB级未到期 is in because no one has reviewed it yet; 已复核未到期 is not due.
    assert queue == ["D级老欠", "D级新欠", "他人客户", "C级", "BB级未到期", "A级", "未评级"]
    queue_of_am = [customer.name for customer in reviews.review_queue(am)]
    assert queue_of_am == [n for n in queue if n != "他人客户"]
    rows = {row.name: row for row in reviews.review_queue(credit.user)}  # type: ignore[arg-type]
    assert rows["A级"].ever_reviewed is False and rows["A级"].last_reviewed_at is None
    assert GradeCode.D.rank > GradeCode.A.rank
