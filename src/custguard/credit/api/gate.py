"""The order gate over the API: the ERP asks before it accepts an order, optionally reserving
the amount; it releases the reservation when the order is cancelled. Thin: every answer and
every change comes from credit.services.gate.

The check reads the customer's and its group's standing rows, the policy version in force,
and inserts the answer — it never scans history, so its cost does not grow with the customer's
facts (bench/gate.py measures it).
"""
# No `from __future__ import annotations`: Django Ninja resolves the annotations at import.

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from custguard.api.pagination import Pages
from custguard.api.schemas import InputSchema, Money, ReasonOut
from custguard.core import limits
from custguard.core.actors import Actor, actor_from_request
from custguard.core.errors import NotFound, PermissionRefused, ValidationFailed
from custguard.credit import reasons as reason_text
from custguard.credit.models import GateCheck, Reservation
from custguard.credit.services import gate
from custguard.customers import selectors
from custguard.customers.models import Customer

router = Router(tags=["gate"])


def require(actor: Actor, *perms: str) -> None:
    """At least one of `perms`."""
    if not any(actor.can(perm) for perm in perms):
        raise PermissionRefused(_("your role may not do this"))


def customer_in_scope(actor: Actor, id_or_code: str | int, field: str | None = None) -> Customer:
    """A customer the actor may see, by id or 9-digit code; any other is not found (404)."""
    # Its callers (the gate's lists, posting facts) need the customer's key and code only.
    return selectors.brief_customer_in_scope(actor, id_or_code, field)


def scoped(qs: QuerySet[Any], actor: Actor) -> QuerySet[Any]:
    """Rows of customers the actor may see (gate checks, reservations)."""
    if selectors.sees_all_customers(actor):
        return qs
    return qs.filter(customer__in=selectors.customers_for(actor).values("pk"))


def reservation_in_scope(actor: Actor, source: str, external_id: str) -> Reservation:
    reservation = gate.find_reservation(source, external_id)
    if not scoped(Reservation.objects.filter(pk=reservation.pk), actor).exists():
        # Another customer's order does not exist for this caller.
        raise NotFound(_("no reservation for order %(source)s/%(external_id)s") % {
            "source": source, "external_id": external_id}, field="external_id")
    return reservation


# --- schemas ----------------------------------------------------------------------------------


class GateCheckIn(InputSchema):
    customer: int | str = Field(description="customer id or 9-digit customer code")
    amount: Money = Field(description="order amount in the policy currency, at most two "
                                        "decimal places; send it as a string to keep it exact")
    reserve: bool = Field(False, description="reserve the amount for the order if allowed "
                                             "(needs source and external_id)")
    source: str = Field("", max_length=50, description="the ordering system, e.g. erp")
    external_id: str = Field("", max_length=100,
                             description="the order's id in that system; the same order "
                                         "checked again gets the first answer back")



class AvailableOut(Schema):
    customer: Decimal
    group: Decimal | None = Field(description="null when the customer is in no group with a "
                                              "unified limit")


class ReservationBriefOut(Schema):
    source: str
    external_id: str
    amount: Decimal
    status: str
    expires_at: dt.datetime


class GateAnswerOut(Schema):
    check_id: int
    checked_at: dt.datetime
    customer_id: int
    customer_code: str
    amount: Decimal
    outcome: str = Field(description="allow | hold | prepay_required | deny")
    reasons: list[ReasonOut]
    available: AvailableOut
    grade: str = Field(description="empty while the customer is not rated")
    policy_version: int
    reservation: ReservationBriefOut | None
    replayed: bool = Field(description="true when this order was answered before: this is "
                                       "that first answer, and nothing was changed")
    priority_allocation: bool = Field(description="true when the customer's class puts it "
                                                  "first for scarce goods (the reason "
                                                  "PRIORITY_ALLOCATION)")


class ReleaseIn(InputSchema):
    reason: str = Field("", max_length=limits.CHANGE_REASON,
                        description="why the order was cancelled")


class ReservationOut(Schema):
    source: str
    external_id: str
    customer_id: int
    customer_code: str
    amount: Decimal
    status: str = Field(description="held | pending | posted | voided | expired | rejected")
    created_at: dt.datetime
    expires_at: dt.datetime
    ended_at: dt.datetime | None
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_reason: str
    invoice_id: int | None


class GateCheckOut(Schema):
    id: int
    at: dt.datetime
    amount: Decimal
    outcome: str
    reasons: list[ReasonOut]
    available_customer: Decimal
    available_group: Decimal | None
    grade: str
    policy_version: int
    reserve: bool
    source: str
    external_id: str
    reservation_status: str | None
    asked_by: str


def reasons_out(stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"code": r.get("code", ""), "params": r.get("params") or {},
             "text": reason_text.describe(r)} for r in stored]


def reservation_out(reservation: Reservation) -> dict[str, Any]:
    return {
        "source": reservation.source, "external_id": reservation.external_id,
        "customer_id": reservation.customer_id, "customer_code": reservation.customer.code,
        "amount": reservation.amount, "status": reservation.status,
        "created_at": reservation.created_at, "expires_at": reservation.expires_at,
        "ended_at": reservation.ended_at,
        "decided_by": reservation.decided_by.get_username() if reservation.decided_by else None,
        "decided_at": reservation.decided_at, "decision_reason": reservation.decision_reason,
        "invoice_id": reservation.invoice_id,
    }


def answer_out(answer: gate.GateAnswer, customer: Customer) -> dict[str, Any]:
    check, reservation = answer.check, answer.reservation
    return {
        "check_id": check.pk, "checked_at": check.at, "customer_id": customer.pk,
        "customer_code": customer.code, "amount": check.amount, "outcome": check.outcome,
        "reasons": reasons_out(check.reasons),
        "available": {"customer": check.available_customer, "group": check.available_group},
        "grade": check.grade, "policy_version": check.policy_version,
        "reservation": None if reservation is None else {
            "source": reservation.source, "external_id": reservation.external_id,
            "amount": reservation.amount, "status": reservation.status,
            "expires_at": reservation.expires_at},
        "replayed": answer.replayed,
        "priority_allocation": any(reason.get("code") == "PRIORITY_ALLOCATION"
                                   for reason in check.reasons),
    }


def check_out(check: GateCheck) -> dict[str, Any]:
    return {
        "id": check.pk, "at": check.at, "amount": check.amount, "outcome": check.outcome,
        "reasons": reasons_out(check.reasons), "available_customer": check.available_customer,
        "available_group": check.available_group, "grade": check.grade,
        "policy_version": check.policy_version, "reserve": check.reserve,
        "source": check.source, "external_id": check.external_id,
        "reservation_status": check.reservation.status if check.reservation else None,
        "asked_by": check.actor_label,
    }


# --- routes -----------------------------------------------------------------------------------


@router.post("/gate/check", response=GateAnswerOut,
             summary="Ask the order gate; optionally reserve the amount")
def gate_check(request: HttpRequest, payload: GateCheckIn) -> Any:
    """Answers 200 with the outcome whatever it is (a denial is an answer, not an error).
    Errors: 404 customer not found (or not visible to the caller), 409 the same order was
    checked before for another customer or amount, 422 bad input (the field is named)."""
    actor = actor_from_request(request)
    require(actor, "credit.check_gate")
    answer, customer = gate.check_order(actor, payload.customer, payload.amount,
                                        reserve=payload.reserve, source=payload.source,
                                        external_id=payload.external_id, field="customer")
    return answer_out(answer, customer)


@router.post("/gate/reservations/{source}/{external_id}/release", response=ReservationOut,
             summary="Release an order's reservation (the order was cancelled)")
def release_reservation(request: HttpRequest, source: str, external_id: str,
                        payload: ReleaseIn | None = None) -> Any:
    """Gives the reserved credit back. Idempotent: releasing again answers the same."""
    actor = actor_from_request(request)
    require(actor, "credit.change_reservation", "credit.check_gate")
    reservation = reservation_in_scope(actor, source, external_id)
    done = gate.release(actor, reservation, reason=payload.reason if payload else "")
    return reservation_out(
        Reservation.objects.select_related("customer", "decided_by").get(pk=done.pk))


@router.get("/gate/reservations/{source}/{external_id}", response=ReservationOut,
            summary="Get an order's reservation")
def get_reservation(request: HttpRequest, source: str, external_id: str) -> Any:
    actor = actor_from_request(request)
    require(actor, "credit.view_reservation")
    reservation = reservation_in_scope(actor, source, external_id)
    return reservation_out(
        Reservation.objects.select_related("customer", "decided_by").get(pk=reservation.pk))


@router.get("/customers/{id_or_code}/gate-checks", response=list[GateCheckOut],
            summary="The gate's answers for a customer, newest first")
@paginate(Pages, page_size=50)
def list_gate_checks(request: HttpRequest, id_or_code: str, outcome: str = "") -> Any:
    actor = actor_from_request(request)
    require(actor, "credit.view_gatecheck")
    customer = customer_in_scope(actor, id_or_code)
    qs = GateCheck.objects.filter(customer=customer).select_related("reservation")
    if outcome:
        if outcome not in GateCheck.Outcome.values:
            raise ValidationFailed(_("outcome must be one of %(choices)s") % {
                "choices": ", ".join(GateCheck.Outcome.values)}, field="outcome")
        qs = qs.filter(outcome=outcome)
    return _CheckList(qs.order_by("-at", "-pk"))


class _CheckList:
    """A lazily sliced queryset rendered as GateCheckOut dicts."""

    def __init__(self, qs: QuerySet[GateCheck]) -> None:
        self.qs = qs

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        return [check_out(check) for check in self.qs[item]]
