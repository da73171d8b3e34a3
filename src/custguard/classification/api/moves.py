"""The proposed class moves and the reminders over the API. Thin: a decision is
classification.services.moves.decide, an answer moves.answer_reminder; both check the
permission again and audit. A proposal or reminder of a customer the caller may not see is a
404.

    GET  /classification/proposals                      filters: status, run, from_class,
                                                        to_class, region, customer
    GET  /classification/proposals/{proposal_id}
    POST /classification/proposals/{proposal_id}/decision   {approve, note}: a rejection needs
                                                            a note; decided once (409 after)
    GET  /classification/reminders                      filters: state, run, customer
    POST /classification/reminders/{reminder_id}/answer     {answer}: once (409 after)
"""
# No `from __future__ import annotations`: Django Ninja resolves the annotations at import.

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import StrictBool

from custguard.api.pagination import Pages
from custguard.api.schemas import CustomerRef, InputSchema, QueryFilter, ReasonOut
from custguard.classification import reasons, selectors
from custguard.classification.api.common import (
    CUSTOMER_HELP,
    MONTH_PATTERN,
    PAGE_SIZE,
    Rows,
    customer_ref,
    month_text,
    require,
)
from custguard.classification.models import ClassProposal, ClassReminder
from custguard.classification.services import moves
from custguard.core import clock, limits
from custguard.core.actors import Actor, actor_from_request
from custguard.customers.selectors import customer_in_scope

router = Router(tags=["classification"])

ProposalStatus = Literal[tuple(ClassProposal.Status.values)]  # type: ignore[valid-type]
ClassCode = Literal["A", "B", "C"]
ReminderState = Literal[selectors.REMINDER_STATES]  # type: ignore[valid-type]
PROPOSAL_ORDERINGS = ["-proposed_at", "proposed_at", "-score", "score", "customer__code",
                      "-customer__code", "-decided_at", "decided_at"]
REMINDER_ORDERINGS = ["respond_by", "-respond_by", "-run__month", "run__month",
                      "customer__code", "-customer__code"]
ProposalOrdering = Literal[tuple(PROPOSAL_ORDERINGS)]  # type: ignore[valid-type]
ReminderOrdering = Literal[tuple(REMINDER_ORDERINGS)]  # type: ignore[valid-type]


def _month(value: str | None) -> dt.date | None:
    return selectors.parse_month(value, field="run") if value else None


def _customer(actor: Actor, value: str | None) -> Any:
    return customer_in_scope(actor, value, field="customer") if value else None


# --- proposals --------------------------------------------------------------------------------


class ClassProposalOut(Schema):
    id: int
    customer: CustomerRef
    region: str = Field(description="the customer's region code")
    run: str = Field(description="the month (YYYY-MM) of the run that proposed it")
    from_class: str
    to_class: str
    status: str = Field(description="proposed | approved | rejected | superseded (a later run "
                                    "proposed otherwise)")
    status_label: str = Field(description="in the request's language")
    score: Decimal = Field(description="the customer's score in the ranking, 0–100")
    reasons: list[ReasonOut]
    policy_version: int
    proposed_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: str | None = Field(description="the user who approved or rejected it")
    note: str


def proposal_out(proposal: ClassProposal) -> dict[str, Any]:
    return {
        "id": proposal.pk, "customer": customer_ref(proposal.customer),
        "region": proposal.customer.region_id, "run": month_text(proposal.run.month),
        "from_class": proposal.from_class, "to_class": proposal.to_class,
        "status": proposal.status, "status_label": proposal.get_status_display(),
        "score": proposal.score, "reasons": reasons.as_out(proposal.reasons),
        "policy_version": proposal.policy_version, "proposed_at": proposal.proposed_at,
        "decided_at": proposal.decided_at,
        "decided_by": proposal.decided_by.get_username() if proposal.decided_by else None,
        "note": proposal.note,
    }


class ProposalFilterIn(QueryFilter):
    status: ProposalStatus | None = Field(None, description="default: every status")
    run: str | None = Field(None, pattern=MONTH_PATTERN, description="the run's month, YYYY-MM")
    from_class: ClassCode | None = None
    to_class: ClassCode | None = None
    region: str | None = Field(None, pattern=r"^[0-9]{6}$",
                               description="a region code: that region and those under it")
    customer: str | None = Field(None, description=CUSTOMER_HELP)


@router.get("/classification/proposals", response=list[ClassProposalOut],
            summary="Proposed class moves (the approvals inbox), newest first")
@paginate(Pages, page_size=PAGE_SIZE)
def list_proposals(request: HttpRequest, filters: Query[ProposalFilterIn],
                   ordering: ProposalOrdering = "-proposed_at") -> Any:
    actor = actor_from_request(request)
    require(actor, "classification.view_classproposal")
    wanted = selectors.ProposalFilter(
        status=filters.status or "", run=_month(filters.run),
        from_class=filters.from_class or "", to_class=filters.to_class or "",
        region=filters.region or "", customer=_customer(actor, filters.customer))
    qs: QuerySet[ClassProposal] = selectors.filter_proposals(selectors.proposals_for(actor),
                                                             wanted)
    return Rows(qs.order_by(ordering, "-pk"), proposal_out)


@router.get("/classification/proposals/{proposal_id}", response=ClassProposalOut,
            summary="Get a proposed class move")
def get_proposal(request: HttpRequest, proposal_id: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "classification.view_classproposal")
    return proposal_out(selectors.proposal_in_scope(actor, proposal_id))


class ClassDecisionIn(InputSchema):
    approve: StrictBool = Field(description="true: the customer moves at once; false: rejected")
    note: str = Field("", max_length=limits.REASON,
                      description="why; required to reject")


@router.post("/classification/proposals/{proposal_id}/decision", response=ClassProposalOut,
             summary="Approve or reject a proposed class move (once)")
def decide_proposal(request: HttpRequest, proposal_id: int, payload: ClassDecisionIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "classification.decide_classproposal")
    proposal = selectors.proposal_in_scope(actor, proposal_id)
    moves.decide(actor, proposal, approve=payload.approve, note=payload.note)
    return proposal_out(selectors.proposal_in_scope(actor, proposal_id))


# --- reminders --------------------------------------------------------------------------------


class ClassReminderOut(Schema):
    id: int
    customer: CustomerRef
    run: str = Field(description="the month (YYYY-MM) of the run that found the customer "
                                 "below its share")
    reasons: list[ReasonOut]
    respond_by: dt.date = Field(description="the account manager answers by this day")
    state: str = Field(description="open | overdue (not answered by its day) | answered")
    answered_at: dt.datetime | None
    answered_by: str
    answer: str


def reminder_out(reminder: ClassReminder, today: dt.date) -> dict[str, Any]:
    return {
        "id": reminder.pk, "customer": customer_ref(reminder.customer),
        "run": month_text(reminder.run.month), "reasons": reasons.as_out(reminder.reasons),
        "respond_by": reminder.respond_by,
        "state": selectors.reminder_state(reminder, today),
        "answered_at": reminder.answered_at, "answered_by": reminder.answered_by,
        "answer": reminder.answer,
    }


class ReminderFilterIn(QueryFilter):
    state: ReminderState | None = Field(None, description="open: not answered yet (overdue or "
                                                          "not); overdue; answered. Default: "
                                                          "every reminder")
    run: str | None = Field(None, pattern=MONTH_PATTERN, description="the run's month, YYYY-MM")
    customer: str | None = Field(None, description=CUSTOMER_HELP)


@router.get("/classification/reminders", response=list[ClassReminderOut],
            summary="Reminders about class A customers below their share, the most urgent "
                    "first")
@paginate(Pages, page_size=PAGE_SIZE)
def list_reminders(request: HttpRequest, filters: Query[ReminderFilterIn],
                   ordering: ReminderOrdering = "respond_by") -> Any:
    actor = actor_from_request(request)
    require(actor, "classification.view_classreminder")
    today = clock.today()
    qs = selectors.with_state(selectors.reminders_for(actor), filters.state or "", today)
    month = _month(filters.run)
    if month is not None:
        qs = qs.filter(run__month=month)
    customer = _customer(actor, filters.customer)
    if customer is not None:
        qs = qs.filter(customer=customer)
    return Rows(qs.order_by(ordering, "pk"), lambda r: reminder_out(r, today))


class ClassReminderAnswerIn(InputSchema):
    answer: str = Field(min_length=1, max_length=limits.NOTE,
                        description="what is being done about the customer's fall")


@router.post("/classification/reminders/{reminder_id}/answer", response=ClassReminderOut,
             summary="Answer a reminder (once)")
def answer_reminder(request: HttpRequest, reminder_id: int, payload: ClassReminderAnswerIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "classification.change_classreminder")
    reminder = selectors.reminder_in_scope(actor, reminder_id)
    moves.answer_reminder(actor, reminder, answer=payload.answer)
    return reminder_out(selectors.reminder_in_scope(actor, reminder_id), clock.today())
