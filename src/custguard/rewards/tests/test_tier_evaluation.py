"""The tier evaluation: up at once to the highest tier qualified for, down only after the
grace and one tier at a time, a re-run that changes nothing, notices for every change, the
tier's coupons collected for the coupons service, and the tier's bonus days in the credit
terms on both scoring paths."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused
from custguard.core.models import AuditEntry, User
from custguard.core.services.policies import policy_in_force
from custguard.credit.services import batch_scoring, scoring
from custguard.credit.tests.test_scoring_support import good_history, new_customer
from custguard.customers.models import Contact, Customer, Standing
from custguard.ledger.tests.conftest import TODAY
from custguard.rewards.models import Coupon, TierChange, TierNotice, TierRun, TierStatus
from custguard.rewards.services import tier_evaluation, tier_facts, tier_notices
from custguard.rewards.tasks import evaluate_tiers
from custguard.rewards.tests.tiers import buy, grade, months_later, on, tier_of

pytestmark = pytest.mark.django_db
JOB = Actor.job("rewards.evaluate_tiers")


@pytest.fixture
def buyer(regions: None, policy: object) -> Customer:
    customer = new_customer("会员客户")
    grade(customer, "A")
    return customer


def kinds(customer: Customer) -> list[tuple[str, str, str]]:
    return list(TierChange.objects.filter(customer=customer).order_by("pk")
                .values_list("kind", "from_tier", "to_tier"))


def test_the_facts_are_gathered_for_every_customer_in_two_scans(
        buyer: Customer, django_assert_max_num_queries: object) -> None:
    buy(buyer, 6, "100000.00")
    buy(buyer, 2, "50000.00", late=True)
    _version, policy = policy_in_force()
    with django_assert_max_num_queries(3):  # type: ignore[operator]
        found = tier_facts.gather(policy.membership, TODAY)
    facts = next(f.facts for f in found if f.customer_id == buyer.pk)
    assert facts.paid_spend == 700000
    assert facts.orders == 8
    assert str(facts.on_time_percent) == "85.7"  # 600,000 of 700,000 settled by the due date
    assert facts.grade == "A"


def test_a_customer_moves_up_at_once_to_the_highest_tier_it_qualifies_for(
        buyer: Customer) -> None:
    buy(buyer, 6, "100000.00")
    result = tier_evaluation.evaluate(JOB)
    assert result.run is not None and result.initial == 1
    assert kinds(buyer) == [("initial", "", "SILVER")]
    assert tier_of(buyer) == ("SILVER", 0)
    change = TierChange.objects.get(customer=buyer)
    assert change.facts == {"paid_spend": "600000.00", "orders": 6,
                            "on_time_percent": "100.0", "grade": "A"}
    assert [r["code"] for r in change.reasons][:2] == ["TIER_INITIAL", "TIER_QUALIFIES"]
    key = f"tier:{buyer.pk}:SILVER:20250630:TIER_SILVER_WELCOME"
    assert change.entitlements == [["TIER_SILVER_WELCOME", key]]
    coupon = Coupon.objects.get(customer=buyer)  # issued in the evaluation's transaction
    assert (coupon.definition, coupon.source, coupon.key) == (
        "TIER_SILVER_WELCOME", Coupon.Source.RULE, key)
    # Enough for gold and diamond's spend, but not diamond's orders: gold, straight from silver
    buy(buyer, 8, "1000000.00", end=TODAY - dt.timedelta(days=3))
    tier_evaluation.evaluate(JOB)
    assert kinds(buyer)[-1] == ("upgrade", "SILVER", "GOLD")
    assert tier_of(buyer) == ("GOLD", 5)
    assert TierStatus.objects.get(pk=buyer.pk).since == TODAY
    assert TierRun.objects.get().upgraded == 1  # the same month's run, evaluated again


def test_below_its_tier_it_keeps_it_for_the_grace_then_moves_one_tier_down(
        buyer: Customer) -> None:
    buy(buyer, 12, "200000.00")  # gold: 2.4M, 12 orders, all on time
    tier_evaluation.evaluate(JOB)
    assert tier_of(buyer) == ("GOLD", 5)
    # Thirteen months on the window holds nothing: the facts qualify for the entry tier only.
    start = months_later(13)
    with on(start):
        tier_evaluation.evaluate(JOB, today=start)
    assert tier_of(buyer) == ("GOLD", 5)
    assert kinds(buyer)[-1] == ("grace", "GOLD", "GOLD")
    assert TierStatus.objects.get(pk=buyer.pk).below_since == start
    for month in (14, 15):  # gold's grace is 3 months: kept, nothing recorded
        with on(months_later(month)):
            tier_evaluation.evaluate(JOB, today=months_later(month))
        assert tier_of(buyer) == ("GOLD", 5) and len(kinds(buyer)) == 2
    with on(months_later(16)):
        result = tier_evaluation.evaluate(JOB, today=months_later(16))
    assert result.downgraded == 1
    assert kinds(buyer)[-1] == ("downgrade", "GOLD", "SILVER")  # one tier, not to standard
    assert tier_of(buyer) == ("SILVER", 0)
    change = TierChange.objects.filter(customer=buyer).first()
    assert change is not None and change.reasons[0]["code"] == "TIER_GRACE_OVER"
    # still below silver: its own grace (2 months) runs from the downgrade
    assert TierStatus.objects.get(pk=buyer.pk).below_since == months_later(16)
    with on(months_later(18)):
        tier_evaluation.evaluate(JOB, today=months_later(18))
    assert kinds(buyer)[-1] == ("downgrade", "SILVER", "STANDARD")
    assert TierStatus.objects.get(pk=buyer.pk).below_since is None


def test_qualifying_again_within_the_grace_ends_it(buyer: Customer) -> None:
    buy(buyer, 6, "100000.00")
    tier_evaluation.evaluate(JOB)
    later = months_later(13)
    with on(later):
        tier_evaluation.evaluate(JOB, today=later)
        assert TierStatus.objects.get(pk=buyer.pk).below_since == later
        buy(buyer, 6, "100000.00", end=later)
        result = tier_evaluation.evaluate(JOB, customer_ids=[buyer.pk], today=later)
    assert result.recovered == 1 and result.run is None
    assert TierStatus.objects.get(pk=buyer.pk).below_since is None
    assert tier_of(buyer) == ("SILVER", 0)


def test_a_rerun_the_same_month_changes_nothing(buyer: Customer) -> None:
    buy(buyer, 6, "100000.00")
    first = tier_evaluation.evaluate(JOB)
    changes, notices = TierChange.objects.count(), TierNotice.objects.count()
    audits = AuditEntry.objects.filter(action="rewards.tier_change").count()
    again = tier_evaluation.evaluate(JOB)
    assert (again.initial, again.upgraded, again.downgraded, again.in_grace) == (0, 0, 0, 0)
    assert again.customers == first.customers
    assert TierChange.objects.count() == changes
    assert TierNotice.objects.count() == notices
    assert AuditEntry.objects.filter(action="rewards.tier_change").count() == audits
    assert TierRun.objects.count() == 1
    assert TierRun.objects.get().counts == {"SILVER": 1}


def test_every_change_is_noticed_by_email_or_recorded_as_not_sent(
        buyer: Customer, regions: None) -> None:
    Contact.objects.create(customer=buyer, name="王经理", email="wang@example.com",
                           is_primary=True)
    quiet = new_customer("无邮箱客户")
    grade(quiet, "A")
    for customer in (buyer, quiet):
        buy(customer, 6, "100000.00")
    tier_evaluation.evaluate(JOB)
    assert mail.outbox == []  # a monthly run queues; the notices job sends
    notices = {n.customer_id: n for n in TierNotice.objects.all()}
    assert notices[buyer.pk].delivery == TierNotice.Delivery.PENDING
    assert notices[quiet.pk].delivery == TierNotice.Delivery.NO_ADDRESS
    assert tier_notices.send_pending(JOB) == 1
    assert [m.to for m in mail.outbox] == [["wang@example.com"]]
    assert "银卡会员" in mail.outbox[0].subject
    notice = TierNotice.objects.get(customer=buyer)
    assert notice.delivery == TierNotice.Delivery.SENT and notice.sent_at is not None
    assert AuditEntry.objects.filter(action="rewards.tier_notice",
                                     customer_id=buyer.pk).count() == 1
    assert tier_notices.send_pending(JOB) == 0  # sent once


def test_an_entry_tier_first_evaluation_tells_nobody(buyer: Customer) -> None:
    tier_evaluation.evaluate(JOB)
    assert kinds(buyer) == [("initial", "", "STANDARD")]
    assert TierNotice.objects.count() == 0
    assert TierChange.objects.get().entitlements == []


def test_only_a_role_that_runs_tiers_may_evaluate(buyer: Customer,
                                                 personas: dict[str, User]) -> None:
    with pytest.raises(PermissionRefused):
        tier_evaluation.evaluate(Actor.for_user(personas["account_manager"]))
    assert TierRun.objects.count() == 0 and TierChange.objects.count() == 0
    tier_evaluation.evaluate(Actor.for_user(personas["sales_manager"]))
    assert TierRun.objects.count() == 1


def test_the_daily_job_evaluates_once_on_the_evaluation_day(buyer: Customer) -> None:
    first = dt.date(2025, 7, 1)  # the default policy's evaluation_day is the 1st
    with on(first):
        assert "evaluated" in evaluate_tiers(JOB)
        assert TierRun.objects.filter(month=first).count() == 1
        assert tier_evaluation.evaluate_if_due(JOB) is None  # done this month


def test_the_tier_bonus_lengthens_the_credit_terms_on_both_scoring_paths(
        regions: None, policy: object) -> None:
    customer = new_customer("授信会员客户")
    good_history(customer, monthly="200000.00")
    scoring.rescore(Actor.system("t"), [customer.pk])
    base = Standing.objects.get(pk=customer.pk)
    assert base.payment_terms_days > 0 and base.grade in ("AAA", "AA", "A", "BBB")
    tier_evaluation.evaluate(JOB)
    standing = Standing.objects.get(pk=customer.pk)
    assert (standing.tier, standing.tier_term_bonus_days) == ("GOLD", 5)
    assert standing.payment_terms_days == base.payment_terms_days + 5  # re-applied at once
    assert AuditEntry.objects.filter(action="rewards.tier_credit_terms",
                                     customer_id=customer.pk).exists()
    scoring.rescore(Actor.system("t"), [customer.pk])  # the per-customer path
    assert Standing.objects.get(pk=customer.pk).payment_terms_days == (
        base.payment_terms_days + 5)
    batch_scoring.rescore(Actor.job("t"), [customer.pk])  # the nightly batch path
    assert Standing.objects.get(pk=customer.pk).payment_terms_days == (
        base.payment_terms_days + 5)
