"""Coupons over the API, for the ERP and the portal. Thin: every change goes through
rewards.services.coupon_issuing / coupon_redemption, which check the permission again and
audit. Customers are scoped as everywhere: a coupon of a customer the caller may not see is a
404, like the customer.

    GET  /customers/{id_or_code}/coupons          the customer's coupons (paginated; status)
    POST /customers/{id_or_code}/coupons          issue one coupon (201; 200 on the same key)
    GET  /coupons/{code}                          one coupon with its redemptions
    POST /coupons/{code}/redeem                   use it on an order, without the gate
    POST /coupons/{code}/release                  the order was cancelled: usable again
    POST /coupon-batches                         one coupon each to a list of customers
    POST /gate/check-with-coupon                  the order gate on the amount after the
                                                  coupon, and the coupon redeemed when the
                                                  gate reserves, in one transaction
"""
# No `from __future__ import annotations`: Django Ninja resolves the annotations at import.

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from custguard.api.pagination import Pages
from custguard.api.schemas import CustomerRef, InputSchema, Money, QueryFilter, ReasonOut
from custguard.core import limits
from custguard.core.actors import Actor, actor_from_request
from custguard.core.errors import NotFound, PermissionRefused
from custguard.core.services.policies import policy_in_force
from custguard.credit.api.gate import GateAnswerOut, answer_out
from custguard.credit.reasons import describe
from custguard.customers.selectors import customer_in_scope, may_see
from custguard.rewards.api.points import _Rows
from custguard.rewards.models import Coupon, CouponBatch, CouponRedemption
from custguard.rewards.services import coupon_issuing, coupon_redemption

router = Router(tags=["coupons"])

CouponStatus = Literal[tuple(Coupon.Status.values)]  # type: ignore[valid-type]
PAGE_SIZE = 50
BATCH_API_MAX = 500


def require(actor: Actor, *perms: str) -> None:
    if not all(actor.can(perm) for perm in perms):
        raise PermissionRefused(_("your role may not do this"))


def _coupon_in_scope(actor: Actor, code: str) -> Coupon:
    coupon = (Coupon.objects.select_related("customer")
              .filter(code=coupon_issuing.normalized_code(code)[:20]).first())
    if coupon is None or not may_see(actor, coupon.customer.account_manager_id):
        raise NotFound(_("no coupon %(code)s") % {"code": code}, field="code")
    return coupon


def _reasons(stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"code": r.get("code", ""), "params": r.get("params") or {},
             "text": describe(r)} for r in stored]


# --- schemas ----------------------------------------------------------------------------------


class CouponRedemptionOut(Schema):
    id: int
    source: str
    external_id: str
    amount: Decimal = Field(description="the order before the discount")
    discount: Decimal
    status: str = Field(description="ACTIVE | RELEASED | CONVERTED")
    reasons: list[ReasonOut]
    gate_outcome: str = Field(description="the gate's outcome when redeemed with the gate")
    redeemed_at: dt.datetime
    ended_at: dt.datetime | None


class CouponOut(Schema):
    code: str = Field(description="12 characters; printed in groups of four")
    printed: str
    definition: str
    name: str = Field(description="the definition's name in the request's language (empty "
                                  "when the policy in force no longer has it)")
    kind: str = Field(description="AMOUNT_OFF | PERCENT_OFF | GIFT | PRIVILEGE")
    customer: CustomerRef
    status: str = Field(description="ISSUED | REDEEMED | EXPIRED | REVOKED")
    valid_from: dt.date
    valid_until: dt.date
    source: str = Field(description="MANUAL | BATCH | RULE")
    rule: str
    issued_at: dt.datetime
    issued_by: str


class CouponDetailOut(CouponOut):
    redemptions: list[CouponRedemptionOut]


def redemption_out(row: CouponRedemption) -> dict[str, Any]:
    return {"id": row.pk, "source": row.source, "external_id": row.external_id,
            "amount": row.amount, "discount": row.discount, "status": row.status,
            "reasons": _reasons(row.reasons), "gate_outcome": row.gate_outcome,
            "redeemed_at": row.redeemed_at, "ended_at": row.ended_at}


def coupon_out(coupon: Coupon) -> dict[str, Any]:
    _version, policy = policy_in_force()
    definition = policy.coupons.definition(coupon.definition)
    customer = coupon.customer
    return {
        "code": coupon.code, "printed": coupon_issuing.shown(coupon.code),
        "definition": coupon.definition,
        "name": definition.name(get_language() or "zh-hans") if definition else "",
        "kind": definition.kind if definition else "",
        "customer": {"id": customer.pk, "code": customer.code, "name": customer.name},
        "status": coupon.status, "valid_from": coupon.valid_from,
        "valid_until": coupon.valid_until, "source": coupon.source, "rule": coupon.rule,
        "issued_at": coupon.issued_at, "issued_by": coupon.issued_by,
    }


class CouponFilter(QueryFilter):
    status: CouponStatus | None = None


class IssueIn(InputSchema):
    definition_code: str = Field(max_length=64, description="a definition of the policy's "
                                                            "coupons section")
    key: str = Field(min_length=1, max_length=coupon_issuing.KEY_MAX,
                     description="the request's idempotency key: the same key returns the "
                                 "first coupon")


class IssuedOut(CouponOut):
    created: bool


class RedeemIn(InputSchema):
    customer: int | str = Field(description="customer id or 9-digit code (the coupon's owner)")
    amount: Money = Field(description="the order amount before the discount")
    categories: list[str] = Field([], max_length=coupon_redemption.MAX_CATEGORIES,
                                  description="the order's product category codes")
    source: str = Field(max_length=50, description="the ordering system, e.g. erp")
    external_id: str = Field(max_length=100, description="the order's id in that system")


class RedeemedOut(CouponRedemptionOut):
    created: bool
    coupon: str


class CouponReleaseIn(InputSchema):
    source: str = Field(max_length=50)
    external_id: str = Field(max_length=100)
    reason: str = Field("", max_length=limits.CHANGE_REASON)


class BatchIn(InputSchema):
    definition_code: str = Field(max_length=64)
    customers: list[int | str] = Field(min_length=1, max_length=BATCH_API_MAX,
                                       description="customer ids or 9-digit codes")
    key: str = Field(min_length=1, max_length=100)
    note: str = Field("", max_length=limits.NOTE)


class BatchOut(Schema):
    id: int
    definition: str
    count: int
    created_at: dt.datetime
    created_by: str
    coupons: list[str]


class GateWithCouponIn(InputSchema):
    customer: int | str = Field(description="customer id or 9-digit customer code")
    amount: Money = Field(description="the order amount before the discount")
    coupon_code: str = Field(max_length=30, description="as printed or typed; case, spaces "
                                                        "and dashes do not matter")
    categories: list[str] = Field([], max_length=coupon_redemption.MAX_CATEGORIES,
                                  description="the order's product category codes")
    source: str = Field(max_length=50, description="the ordering system, e.g. erp")
    external_id: str = Field(max_length=100, description="the order's id: the same order "
                                                         "again gets the first answer back")


class CouponDecisionOut(Schema):
    code: str
    redeemed: bool = Field(description="false: the gate did not reserve, the coupon is unused")
    amount: Decimal = Field(description="the order before the discount")
    discount: Decimal
    amount_after_discount: Decimal = Field(description="what the gate decided on")
    gift_item: str
    privilege: str
    reasons: list[ReasonOut]


class GateWithCouponOut(Schema):
    gate: GateAnswerOut
    coupon: CouponDecisionOut


# --- routes -----------------------------------------------------------------------------------


@router.get("/customers/{id_or_code}/coupons", response=list[CouponOut],
            summary="A customer's coupons, newest first")
@paginate(Pages, page_size=PAGE_SIZE)
def list_coupons(request: HttpRequest, id_or_code: str, filters: Query[CouponFilter]) -> Any:
    actor = actor_from_request(request)
    require(actor, "rewards.view_coupon")
    customer = customer_in_scope(actor, id_or_code, "id_or_code")
    qs = Coupon.objects.filter(customer=customer).select_related("customer")
    if filters.status:
        qs = qs.filter(status=filters.status)
    return _Rows(qs.order_by("-issued_at", "-pk"), coupon_out)


@router.post("/customers/{id_or_code}/coupons", response={200: IssuedOut, 201: IssuedOut},
             summary="Issue a coupon to the customer (201: issued now; 200: the same key "
                     "was issued before)")
def issue_coupon(request: HttpRequest, id_or_code: str, payload: IssueIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "rewards.issue_coupon")
    customer = customer_in_scope(actor, id_or_code, "id_or_code")
    existing = Coupon.objects.filter(key=payload.key.strip()).exists()
    coupon = coupon_issuing.issue(actor, customer=customer,
                                  definition_code=payload.definition_code, key=payload.key)
    return Status(200 if existing else 201, coupon_out(coupon) | {"created": not existing})


@router.get("/coupons/{code}", response=CouponDetailOut, summary="A coupon and its uses")
def get_coupon(request: HttpRequest, code: str) -> Any:
    actor = actor_from_request(request)
    require(actor, "rewards.view_coupon")
    coupon = _coupon_in_scope(actor, code)
    return coupon_out(coupon) | {"redemptions": [redemption_out(row) for row in
                                                 coupon.redemptions.order_by("-pk")]}


@router.post("/coupons/{code}/redeem", response={200: RedeemedOut, 201: RedeemedOut},
             summary="Use a coupon on an order without the gate (201: now; 200: this order "
                     "used it before)")
def redeem_coupon(request: HttpRequest, code: str, payload: RedeemIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "rewards.redeem_coupon")
    coupon = _coupon_in_scope(actor, code)
    customer = customer_in_scope(actor, payload.customer, "customer")
    redemption, created = coupon_redemption.redeem(
        actor, code=coupon.code, customer=customer, amount=payload.amount,
        categories=payload.categories, source=payload.source,
        external_id=payload.external_id)
    return Status(201 if created else 200, redemption_out(redemption) | {
        "created": created, "coupon": coupon.code})


@router.post("/coupons/{code}/release", response=CouponRedemptionOut,
             summary="Release a coupon's use by an order (the order was cancelled)")
def release_coupon(request: HttpRequest, code: str, payload: CouponReleaseIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "rewards.redeem_coupon")
    coupon = _coupon_in_scope(actor, code)
    done = coupon_redemption.release(actor, code=coupon.code, source=payload.source,
                                     external_id=payload.external_id, reason=payload.reason)
    return redemption_out(done)


@router.post("/coupon-batches", response={200: BatchOut, 201: BatchOut},
             summary="Issue one coupon each to a list of customers (all or nothing)")
def issue_batch(request: HttpRequest, payload: BatchIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "rewards.issue_coupon")
    customers = [customer_in_scope(actor, value, "customers") for value in payload.customers]
    existing = CouponBatch.objects.filter(key=payload.key.strip()).exists()
    batch = coupon_issuing.issue_batch(actor, customers=customers,
                                       definition_code=payload.definition_code,
                                       key=payload.key, note=payload.note)
    return Status(200 if existing else 201, {
        "id": batch.pk, "definition": batch.definition, "count": batch.count,
        "created_at": batch.created_at, "created_by": batch.created_by,
        "coupons": list(batch.coupons.order_by("pk").values_list("code", flat=True))})


@router.post("/gate/check-with-coupon", response=GateWithCouponOut,
             summary="Ask the order gate with a coupon: the gate decides on the amount after "
                     "the discount, and the coupon is used when the gate reserves")
def gate_check_with_coupon(request: HttpRequest, payload: GateWithCouponIn) -> Any:
    """Always reserves (source and external_id are required). 200 with the gate's outcome
    whatever it is; the coupon is redeemed only when the gate allows. Errors: 404 customer
    not found, 409 the order was checked before with other values, 422 the coupon does not
    apply (field coupon_code, the reason codes in the message) or bad input."""
    actor = actor_from_request(request)
    require(actor, "credit.check_gate", "rewards.redeem_coupon")
    customer = customer_in_scope(actor, payload.customer, "customer")
    result = coupon_redemption.check_with_coupon(
        actor, customer, payload.amount, coupon_code=payload.coupon_code,
        categories=payload.categories, source=payload.source,
        external_id=payload.external_id)
    _version, policy = policy_in_force()
    definition = policy.coupons.definition(result.coupon.definition)
    return {
        "gate": answer_out(result.answer, customer),
        "coupon": {
            "code": result.coupon.code, "redeemed": result.redemption is not None,
            "amount": result.amount, "discount": result.discount,
            "amount_after_discount": result.amount - result.discount,
            "gift_item": (definition.gift_item or "") if definition else "",
            "privilege": (definition.privilege or "") if definition else "",
            "reasons": _reasons([reason.as_dict() for reason in result.reasons]),
        },
    }
