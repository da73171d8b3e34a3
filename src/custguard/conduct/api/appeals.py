"""Appeals (申诉) over the API. Thin: every change is made by conduct.services.appeals, which
checks permissions again and audits.

    POST /appeals                          file an appeal against {"case": id} | {"penalty": id}
                                           | {"blacklist_entry": id}, with the grounds
    GET  /appeals                          appeals (filters: status, overdue, customer, mine;
                                           paginated)
    GET  /appeals/{appeal_id}              one appeal, with the lighter steps a penalty could be
                                           reduced to
    POST /appeals/{appeal_id}/review       start reviewing it
    POST /appeals/{appeal_id}/decide       upheld | overturned | reduced (with lighter_step)
    POST /appeals/{appeal_id}/withdraw     the customer withdraws it

Errors name the field: a decision outside its window is a 422 on the target's field with the
day the window closed; a reviewer who made the decision is a 403 on "reviewer"; a second open
appeal against the same decision is a 409.
"""
# No `from __future__ import annotations`: Django Ninja resolves the annotations at import.

import datetime as dt
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from custguard.api.pagination import Pages
from custguard.api.schemas import InputSchema
from custguard.conduct.labels import measure_labels
from custguard.conduct.models import Appeal, BlacklistEntry, Penalty, ViolationCase
from custguard.conduct.services import appeals
from custguard.conduct.services.common import MAX_REASON
from custguard.core.actors import Actor, actor_from_request
from custguard.core.errors import NotFound, PermissionRefused, ValidationFailed
from custguard.customers import selectors
from custguard.customers.models import Customer

router = Router(tags=["conduct"])

StatusFilter = Literal[("open", *Appeal.Status.values)]  # type: ignore[valid-type]
Outcome = Literal[tuple(appeals.OUTCOMES)]  # type: ignore[valid-type]
TARGET_KINDS = appeals.TARGET_FIELDS


def require(actor: Actor, perm: str) -> None:
    if not actor.can(perm):
        raise PermissionRefused(_("your role may not do this"))


def _customer(actor: Actor, id_or_code: str) -> Customer:
    return selectors.customer_in_scope(actor, id_or_code, "customer")

def _appeal(actor: Actor, appeal_id: int) -> Appeal:
    appeal = appeals.appeals_for(actor).filter(pk=appeal_id).first()
    if appeal is None:
        raise NotFound(_("appeal %(id)s not found") % {"id": appeal_id})
    return appeal


# --- schemas ----------------------------------------------------------------------------------


class AppealIn(InputSchema):
    case: int | None = Field(None, description="a confirmed violation case's id")
    penalty: int | None = Field(None, description="a notified, active or completed penalty's "
                                                  "id")
    blacklist_entry: int | None = Field(None, description="a proposed or active blacklist "
                                                          "entry's id")
    grounds: str = Field(min_length=1, max_length=MAX_REASON,
                         description="why the customer thinks the decision is wrong")
    channel: Literal["staff", "api"] = Field(
        "api", description="how the appeal came in: through the API (the default) or "
                           "through staff")


class DecideIn(InputSchema):
    outcome: Outcome = Field(description="upheld, overturned or reduced (penalties in force)")
    note: str = Field(min_length=1, max_length=MAX_REASON, description="the reasons")
    lighter_step: str = Field("", max_length=64,
                              description="reduced: the ladder step that replaces the penalty")


class WithdrawIn(InputSchema):
    note: str = Field(min_length=1, max_length=MAX_REASON)


class AppealCustomerOut(Schema):
    id: int
    code: str
    name: str


class AppealTargetOut(Schema):
    kind: Literal["case", "penalty", "blacklist_entry"]
    id: int
    status: str
    code: str = Field(description="the violation type, ladder step or blacklist criterion")
    measures: list[str] = Field(description="a penalty's measures (codes)")
    decided_by: str | None = Field(description="who decided (who may not review the appeal)")
    learned_on: dt.date | None = Field(description="the day the customer learned of it")


class AppealOut(Schema):
    id: int
    customer: AppealCustomerOut
    target: AppealTargetOut
    channel: str
    grounds: str
    status: str
    filed_at: dt.datetime
    filed_by: str
    review_due_on: dt.date
    overdue: bool
    reviewer: str | None
    review_started_at: dt.datetime | None
    decided_at: dt.datetime | None
    decision_note: str
    replacement: int | None = Field(description="reduced: the lighter penalty's id")


class LighterStepOut(Schema):
    code: str
    measures: list[str]
    measure_labels: list[str]
    duration_days: int | None
    description: str


class AppealDetailOut(AppealOut):
    window_closes_on: dt.date | None = Field(description="the last day the decision could be "
                                                         "appealed")
    lighter_steps: list[LighterStepOut] = Field(
        description="an open appeal against a penalty in force: the steps it may be reduced "
                    "to")


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def _target_out(target: appeals.Target) -> dict[str, Any]:
    kind = appeals.target_field(target)
    if isinstance(target, ViolationCase):
        code, measures, decided_by = target.violation_type, [], target.decided_by
    elif isinstance(target, Penalty):
        code, measures, decided_by = target.step_code, list(target.measures), target.approved_by
    else:
        assert isinstance(target, BlacklistEntry)
        code, measures, decided_by = target.criterion, [], target.decided_by
    return {"kind": kind, "id": target.pk, "status": target.status, "code": code,
            "measures": measures, "decided_by": _username(decided_by),
            "learned_on": appeals.learned_on(target)}


def appeal_out(appeal: Appeal) -> dict[str, Any]:
    customer = appeal.customer
    return {
        "id": appeal.pk,
        "customer": {"id": customer.pk, "code": customer.code, "name": customer.name},
        "target": _target_out(appeals.target_of(appeal)),
        "channel": appeal.channel, "grounds": appeal.grounds, "status": appeal.status,
        "filed_at": appeal.filed_at, "filed_by": appeal.filed_by_label,
        "review_due_on": appeal.review_due_on, "overdue": appeals.is_overdue(appeal),
        "reviewer": _username(appeal.reviewer), "review_started_at": appeal.review_started_at,
        "decided_at": appeal.decided_at, "decision_note": appeal.decision_note,
        "replacement": appeal.replacement_id,
    }


def appeal_detail_out(appeal: Appeal, language_en: bool = False) -> dict[str, Any]:
    target = appeals.target_of(appeal)
    steps: list[dict[str, Any]] = []
    if (isinstance(target, Penalty) and appeal.status in appeals.OPEN
            and target.status in appeals.IN_FORCE):
        steps = [{"code": step.code, "measures": [m.value for m in step.measures],
                  "measure_labels": measure_labels([m.value for m in step.measures]),
                  "duration_days": step.duration_days,
                  "description": step.description_en if language_en else step.description_zh}
                 for step in appeals.lighter_steps(target)]
    return appeal_out(appeal) | {"window_closes_on": appeals.window_closes_on(target),
                                 "lighter_steps": steps}


def _detail(request: HttpRequest, actor: Actor, appeal_id: int) -> dict[str, Any]:
    english = (getattr(request, "LANGUAGE_CODE", "") or "").startswith("en")
    return appeal_detail_out(_appeal(actor, appeal_id), english)


class _Rows:
    """A lazily sliced queryset rendered row by row (for @paginate)."""

    def __init__(self, qs: QuerySet[Appeal]) -> None:
        self.qs = qs

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        return [appeal_out(row) for row in self.qs[item]]


# --- routes -----------------------------------------------------------------------------------


@router.post("/appeals", response={201: AppealDetailOut},
             summary="File an appeal against a violation, a penalty or a blacklist entry")
def file_appeal(request: HttpRequest, payload: AppealIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.add_appeal")
    given = [(kind, getattr(payload, kind)) for kind in TARGET_KINDS
             if getattr(payload, kind) is not None]
    if len(given) != 1:
        message = _("give exactly one of case, penalty or blacklist_entry")
        raise ValidationFailed(message, field="case",
                               errors={kind: [message] for kind in TARGET_KINDS})
    kind, pk = given[0]
    target = appeals.target_for(actor, kind, pk)
    if target is None:
        raise NotFound(_("%(kind)s %(id)s not found") % {"kind": kind, "id": pk}, field=kind)
    appeal = appeals.file(actor, target, grounds=payload.grounds, channel=payload.channel)
    return Status(201, _detail(request, actor, appeal.pk))


@router.get("/appeals", response=list[AppealOut],
            summary="List appeals, the oldest review date first")
@paginate(Pages, page_size=50)
def list_appeals(request: HttpRequest, status: StatusFilter | None = None,
                 overdue: bool | None = None, customer: str | None = None,
                 mine: bool = False) -> Any:
    """`status=open`: filed or under review. `overdue=true`: open and past the review date
    (`false`: not overdue). `mine=true`: appeals the caller reviews."""
    actor = actor_from_request(request)
    require(actor, "conduct.view_appeal")
    qs = appeals.appeals_for(actor)
    if status == "open":
        qs = appeals.open_appeals(qs)
    elif status:
        qs = qs.filter(status=status)
    if overdue is True:
        qs = appeals.overdue_appeals(qs)
    elif overdue is False:
        qs = appeals.not_overdue(qs)
    if customer:
        qs = qs.filter(customer=_customer(actor, customer))
    if mine:
        qs = qs.filter(reviewer=actor.user) if actor.user is not None else qs.none()
    return _Rows(qs.order_by("review_due_on", "pk"))


@router.get("/appeals/{appeal_id}", response=AppealDetailOut, summary="Get an appeal")
def get_appeal(request: HttpRequest, appeal_id: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.view_appeal")
    return _detail(request, actor, appeal_id)


@router.post("/appeals/{appeal_id}/review", response=AppealDetailOut,
             summary="Start reviewing an appeal (not the person who decided)")
def start_review(request: HttpRequest, appeal_id: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.review_appeal")
    appeals.start_review(actor, _appeal(actor, appeal_id))
    return _detail(request, actor, appeal_id)


@router.post("/appeals/{appeal_id}/decide", response=AppealDetailOut,
             summary="Decide an appeal: upheld, overturned or reduced")
def decide_appeal(request: HttpRequest, appeal_id: int, payload: DecideIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.review_appeal")
    appeals.decide(actor, _appeal(actor, appeal_id), outcome=payload.outcome,
                   note=payload.note, lighter_step=payload.lighter_step)
    return _detail(request, actor, appeal_id)


@router.post("/appeals/{appeal_id}/withdraw", response=AppealDetailOut,
             summary="Withdraw an open appeal on the customer's behalf")
def withdraw_appeal(request: HttpRequest, appeal_id: int, payload: WithdrawIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.add_appeal")
    appeals.withdraw(actor, _appeal(actor, appeal_id), note=payload.note)
    return _detail(request, actor, appeal_id)
