"""Reconciliation of the credit counters with the facts: nothing to report after ordinary
traffic; a counter changed behind the application's back is reported, audited as the alert of
record, and corrected with --fix; the comparison is set-based (its query count does not grow
with the number of customers); and the `custguard gate` command."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused
from custguard.core.models import AuditEntry, User
from custguard.core.services.audit import verify_chain
from custguard.credit.models import Reservation
from custguard.credit.services import gate, reconciliation
from custguard.customers.models import Customer, CustomerGroup, GroupStanding, Standing
from custguard.ledger import services as ledger

from .gate_support import (
    SYSTEM,
    counters,
    group_counters,
    make_customer,
    make_group,
    publish_default_policy,
    snapshot,
)

pytestmark = pytest.mark.django_db

D = Decimal
JOB = Actor.job("tests")


def history(customer: Customer, prefix: str) -> None:
    """Invoices, a credit note, payments, a reversal and reservations in every state."""
    today = clock.today()
    due = today + dt.timedelta(days=30)
    for n, amount in enumerate(["1000.00", "2500.50", "320.25"]):
        ledger.post_invoice(SYSTEM, customer, source="erp", external_id=f"{prefix}-INV-{n}",
                            issued_on=today, due_on=due, amount=amount)
    ledger.post_credit_note(SYSTEM, customer, source="erp", external_id=f"{prefix}-CN",
                            issued_on=today, amount="100.25", corrects_source="erp",
                            corrects_external_id=f"{prefix}-INV-1")
    ledger.post_payment(SYSTEM, customer, source="bank", external_id=f"{prefix}-PAY-1",
                        received_on=today, amount="900.00")
    ledger.post_payment(SYSTEM, customer, source="bank", external_id=f"{prefix}-PAY-2",
                        received_on=today, amount="50.00")
    ledger.reverse_payment(SYSTEM, customer, source="bank", external_id=f"{prefix}-REV",
                           payment_source="bank", payment_external_id=f"{prefix}-PAY-2",
                           reversed_on=today, reason="退票")
    # scoring after the facts set the grade and limit; put them back for the gate
    Standing.objects.filter(pk=customer.pk).update(grade="A", prepay_only=False,
                                                   credit_limit=D("50000.00"))
    for n, amount in enumerate(["400.00", "600.00", "700.00"]):
        gate.check(SYSTEM, customer, amount, reserve=True, source="erp",
                   external_id=f"{prefix}-SO-{n}")
    gate.release(SYSTEM, Reservation.objects.get(external_id=f"{prefix}-SO-2"))
    gate.check(SYSTEM, customer, "99999.00", reserve=True, source="erp",
               external_id=f"{prefix}-SO-HELD")


@pytest.fixture
def world() -> dict[str, object]:
    publish_default_policy()
    parent = make_customer("对账母公司")
    member = make_customer("对账子公司")
    alone = make_customer("对账散户")
    group = make_group("对账集团", parent, [member])
    for customer, prefix in ((parent, "P"), (member, "M"), (alone, "A")):
        history(customer, prefix)
    return {"parent": parent, "member": member, "alone": alone, "group": group}


def test_ordinary_traffic_leaves_no_drift(world: dict[str, object]) -> None:
    member = world["member"]
    # 1000 + 2500.50 + 320.25 - 100.25 - 900 - 50 + 50 = 2820.50; pending 400 + 600
    assert counters(member) == (D("2820.50"), D("1000.00"))  # type: ignore[arg-type]
    assert group_counters(world["group"]) == (D("5641.00"), D("2000.00"))  # type: ignore[arg-type]
    before = snapshot()
    assert reconciliation.reconcile(JOB) == []
    assert snapshot() == before  # nothing recorded when there is nothing to report
    assert reconciliation.reconcile(JOB, fix=True) == []
    assert snapshot() == before


def test_a_tampered_counter_is_reported_audited_and_left_alone_without_fix(
        world: dict[str, object]) -> None:
    member, alone = world["member"], world["alone"]
    group = world["group"]
    assert isinstance(member, Customer) and isinstance(alone, Customer)
    assert isinstance(group, CustomerGroup)
    # changed outside the application: the member's and its group's posted, the other's reserved
    Standing.objects.filter(pk=member.pk).update(posted=F("posted") + D("123.45"))
    GroupStanding.objects.filter(pk=group.pk).update(posted=F("posted") + D("123.45"))
    Standing.objects.filter(pk=alone.pk).update(reserved=F("reserved") - D("0.01"))
    before = snapshot()

    drifts = reconciliation.reconcile(JOB)

    assert [(d.kind, d.object_id, d.label, d.field, d.stored, d.recomputed) for d in drifts] == [
        ("customer", member.pk, member.code, "posted", D("2943.95"), D("2820.50")),
        ("customer", alone.pk, alone.code, "reserved", D("999.99"), D("1000.00")),
        ("group", group.pk, group.name, "posted", D("5764.45"), D("5641.00")),
    ]
    assert [d.difference for d in drifts] == [D("123.45"), D("-0.01"), D("123.45")]
    entries = list(AuditEntry.objects.filter(action="credit.drift").order_by("seq"))
    assert len(entries) == 3
    assert entries[0].object_type == "customers.standing"
    assert entries[0].customer_id == member.pk and entries[0].actor_kind == "job"
    assert entries[0].after == {"field": "posted", "stored": "2943.95",
                                "recomputed": "2820.50", "difference": "123.45",
                                "fixed": False}
    assert entries[2].object_type == "customers.groupstanding"
    assert entries[2].object_id == str(group.pk) and entries[2].customer_id is None
    after = snapshot()
    assert after["standings"] == before["standings"]
    assert after["group_standings"] == before["group_standings"]
    assert verify_chain() is None


def test_fix_corrects_the_counters_in_the_same_transaction(world: dict[str, object]) -> None:
    member, group = world["member"], world["group"]
    assert isinstance(member, Customer) and isinstance(group, CustomerGroup)
    Standing.objects.filter(pk=member.pk).update(reserved=D("5.00"))
    GroupStanding.objects.filter(pk=group.pk).update(posted=D("0.00"))

    drifts = reconciliation.reconcile(JOB, fix=True)

    assert {(d.kind, d.field) for d in drifts} == {("customer", "reserved"), ("group", "posted")}
    assert counters(member) == (D("2820.50"), D("1000.00"))
    assert group_counters(group) == (D("5641.00"), D("2000.00"))
    fixes = AuditEntry.objects.filter(action="credit.drift_fix")
    assert fixes.count() == 2
    member_fix = fixes.get(object_type="customers.standing")
    assert member_fix.before == {"reserved": "5.00"}
    assert member_fix.after == {"reserved": "1000.00"}
    assert all(e.after["fixed"] for e in AuditEntry.objects.filter(action="credit.drift"))
    assert reconciliation.reconcile(JOB) == []
    assert verify_chain() is None


def test_only_administrators_and_jobs_reconcile(world: dict[str, object],
                                                make_user: Callable[..., User]) -> None:
    Standing.objects.filter(pk=world["member"].pk).update(posted=D("1.00"))  # type: ignore[attr-defined]
    before = snapshot()
    credit = Actor.for_user(make_user("credit_manager"))
    with pytest.raises(PermissionRefused):
        reconciliation.reconcile(credit, fix=True)
    auditor = Actor.for_user(make_user("auditor"))
    with pytest.raises(PermissionRefused):
        reconciliation.reconcile(auditor, fix=True)
    assert snapshot() == before
    admin = Actor.for_user(make_user("admin"))
    assert len(reconciliation.reconcile(admin, fix=True)) == 1


def test_the_comparison_is_set_based(world: dict[str, object]) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            reconciliation.reconcile(JOB)
        return len(captured)

    few = queries()
    for n in range(15):
        customer = make_customer(f"更多客户{n}")
        ledger.post_invoice(SYSTEM, customer, source="erp", external_id=f"MORE-{n}",
                            issued_on=clock.today(), due_on=clock.today(), amount="10.00")
    assert queries() == few


def test_the_reconcile_command_exits_1_on_drift(world: dict[str, object]) -> None:
    out, err = StringIO(), StringIO()
    call_command("gate", "reconcile", stdout=out, stderr=err)
    assert "no drift" in out.getvalue()
    member = world["member"]
    assert isinstance(member, Customer)
    Standing.objects.filter(pk=member.pk).update(posted=F("posted") - D("20.00"))
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("gate", "reconcile", stdout=out, stderr=err)
    assert exit_.value.code == 1
    assert member.code in out.getvalue() and "posted" in out.getvalue()
    assert "DRIFTED" in err.getvalue()
    assert counters(member)[0] == D("2800.50")
    with pytest.raises(SystemExit):
        call_command("gate", "reconcile", "--fix", stdout=StringIO(), stderr=StringIO())
    assert counters(member)[0] == D("2820.50")
    call_command("gate", "reconcile", stdout=StringIO(), stderr=StringIO())


def test_the_expire_command(world: dict[str, object]) -> None:
    hours = publish_default_policy().credit.reservation_expiry_hours
    out = StringIO()
    call_command("gate", "expire", stdout=out)
    assert out.getvalue().strip() == "expired 0 reservation(s)"
    with clock.frozen_at(clock.now() + dt.timedelta(hours=hours, minutes=1)):
        out = StringIO()
        call_command("gate", "expire", stdout=out)
    # per customer: two pending and one held (the third was released)
    assert out.getvalue().strip() == "expired 9 reservation(s)"
    assert all(c.reserved == 0 for c in Standing.objects.all())
    assert reconciliation.reconcile(JOB) == []
