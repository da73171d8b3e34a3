"""The order gate: answer an ERP's "may this order go on credit?" from the standing rows alone,
and optionally reserve the amount — atomically, so that no number of concurrent calls can take
a customer's or a group's exposure past its limit (plus tolerance).

Reservations then live pending → posted (an invoice for the order arrived) | voided (the order
was cancelled) | expired; a held order waits in the credit-hold queue for a credit manager.
Every answer is stored as a GateCheck; every change to a reservation is in the audit chain.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from custguard.core import clock, limits, sql
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from custguard.core.services import audit, policies
from custguard.core.services.policies import policy_in_force
from custguard.core.transactions import MembershipMoved, atomic_with_retry
from custguard.credit import hooks
from custguard.credit.models import GateCheck, Reservation
from custguard.credit.services import exposure
from custguard.customers import selectors
from custguard.customers.models import Customer
from custguard.policy import gate
from custguard.policy.decisions import Reason
from custguard.policy.schema import PolicyDocument

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999999999.99")
RESERVE_ATTEMPTS = 3
SOURCE_MAX = Reservation._meta.get_field("source").max_length or 50
EXTERNAL_ID_MAX = Reservation._meta.get_field("external_id").max_length or 100
EXPIRE_BATCH = 500
# A reservation in one of these states holds no credit and its order can no longer go through:
# releasing it again is harmless.
RELEASED = (Reservation.Status.VOIDED, Reservation.Status.EXPIRED, Reservation.Status.REJECTED)


@dataclass(frozen=True)
class GateAnswer:
    check: GateCheck
    reservation: Reservation | None
    replayed: bool  # the same (source, external_id) was answered before: this is that answer


def clean_amount(value: object) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_("amount must be a number"), field="amount") from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationFailed(_("amount must be greater than zero"), field="amount")
    if amount > MAX_AMOUNT:
        raise ValidationFailed(_("amount is too large"), field="amount")
    if amount != amount.quantize(CENT):
        raise ValidationFailed(_("amount must have at most two decimal places"), field="amount")
    return amount.quantize(CENT)


def clean_identity(source: str, external_id: str, *, required: bool) -> tuple[str, str]:
    """The order's (source, external_id), stripped; both are needed to reserve."""
    source, external_id = source.strip(), external_id.strip()
    if len(source) > SOURCE_MAX:
        raise ValidationFailed(_("source is longer than %(max)d characters")
                               % {"max": SOURCE_MAX}, field="source")
    if len(external_id) > EXTERNAL_ID_MAX:
        raise ValidationFailed(_("external_id is longer than %(max)d characters")
                               % {"max": EXTERNAL_ID_MAX}, field="external_id")
    if required and not source:
        raise ValidationFailed(_("a reservation needs the order's source"), field="source")
    if required and not external_id:
        raise ValidationFailed(_("a reservation needs the order's external_id"),
                               field="external_id")
    return source, external_id


def _request(view: exposure.Snapshot, amount: Decimal, today: dt.date) -> gate.GateRequest:
    def exposure_of(row: exposure.Counters) -> gate.Exposure:
        return gate.Exposure(credit_limit=row.credit_limit, posted=row.posted,
                             reserved=row.reserved)

    return gate.GateRequest(
        amount=amount, customer=exposure_of(view.customer),
        group=exposure_of(view.group) if view.group is not None else None,
        grade=view.grade, closed=view.closed, blacklisted=view.blacklisted,
        order_blocked=view.order_blocked, service_suspended=view.service_suspended,
        prepay_only=view.prepay_only, penalty_prepay=view.penalty_prepay_only,
        days_past_due=view.days_past_due(today), priority_allocation=view.priority_allocation)


def _reasons(decision: gate.GateDecision) -> list[dict[str, object]]:
    return [reason.as_dict() for reason in decision.reasons]


def _answer_row(actor: Actor, view: exposure.Snapshot, amount: Decimal,
                decision: gate.GateDecision, version: int, *, reserve: bool, source: str,
                external_id: str) -> GateCheck:
    return GateCheck(
        customer_id=view.customer_id, group_id_at_check=view.group_id,
        at=clock.now(), amount=amount, outcome=decision.outcome.value,
        reasons=_reasons(decision), policy_version=version, grade=view.grade,
        available_customer=decision.available_customer,
        available_group=decision.available_group, reserve=reserve, source=source,
        external_id=external_id, actor_label=actor.label[:150])


def _store(actor: Actor, view: exposure.Snapshot, amount: Decimal,
           decision: gate.GateDecision, version: int, *, reserve: bool, source: str,
           external_id: str) -> GateCheck:
    """An answer without a reservation."""
    return sql.insert_instance(_answer_row(actor, view, amount, decision, version,
                                           reserve=reserve, source=source,
                                           external_id=external_id))


@functools.cache
def _reservation_key_statement(vendor: str) -> str:
    r = Reservation
    return (f"SELECT {sql.column(r, 'id')} FROM {sql.table(r)} "  # noqa: S608
            f"WHERE {sql.column(r, 'source')} = %s AND {sql.column(r, 'external_id')} = %s")


def _replay(customer: Customer, amount: Decimal, source: str, external_id: str,
            reservation_id: int | None = None) -> GateAnswer | None:
    """The first answer for this (source, external_id), if there was one that reserved or held
    credit; a different customer or amount under the same identity is a mistake. A caller
    that has read the reservation's key already passes it (`check_order`)."""
    if reservation_id is None:
        # Every reserve asks, and nearly every answer is "no": one written-out statement.
        with sql.prepared_cursor() as cursor:
            cursor.execute(_reservation_key_statement(connection.vendor),
                           [source, external_id])
            found = cursor.fetchone()
        if found is None:
            return None
        reservation_id = found[0]
    existing = Reservation.objects.get(pk=reservation_id)
    if existing.customer_id != customer.pk or existing.amount != amount:
        raise Conflict(_("order %(source)s/%(external_id)s was already checked for another "
                         "customer or amount (customer %(customer)s, amount %(amount)s)") % {
                             "source": source, "external_id": external_id,
                             "customer": existing.customer.code, "amount": existing.amount},
                       field="external_id")
    first = existing.checks.order_by("pk").first()
    if first is None:  # cannot happen: a reservation is created with its check
        raise Conflict(_("the reservation has no gate answer"), field="external_id")
    return GateAnswer(check=first, reservation=existing, replayed=True)


def check(actor: Actor, customer: Customer, amount: object, *, reserve: bool = False,
          source: str = "", external_id: str = "") -> GateAnswer:
    """Answer the gate for `customer` (already scoped to what the actor may see)."""
    if not actor.can("credit.check_gate"):
        raise PermissionRefused(_("your role may not use the order gate"))
    value = clean_amount(amount)
    source, external_id = clean_identity(source, external_id, required=reserve)
    if reserve:
        replay = _replay(customer, value, source, external_id)
        if replay is not None:
            return replay
    version, policy = policy_in_force()
    return _answer(actor, customer, value, policy, version, exposure.snapshot(customer.pk),
                   reserve=reserve, source=source, external_id=external_id)


@dataclass(frozen=True)
class _Read:
    customer: Customer
    view: exposure.Snapshot
    policy: tuple[int, str] | None  # (number, checksum) of the version in force
    reservation_id: int | None  # of the order (source, external_id), if it was reserved


@functools.cache
def _read_statement(vendor: str, key: str) -> str:
    c, r = Customer, Reservation
    policy_query, _params = policies.in_force_query()
    brief = ", ".join(f"c.{sql.column(c, name)}" for name in selectors.BRIEF_FIELDS)
    select = exposure.snapshot_select(
        f"{brief}, p.*, r.{sql.column(r, 'id')}",
        f"LEFT JOIN ({policy_query}) p ON 1 = 1 "
        f"LEFT JOIN {sql.table(r)} r ON r.{sql.column(r, 'source')} = %s "
        f"AND r.{sql.column(r, 'external_id')} = %s")
    return f"{select} WHERE c.{sql.column(c, key)} = %s"


def _read(customer_ref: int | str, source: str, external_id: str) -> _Read | None:
    """The customer, its standing and its group's, the policy version in force and the
    order's reservation, in one statement (every call of the gate needs all of them)."""
    key = selectors.customer_key(customer_ref)
    if key is None:
        return None
    _statement, policy_params = policies.in_force_query()
    with sql.prepared_cursor() as cursor:
        cursor.execute(_read_statement(connection.vendor, key[0]),
                       [*policy_params, source, external_id, key[1]])
        row = cursor.fetchone()
    if row is None:
        return None
    width = exposure.SNAPSHOT_COLUMNS + len(selectors.BRIEF_FIELDS)
    customer = Customer.from_db(connection.alias, selectors.BRIEF_FIELDS,
                                row[exposure.SNAPSHOT_COLUMNS:width])
    number, digest, reservation_id = row[width:]
    return _Read(customer=customer, view=exposure.snapshot_of(customer.pk, row),
                 policy=None if number is None else (number, digest),
                 reservation_id=reservation_id)


def check_order(actor: Actor, customer_ref: int | str, amount: object, *,
                reserve: bool = False, source: str = "", external_id: str = "",
                field: str = "customer") -> tuple[GateAnswer, Customer]:
    """`check` for a customer given by id or 9-digit code, as the ERP asks over the API: a
    customer the actor may not see is not found. Reads everything in one statement."""
    if not actor.can("credit.check_gate"):
        raise PermissionRefused(_("your role may not use the order gate"))
    read = _read(customer_ref, source.strip(), external_id.strip())
    if read is None or not selectors.may_see(actor, read.customer.account_manager_id):
        raise selectors.customer_not_found(customer_ref, field)
    customer = read.customer
    value = clean_amount(amount)
    source, external_id = clean_identity(source, external_id, required=reserve)
    if reserve and read.reservation_id is not None:
        replay = _replay(customer, value, source, external_id, read.reservation_id)
        if replay is not None:
            return replay, customer
    if read.policy is None:
        raise policies.none_in_force()
    version, policy = read.policy[0], policies.document_of(*read.policy)
    return _answer(actor, customer, value, policy, version, read.view, reserve=reserve,
                   source=source, external_id=external_id), customer


def _answer(actor: Actor, customer: Customer, value: Decimal, policy: PolicyDocument,
            version: int, view: exposure.Snapshot, *, reserve: bool, source: str,
            external_id: str) -> GateAnswer:
    if not reserve:
        decision = gate.decide(policy, _request(view, value, clock.today()))
        # One INSERT in autocommit, the reads before it: the write lock (on SQLite the only
        # one) is held for that statement alone.
        stored = _store(actor, view, value, decision, version, reserve=False,
                        source=source, external_id=external_id)
        return GateAnswer(check=stored, reservation=None, replayed=False)
    try:
        return atomic_with_retry(lambda: _check_and_reserve(
            actor, customer, value, policy, version, source, external_id, view))
    except IntegrityError:
        # Two identical posts raced: the other one stored the reservation first.
        replay = _replay(customer, value, source, external_id)
        if replay is None:
            raise
        return replay


def _check_and_reserve(actor: Actor, customer: Customer, amount: Decimal,
                       policy: PolicyDocument, version: int, source: str,
                       external_id: str, first_view: exposure.Snapshot) -> GateAnswer:
    """Decide and reserve. The first decision is on the standing read just before (the
    conditional UPDATE keeps the limits whatever happened since); every retry reads again."""
    today = clock.today()
    factor = gate.tolerance_factor(policy)
    view = first_view
    for attempt in range(RESERVE_ATTEMPTS):
        if attempt:
            view = exposure.snapshot(customer.pk)
        decision = gate.decide(policy, _request(view, amount, today))
        if decision.outcome != gate.GateOutcome.ALLOW:
            break
        # A group's counters are its members' sums, limit or not: its row moves too.
        try:
            result = exposure.try_reserve(customer.pk, view.group_id, amount, factor)
        except MembershipMoved:
            continue
        if result.ok:
            return _record(actor, view, amount, decision, version, policy, source,
                           external_id, Reservation.Status.PENDING)
        # Someone else took the room between our read and our UPDATE: decide again on the
        # fresh numbers (normally a hold or a denial now).
    else:
        view = exposure.snapshot(customer.pk)
        decision = gate.decide(policy, _request(view, amount, today))
        if decision.outcome == gate.GateOutcome.ALLOW:
            # Still looks allowed but the counters kept moving: refuse rather than spin.
            decision = gate.GateDecision(
                outcome=gate.GateOutcome.HOLD,
                reasons=(Reason("CONCURRENT_UPDATES", {"attempts": RESERVE_ATTEMPTS}),),
                available_customer=decision.available_customer,
                available_group=decision.available_group)
    if decision.outcome == gate.GateOutcome.HOLD:
        return _record(actor, view, amount, decision, version, policy, source,
                       external_id, Reservation.Status.HELD)
    stored = _store(actor, view, amount, decision, version, reserve=True,
                    source=source, external_id=external_id)
    return GateAnswer(check=stored, reservation=None, replayed=False)


def _record(actor: Actor, view: exposure.Snapshot, amount: Decimal,
            decision: gate.GateDecision, version: int, policy: PolicyDocument, source: str,
            external_id: str, status: str) -> GateAnswer:
    now = clock.now()
    reservation = Reservation(
        customer_id=view.customer_id, source=source, external_id=external_id, amount=amount,
        status=status, created_at=now,
        expires_at=now + dt.timedelta(hours=policy.credit.reservation_expiry_hours))
    # The reservation and its answer in one statement on PostgreSQL.
    stored = sql.insert_with_parent(reservation, _answer_row(
        actor, view, amount, decision, version, reserve=True, source=source,
        external_id=external_id), "reservation")
    action = "gate.reserve" if status == Reservation.Status.PENDING else "gate.hold"
    # Last statement of the transaction: the audit head's lock is held for the least time.
    audit.record(actor, action, reservation, customer_id=view.customer_id,
                 after={"amount": amount, "status": status, "source": source,
                        "external_id": external_id, "outcome": decision.outcome.value,
                        "reasons": _reasons(decision), "policy_version": version})
    return GateAnswer(check=stored, reservation=reservation, replayed=False)


# --- the reservation's life after the gate ----------------------------------------------------


def find_reservation(source: str, external_id: str) -> Reservation:
    reservation = Reservation.objects.select_related("customer").filter(
        source=source, external_id=external_id).first()
    if reservation is None:
        raise NotFound(_("no reservation for order %(source)s/%(external_id)s") % {
            "source": source, "external_id": external_id}, field="external_id")
    return reservation


def _transition(reservation: Reservation, from_status: str, new_status: str,
                **fields: object) -> Reservation | None:
    """Move the reservation from `from_status` to `new_status` with one conditional UPDATE: of
    two concurrent transitions only one wins, and the winner knows exactly which state it left
    (so counters are given back exactly once). Returns the fresh row, or None."""
    moved = Reservation.objects.filter(pk=reservation.pk, status=from_status).update(
        status=new_status, **fields)
    if not moved:
        return None
    return Reservation.objects.get(pk=reservation.pk)


def _end(actor: Actor, reservation: Reservation, new_status: str, action: str, *,
         reason: str = "", **fields: object) -> Reservation | None:
    """End a pending or held reservation; a pending one gives its amount back."""
    for previous in (Reservation.Status.PENDING, Reservation.Status.HELD):
        done = _transition(reservation, previous, new_status, ended_at=clock.now(), **fields)
        if done is None:
            continue
        if previous == Reservation.Status.PENDING:
            exposure.release_reserved(done.customer_id, done.amount)
        audit.record(actor, action, done, customer_id=done.customer_id,
                     before={"status": previous},
                     after={"status": done.status} | {k: getattr(v, "pk", v)
                                                       for k, v in fields.items()},
                     reason=reason)
        # Apps above credit (a coupon redeemed on the order) follow in this transaction.
        hooks.reservation_ended(actor, done)
        return done
    return None


def release(actor: Actor, reservation: Reservation, *, reason: str = "") -> Reservation:
    """The order was cancelled: give the credit back. Releasing twice is harmless, and so is
    releasing a reservation that already ended without credit (expired or rejected): the
    order holds no credit either way. An invoiced order cannot be released."""
    if not (actor.can("credit.change_reservation") or actor.can("credit.check_gate")):
        raise PermissionRefused(_("your role may not release reservations"))
    reason = limits.bounded(reason, limits.CHANGE_REASON, "reason")
    with transaction.atomic():
        done = _end(actor, reservation, Reservation.Status.VOIDED, "gate.release",
                    reason=reason)
        if done is not None:
            return done
        current = Reservation.objects.get(pk=reservation.pk)
        if current.status in RELEASED:
            return current
        raise Conflict(_("the reservation is %(status)s and can no longer be released") % {
            "status": current.get_status_display()}, field="status")


def cancelled(actor: Actor, source: str, external_id: str, *,
              reason: str) -> Reservation | None:
    """The order was cancelled (a cancellation fact from the ERP): its reservation ends and
    gives its credit back. Called by the ledger inside the cancellation's transaction."""
    reservation = Reservation.objects.filter(source=source, external_id=external_id).first()
    if reservation is None:
        return None
    return _end(actor, reservation, Reservation.Status.VOIDED, "gate.release", reason=reason)


def convert(actor: Actor, source: str, external_id: str, invoice: object) -> Reservation | None:
    """An invoice for the order arrived: its exposure is now posted, so the reservation ends.
    Called by the ledger inside the invoice's transaction; no reservation is normal (orders
    that never went through the gate)."""
    reservation = Reservation.objects.filter(source=source, external_id=external_id).first()
    if reservation is None:
        return None
    refusal = conversion_refusal(reservation, getattr(invoice, "customer_id",
                                                      reservation.customer_id))
    if refusal is not None:
        raise refusal
    return _end(actor, reservation, Reservation.Status.POSTED, "gate.convert", invoice=invoice)


def conversion_refusal(reservation: Reservation, customer_id: int) -> ValidationFailed | None:
    """Why an invoice of `customer_id` may not convert the reservation, if it may not."""
    if reservation.customer_id != customer_id:
        # Another customer's order: ending it would hand that customer's credit back.
        return ValidationFailed(_("order %(source)s/%(external_id)s belongs to another "
                                  "customer") % {"source": reservation.source,
                                                 "external_id": reservation.external_id},
                                field="order_external_id")
    return None


def expire_due(actor: Actor, now: dt.datetime | None = None) -> int:
    """Expire every reservation whose time has passed. Each expiry is its own conditional
    UPDATE, so running the job twice, or twice at once, expires each one exactly once. The
    due reservations are read in batches by key (never through an open cursor over the rows
    being changed, which SQLite does not isolate from the writes of the same connection)."""
    now = now or clock.now()
    expired = 0
    due = Reservation.objects.filter(
        status__in=[Reservation.Status.PENDING, Reservation.Status.HELD],
        expires_at__lte=now).order_by("pk")
    last = 0
    while True:
        batch = list(due.filter(pk__gt=last)[:EXPIRE_BATCH])
        if not batch:
            return expired
        for reservation in batch:
            with transaction.atomic():
                if _end(actor, reservation, Reservation.Status.EXPIRED,
                        "gate.expire") is not None:
                    expired += 1
        last = batch[-1].pk


def approve_hold(actor: Actor, reservation: Reservation, *, reason: str) -> Reservation:
    """A credit manager lets a held order through: the amount is reserved even above the
    limit, recorded with who and why."""
    if not actor.can("credit.decide_hold"):
        raise PermissionRefused(_("your role may not decide credit holds"))
    reason = limits.bounded(reason, limits.REASON, "reason")
    if not reason:
        raise ValidationFailed(_("say why the order may go through"), field="reason")
    _version, policy = policy_in_force()
    with transaction.atomic():
        now = clock.now()
        done = _transition(reservation, Reservation.Status.HELD, Reservation.Status.PENDING,
                           decided_by=actor.user, decided_at=now, decision_reason=reason,
                           expires_at=now + dt.timedelta(
                               hours=policy.credit.reservation_expiry_hours))
        if done is None:
            raise Conflict(_("the order is no longer on credit hold"), field="status")
        exposure.add_reserved(done.customer_id, done.amount)
        audit.record(actor, "gate.hold_approve", done, customer_id=done.customer_id,
                     before={"status": Reservation.Status.HELD},
                     after={"status": done.status, "amount": done.amount}, reason=reason)
        return done


def reject_hold(actor: Actor, reservation: Reservation, *, reason: str) -> Reservation:
    if not actor.can("credit.decide_hold"):
        raise PermissionRefused(_("your role may not decide credit holds"))
    reason = limits.bounded(reason, limits.REASON, "reason")
    if not reason:
        raise ValidationFailed(_("say why the order is rejected"), field="reason")
    with transaction.atomic():
        now = clock.now()
        done = _transition(reservation, Reservation.Status.HELD, Reservation.Status.REJECTED,
                           decided_by=actor.user, decided_at=now, decision_reason=reason,
                           ended_at=now)
        if done is None:
            raise Conflict(_("the order is no longer on credit hold"), field="status")
        audit.record(actor, "gate.hold_reject", done, customer_id=done.customer_id,
                     before={"status": Reservation.Status.HELD},
                     after={"status": done.status}, reason=reason)
        return done
