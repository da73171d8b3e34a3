"""Scores, reviews and overrides over the API. Thin: every change is made by
credit.services.scoring / reviews / overrides, which check permissions again and audit.

    GET  /customers/{id_or_code}/credit     score, grade, terms, exposure (and the group's),
                                            latest reasons, policy version, next review
    GET  /customers/{id_or_code}/scores     score history, newest first (paginated)
    POST /customers/{id_or_code}/rescore    score the customer now
    POST /customers/{id_or_code}/reviews    record a credit review
    GET  /credit/reviews                    the review queue, riskiest first
    GET  /credit/overrides                  overrides (filters: status, customer, group)
    POST /credit/overrides                  request one for a customer or a group
    GET  /credit/overrides/{override_id}
    POST /credit/overrides/{override_id}/approve | reject | revoke
"""
# No `from __future__ import annotations`: Django Ninja resolves the annotations at import.

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from custguard.api.pagination import Pages
from custguard.api.schemas import CustomerRef, InputSchema, Money, ReasonOut
from custguard.core import clock
from custguard.core.actors import Actor, actor_from_request
from custguard.core.errors import NotFound, PermissionRefused, ValidationFailed
from custguard.core.services.policies import policy_in_force
from custguard.credit import reasons as reason_text
from custguard.credit.models import CreditOverride, CreditReview, CreditScore
from custguard.credit.services import overrides, reviews, scoring
from custguard.customers import selectors
from custguard.customers.models import Customer, CustomerGroup, GroupStanding, Standing
from custguard.customers.selectors import customer_in_scope

router = Router(tags=["credit"])
OverrideStatus = Literal[tuple(CreditOverride.Status.values)]  # type: ignore[valid-type]


def require(actor: Actor, perm: str) -> None:
    if not actor.can(perm):
        raise PermissionRefused(_("your role may not do this"))


def group_in_scope(actor: Actor, group_id: int, field: str | None = None) -> CustomerGroup:
    group = selectors.groups_for(actor).filter(pk=group_id).first()
    if group is None:
        raise NotFound(_("group %(id)s not found") % {"id": group_id}, field=field)
    return group


def _policy() -> Any:
    try:
        return policy_in_force()[1]
    except ValidationFailed:
        return None


# --- schemas ----------------------------------------------------------------------------------



def reasons_out(stored: list[dict[str, Any]] | None, policy: Any = None) -> list[dict[str, Any]]:
    return [{"code": r.get("code", ""), "params": r.get("params") or {},
             "text": reason_text.describe(r, policy)} for r in stored or []]


class ExposureOut(Schema):
    credit_limit: Decimal
    posted: Decimal
    reserved: Decimal
    available: Decimal


class GroupExposureOut(ExposureOut):
    id: int
    name: str
    has_limit: bool = Field(description="whether a unified group limit applies")



class CreditOut(Schema):
    customer: CustomerRef
    score: int | None
    grade: str
    credit_limit: Decimal
    payment_terms_days: int
    prepay_only: bool
    limit_overridden: bool
    terms_overridden: bool
    exposure: ExposureOut
    overdue_amount: Decimal
    days_past_due: int
    group: GroupExposureOut | None
    reasons: list[ReasonOut] = Field(description="the latest score's reasons, the factors "
                                                 "that cost the most points first")
    limit_reasons: list[ReasonOut]
    policy_version: int | None
    scored_at: dt.datetime | None
    next_review_on: dt.date | None


class ScoreOut(Schema):
    id: int
    computed_at: dt.datetime
    as_of: dt.date
    policy_version: int
    trigger: str
    score: int
    grade: str
    factor_values: dict[str, str | None]
    factor_points: dict[str, int]
    reasons: list[ReasonOut]
    credit_limit: Decimal = Field(description="the limit the grade earns (before overrides)")
    payment_terms_days: int
    prepay_only: bool
    limit_reasons: list[ReasonOut]


def score_out(score: CreditScore, policy: Any = None) -> dict[str, Any]:
    return {
        "id": score.pk, "computed_at": score.computed_at, "as_of": score.as_of,
        "policy_version": score.policy_version, "trigger": score.trigger,
        "score": score.score, "grade": score.grade, "factor_values": score.factor_values,
        "factor_points": score.factor_points,
        "reasons": reasons_out(score.reasons, policy), "credit_limit": score.credit_limit,
        "payment_terms_days": score.payment_terms_days, "prepay_only": score.prepay_only,
        "limit_reasons": reasons_out(score.limit_reasons, policy),
    }


def _exposure(row: Standing | GroupStanding) -> dict[str, Any]:
    return {"credit_limit": row.credit_limit, "posted": row.posted, "reserved": row.reserved,
            "available": row.available}


def credit_out(customer: Customer) -> dict[str, Any]:
    standing = Standing.objects.get(pk=customer.pk)
    latest = scoring.latest_score(customer.pk)
    policy = _policy()
    group = None
    if customer.group_id is not None:
        row = GroupStanding.objects.select_related("group").get(pk=customer.group_id)
        group = _exposure(row) | {"id": row.pk, "name": row.group.name,
                                  "has_limit": row.has_limit}
    return {
        "customer": {"id": customer.pk, "code": customer.code, "name": customer.name},
        "score": standing.score, "grade": standing.grade,
        "credit_limit": standing.credit_limit,
        "payment_terms_days": standing.payment_terms_days,
        "prepay_only": standing.prepay_only, "limit_overridden": standing.limit_overridden,
        "terms_overridden": standing.terms_overridden, "exposure": _exposure(standing),
        "overdue_amount": standing.overdue_amount,
        "days_past_due": standing.days_past_due(clock.today()), "group": group,
        "reasons": reasons_out(latest.reasons if latest else [], policy),
        "limit_reasons": reasons_out(latest.limit_reasons if latest else [], policy),
        "policy_version": standing.policy_version, "scored_at": standing.scored_at,
        "next_review_on": standing.next_review_on,
    }


class _Rows:
    """A lazily sliced queryset rendered row by row (for @paginate)."""

    def __init__(self, qs: QuerySet[Any], render: Any) -> None:
        self.qs, self.render = qs, render

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        return [self.render(row) for row in self.qs[item]]


# --- scores -----------------------------------------------------------------------------------


@router.get("/customers/{id_or_code}/credit", response=CreditOut,
            summary="A customer's credit: score, grade, terms, exposure and reasons")
def get_credit(request: HttpRequest, id_or_code: str) -> Any:
    actor = actor_from_request(request)
    require(actor, "credit.view_creditscore")
    return credit_out(customer_in_scope(actor, id_or_code))


@router.get("/customers/{id_or_code}/scores", response=list[ScoreOut],
            summary="A customer's score history, newest first")
@paginate(Pages, page_size=50)
def list_scores(request: HttpRequest, id_or_code: str) -> Any:
    actor = actor_from_request(request)
    require(actor, "credit.view_creditscore")
    customer = customer_in_scope(actor, id_or_code)
    policy = _policy()
    qs = CreditScore.objects.filter(customer=customer).order_by("-computed_at", "-pk")
    return _Rows(qs, lambda score: score_out(score, policy))


@router.post("/customers/{id_or_code}/rescore", response=ScoreOut,
             summary="Score a customer now")
def rescore(request: HttpRequest, id_or_code: str) -> Any:
    actor = actor_from_request(request)
    require(actor, "credit.rescore")
    customer = customer_in_scope(actor, id_or_code)
    return score_out(reviews.rescore_now(actor, customer), _policy())


# --- reviews ----------------------------------------------------------------------------------


class CreditReviewIn(InputSchema):
    note: str = Field(min_length=1, max_length=reviews.MAX_NOTE,
                      description="what was looked at and concluded")


class ReviewOut(Schema):
    id: int
    customer: CustomerRef
    reviewed_by: str | None
    reviewed_at: dt.datetime
    note: str
    next_review_on: dt.date
    score: ScoreOut | None


def review_out(review: CreditReview) -> dict[str, Any]:
    customer = review.customer
    return {"id": review.pk, "customer": {"id": customer.pk, "code": customer.code,
                                          "name": customer.name},
            "reviewed_by": review.reviewed_by.get_username() if review.reviewed_by else None,
            "reviewed_at": review.reviewed_at, "note": review.note,
            "next_review_on": review.next_review_on,
            "score": score_out(review.score, _policy()) if review.score else None}


@router.post("/customers/{id_or_code}/reviews", response={201: ReviewOut},
             summary="Record a credit review (rescores the customer now)")
def record_review(request: HttpRequest, id_or_code: str, payload: CreditReviewIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "credit.add_creditreview")
    customer = customer_in_scope(actor, id_or_code)
    return Status(201, review_out(reviews.record_review(actor, customer, note=payload.note)))


class QueueRowOut(Schema):
    customer: CustomerRef
    grade: str
    score: int | None
    credit_limit: Decimal
    overdue_amount: Decimal
    days_past_due: int
    next_review_on: dt.date | None
    ever_reviewed: bool
    last_reviewed_at: dt.datetime | None


def queue_row(customer: Customer) -> dict[str, Any]:
    standing = customer.standing
    return {"customer": {"id": customer.pk, "code": customer.code, "name": customer.name},
            "grade": standing.grade, "score": standing.score,
            "credit_limit": standing.credit_limit, "overdue_amount": standing.overdue_amount,
            "days_past_due": standing.days_past_due(clock.today()),
            "next_review_on": standing.next_review_on,
            "ever_reviewed": customer.ever_reviewed,  # type: ignore[attr-defined]
            "last_reviewed_at": customer.last_reviewed_at}  # type: ignore[attr-defined]


@router.get("/credit/reviews", response=list[QueueRowOut],
            summary="Customers due for a credit review, riskiest first")
@paginate(Pages, page_size=50)
def review_queue(request: HttpRequest, grade: str = "", overdue_only: bool = False) -> Any:
    actor = actor_from_request(request)
    require(actor, "credit.view_creditreview")
    qs = reviews.review_queue(actor)
    if grade:
        qs = qs.filter(standing__grade=grade)
    if overdue_only:
        qs = qs.filter(standing__overdue_amount__gt=0)
    return _Rows(qs, queue_row)


# --- overrides --------------------------------------------------------------------------------


class OverrideIn(InputSchema):
    customer: int | str | None = Field(None, description="customer id or 9-digit code")
    group: int | None = Field(None, description="group id (a unified group limit)")
    credit_limit: Money | None = Field(None, description="the limit; send it as a string")
    payment_terms_days: int | None = Field(None, description="customers only")
    reason: str = Field(min_length=1, max_length=overrides.MAX_REASON)
    expires_on: dt.date = Field(description="the first day it no longer applies: after today, "
                                            "at most one year ahead")


class OverrideNoteIn(InputSchema):
    note: str = Field("", max_length=overrides.MAX_REASON,
                      description="optional for an approval, required for a rejection")


class RevokeIn(InputSchema):
    reason: str = Field(min_length=1, max_length=overrides.MAX_REASON)


class OverrideOut(Schema):
    id: int
    customer: CustomerRef | None
    group: dict[str, Any] | None
    credit_limit: Decimal | None
    payment_terms_days: int | None
    reason: str
    expires_on: dt.date
    status: str
    needs_approval: bool
    requested_by: str | None
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_note: str
    ended_at: dt.datetime | None


def override_out(o: CreditOverride) -> dict[str, Any]:
    return {
        "id": o.pk,
        "customer": ({"id": o.customer.pk, "code": o.customer.code, "name": o.customer.name}
                     if o.customer else None),
        "group": {"id": o.group.pk, "name": o.group.name} if o.group else None,
        "credit_limit": o.credit_limit, "payment_terms_days": o.payment_terms_days,
        "reason": o.reason, "expires_on": o.expires_on, "status": o.status,
        "needs_approval": o.needs_approval,
        "requested_by": o.requested_by.get_username() if o.requested_by else None,
        "requested_at": o.requested_at,
        "decided_by": o.decided_by.get_username() if o.decided_by else None,
        "decided_at": o.decided_at, "decision_note": o.decision_note, "ended_at": o.ended_at,
    }


def visible_overrides(actor: Actor) -> QuerySet[CreditOverride]:
    qs = CreditOverride.objects.select_related("customer", "group", "requested_by",
                                               "decided_by")
    if selectors.sees_all_customers(actor):
        return qs
    return qs.filter(Q(customer__in=selectors.customers_for(actor).values("pk"))
                     | Q(group__in=selectors.groups_for(actor).values("pk")))


def override_in_scope(actor: Actor, override_id: int) -> CreditOverride:
    override = visible_overrides(actor).filter(pk=override_id).first()
    if override is None:
        raise NotFound(_("override %(id)s not found") % {"id": override_id})
    return override


@router.get("/credit/overrides", response=list[OverrideOut], summary="List credit overrides")
@paginate(Pages, page_size=50)
def list_overrides(request: HttpRequest, status: OverrideStatus | None = None,
                   customer: str | None = None, group: int | None = None) -> Any:
    actor = actor_from_request(request)
    require(actor, "credit.view_creditoverride")
    qs = visible_overrides(actor)
    if status:
        qs = qs.filter(status=status)
    if customer:
        qs = qs.filter(customer=customer_in_scope(actor, customer, field="customer"))
    if group is not None:
        qs = qs.filter(group=group_in_scope(actor, group, field="group"))
    return _Rows(qs.order_by("-requested_at", "-pk"), override_out)


@router.get("/credit/overrides/{override_id}", response=OverrideOut,
            summary="Get a credit override")
def get_override(request: HttpRequest, override_id: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "credit.view_creditoverride")
    return override_out(override_in_scope(actor, override_id))


@router.post("/credit/overrides", response={201: OverrideOut},
             summary="Request a credit override for a customer or a group")
def create_override(request: HttpRequest, payload: OverrideIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "credit.add_creditoverride")
    if (payload.customer is None) == (payload.group is None):
        raise ValidationFailed(_("give either a customer or a group"), field="customer")
    target: dict[str, Any] = (
        {"customer": customer_in_scope(actor, str(payload.customer), field="customer")}
        if payload.customer is not None else
        {"group": group_in_scope(actor, payload.group, field="group")})  # type: ignore[arg-type]
    override = overrides.request_override(
        actor, credit_limit=payload.credit_limit, payment_terms_days=payload.payment_terms_days,
        reason=payload.reason, expires_on=payload.expires_on, **target)
    return Status(201, override_out(override_in_scope(actor, override.pk)))


@router.post("/credit/overrides/{override_id}/approve", response=OverrideOut,
             summary="Approve a pending override (not your own request)")
def approve_override(request: HttpRequest, override_id: int, payload: OverrideNoteIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "credit.approve_creditoverride")
    override = overrides.approve_override(actor, override_in_scope(actor, override_id),
                                          note=payload.note)
    return override_out(override_in_scope(actor, override.pk))


@router.post("/credit/overrides/{override_id}/reject", response=OverrideOut,
             summary="Reject a pending override (a note is required)")
def reject_override(request: HttpRequest, override_id: int, payload: OverrideNoteIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "credit.approve_creditoverride")
    override = overrides.reject_override(actor, override_in_scope(actor, override_id),
                                         note=payload.note)
    return override_out(override_in_scope(actor, override.pk))


@router.post("/credit/overrides/{override_id}/revoke", response=OverrideOut,
             summary="End an override in force, or withdraw a pending one")
def revoke_override(request: HttpRequest, override_id: int, payload: RevokeIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "credit.add_creditoverride")
    override = overrides.revoke_override(actor, override_in_scope(actor, override_id),
                                         reason=payload.reason)
    return override_out(override_in_scope(actor, override.pk))
