"""The order gate's service: answers, reservations and their life (release, convert, expire),
credit holds and their decisions, idempotency, permissions and bad input. Every scenario ends
with the audit chain intact; every refusal leaves everything as it was."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.utils import timezone

from custguard.core import clock, limits
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, DomainError, PermissionRefused, ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.core.services import policies
from custguard.core.services.audit import verify_chain
from custguard.credit.models import GateCheck, Reservation
from custguard.credit.services import gate
from custguard.customers.models import Standing
from custguard.ledger import services as ledger
from custguard.policy.schema import PolicyDocument

from .gate_support import (
    SYSTEM,
    assert_invariants,
    counters,
    group_counters,
    make_customer,
    make_group,
    publish_default_policy,
    snapshot,
)

pytestmark = pytest.mark.django_db

D = Decimal
ERP = Actor.system("erp")


@pytest.fixture
def policy() -> PolicyDocument:
    return publish_default_policy()


@pytest.fixture(autouse=True)
def _chain_stays_intact() -> object:
    yield
    assert verify_chain() is None


def reserve(customer: object, amount: str, external_id: str, **kwargs: object) -> gate.GateAnswer:
    return gate.check(ERP, customer, amount, reserve=True, source="erp",  # type: ignore[arg-type]
                      external_id=external_id, **kwargs)  # type: ignore[arg-type]


# --- answers ----------------------------------------------------------------------------------


def test_a_check_only_stores_the_answer_and_changes_no_counter(policy: PolicyDocument) -> None:
    customer = make_customer("只问不占", limit="10000.00")
    before = snapshot()
    answer = gate.check(ERP, customer, "2500.00")
    assert answer.replayed is False and answer.reservation is None
    check = answer.check
    assert (check.outcome, check.amount, check.grade) == ("allow", D("2500.00"), "A")
    assert check.reasons == [{"code": "WITHIN_LIMIT",
                              "params": {"amount": "2500.00", "available_after": "7500.00"}}]
    assert check.available_customer == D("10000.00") and check.available_group is None
    assert check.policy_version == policies.policy_in_force()[0]
    assert check.reserve is False and check.actor_label == "erp"
    after = snapshot()
    assert after["checks"] == before["checks"] + 1
    assert {k: v for k, v in after.items() if k != "checks"} == \
        {k: v for k, v in before.items() if k != "checks"}


def test_every_check_only_is_stored_even_for_the_same_order(policy: PolicyDocument) -> None:
    customer = make_customer("重复询问")
    gate.check(ERP, customer, "10.00", source="erp", external_id="Q-1")
    gate.check(ERP, customer, "10.00", source="erp", external_id="Q-1")
    assert GateCheck.objects.filter(customer=customer).count() == 2
    assert not Reservation.objects.exists()


def test_reserving_moves_reserved_on_the_customer_and_the_group(policy: PolicyDocument) -> None:
    parent = make_customer("集团母公司", limit="50000.00")
    member = make_customer("集团子公司", limit="20000.00")
    group = make_group("占额集团", parent, [member], limit="30000.00")
    now = timezone.now().replace(microsecond=0) + dt.timedelta(seconds=1)
    with clock.frozen_at(now):
        answer = reserve(member, "12000.00", "SO-1")
    assert answer.check.outcome == "allow"
    assert answer.check.available_group == D("30000.00")
    reservation = answer.reservation
    assert reservation is not None
    assert (reservation.status, reservation.amount) == ("pending", D("12000.00"))
    assert reservation.expires_at == now + dt.timedelta(
        hours=policy.credit.reservation_expiry_hours)
    assert counters(member) == (D("0.00"), D("12000.00"))
    assert counters(parent) == (D("0.00"), D("0.00"))
    assert group_counters(group) == (D("0.00"), D("12000.00"))
    entry = AuditEntry.objects.get(action="gate.reserve")
    assert entry.customer_id == member.pk and entry.actor_label == "erp"
    assert entry.after["amount"] == "12000.00" and entry.after["outcome"] == "allow"
    # the group's room is shared: the parent now finds 18,000 left (ceiling 31,500)
    assert reserve(parent, "19500.00", "SO-2").check.outcome == "allow"
    held = reserve(parent, "0.01", "SO-3")
    assert held.check.outcome == "hold"
    assert [r["code"] for r in held.check.reasons] == ["GROUP_LIMIT_EXCEEDED"]
    assert_invariants(policy)


def test_the_same_order_again_gets_the_first_answer_and_changes_nothing(
        policy: PolicyDocument) -> None:
    customer = make_customer("重发订单")
    first = reserve(customer, "800.00", "SO-9")
    before = snapshot()
    again = reserve(customer, "800.00", " SO-9 ")  # the id is stripped
    assert again.replayed is True
    assert again.check.pk == first.check.pk
    assert again.reservation is not None and again.reservation.pk == first.reservation.pk
    assert snapshot() == before
    assert counters(customer) == (D("0.00"), D("800.00"))


def test_the_same_order_id_with_another_amount_or_customer_is_a_conflict(
        policy: PolicyDocument) -> None:
    customer = make_customer("冲突客户")
    other = make_customer("别的客户")
    reserve(customer, "800.00", "SO-10")
    before = snapshot()
    with pytest.raises(Conflict) as error:
        reserve(customer, "800.01", "SO-10")
    assert error.value.field == "external_id" and error.value.status == 409
    with pytest.raises(Conflict):
        reserve(other, "800.00", "SO-10")
    assert snapshot() == before


def test_a_held_order_replays_as_held(policy: PolicyDocument) -> None:
    customer = make_customer("超额客户", limit="1000.00")
    first = reserve(customer, "5000.00", "SO-11")
    assert first.check.outcome == "hold"
    assert first.reservation is not None and first.reservation.status == "held"
    assert counters(customer) == (D("0.00"), D("0.00"))
    assert AuditEntry.objects.filter(action="gate.hold").count() == 1
    before = snapshot()
    again = reserve(customer, "5000.00", "SO-11")
    assert again.replayed and again.check.pk == first.check.pk
    assert snapshot() == before


@pytest.mark.parametrize(("standing", "outcome", "code"), [
    ({"grade": ""}, "prepay_required", "NOT_RATED"),
    ({"grade": "C", "prepay_only": True}, "prepay_required", "PREPAY_ONLY_GRADE"),
    ({"prepay_only": True}, "prepay_required", "PREPAY_ONLY"),
    ({"blacklisted": True}, "deny", "BLACKLISTED"),
    ({"order_blocked": True}, "deny", "ORDER_BLOCKED"),
])
def test_a_denied_or_prepay_order_reserves_nothing(policy: PolicyDocument,
                                                   standing: dict[str, object], outcome: str,
                                                   code: str) -> None:
    customer = make_customer("不能赊账")
    Standing.objects.filter(pk=customer.pk).update(**standing)
    before = snapshot()
    answer = reserve(customer, "100.00", "SO-12")
    assert answer.check.outcome == outcome
    assert answer.check.reasons[0]["code"] == code
    assert answer.reservation is None
    after = snapshot()
    assert after["reservations"] == before["reservations"] == []
    assert after["standings"] == before["standings"]
    assert after["audit"] == before["audit"]


def test_days_past_due_come_from_the_oldest_unpaid_due_date(policy: PolicyDocument) -> None:
    today = clock.today()
    customer = make_customer("老欠款", oldest_open_due_on=today - dt.timedelta(days=91))
    answer = gate.check(ERP, customer, "1.00")
    assert answer.check.outcome == "deny"
    assert answer.check.reasons[0] == {"code": "OVERDUE_GT_90D",
                                       "params": {"days_past_due": 91, "limit_days": 90}}
    Standing.objects.filter(pk=customer.pk).update(
        oldest_open_due_on=today - dt.timedelta(days=90))
    assert gate.check(ERP, customer, "1.00").check.outcome == "allow"


def test_a_closed_customer_is_denied(policy: PolicyDocument) -> None:
    customer = make_customer("已关闭")
    customer.status = "closed"
    customer.save(update_fields=["status"])
    assert gate.check(ERP, customer, "1.00").check.reasons[0]["code"] == "CUSTOMER_CLOSED"


# --- release, convert, expire -----------------------------------------------------------------


def test_release_gives_the_credit_back_once(policy: PolicyDocument) -> None:
    customer = make_customer("取消订单")
    answer = reserve(customer, "3000.00", "SO-20")
    assert answer.reservation is not None
    done = gate.release(ERP, answer.reservation, reason="客户取消")
    assert done.status == "voided" and done.ended_at is not None
    assert counters(customer) == (D("0.00"), D("0.00"))
    before = snapshot()
    again = gate.release(ERP, answer.reservation)
    assert again.status == "voided"
    assert snapshot() == before
    entry = AuditEntry.objects.get(action="gate.release")
    assert entry.reason == "客户取消" and entry.before == {"status": "pending"}
    assert_invariants(policy)


def test_an_expired_or_rejected_reservation_releases_harmlessly(policy: PolicyDocument) -> None:
    customer = make_customer("已过期", limit="100.00")
    pending = reserve(customer, "50.00", "SO-21").reservation
    held = reserve(customer, "5000.00", "SO-22").reservation
    assert pending is not None and held is not None
    gate.expire_due(SYSTEM, clock.now() + dt.timedelta(days=30))
    before = snapshot()
    assert gate.release(ERP, pending).status == "expired"
    assert gate.release(ERP, held).status == "expired"
    assert snapshot() == before


def test_convert_through_an_invoice_turns_the_reservation_into_posted(
        policy: PolicyDocument) -> None:
    parent = make_customer("开票母公司", limit="50000.00")
    customer = make_customer("开票客户", limit="50000.00")
    group = make_group("开票集团", parent, [customer], limit="80000.00")
    answer = reserve(customer, "4000.00", "SO-30")
    today = clock.today()
    posted = ledger.post_invoice(SYSTEM, customer, source="erp", external_id="INV-30",
                                 issued_on=today, due_on=today + dt.timedelta(days=30),
                                 amount="3900.00", order_source="erp",
                                 order_external_id="SO-30")
    reservation = Reservation.objects.get(pk=answer.reservation.pk)  # type: ignore[union-attr]
    assert reservation.status == "posted" and reservation.invoice_id == posted.fact.pk
    # the reservation's 4,000 leave `reserved`; the invoice's 3,900 are posted
    assert counters(customer) == (D("3900.00"), D("0.00"))
    assert group_counters(group) == (D("3900.00"), D("0.00"))
    assert AuditEntry.objects.filter(action="gate.convert").count() == 1
    # a release after the invoice is refused and changes nothing
    before = snapshot()
    with pytest.raises(Conflict) as error:
        gate.release(ERP, reservation)
    assert error.value.field == "status"
    assert snapshot() == before


def test_an_invoice_naming_another_customers_order_is_refused(policy: PolicyDocument) -> None:
    owner = make_customer("订单所有人")
    stranger = make_customer("别人的发票")
    reserve(owner, "1000.00", "SO-31")
    before = snapshot()
    today = clock.today()
    with pytest.raises(ValidationFailed) as error:
        ledger.post_invoice(SYSTEM, stranger, source="erp", external_id="INV-31",
                            issued_on=today, due_on=today, amount="1000.00",
                            order_source="erp", order_external_id="SO-31")
    assert error.value.field == "order_external_id"
    assert snapshot() == before


def test_a_cancelled_order_gives_its_reservation_back(policy: PolicyDocument) -> None:
    customer = make_customer("撤单客户")
    today = clock.today()
    ledger.post_order(SYSTEM, customer, source="erp", external_id="SO-32", ordered_on=today,
                      amount="700.00")
    reserve(customer, "700.00", "SO-32")
    ledger.cancel_order(SYSTEM, customer, source="erp", external_id="SO-32-X",
                        order_source="erp", order_external_id="SO-32", cancelled_on=today,
                        reason="缺货")
    assert Reservation.objects.get(external_id="SO-32").status == "voided"
    assert counters(customer) == (D("0.00"), D("0.00"))


def test_expiry_gives_the_credit_back_exactly_once(policy: PolicyDocument) -> None:
    parent = make_customer("过期母公司")
    customer = make_customer("过期客户")
    group = make_group("过期集团", parent, [customer], limit="15000.00")
    start = timezone.now().replace(microsecond=0) + dt.timedelta(seconds=1)
    with clock.frozen_at(start):
        reserve(customer, "2000.00", "SO-40")
        reserve(customer, "9000.00", "SO-41")  # 11,000 > limit 10,500: held
    hours = policy.credit.reservation_expiry_hours
    with clock.frozen_at(start + dt.timedelta(hours=hours) - dt.timedelta(seconds=1)):
        assert gate.expire_due(SYSTEM) == 0
    assert counters(customer) == (D("0.00"), D("2000.00"))
    with clock.frozen_at(start + dt.timedelta(hours=hours)):
        assert gate.expire_due(SYSTEM) == 2
        before = snapshot()
        assert gate.expire_due(SYSTEM) == 0
        assert snapshot() == before
    assert counters(customer) == (D("0.00"), D("0.00"))
    assert group_counters(group) == (D("0.00"), D("0.00"))
    assert sorted(Reservation.objects.values_list("status", flat=True)) == ["expired"] * 2
    assert AuditEntry.objects.filter(action="gate.expire").count() == 2
    # an invoice for an expired order posts the invoice but does not resurrect the reservation
    ledger.post_invoice(SYSTEM, customer, source="erp", external_id="INV-40",
                        issued_on=clock.today(), due_on=clock.today(), amount="2000.00",
                        order_source="erp", order_external_id="SO-40")
    assert Reservation.objects.get(external_id="SO-40").status == "expired"
    assert counters(customer) == (D("2000.00"), D("0.00"))
    assert_invariants(policy, limits=False)


# --- credit holds -----------------------------------------------------------------------------


@pytest.fixture
def credit_manager(make_user: Callable[..., User]) -> Actor:
    return Actor.for_user(make_user("credit_manager", username="信用经理"))


def test_approving_a_hold_reserves_above_the_limit_with_who_and_why(
        policy: PolicyDocument, credit_manager: Actor) -> None:
    parent = make_customer("审批母公司")
    customer = make_customer("审批客户", limit="1000.00")
    group = make_group("审批集团", parent, [customer], limit="2000.00")
    held = reserve(customer, "5000.00", "SO-50").reservation
    assert held is not None and held.status == "held"
    done = gate.approve_hold(credit_manager, held, reason="老客户，年底回款有保证")
    assert done.status == "pending"
    assert done.decided_by == credit_manager.user
    assert done.decision_reason == "老客户，年底回款有保证" and done.decided_at is not None
    assert counters(customer) == (D("0.00"), D("5000.00"))
    assert group_counters(group) == (D("0.00"), D("5000.00"))
    entry = AuditEntry.objects.get(action="gate.hold_approve")
    assert entry.actor_user == credit_manager.user
    assert entry.reason == "老客户，年底回款有保证"
    assert entry.before == {"status": "held"}
    assert entry.after == {"status": "pending", "amount": "5000.00"}
    # deciding again is refused and changes nothing
    before = snapshot()
    with pytest.raises(Conflict):
        gate.approve_hold(credit_manager, held, reason="再批一次")
    with pytest.raises(Conflict):
        gate.reject_hold(credit_manager, held, reason="又想拒绝")
    assert snapshot() == before
    # the approved reservation lives on like any other: released, it gives the 5,000 back
    gate.release(ERP, done)
    assert counters(customer) == (D("0.00"), D("0.00"))


def test_rejecting_a_hold_reserves_nothing(policy: PolicyDocument,
                                           credit_manager: Actor) -> None:
    customer = make_customer("拒绝客户", limit="1000.00")
    held = reserve(customer, "5000.00", "SO-51").reservation
    assert held is not None
    done = gate.reject_hold(credit_manager, held, reason="逾期未清")
    assert (done.status, done.decision_reason) == ("rejected", "逾期未清")
    assert done.ended_at is not None
    assert counters(customer) == (D("0.00"), D("0.00"))
    assert AuditEntry.objects.get(action="gate.hold_reject").reason == "逾期未清"


@pytest.mark.parametrize("decide", [gate.approve_hold, gate.reject_hold])
def test_a_decision_needs_a_reason(policy: PolicyDocument, credit_manager: Actor,
                                   decide: Callable[..., Reservation]) -> None:
    customer = make_customer("无理由", limit="1000.00")
    held = reserve(customer, "5000.00", "SO-52").reservation
    before = snapshot()
    with pytest.raises(ValidationFailed) as error:
        decide(credit_manager, held, reason="   ")
    assert error.value.field == "reason"
    assert snapshot() == before


@pytest.mark.parametrize("decide", [gate.approve_hold, gate.reject_hold])
def test_a_decisions_reason_is_bounded(policy: PolicyDocument, credit_manager: Actor,
                                       decide: Callable[..., Reservation]) -> None:
    """core.limits.REASON characters at most (issue 9); one more is refused, nothing kept."""
    customer = make_customer("长理由", limit="1000.00")
    held = reserve(customer, "5000.00", "SO-53").reservation
    before = snapshot()
    with pytest.raises(ValidationFailed) as error:
        decide(credit_manager, held, reason="因" * (limits.REASON + 1))
    assert error.value.field == "reason"
    assert snapshot() == before
    assert decide(credit_manager, held, reason="因" * limits.REASON).decision_reason == (
        "因" * limits.REASON)


@pytest.mark.parametrize("role", ["sales_manager", "account_manager", "finance", "auditor",
                                  "customer_service", "erp_integration"])
def test_only_credit_managers_and_admins_decide_holds(
        policy: PolicyDocument, make_user: Callable[..., User], role: str) -> None:
    customer = make_customer("权限客户", limit="1000.00")
    held = reserve(customer, "5000.00", "SO-53").reservation
    actor = Actor.for_user(make_user(role))
    before = snapshot()
    for decide in (gate.approve_hold, gate.reject_hold):
        with pytest.raises(PermissionRefused):
            decide(actor, held, reason="越权")
    assert snapshot() == before
    admin = Actor.for_user(make_user("admin"))
    assert gate.approve_hold(admin, held, reason="管理员批准").status == "pending"


@pytest.mark.parametrize("role", ["sales_manager", "account_manager", "finance", "auditor",
                                  "customer_service", None])
def test_only_the_gates_roles_may_ask_it(policy: PolicyDocument,
                                         make_user: Callable[..., User],
                                         role: str | None) -> None:
    customer = make_customer("问门客户")
    actor = Actor.for_user(make_user(role))
    before = snapshot()
    with pytest.raises(PermissionRefused):
        gate.check(actor, customer, "1.00")
    assert snapshot() == before
    for allowed in ("admin", "credit_manager", "erp_integration"):
        gate.check(Actor.for_user(make_user(allowed)), customer, "1.00")


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "kwargs", "field"), [
    ("0", {}, "amount"),
    ("0.00", {"reserve": True, "source": "erp", "external_id": "B-1"}, "amount"),
    ("-5.00", {}, "amount"),
    ("10.001", {}, "amount"),
    ("abc", {}, "amount"),
    ("NaN", {}, "amount"),
    ("Infinity", {}, "amount"),
    ("1e40", {}, "amount"),
    ("100000000000000.00", {}, "amount"),
    ("10.00", {"reserve": True, "source": "erp"}, "external_id"),
    ("10.00", {"reserve": True, "external_id": "B-2"}, "source"),
    ("10.00", {"reserve": True, "source": " ", "external_id": " "}, "source"),
    ("10.00", {"reserve": True, "source": "s" * 51, "external_id": "B-3"}, "source"),
    ("10.00", {"reserve": True, "source": "erp", "external_id": "x" * 101}, "external_id"),
])
def test_bad_input_names_the_field_and_changes_nothing(
        policy: PolicyDocument, amount: str, kwargs: dict[str, object], field: str) -> None:
    customer = make_customer("坏输入")
    before = snapshot()
    with pytest.raises(ValidationFailed) as error:
        gate.check(ERP, customer, amount, **kwargs)  # type: ignore[arg-type]
    assert error.value.field == field
    assert error.value.status == 422
    assert snapshot() == before


def test_without_a_policy_the_gate_says_so(make_user: Callable[..., User]) -> None:
    customer = make_customer("无政策")
    before = snapshot()
    with pytest.raises(DomainError) as error:
        gate.check(ERP, customer, "1.00")
    assert error.value.field == "policy" and error.value.code == "no_policy"
    assert snapshot() == before


# --- check_order: the API's one-read entry ----------------------------------------------------


def test_check_order_reads_once_and_answers_as_check_does(policy: PolicyDocument) -> None:
    """By code or id; one SELECT and one INSERT for a check; the same answer as `check`; a
    reserve replays by (source, external_id) found in that same read."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    customer = make_customer("一次读取", limit="1000.00")
    with CaptureQueriesContext(connection) as captured:
        answer, found = gate.check_order(ERP, customer.code, "600.00")
    kinds = [q["sql"].split()[0].upper() for q in captured.captured_queries]
    assert kinds == ["SELECT", "INSERT"]
    assert (found.pk, found.code) == (customer.pk, customer.code)
    same = gate.check(ERP, customer, "600.00")
    assert (answer.check.outcome, answer.check.reasons, answer.check.available_customer) == (
        same.check.outcome, same.check.reasons, same.check.available_customer)
    first, _ = gate.check_order(ERP, str(customer.pk), "600.00", reserve=True, source="erp",
                                external_id="SO-1")
    again, _ = gate.check_order(ERP, customer.code, "600.00", reserve=True, source=" erp ",
                                external_id="SO-1")
    assert first.reservation is not None and not first.replayed
    assert again.replayed and again.check.pk == first.check.pk
    held, _ = gate.check_order(ERP, customer.code, "600.00", reserve=True, source="erp",
                               external_id="SO-2")
    assert held.check.outcome == "hold"  # the first reservation took the room
    assert counters(customer)[1] == D("600.00")
    with pytest.raises(Conflict):
        gate.check_order(ERP, customer.code, "1.00", reserve=True, source="erp",
                         external_id="SO-1")
    assert_invariants(policy)


def test_check_order_hides_customers_outside_the_actors_scope(policy: PolicyDocument) -> None:
    """An actor that sees only its own customers gets "not found" for another's (existence is
    not revealed), before any other check, and nothing is stored."""
    from django.contrib.auth.models import Permission

    from custguard.core.errors import NotFound

    manager = User.objects.create_user(username="gate-am")
    manager.user_permissions.add(*Permission.objects.filter(
        codename__in=["check_gate", "view_customer"]))
    manager = User.objects.get(pk=manager.pk)  # a fresh permission cache
    actor = Actor.for_user(manager)
    own = make_customer("自己的客户", account_manager=manager)
    other = make_customer("别人的客户")
    answer, _ = gate.check_order(actor, own.code, "10.00")
    assert answer.check.customer_id == own.pk
    before = GateCheck.objects.count()
    for ref in (other.code, str(other.pk), "999999999", "abc"):
        with pytest.raises(NotFound) as refused:
            gate.check_order(actor, ref, "not a number", field="customer")
        assert refused.value.field == "customer"
    assert GateCheck.objects.count() == before


def test_check_order_without_a_policy_says_so(db: object) -> None:
    customer = make_customer("还没有政策")
    with pytest.raises(ValidationFailed) as refused:
        gate.check_order(ERP, customer.code, "1.00")
    assert refused.value.field == "policy"
    assert not GateCheck.objects.exists()


def test_the_brief_customer_has_its_own_values(policy: PolicyDocument) -> None:
    """The partial row read on the hot path puts each value in its own field."""
    from custguard.customers import selectors

    manager = User.objects.create_user(username="gate-brief")
    customer = make_customer("简要读取", account_manager=manager)
    for found in (selectors.brief_customer_in_scope(ERP, customer.code),
                  gate.check_order(ERP, customer.code, "1.00")[1]):
        assert (found.pk, found.code, found.status, found.group_id,
                found.account_manager_id) == (customer.pk, customer.code, customer.status,
                                              customer.group_id, manager.pk)


def test_a_reservation_its_answer_and_its_audit_entry_are_written_together(
        policy: PolicyDocument) -> None:
    """On PostgreSQL the reservation and its answer are one statement, and so are the audit
    entry and the chain's head: the rows read back linked, the chain sound."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from custguard.core.models import AuditHead

    customer = make_customer("一并写入", limit="1000.00")
    with CaptureQueriesContext(connection) as captured:
        answer, _found = gate.check_order(ERP, customer.code, "250.00", reserve=True,
                                          source="erp", external_id="SO-9")
    writes = [q["sql"].split()[0].upper() for q in captured.captured_queries
              if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))]
    expected = (["SELECT", "UPDATE", "WITH", "SELECT", "WITH"]
                if connection.vendor == "postgresql" else
                ["SELECT", "UPDATE", "INSERT", "INSERT", "SELECT", "UPDATE", "INSERT"])
    assert writes == expected
    assert answer.reservation is not None
    stored = GateCheck.objects.get(pk=answer.check.pk)
    assert stored.reservation_id == answer.reservation.pk
    assert Reservation.objects.get(pk=answer.reservation.pk).amount == D("250.00")
    entry = AuditEntry.objects.get(action="gate.reserve")
    assert entry.object_id == str(answer.reservation.pk)
    head = AuditHead.objects.get(pk=1)
    assert (head.seq, head.hash) == (entry.seq, entry.hash)
    assert verify_chain() is None
