"""The whole conduct path through the services: report with evidence → confirm → penalty
proposed → approve → notified and in force → the gate denies → appeal → overturned by another
person → the gate allows again; the audit chain holds each step."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.base import ContentFile

from custguard.conduct.models import Appeal, Notice, Penalty, ViolationCase
from custguard.conduct.services import appeals, cases, penalties
from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused
from custguard.core.models import AuditEntry, User
from custguard.core.services import policies
from custguard.core.services.audit import verify_chain
from custguard.credit.services import gate, overrides
from custguard.customers import services as registry
from custguard.customers.models import Customer, Region, Standing
from custguard.policy import default_policy_text

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def customer(regions: None, personas: dict[str, User]) -> Customer:
    system = Actor.system("tests")
    policies.publish_source(system, default_policy_text())
    found = registry.create_customer(
        Actor.for_user(personas["sales_manager"]), region=Region.objects.get(pk="110000"),
        name="违规客户", kind="dealer",
        contacts=[{"name": "王伟", "email": "wang@example.com", "is_primary": True}])
    # A customer without history is rated C (prepay only); a credit manager's limit lets it
    # order on credit, so the penalty's effect on the gate is visible.
    overrides.request_override(Actor.for_user(personas["credit_manager"]), customer=found,
                               credit_limit=Decimal("100000"), reason="新客户授信",
                               expires_on=dt.date.today() + dt.timedelta(days=90))
    assert Standing.objects.get(pk=found.pk).prepay_only is False
    return found


def test_report_confirm_approve_deny_appeal_overturn_allow(
        customer: Customer, personas: dict[str, User]) -> None:
    am = Actor.for_user(personas["account_manager"])
    credit = Actor.for_user(personas["credit_manager"])
    sales = Actor.for_user(personas["sales_manager"])
    erp = Actor.system("erp")
    reported = cases.report(am, customer, violation_type="CROSS_REGION_SALES",
                            occurred_on=dt.date.today() - dt.timedelta(days=3),
                            description="在华南区域发现窜货")
    assert reported.created
    again = cases.report(am, customer, violation_type="cross_region_sales",
                         occurred_on=dt.date.today() - dt.timedelta(days=3),
                         description="重复上报")
    assert not again.created and again.case.pk == reported.case.pk
    case = reported.case
    cases.add_evidence(am, case, ContentFile(b"%PDF-1.4 photo", name="现场照片.pdf"),
                       content_type="application/pdf")
    cases.investigate(credit, case)
    penalty = cases.confirm(credit, case, reason="照片与物流单据一致")
    assert penalty is not None and penalty.step_code == "MAJOR_PREPAY"
    assert penalty.status == Penalty.Status.PROPOSED
    assert gate.check(erp, customer, "1000").check.outcome == "allow"

    # Prepay-only is a credit manager's measure under the default policy.
    assert not penalties.may_approve(sales, penalty)
    with pytest.raises(PermissionRefused):
        penalties.approve(sales, penalty)
    penalties.approve(credit, penalty)
    penalty.refresh_from_db()
    assert penalty.status == Penalty.Status.ACTIVE
    notice = Notice.objects.get(penalty=penalty)
    assert notice.recipient == "wang@example.com" and notice.pdf.size > 1000
    assert "跨区域窜货" in notice.body_html
    assert len(mail.outbox) == 1 and mail.outbox[0].attachments[0][0].endswith(".pdf")
    answer = gate.check(erp, customer, "1000").check
    assert answer.outcome == "prepay_required"
    assert [r["code"] for r in answer.reasons] == ["PREPAY_ONLY"]

    appeal = appeals.file(Actor.for_user(personas["customer_service"]), penalty,
                          grounds="客户称系其他经销商冒用其名义")
    with pytest.raises(PermissionRefused):  # the approver may not review their own decision
        appeals.decide(credit, appeal, outcome=Appeal.Status.OVERTURNED, note="x")
    appeals.decide(sales, appeal, outcome=Appeal.Status.OVERTURNED, note="核实为冒用")
    penalty.refresh_from_db()
    assert penalty.status == Penalty.Status.OVERTURNED
    assert gate.check(erp, customer, "1000").check.outcome == "allow"
    assert ViolationCase.objects.get(pk=case.pk).status == ViolationCase.Status.CONFIRMED
    actions = list(AuditEntry.objects.filter(customer_id=customer.pk).order_by("seq")
                   .values_list("action", flat=True))
    for step in ("conduct.case_report", "conduct.evidence_add", "conduct.case_investigate",
                 "conduct.case_confirm", "conduct.penalty_propose", "conduct.penalty_approve",
                 "conduct.notice_issue", "conduct.penalty_notify", "conduct.penalty_activate",
                 "conduct.effects", "conduct.appeal_file", "conduct.penalty_overturn",
                 "conduct.appeal_decide"):
        assert step in actions, step
    assert verify_chain() is None
