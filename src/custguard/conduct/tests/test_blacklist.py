"""The credit blacklist: the daily job proposes on real facts (an invoice more than 90 days
overdue, repeated severe violations) once, however often it runs, and not again after a person
decided against it unless there is new evidence; approval makes the gate deny, lifting lets it
allow again; a recovery plan restores the limit step by step; a manual proposal needs a second
person; bad input is refused with nothing changed; the pages and the command."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from custguard.conduct.models import BlacklistEntry, RecoveryInstallment, RecoveryPlan
from custguard.conduct.services import blacklist
from custguard.conduct.services.blacklist import InstallmentPlan
from custguard.conduct.tests.support import SYSTEM, confirmed_case, customer_on_credit
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.core.services.audit import verify_chain
from custguard.credit.services import gate
from custguard.customers.models import Customer, Standing
from custguard.ledger import services as ledger

pytestmark = pytest.mark.django_db

ERP = Actor.system("erp")


def overdue_invoice(customer: Customer, amount: str = "65000.00", days: int = 100,
                    number: str = "1") -> None:
    """An invoice that fell due `days` days ago and is still unpaid."""
    today = clock.today()
    ledger.post_invoice(SYSTEM, customer, source="erp", external_id=f"INV-{customer.pk}-{number}",
                        issued_on=today - dt.timedelta(days=days + 30),
                        due_on=today - dt.timedelta(days=days), amount=amount)


def state() -> list[Any]:
    return [list(BlacklistEntry.objects.order_by("pk").values()),
            list(RecoveryPlan.objects.order_by("pk").values()),
            list(RecoveryInstallment.objects.order_by("pk").values()),
            list(Standing.objects.order_by("pk").values()), AuditEntry.objects.count()]


@pytest.fixture
def customer(regions: None, personas: dict[str, User]) -> Customer:
    return customer_on_credit(personas, name="逾期客户")


@pytest.fixture
def credit(personas: dict[str, User]) -> Actor:
    return Actor.for_user(personas["credit_manager"])


def proposed(customer: Customer) -> BlacklistEntry:
    entry = blacklist.open_entry(customer.pk)
    assert entry is not None and entry.status == BlacklistEntry.Status.PROPOSED
    return entry


def outcome(customer: Customer, amount: str = "1000") -> str:
    return gate.check(ERP, customer, amount).check.outcome


def reasons(customer: Customer) -> list[str]:
    """The gate's reason codes (the overdue invoice makes it deny by itself as well)."""
    return [reason["code"] for reason in gate.check(ERP, customer, "1").check.reasons]


# --- the daily job ----------------------------------------------------------------------------


def test_an_invoice_more_than_90_days_overdue_is_proposed_once(customer: Customer) -> None:
    overdue_invoice(customer)
    job = Actor.job("blacklist propose")
    assert blacklist.propose_by_criteria(job) == 1
    assert blacklist.propose_by_criteria(job) == 0  # the second run proposes nothing
    entry = proposed(customer)
    assert BlacklistEntry.objects.filter(customer=customer).count() == 1
    assert entry.criterion == "OVERDUE_GT_90D" and entry.duration_days == 365
    assert entry.reasons == [{"code": "OVERDUE_GT_90D", "params": {
        "days_past_due_gt": 90, "min_amount": "50000.00", "overdue_amount": "65000.00"}}]
    assert entry.proposed_by_label == "blacklist propose"
    assert "BLACKLISTED" not in reasons(customer)  # a proposal restricts nothing yet


def test_below_the_amount_or_not_yet_90_days_nothing_is_proposed(customer: Customer) -> None:
    overdue_invoice(customer, amount="49999.99", days=120, number="small")
    overdue_invoice(customer, amount="90000.00", days=90, number="recent")  # 90, not more
    assert blacklist.propose_by_criteria(SYSTEM) == 0
    assert not BlacklistEntry.objects.exists()


def test_repeated_severe_violations_are_proposed(customer: Customer,
                                                 personas: dict[str, User]) -> None:
    confirmed_case(personas, customer, violation_type="MALICIOUS_DEFAULT", days_ago=40,
                   evidence=True)
    assert blacklist.propose_by_criteria(SYSTEM) == 0  # one severe violation is not enough
    confirmed_case(personas, customer, violation_type="RETURN_FRAUD", days_ago=10,
                   evidence=True)
    assert blacklist.propose_by_criteria(SYSTEM) == 1
    assert blacklist.propose_by_criteria(SYSTEM) == 0
    entry = proposed(customer)
    assert entry.criterion == "REPEAT_SEVERE_VIOLATION"
    assert entry.reasons[0]["params"]["count"] == 2


def test_the_evidence_reads_as_the_policy_says_it(customer: Customer) -> None:
    from django.utils import translation

    overdue_invoice(customer)
    blacklist.propose_by_criteria(SYSTEM)
    entry = proposed(customer)
    with translation.override("zh-hans"):
        [zh] = blacklist.explain(entry)
    with translation.override("en"):
        [en] = blacklist.explain(entry)
        assert blacklist.criterion_label(blacklist.MANUAL) == "Proposed by a credit manager"
    assert zh.title == "逾期超过90天且逾期金额不低于5万元"
    assert en.title == "At least 50,000 more than 90 days past due"
    assert "65,000.00" in en.detail and "90" in en.detail and "50,000.00" in en.detail


def test_a_rejected_proposal_comes_back_only_with_new_evidence(
        customer: Customer, credit: Actor) -> None:
    overdue_invoice(customer)
    blacklist.propose_by_criteria(SYSTEM)
    blacklist.reject(credit, proposed(customer), reason="客户已提供付款计划")
    assert blacklist.propose_by_criteria(SYSTEM) == 0  # the same facts: a person decided
    later = timezone.now() + dt.timedelta(days=30)
    with clock.frozen_at(later):
        assert blacklist.propose_by_criteria(SYSTEM) == 0
        overdue_invoice(customer, amount="70000.00", days=95, number="new")  # crossed since
        assert blacklist.propose_by_criteria(SYSTEM) == 1
    assert BlacklistEntry.objects.filter(customer=customer).count() == 2


def test_a_new_severe_violation_after_a_lift_is_new_evidence(
        customer: Customer, credit: Actor, personas: dict[str, User]) -> None:
    for code, days in (("MALICIOUS_DEFAULT", 40), ("RETURN_FRAUD", 20)):
        confirmed_case(personas, customer, violation_type=code, days_ago=days, evidence=True)
    blacklist.propose_by_criteria(SYSTEM)
    entry = blacklist.approve(credit, proposed(customer))
    blacklist.lift(credit, entry, reason="整改到位")
    assert blacklist.propose_by_criteria(SYSTEM) == 0
    with clock.frozen_at(timezone.now() + dt.timedelta(minutes=5)):
        confirmed_case(personas, customer, violation_type="CONFIDENTIALITY_BREACH", days_ago=1,
                       evidence=True)
        assert blacklist.propose_by_criteria(SYSTEM) == 1


# --- approve, lift, the gate ----------------------------------------------------------------


def test_approve_denies_at_the_gate_and_lift_allows_again(customer: Customer,
                                                          credit: Actor) -> None:
    overdue_invoice(customer)
    blacklist.propose_by_criteria(SYSTEM)
    assert "BLACKLISTED" not in reasons(customer)
    entry = blacklist.approve(credit, proposed(customer), note="逾期严重")
    assert entry.status == BlacklistEntry.Status.ACTIVE and entry.starts_on == clock.today()
    assert entry.ends_on == clock.today() + dt.timedelta(days=365)
    assert Standing.objects.get(pk=customer.pk).blacklisted
    answer = gate.check(ERP, customer, "1").check
    assert answer.outcome == "deny" and "BLACKLISTED" in [r["code"] for r in answer.reasons]
    lifted = blacklist.lift(credit, entry, reason="客户已全额还款")
    assert lifted.status == BlacklistEntry.Status.LIFTED and lifted.end_reason == "客户已全额还款"
    assert not Standing.objects.get(pk=customer.pk).blacklisted
    assert "BLACKLISTED" not in reasons(customer)
    with pytest.raises(Conflict):  # lifted once
        blacklist.lift(credit, lifted, reason="again")
    actions = list(AuditEntry.objects.filter(object_type="conduct.blacklistentry",
                                             object_id=str(entry.pk)).order_by("seq")
                   .values_list("action", flat=True))
    assert actions == ["conduct.blacklist_propose", "conduct.blacklist_approve",
                       "conduct.blacklist_lift"]
    assert verify_chain() is None


def test_the_gate_allows_denies_while_blacklisted_and_allows_after_the_lift(
        customer: Customer, credit: Actor, personas: dict[str, User]) -> None:
    for code, days in (("MALICIOUS_DEFAULT", 30), ("FALSE_INFORMATION", 12)):
        confirmed_case(personas, customer, violation_type=code, days_ago=days, evidence=True)
    assert outcome(customer) == "allow"
    blacklist.propose_by_criteria(SYSTEM)
    assert outcome(customer) == "allow"
    entry = blacklist.approve(credit, proposed(customer))
    answer = gate.check(ERP, customer, "1000").check
    assert answer.outcome == "deny" and [r["code"] for r in answer.reasons] == ["BLACKLISTED"]
    blacklist.lift(credit, entry, reason="申诉材料核实后解除")
    assert outcome(customer) == "allow"


def test_a_recovery_plan_restores_the_limit_step_by_step(
        customer: Customer, credit: Actor, personas: dict[str, User]) -> None:
    entry, _created = blacklist.propose(SYSTEM, customer, criterion=blacklist.MANUAL,
                                        reasons=[], duration_days=365)
    blacklist.approve(credit, entry)
    day = clock.today()
    blacklist.lift(credit, entry, reason="分期还款协议", installments=[
        InstallmentPlan(day, Decimal("10000.00")),
        InstallmentPlan(day + dt.timedelta(days=30), Decimal("10000.00")),
        InstallmentPlan(day + dt.timedelta(days=60), Decimal("10000.00"))])
    plan = RecoveryPlan.objects.get(entry=entry)
    assert plan.total_amount == Decimal("30000.00")
    rows = list(plan.installments.order_by("number"))
    assert [r.limit_percent_after for r in rows] == [Decimal("33.33"), Decimal("66.67"),
                                                     Decimal("100.00")]

    def standing() -> tuple[Decimal, Decimal, bool]:
        row = Standing.objects.get(pk=customer.pk)
        return row.penalty_limit_percent, row.credit_limit, row.blacklisted

    assert standing() == (Decimal("0.00"), Decimal("0.00"), False)
    assert outcome(customer) != "allow"  # no credit until the first installment
    finance = Actor.for_user(personas["finance"])
    with pytest.raises(ValidationFailed) as refused:  # in order only
        blacklist.pay_installment(finance, rows[1])
    assert refused.value.field == "installment"
    blacklist.pay_installment(finance, rows[0])
    assert standing() == (Decimal("33.33"), Decimal("33330.00"), False)
    assert outcome(customer, "30000") == "allow"
    blacklist.pay_installment(finance, rows[1])
    assert standing()[:2] == (Decimal("66.67"), Decimal("66670.00"))
    blacklist.pay_installment(finance, rows[2])
    assert standing()[:2] == (Decimal("100.00"), Decimal("100000.00"))
    assert RecoveryPlan.objects.get(pk=plan.pk).status == RecoveryPlan.Status.COMPLETED
    with pytest.raises(Conflict):
        blacklist.pay_installment(finance, rows[2])
    with pytest.raises(PermissionRefused):
        blacklist.pay_installment(credit, rows[0])


def test_a_new_entry_ends_a_recovery_plan_in_progress(customer: Customer,
                                                      credit: Actor) -> None:
    first, _created = blacklist.propose(SYSTEM, customer, criterion=blacklist.MANUAL,
                                        reasons=[], duration_days=30)
    blacklist.approve(credit, first)
    blacklist.lift(credit, first, reason="分期", installments=[
        InstallmentPlan(clock.today() + dt.timedelta(days=10), Decimal("500.00"))])
    second, _created = blacklist.propose(SYSTEM, customer, criterion=blacklist.MANUAL,
                                         reasons=[], duration_days=30)
    blacklist.approve(credit, second)
    assert RecoveryPlan.objects.get(entry=first).status == RecoveryPlan.Status.DEFAULTED
    assert Standing.objects.get(pk=customer.pk).blacklisted


# --- manual proposals -------------------------------------------------------------------------


def test_a_manual_proposal_is_decided_by_another_person(customer: Customer, credit: Actor,
                                                        personas: dict[str, User]) -> None:
    entry, created = blacklist.propose_manual(credit, customer, reason="转移资产逃避债务")
    assert created and entry.criterion == blacklist.MANUAL
    assert entry.reasons == [{"code": "MANUAL", "params": {"reason": "转移资产逃避债务"}}]
    assert entry.duration_days == 365
    assert not blacklist.may_approve(credit, entry)
    before = state()
    with pytest.raises(PermissionRefused):
        blacklist.approve(credit, entry)
    assert state() == before
    admin = Actor.for_user(personas["admin"])
    assert blacklist.may_approve(admin, entry)
    assert blacklist.approve(admin, entry).status == BlacklistEntry.Status.ACTIVE


def test_the_proposer_may_withdraw_a_manual_proposal(customer: Customer,
                                                     credit: Actor) -> None:
    entry, _created = blacklist.propose_manual(credit, customer, reason="误报")
    withdrawn = blacklist.reject(credit, entry, reason="提请有误，撤回")
    assert withdrawn.status == BlacklistEntry.Status.REJECTED


def test_a_proposal_for_a_customer_with_an_open_entry_returns_the_open_one(
        customer: Customer, credit: Actor) -> None:
    overdue_invoice(customer)
    blacklist.propose_by_criteria(SYSTEM)
    entry = proposed(customer)
    before = state()
    again, created = blacklist.propose_manual(credit, customer, reason="再次提请")
    assert not created and again.pk == entry.pk
    assert state() == before
    active = blacklist.approve(credit, entry)
    again, created = blacklist.propose_manual(credit, customer, reason="再次提请")
    assert not created and again.pk == active.pk


def test_only_a_credit_manager_proposes_by_hand(customer: Customer,
                                                personas: dict[str, User]) -> None:
    for role in ("sales_manager", "account_manager", "finance", "auditor"):
        with pytest.raises(PermissionRefused):
            blacklist.propose_manual(Actor.for_user(personas[role]), customer, reason="x")
    assert not BlacklistEntry.objects.exists()


# --- bad input ------------------------------------------------------------------------------


def _active(customer: Customer, credit: Actor) -> BlacklistEntry:
    entry, _created = blacklist.propose(SYSTEM, customer, criterion=blacklist.MANUAL,
                                        reasons=[], duration_days=365)
    return blacklist.approve(credit, entry)


@pytest.mark.parametrize(("reason", "rows", "field"), [
    ("", [], "reason"),
    ("   ", [(10, "100.00")], "reason"),
    ("分期", [(20, "100.00"), (10, "100.00")], "installments[1].due_on"),
    ("分期", [(10, "100.00"), (10, "100.00")], "installments[1].due_on"),
    ("分期", [(-1, "100.00")], "installments[0].due_on"),
    ("分期", [(10, "0.00")], "installments[0].amount"),
    ("分期", [(10, "-5.00")], "installments[0].amount"),
    ("分期", [(10, "1.005")], "installments[0].amount"),
    ("分期", [(10 + i, "1.00") for i in range(61)], "installments"),
])
def test_a_bad_lift_is_refused_and_nothing_changes(
        customer: Customer, credit: Actor, reason: str, rows: list[tuple[int, str]],
        field: str) -> None:
    entry = _active(customer, credit)
    day = clock.today()
    before = state()
    with pytest.raises(ValidationFailed) as refused:
        blacklist.lift(credit, entry, reason=reason, installments=[
            InstallmentPlan(day + dt.timedelta(days=days), Decimal(amount))
            for days, amount in rows])
    assert refused.value.field == field
    assert state() == before
    assert Standing.objects.get(pk=customer.pk).blacklisted


def test_transitions_out_of_order_are_refused(customer: Customer, credit: Actor) -> None:
    entry, _created = blacklist.propose(SYSTEM, customer, criterion=blacklist.MANUAL,
                                        reasons=[], duration_days=365)
    before = state()
    with pytest.raises(Conflict):
        blacklist.lift(credit, entry, reason="尚未生效")
    with pytest.raises(ValidationFailed):
        blacklist.reject(credit, entry, reason="")
    assert state() == before
    blacklist.reject(credit, entry, reason="证据不足")
    with pytest.raises(Conflict):
        blacklist.approve(credit, entry)
    with pytest.raises(ValidationFailed) as refused:
        blacklist.propose_manual(credit, customer, reason="x", duration_days=0)
    assert refused.value.field == "duration_days"


# --- pages, API and the command ----------------------------------------------------------


def test_the_proposal_queue_shows_the_evidence_in_words(
        customer: Customer, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    overdue_invoice(customer)
    blacklist.propose_by_criteria(SYSTEM)
    entry = proposed(customer)
    client = client_for(personas["credit_manager"])
    page = client.get("/conduct/blacklist/proposals/", HTTP_ACCEPT_LANGUAGE="en").content
    html = page.decode()
    assert f'data-entry="{entry.pk}"' in html
    assert "At least 50,000 more than 90 days past due" in html and "65,000.00" in html
    detail = client.get(f"/conduct/blacklist/{entry.pk}/").content.decode()
    assert 'data-testid="decision-form"' in detail
    done = client.post(f"/conduct/blacklist/{entry.pk}/approve/", {"decision-note": ""})
    assert done.status_code == 302
    assert BlacklistEntry.objects.get(pk=entry.pk).status == BlacklistEntry.Status.ACTIVE
    csv = client.get("/conduct/blacklist/export/", {"format": "csv", "status": "active"})
    assert customer.code in csv.content.decode("utf-8-sig")


def test_the_lift_form_shows_row_errors_and_changes_nothing(
        customer: Customer, credit: Actor, personas: dict[str, User],
        client_for: Callable[[User], Client]) -> None:
    entry = _active(customer, credit)
    client = client_for(personas["credit_manager"])
    form = client.get(f"/conduct/blacklist/{entry.pk}/lift/", {"rows": "4"}).content.decode()
    assert form.count("data-row=") == 4
    day = clock.today()
    before = state()
    page = client.post(f"/conduct/blacklist/{entry.pk}/lift/", {
        "lift-reason": "分期还款", "installments-TOTAL_FORMS": "3",
        "installments-INITIAL_FORMS": "0",
        "installments-0-due_on": (day + dt.timedelta(days=40)).isoformat(),
        "installments-0-amount": "100.00",
        "installments-1-due_on": "", "installments-1-amount": "",
        "installments-2-due_on": (day + dt.timedelta(days=20)).isoformat(),
        "installments-2-amount": "100.00"})
    assert page.status_code == 200
    assert 'data-field-error="installments-2-due_on"' in page.content.decode()
    page = client.post(f"/conduct/blacklist/{entry.pk}/lift/", {
        "lift-reason": "", "installments-TOTAL_FORMS": "1", "installments-INITIAL_FORMS": "0",
        "installments-0-due_on": "", "installments-0-amount": "5.00"})
    html = page.content.decode()
    assert 'data-field-error="lift-reason"' in html
    assert 'data-field-error="installments-0-due_on"' in html
    assert state() == before


def test_the_plan_page_and_mark_paid(customer: Customer, credit: Actor,
                                     personas: dict[str, User],
                                     client_for: Callable[[User], Client]) -> None:
    entry = _active(customer, credit)
    blacklist.lift(credit, entry, reason="分期", installments=[
        InstallmentPlan(clock.today() + dt.timedelta(days=5), Decimal("800.00")),
        InstallmentPlan(clock.today() + dt.timedelta(days=35), Decimal("800.00"))])
    plan = RecoveryPlan.objects.get(entry=entry)
    first = plan.installments.get(number=1)
    client = client_for(personas["finance"])
    html = client.get(f"/conduct/recovery-plans/{plan.pk}/").content.decode()
    assert 'data-testid="mark-paid"' in html and 'data-percent="0.00"' in html
    done = client.post(f"/conduct/recovery-plans/{plan.pk}/installments/{first.pk}/paid/")
    assert done.status_code == 302
    html = client.get(f"/conduct/recovery-plans/{plan.pk}/").content.decode()
    assert 'data-percent="50.00"' in html
    api = client.get(f"/api/v1/conduct/recovery-plans/{plan.pk}").json()
    assert api["limit_percent_now"] == "50.00" and api["paid_amount"] == "800.00"


def test_the_api_lifts_with_a_plan_and_refuses_bad_installments(
        customer: Customer, credit: Actor, personas: dict[str, User],
        bearer_for: Callable[[User], dict[str, str]]) -> None:
    entry = _active(customer, credit)
    headers = bearer_for(personas["credit_manager"])
    url = f"/api/v1/conduct/blacklist/{entry.pk}/lift"
    day = clock.today()
    before = state()
    bad = Client().post(url, {"reason": "分期", "installments": [
        {"due_on": (day + dt.timedelta(days=9)).isoformat(), "amount": "10.00"},
        {"due_on": (day + dt.timedelta(days=3)).isoformat(), "amount": "10.00"}]},
        content_type="application/json", **headers)
    assert bad.status_code == 422
    assert bad.json()["errors"] == [{"field": "installments[1].due_on",
                                     "reason": bad.json()["errors"][0]["reason"]}]
    assert state() == before
    good = Client().post(url, {"reason": "分期", "installments": [
        {"due_on": (day + dt.timedelta(days=3)).isoformat(), "amount": "10.00"}]},
        content_type="application/json", **headers)
    assert good.status_code == 200 and good.json()["status"] == "lifted"
    assert good.json()["recovery_plan"] is not None


def test_the_command_proposes_and_expires(customer: Customer, credit: Actor) -> None:
    overdue_invoice(customer)
    out = StringIO()
    call_command("blacklist", "propose", stdout=out)
    assert out.getvalue().strip() == "proposed 1 blacklist entry(ies)"
    entry = blacklist.approve(credit, proposed(customer))
    out = StringIO()
    call_command("blacklist", "expire", stdout=out)
    assert out.getvalue().strip() == "expired 0 blacklist entry(ies)"
    assert entry.ends_on is not None
    end = timezone.make_aware(dt.datetime.combine(entry.ends_on, dt.time(1, 0)))
    with clock.frozen_at(end):
        out = StringIO()
        call_command("blacklist", "expire", stdout=out)
        assert out.getvalue().strip() == "expired 1 blacklist entry(ies)"
    assert BlacklistEntry.objects.get(pk=entry.pk).status == BlacklistEntry.Status.EXPIRED
    assert not Standing.objects.get(pk=customer.pk).blacklisted


def test_the_api_proposes_by_hand_and_returns_the_open_entry_the_second_time(
        customer: Customer, personas: dict[str, User],
        bearer_for: Callable[[User], dict[str, str]]) -> None:
    headers = bearer_for(personas["credit_manager"])
    body = {"customer": customer.code, "reason": "恶意转移资产", "duration_days": 730}
    first = Client().post("/api/v1/conduct/blacklist", body, content_type="application/json",
                          **headers)
    assert first.status_code == 201
    assert first.json()["criterion"] == "MANUAL" and first.json()["duration_days"] == 730
    assert first.json()["evidence"][0]["detail"] == "恶意转移资产"
    again = Client().post("/api/v1/conduct/blacklist", body, content_type="application/json",
                          **headers)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    own = Client().post(f"/api/v1/conduct/blacklist/{first.json()['id']}/approve", {},
                        content_type="application/json", **headers)
    assert own.status_code == 403  # a proposal made by hand is decided by another person
    listed = Client().get("/api/v1/conduct/blacklist", {"status": "proposed"}, **headers)
    assert [item["id"] for item in listed.json()["items"]] == [first.json()["id"]]
