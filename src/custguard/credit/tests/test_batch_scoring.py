"""The batch path (`batch_scoring`: hand-written GROUP BY statements over whole chunks, raw
rows, bulk writes) against the path of one customer (`scoring.rescore_customer`: the ORM
aggregates of that customer): the same score records, standing rows and audit entries, field
by field, for customers with varied histories. Runs on SQLite and PostgreSQL (the date
arithmetic and the decimal sums differ between them)."""

from __future__ import annotations

import io
import random
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction

from custguard.core.models import AuditEntry
from custguard.core.services import audit
from custguard.credit.models import CreditScore
from custguard.credit.services import batch_scoring, overrides, scoring
from custguard.credit.tests.test_scoring_facts import _random_history
from custguard.credit.tests.test_scoring_support import (
    SYSTEM,
    add_invoice,
    add_order,
    days_ago,
    new_customer,
    publish_policy,
)
from custguard.customers.models import Standing

pytestmark = pytest.mark.django_db

RECORD_FIELDS = ["customer_id", "as_of", "policy_version", "trigger", "score", "grade",
                 "factor_values", "factor_points", "reasons", "credit_limit",
                 "payment_terms_days", "prepay_only", "limit_reasons"]
STANDING_FIELDS = ["score", "grade", "credit_limit", "payment_terms_days", "prepay_only",
                   "limit_overridden", "terms_overridden", "policy_version", "next_review_on"]
AUDIT_FIELDS = ["action", "object_type", "object_id", "customer_id", "before", "after",
                "reason", "actor_label"]


@pytest.fixture
def sample(regions: None) -> list[int]:
    """Customers with varied histories: random invoices, payments, credit notes, orders and
    cancellations; none at all; orders only, outside the window; an old unpaid invoice; an
    override; penalties on the standing row; scales from micro to large."""
    publish_policy()
    rng = random.Random(20261206)
    scales = ["micro", "small", "medium", "large"]
    customers = [new_customer(f"批量客户{i}", scale=scales[i % 4]) for i in range(10)]
    for customer in customers[:7]:
        _random_history(customer, rng)
    # customers[7]: no history at all
    add_order(customers[8], on=days_ago(500), amount="1000.00", cancelled_on=days_ago(499))
    add_invoice(customers[9], issued=days_ago(700), due=days_ago(650), amount="999.99")
    add_invoice(customers[9], issued=days_ago(20), due=days_ago(1), amount="0.03")
    add_invoice(customers[8], issued=days_ago(30), due=days_ago(0), amount="100.10")
    overrides.request_override(SYSTEM, customer=customers[1], credit_limit=Decimal("12345.00"),
                               reason="测试授信", expires_on=days_ago(-90))
    Standing.objects.filter(pk=customers[2].pk).update(penalty_prepay_only=True)
    Standing.objects.filter(pk=customers[3].pk).update(penalty_limit_percent=Decimal("50.00"))
    return [c.pk for c in customers]


def _outcome(ids: list[int], since: int, since_seq: int) -> dict[str, Any]:
    records = {row["customer_id"]: row for row in CreditScore.objects.filter(
        customer_id__in=ids, pk__gt=since).values(*RECORD_FIELDS)}
    standings = {row["customer_id"]: row for row in Standing.objects.filter(
        pk__in=ids).values("customer_id", *STANDING_FIELDS)}
    entries = sorted((row for row in AuditEntry.objects.filter(
        action="credit.rescore", customer_id__in=ids, seq__gt=since_seq).values(*AUDIT_FIELDS)),
        key=lambda row: row["customer_id"])
    return {"records": records, "standings": standings, "audit": entries}


def _both_ways(ids: list[int], **batch: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the batch path writes, and (after rolling that back) what scoring one customer at
    a time writes, from the same state."""
    since = CreditScore.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    since_seq = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    as_of = batch.get("as_of")
    with transaction.atomic():
        result = batch_scoring.rescore(SYSTEM, ids, trigger=CreditScore.Trigger.BATCH, **batch)
        batched = _outcome(ids, since, since_seq)
        transaction.set_rollback(True)
    assert result.scored == len(set(ids))
    with transaction.atomic():
        for customer_id in ids:
            scoring.rescore_customers(SYSTEM, [customer_id], trigger=CreditScore.Trigger.BATCH,
                                      as_of=as_of)
        one_by_one = _outcome(ids, since, since_seq)
        transaction.set_rollback(True)
    return batched, one_by_one


def test_the_batch_writes_what_scoring_each_customer_writes(sample: list[int]) -> None:
    batched, one_by_one = _both_ways(sample, chunk_size=4)  # chunks of 4, 4 and 2

    assert set(batched["records"]) == set(sample)
    for customer_id in sample:
        assert batched["records"][customer_id] == one_by_one["records"][customer_id]
        assert batched["standings"][customer_id] == one_by_one["standings"][customer_id]
    assert batched["audit"] == one_by_one["audit"]
    # The sample is varied: several grades, prepay-only and not, the override, the penalty.
    records = batched["records"].values()
    assert len({r["grade"] for r in records}) >= 3
    assert {r["prepay_only"] for r in records} == {True, False}
    assert batched["standings"][sample[1]]["limit_overridden"] is True
    assert batched["standings"][sample[1]]["credit_limit"] == Decimal("12345.00")
    assert batched["standings"][sample[2]]["prepay_only"] is True
    assert any(r["factor_values"]["ON_TIME_PAYMENT_RATE_12M"] is None for r in records)
    assert any(r["factor_values"]["FULFILMENT_RATE"] not in (None, "100.00") for r in records)
    # Never scored (but for the customer with the override, scored when it was set): every
    # grade is new.
    assert len(batched["audit"]) >= len(sample) - 1


def test_after_new_facts_and_on_a_gappy_subset_both_paths_agree(sample: list[int]) -> None:
    scoring.rescore_customers(SYSTEM, sample, trigger=CreditScore.Trigger.BATCH)
    # New facts for a few: a large unpaid invoice long overdue, a burst of recent orders.
    add_invoice(Standing.objects.get(pk=sample[0]).customer, issued=days_ago(200),
                due=days_ago(150), amount="900000.00")
    for n in range(6):
        add_order(Standing.objects.get(pk=sample[7]).customer, on=days_ago(30 * n + 1),
                  amount="50000.00")
    subset = sample[::2] + [sample[7]]  # keys with gaps: addressed one by one

    batched, one_by_one = _both_ways(subset)

    assert batched["records"] == one_by_one["records"]
    assert batched["standings"] == one_by_one["standings"]
    assert batched["audit"] == one_by_one["audit"]
    assert sample[7] in {e["customer_id"] for e in batched["audit"]}  # orders now: graded up
    assert int(batched["records"][sample[0]]["factor_values"]["MAX_DAYS_PAST_DUE"]) >= 150
    assert len(batched["records"]) == len(set(subset))


def test_a_past_day_and_the_chain_stay_sound(sample: list[int]) -> None:
    batched, one_by_one = _both_ways(sample, as_of=days_ago(40))
    assert batched["records"] == one_by_one["records"]
    assert {r["as_of"] for r in batched["records"].values()} == {days_ago(40)}

    batch_scoring.rescore(SYSTEM, sample, chunk_size=3)
    assert audit.verify_chain() is None


def test_nothing_new_changes_no_grade_and_writes_no_audit(sample: list[int]) -> None:
    records = CreditScore.objects.filter(customer_id__in=sample).count()
    first = batch_scoring.rescore(SYSTEM, sample)
    entries = AuditEntry.objects.count()
    before = {s.pk: s.scored_at for s in Standing.objects.filter(pk__in=sample)}

    again = batch_scoring.rescore(SYSTEM, sample)

    assert (first.scored, again.scored, again.changed) == (10, 10, 0) and first.changed >= 9
    assert AuditEntry.objects.count() == entries
    assert CreditScore.objects.filter(customer_id__in=sample).count() == records + 20
    after = {s.pk: s.scored_at for s in Standing.objects.filter(pk__in=sample)}
    assert all(after[pk] is not None and after[pk] >= before[pk] for pk in sample)


def test_the_command_shows_progress_when_asked(sample: list[int]) -> None:
    err, out = io.StringIO(), io.StringIO()
    records = CreditScore.objects.filter(customer_id__in=sample).count()
    call_command("rescore", "--all", "--progress", stdout=out, stderr=err)
    assert "10/10" in err.getvalue()
    assert out.getvalue().startswith("10 customers scored")
    assert CreditScore.objects.filter(customer_id__in=sample).count() == records + 10


def test_the_command_is_quiet_without_a_terminal(sample: list[int]) -> None:
    err = io.StringIO()
    call_command("rescore", "--due", stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == ""
    assert Standing.objects.filter(pk__in=sample, scored_at__isnull=True).count() == 0
