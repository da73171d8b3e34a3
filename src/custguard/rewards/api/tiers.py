"""Membership tiers over the API. Thin: reads through rewards.tier_selectors, writes through
rewards.services (tier_evaluation, tier_assignments), which check the permission again and
audit. Customers are scoped as everywhere: one the caller may not see is a 404.

    GET  /customers/{id_or_code}/tier                  tier, since, benefits, grace, manual
                                                       tier, next tier and progress per rule
    GET  /customers/{id_or_code}/tier-changes          the history, newest first (paginated)
    POST /customers/{id_or_code}/tier-assignments      propose a manual tier (201)
    GET  /rewards/tier-assignments                     manual tiers (the approvals inbox)
    POST /rewards/tier-assignments/{id}/decision       approve (never the proposer) or reject
    POST /rewards/tiers/evaluate                       evaluate one customer, or all now
"""
# No `from __future__ import annotations`: Django Ninja resolves the annotations at import.

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StrictBool

from custguard.api.pagination import Pages
from custguard.api.schemas import CustomerRef, InputSchema, QueryFilter, ReasonOut
from custguard.core import limits
from custguard.core.actors import actor_from_request
from custguard.core.errors import NotFound
from custguard.core.transactions import atomic_with_retry
from custguard.customers.selectors import customer_in_scope
from custguard.policy.schema_membership import MembershipTier
from custguard.rewards import reasons, tier_selectors
from custguard.rewards.api.points import PAGE_SIZE, _ref, _Rows, require
from custguard.rewards.models import TierAssignment, TierChange
from custguard.rewards.services import tier_assignments, tier_evaluation

router = Router(tags=["rewards"])

AssignmentStatus = Literal[tuple(TierAssignment.Status.values)]  # type: ignore[valid-type]
CUSTOMER_HELP = "customer id, or its 9-digit code"


class BenefitsOut(Schema):
    points_multiplier: Decimal
    coupons_on_reaching: list[str] = Field(description="coupon definition codes issued each "
                                                       "time a customer reaches the tier")
    service_level: str
    payment_term_bonus_days: int


class TierOut(Schema):
    code: str
    name: str = Field(description="in the request's language")
    benefits: BenefitsOut
    grace_months: int


class RuleProgressOut(Schema):
    rule: str = Field(description="paid_spend | orders | on_time | grade")
    label: str
    value: str
    needed: str
    met: bool
    progress: int = Field(description="0-100")


class ManualTierOut(Schema):
    id: int
    tier: str
    expires_on: dt.date
    reason: str


class CustomerTierOut(Schema):
    customer: CustomerRef
    tier: TierOut | None = Field(description="null before the first evaluation")
    since: dt.date | None
    below_since: dt.date | None = Field(description="below its tier since (grace running)")
    grace_ends_on: dt.date | None
    manual: ManualTierOut | None = Field(description="the active manual tier, which wins "
                                                     "over the rules until it expires")
    next_tier: TierOut | None
    progress: list[RuleProgressOut] = Field(description="the next tier's rules against the "
                                                        "customer's facts now")


def tier_out(tier: MembershipTier | None, language: str) -> dict[str, Any] | None:
    if tier is None:
        return None
    benefits = tier.benefits
    return {"code": tier.code, "name": tier.name(language), "grace_months": tier.grace_months,
            "benefits": {"points_multiplier": benefits.points_multiplier,
                         "coupons_on_reaching": list(benefits.coupons_on_reaching),
                         "service_level": benefits.service_level,
                         "payment_term_bonus_days": benefits.payment_term_bonus_days}}


@router.get("/customers/{id_or_code}/tier", response=CustomerTierOut,
            summary="A customer's membership tier, its benefits and the progress to the next")
def get_tier(request: HttpRequest, id_or_code: str) -> Any:
    actor = actor_from_request(request)
    require(actor, "rewards.view_tierstatus")
    customer = customer_in_scope(actor, id_or_code, "id_or_code")
    found = tier_selectors.card(customer)
    language = getattr(request, "LANGUAGE_CODE", "zh-hans")
    manual = found.assignment
    return {
        "customer": _ref(customer), "tier": tier_out(found.tier, language),
        "since": found.since, "below_since": found.below_since,
        "grace_ends_on": found.grace_ends_on,
        "manual": {"id": manual.pk, "tier": manual.tier, "expires_on": manual.expires_on,
                   "reason": manual.reason} if manual is not None else None,
        "next_tier": tier_out(found.next_tier, language),
        "progress": [{"rule": c.rule, "label": str(reasons.RULE_LABELS[c.rule]),
                      "value": c.value, "needed": c.needed, "met": c.met,
                      "progress": c.progress} for c in found.progress],
    }


class TierChangeOut(Schema):
    id: int
    kind: str
    kind_label: str
    from_tier: str
    to_tier: str
    effective_on: dt.date
    reasons: list[ReasonOut]
    facts: dict[str, Any]
    entitlements: list[list[str]] = Field(description="[coupon definition, key] issued for "
                                                      "reaching the tier")
    run: str | None = Field(description="the month of the run (YYYY-MM); null on demand")
    manual_assignment: int | None
    policy_version: int
    decided_by: str


def change_out(change: TierChange) -> dict[str, Any]:
    return {
        "id": change.pk, "kind": change.kind, "kind_label": change.get_kind_display(),
        "from_tier": change.from_tier, "to_tier": change.to_tier,
        "effective_on": change.effective_on,
        "reasons": [{"code": item.code, "params": stored.get("params") or {},
                     "text": item.text}
                    for stored, item in zip(change.reasons,
                                            reasons.describe_all(change.reasons),
                                            strict=True)],
        "facts": change.facts, "entitlements": change.entitlements,
        "run": change.run.month.strftime("%Y-%m") if change.run is not None else None,
        "manual_assignment": change.assignment_id, "policy_version": change.policy_version,
        "decided_by": change.decided_by,
    }


@router.get("/customers/{id_or_code}/tier-changes", response=list[TierChangeOut],
            summary="A customer's tier changes, newest first")
@paginate(Pages, page_size=PAGE_SIZE)
def list_tier_changes(request: HttpRequest, id_or_code: str) -> Any:
    actor = actor_from_request(request)
    require(actor, "rewards.view_tierchange")
    customer = customer_in_scope(actor, id_or_code, "id_or_code")
    return _Rows(TierChange.objects.filter(customer=customer).select_related("run")
                 .order_by("-effective_on", "-pk"), change_out)


# --- manual tiers -----------------------------------------------------------------------------


class AssignmentIn(InputSchema):
    tier: str = Field(min_length=1, max_length=20, description="a tier code of the policy")
    expires_on: dt.date = Field(description="the last day the manual tier holds: after "
                                            "today, at most the policy's manual_max_days")
    reason: str = Field(min_length=1, max_length=limits.REASON)


class AssignmentOut(Schema):
    id: int
    customer: CustomerRef
    tier: str
    expires_on: dt.date
    reason: str
    status: str
    status_label: str
    proposed_at: dt.datetime
    proposed_by: str
    decided_at: dt.datetime | None
    decided_by: str | None
    decision_note: str


def assignment_out(assignment: TierAssignment) -> dict[str, Any]:
    decider = assignment.decided_by
    return {
        "id": assignment.pk, "customer": _ref(assignment.customer), "tier": assignment.tier,
        "expires_on": assignment.expires_on, "reason": assignment.reason,
        "status": assignment.status, "status_label": assignment.get_status_display(),
        "proposed_at": assignment.proposed_at, "proposed_by": assignment.proposed_label,
        "decided_at": assignment.decided_at,
        "decided_by": decider.get_username() if decider is not None else None,
        "decision_note": assignment.decision_note,
    }


@router.post("/customers/{id_or_code}/tier-assignments", response={201: AssignmentOut},
             summary="Propose a manual tier for a customer (a second person approves it)")
def propose_assignment(request: HttpRequest, id_or_code: str, payload: AssignmentIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "rewards.assign_tier")
    customer = customer_in_scope(actor, id_or_code, "id_or_code")
    assignment = atomic_with_retry(lambda: tier_assignments.propose(
        actor, customer, tier=payload.tier, expires_on=payload.expires_on,
        reason=payload.reason))
    return Status(201, assignment_out(assignment))


class AssignmentFilter(QueryFilter):
    status: AssignmentStatus | None = None
    customer: str | None = Field(None, max_length=20, description=CUSTOMER_HELP)


@router.get("/rewards/tier-assignments", response=list[AssignmentOut],
            summary="Manual tiers, newest first (status=proposed: the approvals inbox)")
@paginate(Pages, page_size=PAGE_SIZE)
def list_assignments(request: HttpRequest, filters: Query[AssignmentFilter]) -> Any:
    actor = actor_from_request(request)
    require(actor, "rewards.view_tierassignment")
    qs = tier_selectors.assignments_for(actor)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.customer:
        qs = qs.filter(customer=customer_in_scope(actor, filters.customer, "customer"))
    return _Rows(qs, assignment_out)


class DecisionIn(InputSchema):
    approve: StrictBool = Field(description="true: the tier is the customer's at once; "
                                            "false: rejected")
    note: str = Field("", max_length=limits.REASON, description="why; required to reject")


def _assignment(request: HttpRequest, assignment_id: int) -> TierAssignment:
    found = tier_selectors.assignments_for(actor_from_request(request)).filter(
        pk=assignment_id).first()
    if found is None:
        raise NotFound(_("tier assignment %(id)s not found") % {"id": assignment_id})
    return found


@router.post("/rewards/tier-assignments/{assignment_id}/decision", response=AssignmentOut,
             summary="Approve or reject a proposed manual tier (once; never by its proposer)")
def decide_assignment(request: HttpRequest, assignment_id: int, payload: DecisionIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "rewards.approve_tier")
    assignment = _assignment(request, assignment_id)
    if payload.approve:
        atomic_with_retry(lambda: tier_assignments.approve(actor, assignment.pk, payload.note))
    else:
        atomic_with_retry(lambda: tier_assignments.reject(actor, assignment.pk, payload.note))
    return assignment_out(_assignment(request, assignment_id))


# --- evaluation -------------------------------------------------------------------------------


class EvaluateIn(InputSchema):
    customer: str | None = Field(None, max_length=20,
                                 description=f"{CUSTOMER_HELP}; null: every customer, in "
                                             "this month's run")


class EvaluatedOut(Schema):
    run: str | None = Field(description="the month of the run (YYYY-MM); null for one "
                                        "customer")
    customers: int
    initial: int
    upgraded: int
    downgraded: int
    in_grace: int
    manual: int
    changes: list[TierChangeOut]


@router.post("/rewards/tiers/evaluate", response=EvaluatedOut,
             summary="Evaluate the membership tiers now: one customer, or all")
def evaluate(request: HttpRequest, payload: EvaluateIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "rewards.run_tiers")
    ids = None
    if payload.customer is not None:
        ids = [customer_in_scope(actor, payload.customer, "customer").pk]
    result = atomic_with_retry(lambda: tier_evaluation.evaluate(actor, customer_ids=ids))
    return {"run": result.run.month.strftime("%Y-%m") if result.run is not None else None,
            "customers": result.customers, "initial": result.initial,
            "upgraded": result.upgraded, "downgraded": result.downgraded,
            "in_grace": result.in_grace, "manual": result.manual,
            "changes": [change_out(c) for c in result.changes[:PAGE_SIZE]]}
