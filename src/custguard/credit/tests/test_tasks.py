"""The credit and ledger jobs, run the way the scheduler runs them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from custguard.core import scheduling
from custguard.core.actors import Actor
from custguard.core.clock import frozen_at
from custguard.core.models import AuditEntry, JobRun
from custguard.core.services import policies
from custguard.credit.models import Reservation
from custguard.credit.services import gate
from custguard.customers import services as registry
from custguard.customers.models import Region, Standing
from custguard.ledger import services as ledger
from custguard.policy import default_policy_text

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def customer(regions: None) -> object:
    system = Actor.system("tests")
    with frozen_at(NOW - dt.timedelta(days=400)):
        policies.publish_source(system, default_policy_text())
    found = registry.create_customer(system, region=Region.objects.get(pk="110000"),
                                     name="任务客户", kind="enterprise")
    Standing.objects.filter(pk=found.pk).update(grade="A", credit_limit=Decimal("100000"))
    return found


def test_every_job_is_registered_once() -> None:
    names = set(scheduling.registry())
    assert {"credit.expire_reservations", "credit.expire_overrides", "credit.rescore_due",
            "credit.reconcile", "ledger.refresh_due_states"} <= names


def test_expiry_job_gives_credit_back(customer: object) -> None:
    with frozen_at(NOW):
        gate.check(Actor.system("erp"), customer, "5000", reserve=True, source="erp",
                   external_id="o-1")
    assert Standing.objects.get(pk=customer.pk).reserved == Decimal("5000.00")
    with frozen_at(NOW + dt.timedelta(days=5)):
        run = scheduling.run_now("credit.expire_reservations")
    assert (run.status, run.summary) == (JobRun.Status.SUCCEEDED, "1 reservation(s) expired")
    assert Reservation.objects.get().status == Reservation.Status.EXPIRED
    assert Standing.objects.get(pk=customer.pk).reserved == Decimal("0.00")
    expiry = AuditEntry.objects.get(action="gate.expire")
    assert (expiry.actor_kind, expiry.actor_label) == ("job", "credit.expire_reservations")


def test_rescore_job_scores_the_never_scored(customer: object) -> None:
    with frozen_at(NOW):
        ledger.post_invoice(Actor.system("erp"), customer, source="erp", external_id="i-1",
                            issued_on=NOW.date() - dt.timedelta(days=40),
                            due_on=NOW.date() - dt.timedelta(days=10), amount="800.00")
        Standing.objects.filter(pk=customer.pk).update(scored_at=None)
        run = scheduling.run_now("credit.rescore_due")
    assert run.status == JobRun.Status.SUCCEEDED, run.error
    assert run.summary.startswith("1 customer(s) rescored under policy v1")


def test_reconcile_job_fails_loudly_on_drift(customer: object) -> None:
    run = scheduling.run_now("credit.reconcile")
    assert (run.status, run.summary) == (JobRun.Status.SUCCEEDED,
                                         "counters agree with the facts")
    Standing.objects.filter(pk=customer.pk).update(posted=Decimal("123.00"))
    run = scheduling.run_now("credit.reconcile")
    assert run.status == JobRun.Status.FAILED
    assert "posted: stored 123.00, recomputed 0.00" in run.error
    assert AuditEntry.objects.filter(action="credit.drift").exists()
