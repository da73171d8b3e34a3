"""Rescoring: score history with inputs, reasons and policy version; the standing row; audit
only when grade, limit or terms change; overrides honoured; the same facts, day and policy
version give the same result; refusals change nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused, ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.credit.models import CreditOverride, CreditScore
from custguard.credit.services import scoring
from custguard.credit.tests.test_scoring_support import (
    SYSTEM,
    add_invoice,
    days_ago,
    good_history,
    new_customer,
    pay,
    publish_policy,
)
from custguard.customers.models import Standing
from custguard.policy.credit import whole_months_between

pytestmark = pytest.mark.django_db
D = Decimal
RECORD_FIELDS = ["as_of", "policy_version", "score", "grade", "factor_values", "factor_points",
                 "reasons", "credit_limit", "payment_terms_days", "prepay_only",
                 "limit_reasons"]


def record_values(score: CreditScore) -> dict[str, Any]:
    return {name: getattr(score, name) for name in RECORD_FIELDS}


@pytest.fixture
def policy(regions: None) -> int:
    return publish_policy()


def test_rescoring_writes_history_standing_and_audit(policy: int) -> None:
    good = new_customer("好客户", scale="large")
    good_history(good)
    fresh = new_customer("新客户", scale="small")
    audit_before = AuditEntry.objects.count()

    result = scoring.rescore(SYSTEM, [good.pk, fresh.pk], trigger=CreditScore.Trigger.BATCH)

    assert (result.scored, result.changed, result.policy_version) == (2, 2, policy)
    record = CreditScore.objects.get(customer=good)
    assert record.trigger == "batch" and record.policy_version == policy
    assert record.as_of == clock.today()
    assert record.factor_values["RELATIONSHIP_MONTHS"] == str(
        whole_months_between(days_ago(30 * 35 + 5), clock.today()))
    assert record.factor_values["ON_TIME_PAYMENT_RATE_12M"] == "100.00"
    assert record.factor_values["OVERDUE_RATIO"] == "0.00"
    assert set(record.factor_points) == set(record.factor_values)
    assert record.reasons[0]["params"]["points_lost"] >= record.reasons[-1]["params"][
        "points_lost"]
    assert record.grade in {"AAA", "AA", "A"}
    standing = Standing.objects.get(pk=good.pk)
    assert (standing.score, standing.grade, standing.credit_limit) == (
        record.score, record.grade, record.credit_limit)
    assert standing.payment_terms_days == record.payment_terms_days > 0
    assert standing.prepay_only is False and standing.policy_version == policy
    assert standing.scored_at is not None
    fresh_standing = Standing.objects.get(pk=fresh.pk)
    assert (fresh_standing.score, fresh_standing.grade, fresh_standing.prepay_only) == (
        560, "C", True)
    assert fresh_standing.next_review_on == clock.today() + dt.timedelta(days=60)
    entries = list(AuditEntry.objects.filter(seq__gt=audit_before).order_by("seq"))
    assert [(e.action, e.customer_id) for e in entries] == [
        ("credit.rescore", good.pk), ("credit.rescore", fresh.pk)]
    assert entries[1].before == {"grade": "", "prepay_only": False, "score": None}
    assert entries[1].after == {"grade": "C", "prepay_only": True, "score": 560,
                                "policy_version": policy}
    assert entries[0].reason == "batch"


def test_the_same_facts_day_and_policy_give_the_same_result_and_no_audit(policy: int) -> None:
    customer = new_customer("稳定客户")
    good_history(customer)
    scoring.rescore(SYSTEM, [customer.pk])
    audit_count = AuditEntry.objects.count()
    scoring.rescore(SYSTEM, [customer.pk])
    first, second = CreditScore.objects.filter(customer=customer).order_by("pk")
    assert record_values(first) == record_values(second)
    assert AuditEntry.objects.count() == audit_count  # nothing changed: nothing to audit


def test_a_past_day_is_reproducible_after_later_payments(policy: int) -> None:
    customer = new_customer("后付款客户")
    good_history(customer)
    late = add_invoice(customer, issued=days_ago(80), due=days_ago(50), amount="90000.00")
    day = days_ago(5)
    scoring.rescore(SYSTEM, [customer.pk], as_of=day)
    pay(late, days_ago(1), D("90000.00"))  # paid after that day
    scoring.rescore(SYSTEM, [customer.pk], as_of=day)
    then, again = CreditScore.objects.filter(customer=customer).order_by("pk")
    assert record_values(then) == record_values(again)
    assert then.factor_values["MAX_DAYS_PAST_DUE"] == "45"
    scoring.rescore(SYSTEM, [customer.pk])  # today the invoice is paid, 49 days late
    today = CreditScore.objects.filter(customer=customer).order_by("pk").last()
    assert today is not None and today.factor_values["MAX_DAYS_PAST_DUE"] == "49"


def test_the_sql_and_the_orm_writers_write_the_same(policy: int,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    customers = [new_customer(f"写法{i}") for i in range(3)]
    good_history(customers[0])
    add_invoice(customers[1], issued=days_ago(100), due=days_ago(70), amount="8888.88")
    ids = [c.pk for c in customers]

    def written() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        scores = [record_values(s) for s in CreditScore.objects.order_by("customer_id", "pk")]
        rows = list(Standing.objects.order_by("pk").values(*scoring.STANDING_FIELDS))
        return scores, rows

    monkeypatch.setattr(scoring, "WRITER", "sql")
    with clock.frozen_at(clock.now()):
        scoring.rescore(SYSTEM, ids)
        by_sql = written()
        CreditScore.objects.all().delete()
        Standing.objects.update(score=None, grade="", next_review_on=None, scored_at=None)
        monkeypatch.setattr(scoring, "WRITER", "orm")
        scoring.rescore(SYSTEM, ids)
        assert written() == by_sql


def test_an_active_override_is_honoured(policy: int, make_user: Any) -> None:
    customer = new_customer("手工额度")
    CreditOverride.objects.create(customer=customer, credit_limit=D("123456.00"),
                                  payment_terms_days=75, reason="测试", status="active",
                                  expires_on=days_ago(-30), requested_at=clock.now())
    scoring.rescore(SYSTEM, [customer.pk])
    standing = Standing.objects.get(pk=customer.pk)
    record = CreditScore.objects.get(customer=customer)
    assert record.credit_limit == 0 and record.prepay_only is True  # what the grade earns
    assert (standing.credit_limit, standing.payment_terms_days) == (D("123456.00"), 75)
    assert standing.prepay_only is False  # a manual limit lifts the grade's prepay rule
    assert standing.limit_overridden and standing.terms_overridden
    assert standing.grade == "C"


def test_a_terms_only_override_keeps_the_computed_limit(policy: int) -> None:
    customer = new_customer("只改账期")
    good_history(customer)
    CreditOverride.objects.create(customer=customer, payment_terms_days=10, reason="测试",
                                  status="active", expires_on=days_ago(-30),
                                  requested_at=clock.now())
    scoring.rescore(SYSTEM, [customer.pk])
    standing = Standing.objects.get(pk=customer.pk)
    record = CreditScore.objects.get(customer=customer)
    assert standing.credit_limit == record.credit_limit > 0
    assert standing.payment_terms_days == 10 != record.payment_terms_days
    assert (standing.limit_overridden, standing.terms_overridden) == (False, True)


def test_a_worse_grade_brings_the_next_review_forward(policy: int) -> None:
    customer = new_customer("变差客户")
    Standing.objects.filter(pk=customer.pk).update(next_review_on=days_ago(-300))
    add_invoice(customer, issued=days_ago(200), due=days_ago(170), amount="50000.00")
    scoring.rescore(SYSTEM, [customer.pk])
    standing = Standing.objects.get(pk=customer.pk)
    assert standing.grade == "D"
    assert standing.next_review_on == clock.today() + dt.timedelta(days=30)
    soon = days_ago(-3)
    Standing.objects.filter(pk=customer.pk).update(next_review_on=soon)
    scoring.rescore(SYSTEM, [customer.pk])
    assert Standing.objects.get(pk=customer.pk).next_review_on == soon  # never pushed back


def test_batches_cover_everyone(policy: int) -> None:
    customers = [new_customer(f"批量{i}") for i in range(5)]
    seen: list[int] = []
    result = scoring.rescore(SYSTEM, trigger=CreditScore.Trigger.BATCH, progress=seen.append,
                             batch_size=2)
    assert result.scored == 5 and seen == [2, 2, 1]
    assert set(CreditScore.objects.values_list("customer_id", flat=True)) == {
        c.pk for c in customers}


def test_due_for_rescoring(policy: int) -> None:
    never, due, later = (new_customer(n) for n in ("从未评分", "到期", "未到期"))
    scoring.rescore(SYSTEM, [due.pk, later.pk])
    Standing.objects.filter(pk=due.pk).update(next_review_on=clock.today())
    assert scoring.due_for_rescoring() == [never.pk, due.pk]


def snapshot() -> dict[str, Any]:
    return {"scores": CreditScore.objects.count(), "audit": AuditEntry.objects.count(),
            "standings": list(Standing.objects.order_by("pk").values())}


def test_a_role_without_the_permission_changes_nothing(policy: int,
                                                       personas: dict[str, User]) -> None:
    customer = new_customer("无权评分", manager=personas["account_manager"])
    before = snapshot()
    with pytest.raises(PermissionRefused):
        scoring.rescore(Actor.for_user(personas["account_manager"]), [customer.pk])
    assert snapshot() == before


def test_an_unknown_trigger_is_refused_and_changes_nothing(policy: int) -> None:
    customer = new_customer("错误触发")
    before = snapshot()
    with pytest.raises(ValidationFailed) as error:
        scoring.rescore_customers(SYSTEM, [customer.pk], trigger="whenever")
    assert error.value.field == "trigger"
    assert snapshot() == before


def test_without_a_policy_nothing_is_scored(regions: None) -> None:
    customer = new_customer("没有政策")
    before = snapshot()
    with pytest.raises(ValidationFailed) as error:
        scoring.rescore(SYSTEM, [customer.pk])
    assert error.value.code == "no_policy" and error.value.field == "policy"
    assert snapshot() == before


def test_latest_scores(policy: int) -> None:
    one, two = new_customer("甲"), new_customer("乙")
    scoring.rescore(SYSTEM, [one.pk, two.pk])
    scoring.rescore(SYSTEM, [one.pk])
    latest = scoring.latest_scores([one.pk, two.pk])
    assert latest[one.pk].pk == CreditScore.objects.filter(customer=one).order_by("pk").last().pk  # type: ignore[union-attr]
    assert latest[two.pk].customer_id == two.pk


# --- the command ------------------------------------------------------------------------------


def test_command_all_and_due(policy: int, capsys: pytest.CaptureFixture[str]) -> None:
    customers = [new_customer(f"命令{i}") for i in range(3)]
    call_command("rescore", "--all", "--no-progress")
    out = capsys.readouterr().out
    assert "3 customers scored" in out and f"policy version {policy}" in out
    assert CreditScore.objects.filter(trigger="batch").count() == 3
    entry = AuditEntry.objects.filter(action="credit.rescore").latest("seq")
    assert (entry.actor_kind, entry.actor_label) == ("job", "rescore")
    call_command("rescore", "--due", "--no-progress")
    assert "0 customers scored" in capsys.readouterr().out
    Standing.objects.filter(pk=customers[1].pk).update(next_review_on=clock.today())
    call_command("rescore", "--due", "--no-progress")
    assert "1 customers scored" in capsys.readouterr().out


def test_command_as_a_user(policy: int, personas: dict[str, User],
                           capsys: pytest.CaptureFixture[str]) -> None:
    new_customer("以用户身份")
    call_command("rescore", "--all", "--as", "credit_manager", "--no-progress")
    entry = AuditEntry.objects.filter(action="credit.rescore").latest("seq")
    assert entry.actor_user_id == personas["credit_manager"].pk
    before = snapshot()
    with pytest.raises(CommandError, match="may not rescore"):
        call_command("rescore", "--all", "--as", "account_manager", "--no-progress")
    with pytest.raises(CommandError, match="no active user"):
        call_command("rescore", "--all", "--as", "nobody", "--no-progress")
    assert snapshot() == before


def test_command_needs_all_or_due(policy: int) -> None:
    with pytest.raises(CommandError):
        call_command("rescore", "--no-progress")
    with pytest.raises(CommandError):
        call_command("rescore", "--all", "--due")
