"""A customer's ABC class over the API (the ERP asks it before treating an order) and the
history of its class. Customers are scoped as everywhere: one the caller may not see is a 404.

    GET /customers/{id_or_code}/class           the class now, since when, and why
    GET /customers/{id_or_code}/class/history   every change, newest first (paginated)
"""
# No `from __future__ import annotations`: Django Ninja resolves the annotations at import.

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from custguard.api.pagination import Pages
from custguard.api.schemas import CustomerRef, ReasonOut
from custguard.classification import reasons, selectors
from custguard.classification.api.common import (
    PAGE_SIZE,
    Rows,
    customer_ref,
    month_text,
    require,
)
from custguard.classification.models import ClassChange
from custguard.core.actors import actor_from_request
from custguard.customers.selectors import customer_in_scope

router = Router(tags=["classification"])


class ValueSegmentOut(Schema):
    code: str = Field(description="a code of the policy's value tiers, e.g. STRATEGIC")
    description: str = Field(description="in the request's language")
    team: str = Field(description="ACCOUNT_MANAGER | SALES_TEAM | MARKETING; empty when the "
                                  "policy in force no longer has the segment")
    care_interval_days: int | None = Field(description="days between care visits by the "
                                                       "account manager")
    account_manager: str = Field(description="the responsible person for ACCOUNT_MANAGER")


class CustomerClassOut(Schema):
    customer: CustomerRef
    abc: str | None = Field(description="A, B or C; null before the customer's first run")
    since: dt.date | None = Field(description="the day the customer got this class")
    kind: str | None = Field(description="how it got it: initial | rule | approved")
    run: str | None = Field(description="the month (YYYY-MM) of the run that set it")
    policy_version: int | None
    reasons: list[ReasonOut] = Field(description="why, from the change that set the class")
    value_segment: ValueSegmentOut | None = Field(description="the value segment the last "
                                                              "monthly run set; null before")


@router.get("/customers/{id_or_code}/class", response=CustomerClassOut,
            summary="A customer's ABC class now, since when and why")
def get_class(request: HttpRequest, id_or_code: str) -> Any:
    actor = actor_from_request(request)
    require(actor, "classification.view_customerclass")
    customer = customer_in_scope(actor, id_or_code, "id_or_code")
    current = selectors.class_of(customer)
    segment = selectors.segment_of(customer)
    segment_out = vars(segment) if segment is not None else None
    if current is None:
        return {"customer": customer_ref(customer), "abc": None, "since": None, "kind": None,
                "run": None, "policy_version": None, "reasons": [], "value_segment": segment_out}
    change = current.change
    return {"customer": customer_ref(customer), "abc": current.abc, "since": current.since,
            "kind": change.kind, "run": month_text(change.run.month if change.run else None),
            "policy_version": change.policy_version, "reasons": reasons.as_out(change.reasons),
            "value_segment": segment_out}


class ClassChangeOut(Schema):
    id: int
    kind: str = Field(description="initial | rule | approved")
    kind_label: str = Field(description="in the request's language")
    from_class: str | None = Field(description="null for the first class")
    to_class: str
    run: str | None = Field(description="the month (YYYY-MM) of the run")
    proposal: int | None = Field(description="the approved proposal, for an approved move")
    policy_version: int
    reasons: list[ReasonOut]
    decided_at: dt.datetime
    decided_by: str


def change_out(change: ClassChange) -> dict[str, Any]:
    return {
        "id": change.pk, "kind": change.kind, "kind_label": change.get_kind_display(),
        "from_class": change.from_class or None, "to_class": change.to_class,
        "run": month_text(change.run.month if change.run else None),
        "proposal": change.proposal_id, "policy_version": change.policy_version,
        "reasons": reasons.as_out(change.reasons), "decided_at": change.decided_at,
        "decided_by": change.decided_by,
    }


@router.get("/customers/{id_or_code}/class/history", response=list[ClassChangeOut],
            summary="The history of a customer's class, newest first")
@paginate(Pages, page_size=PAGE_SIZE)
def class_history(request: HttpRequest, id_or_code: str) -> Any:
    actor = actor_from_request(request)
    require(actor, "classification.view_classchange")
    customer = customer_in_scope(actor, id_or_code, "id_or_code")
    return Rows(selectors.history_of(customer), change_out)
