"""Violation cases, evidence, penalties, fines and contract clauses over the API. Thin: every
change is made by conduct.services (cases, penalties, fines, clauses), which check permissions
again and audit. Customers are scoped as everywhere: one the caller may not see is a 404.

    GET  /conduct/violation-types                   the policy's catalogue
    POST /conduct/cases                             report (201; 200 with created=false for
                                                    the same incident)
    GET  /conduct/cases                             filters: customer, status, violation_type,
                                                    severity, occurred_from, occurred_to
    GET  /conduct/cases/{case_id}
    POST /conduct/cases/{case_id}/evidence          multipart: file (+ note)
    GET  /conduct/evidence/{evidence_id}/download   the stored file
    POST /conduct/cases/{case_id}/investigate | confirm | dismiss
    GET  /conduct/penalties                         filters: customer, status, measure, case
    GET  /conduct/penalties/{penalty_id}
    POST /conduct/penalties/{penalty_id}/approve | reject | lift | rectification | escalate
    GET  /conduct/fines                             filters: customer, status
    POST /conduct/fines/{fine_id}/settle
    GET  /conduct/clauses                           filters: customer, in_force_on
    POST /conduct/clauses
    POST /conduct/clauses/{clause_id}/end
"""
# No `from __future__ import annotations`: Django Ninja resolves the annotations at import.

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from custguard.api.pagination import Pages
from custguard.api.schemas import CustomerRef, InputSchema, Money, ReasonOut
from custguard.conduct.models import ContractClause, Evidence, Fine, Penalty, ViolationCase
from custguard.conduct.services import cases, clauses, fines, penalties
from custguard.conduct.services.common import refuse_state
from custguard.conduct.views.cases import common
from custguard.conduct.views.cases.case_pages import evidence_response
from custguard.conduct.views.cases.penalty_pages import with_measure
from custguard.core import filetypes, limits
from custguard.core.actors import Actor, actor_from_request
from custguard.core.errors import NotFound, PermissionRefused, ValidationFailed
from custguard.core.models import User
from custguard.customers.models import Customer
from custguard.customers.selectors import customer_in_scope

router = Router(tags=["conduct"])

CaseStatus = Literal[tuple(ViolationCase.Status.values)]  # type: ignore[valid-type]
PenaltyStatus = Literal[tuple(Penalty.Status.values)]  # type: ignore[valid-type]
FineStatus = Literal[tuple(Fine.Status.values)]  # type: ignore[valid-type]
SeverityCode = Literal["MINOR", "MAJOR", "SEVERE", "CRITICAL"]
MeasureCode = Literal[
    "WARNING", "WRITTEN_REMINDER", "FINE", "POINTS_DEDUCTION", "POINTS_FREEZE",
    "CREDIT_LIMIT_REDUCTION", "PREPAY_ONLY", "ORDER_BLOCK", "SERVICE_SUSPENSION",
    "BLACKLIST_PROPOSAL", "TERMINATION", "LEGAL_REFERRAL"]
CUSTOMER_HELP = "customer id, or its 9-digit code"
MAX_TEXT = limits.NOTE


def require(actor: Actor, perm: str) -> None:
    if not actor.can(perm):
        raise PermissionRefused(_("your role may not do this"))


def _found(qs: QuerySet[Any], pk: int, what: str) -> Any:
    found = qs.filter(pk=pk).first()
    if found is None:
        raise NotFound(_("%(what)s %(id)s not found") % {"what": what, "id": pk})
    return found


class _Rows:
    """A lazily sliced queryset rendered row by row (for @paginate)."""

    def __init__(self, qs: QuerySet[Any], render: Any) -> None:
        self.qs, self.render = qs, render

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        rows = list(self.qs[item])
        prepare = getattr(self.render, "prepare", None)
        if prepare is not None:
            prepare(rows)
        return [self.render(row) for row in rows]


# --- schemas ----------------------------------------------------------------------------------




class ViolationTypeOut(Schema):
    code: str
    name: str = Field(description="in the request's language")
    category: str
    category_label: str
    severity: str
    severity_label: str
    points: int
    evidence_required: bool
    description_zh: str
    description_en: str


class EvidenceOut(Schema):
    id: int
    file_name: str
    content_type: str
    size: int
    sha256: str
    note: str
    uploaded_at: dt.datetime
    uploaded_by: str
    download_url: str


class CaseOut(Schema):
    id: int
    customer: CustomerRef
    violation_type: str
    violation_type_name: str
    severity: str
    points: int
    occurred_on: dt.date
    description: str
    source: str
    external_id: str
    status: str
    reported_at: dt.datetime
    reported_by: str
    investigator: str | None
    decided_at: dt.datetime | None
    decided_by: str | None
    decision_reason: str
    policy_version: int
    evidence: list[EvidenceOut]
    penalties: list[int] = Field(description="ids of the penalties proposed for the case")


class ReportedOut(CaseOut):
    created: bool = Field(description="false: the same incident (or source/external_id) was "
                                      "reported before; this is that case")


class NoticeRef(Schema):
    id: int
    reference: str
    language: str
    delivery: str
    created_at: dt.datetime
    response_due_on: dt.date
    appeal_deadline: dt.date
    responded_at: dt.datetime | None


class MeasureOut(Schema):
    code: str
    label: str
    detail: str


class PenaltyOut(Schema):
    id: int
    customer: CustomerRef
    case: int
    violation_type: str
    step_code: str
    step_description: str
    measures: list[MeasureOut]
    reasons: list[ReasonOut]
    policy_version: int
    fine_amount: Decimal
    fine_source: Literal["contract_clause", "policy"] | None = Field(
        description="where the fine's amount came from (null without a fine)")
    contract_clause: int | None
    points_deduction: int
    credit_limit_percent: Decimal
    duration_days: int | None
    rectification_days: int | None
    status: str
    approver_roles: list[str] = Field(description="roles the policy in force lets approve it")
    proposed_at: dt.datetime
    approved_at: dt.datetime | None
    approved_by: str | None
    notified_at: dt.datetime | None
    starts_on: dt.date | None
    ends_on: dt.date | None = Field(description="the first day it no longer applies")
    ended_at: dt.datetime | None
    end_reason: str
    rectification_due_on: dt.date | None
    rectified_at: dt.datetime | None
    rectification_note: str
    escalated_to: int | None
    replaces: int | None
    decision_note: str
    notices: list[NoticeRef]


class ConfirmedOut(Schema):
    case: CaseOut
    penalty: PenaltyOut | None = Field(description="what the ladder proposed (null: no step)")


class EscalatedOut(Schema):
    penalty: PenaltyOut
    case: CaseOut = Field(description="the violation recorded for the overdue rectification")
    proposed: PenaltyOut | None = Field(description="what the ladder proposed for it")


class FineOut(Schema):
    id: int
    customer: CustomerRef
    penalty: int
    amount: Decimal
    source: Literal["contract_clause", "policy"]
    contract_clause: int | None
    due_on: dt.date
    status: str
    settled_at: dt.datetime | None
    settled_by: str
    note: str


class ClauseOut(Schema):
    id: int
    customer: CustomerRef
    contract_number: str
    violation_type: str = Field(description="blank: any violation")
    fine_amount: Decimal
    valid_from: dt.date
    valid_to: dt.date | None = Field(description="the last day it applies")
    created_at: dt.datetime


def _ref(customer: Customer) -> dict[str, Any]:
    return {"id": customer.pk, "code": customer.code, "name": customer.name}


def _username(user: User | None) -> str | None:
    return user.get_username() if user is not None else None


def evidence_out(evidence: Evidence) -> dict[str, Any]:
    return {"id": evidence.pk, "file_name": evidence.original_name,
            "content_type": evidence.content_type, "size": evidence.size,
            "sha256": evidence.sha256, "note": evidence.note,
            "uploaded_at": evidence.uploaded_at, "uploaded_by": evidence.uploaded_by_label,
            "download_url": f"/api/v1/conduct/evidence/{evidence.pk}/download"}


class CaseRenderer:
    def __init__(self) -> None:
        self.documents = common.Documents()

    def __call__(self, case: ViolationCase) -> dict[str, Any]:
        return {
            "id": case.pk, "customer": _ref(case.customer),
            "violation_type": case.violation_type,
            "violation_type_name": common.type_name(self.documents.get(case.policy_version),
                                                    case.violation_type),
            "severity": case.severity, "points": case.points, "occurred_on": case.occurred_on,
            "description": case.description, "source": case.source,
            "external_id": case.external_id, "status": case.status,
            "reported_at": case.reported_at, "reported_by": case.reported_by_label,
            "investigator": _username(case.investigator), "decided_at": case.decided_at,
            "decided_by": _username(case.decided_by), "decision_reason": case.decision_reason,
            "policy_version": case.policy_version,
            "evidence": [evidence_out(e) for e in case.evidence.all()],
            "penalties": [p.pk for p in case.penalties.all()],
        }


class PenaltyRenderer:
    """Penalties as the API shows them; `prepare` reads the fine sources of a page at once."""

    def __init__(self) -> None:
        self.documents = common.Documents()
        self.clauses: dict[int, ContractClause | None] = {}

    def prepare(self, rows: list[Penalty]) -> None:
        self.clauses.update(common.fine_clauses(rows))

    def __call__(self, p: Penalty) -> dict[str, Any]:
        if p.pk not in self.clauses:
            self.prepare([p])
        clause = self.clauses.get(p.pk)
        has_fine = "FINE" in p.measures and p.fine_amount > 0
        return {
            "id": p.pk, "customer": _ref(p.customer), "case": p.case_id,
            "violation_type": p.case.violation_type, "step_code": p.step_code,
            "step_description": common.step_description(self.documents.get(p.policy_version),
                                                         p.step_code),
            "measures": [item.__dict__ for item in common.measure_items(p)],
            "reasons": [{"code": r.get("code", ""), "params": r.get("params") or {},
                         "text": common.describe_reason(r)} for r in p.reasons or []],
            "policy_version": p.policy_version, "fine_amount": p.fine_amount,
            "fine_source": (("contract_clause" if clause else "policy") if has_fine else None),
            "contract_clause": clause.pk if clause and has_fine else None,
            "points_deduction": p.points_deduction,
            "credit_limit_percent": p.credit_limit_percent, "duration_days": p.duration_days,
            "rectification_days": p.rectification_days, "status": p.status,
            "approver_roles": [role.value for role in common.allowed_roles(
                self.documents.current(), p.measures)],
            "proposed_at": p.proposed_at, "approved_at": p.approved_at,
            "approved_by": _username(p.approved_by), "notified_at": p.notified_at,
            "starts_on": p.starts_on, "ends_on": p.ends_on, "ended_at": p.ended_at,
            "end_reason": p.end_reason, "rectification_due_on": p.rectification_due_on,
            "rectified_at": p.rectified_at, "rectification_note": p.rectification_note,
            "escalated_to": p.escalated_to_id, "replaces": p.replaces_id,
            "decision_note": p.decision_note,
            "notices": [{"id": n.pk, "reference": n.reference, "language": n.language,
                         "delivery": n.delivery, "created_at": n.created_at,
                         "response_due_on": n.response_due_on,
                         "appeal_deadline": n.appeal_deadline, "responded_at": n.responded_at}
                        for n in sorted(p.notices.all(), key=lambda n: (n.created_at, n.pk))],
        }


class FineRenderer:
    def __init__(self) -> None:
        self.clauses: dict[int, ContractClause | None] = {}

    def prepare(self, rows: list[Fine]) -> None:
        self.clauses.update(common.fine_clauses([f.penalty for f in rows]))

    def __call__(self, f: Fine) -> dict[str, Any]:
        if f.penalty_id not in self.clauses:
            self.prepare([f])
        clause = self.clauses.get(f.penalty_id)
        return {"id": f.pk, "customer": _ref(f.customer), "penalty": f.penalty_id,
                "amount": f.amount, "source": "contract_clause" if clause else "policy",
                "contract_clause": clause.pk if clause else None, "due_on": f.due_on,
                "status": f.status, "settled_at": f.settled_at,
                "settled_by": f.settled_by_label, "note": f.note}


def clause_out(c: ContractClause) -> dict[str, Any]:
    return {"id": c.pk, "customer": _ref(c.customer), "contract_number": c.contract_number,
            "violation_type": c.violation_type, "fine_amount": c.fine_amount,
            "valid_from": c.valid_from, "valid_to": c.valid_to, "created_at": c.created_at}


def _cases(actor: Actor) -> QuerySet[ViolationCase]:
    return common.visible_cases(actor).prefetch_related("evidence", "penalties")


def _penalties(actor: Actor) -> QuerySet[Penalty]:
    return common.visible_penalties(actor).prefetch_related("notices")


def case_of(actor: Actor, case_id: int) -> ViolationCase:
    return _found(_cases(actor), case_id, _("case"))


def penalty_of(actor: Actor, penalty_id: int) -> Penalty:
    return _found(_penalties(actor), penalty_id, _("penalty"))


# --- the catalogue ----------------------------------------------------------------------------


@router.get("/conduct/violation-types", response=list[ViolationTypeOut],
            summary="The violation types of the policy in force")
def violation_types(request: HttpRequest) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.view_violationcase")
    document = common.Documents().current()
    if document is None:
        return []
    return [{"code": k.code, "name": k.description_zh if common.chinese() else k.description_en,
             "category": k.category.value, "category_label": common.category_label(k.category),
             "severity": k.severity.value, "severity_label": common.severity_label(k.severity),
             "points": k.points, "evidence_required": k.evidence_required,
             "description_zh": k.description_zh, "description_en": k.description_en}
            for k in document.violation_types]


# --- cases ------------------------------------------------------------------------------------


class ReportIn(InputSchema):
    customer: int | str = Field(description=CUSTOMER_HELP)
    violation_type: str = Field(min_length=1, max_length=64,
                                description="a code of GET /conduct/violation-types")
    occurred_on: dt.date
    description: str = Field(min_length=1, max_length=MAX_TEXT)
    source: str = Field("", max_length=50, description="the reporting system, with external_id")
    external_id: str = Field("", max_length=100,
                             description="the report's id in that system: reporting it again "
                                         "returns the first case")


@router.post("/conduct/cases", response={200: ReportedOut, 201: ReportedOut},
             summary="Report a violation (the same incident twice is one case)")
def report_case(request: HttpRequest, payload: ReportIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.add_violationcase")
    customer = customer_in_scope(actor, payload.customer, "customer")
    reported = cases.report(actor, customer, violation_type=payload.violation_type,
                            occurred_on=payload.occurred_on, description=payload.description,
                            source=payload.source, external_id=payload.external_id)
    body = CaseRenderer()(case_of(actor, reported.case.pk)) | {"created": reported.created}
    return Status(201 if reported.created else 200, body)


@router.get("/conduct/cases", response=list[CaseOut], summary="List violation cases")
@paginate(Pages, page_size=50)
def list_cases(request: HttpRequest, customer: str | None = None,
               status: CaseStatus | None = None, violation_type: str | None = None,
               severity: SeverityCode | None = None, occurred_from: dt.date | None = None,
               occurred_to: dt.date | None = None) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.view_violationcase")
    qs = _cases(actor)
    if customer:
        qs = qs.filter(customer=customer_in_scope(actor, customer, "customer"))
    if status:
        qs = qs.filter(status=status)
    if violation_type:
        qs = qs.filter(violation_type=violation_type.strip().upper())
    if severity:
        qs = qs.filter(severity=severity)
    if occurred_from:
        qs = qs.filter(occurred_on__gte=occurred_from)
    if occurred_to:
        qs = qs.filter(occurred_on__lte=occurred_to)
    return _Rows(qs.order_by("-reported_at", "-pk"), CaseRenderer())


@router.get("/conduct/cases/{case_id}", response=CaseOut, summary="Get a violation case")
def get_case(request: HttpRequest, case_id: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.view_violationcase")
    return CaseRenderer()(case_of(actor, case_id))


@router.post("/conduct/cases/{case_id}/evidence", response={200: EvidenceOut, 201: EvidenceOut},
             summary="Attach an evidence file (multipart: file, note); 200 when the same file "
                     "is already attached")
def add_evidence(request: HttpRequest, case_id: int,
                 file: UploadedFile | None = File(None),  # noqa: B008 - Ninja's declaration
                 note: str = Form("", max_length=limits.SHORT_TEXT)) -> Any:  # noqa: B008
    actor = actor_from_request(request)
    require(actor, "conduct.add_evidence")
    case = case_of(actor, case_id)
    if file is None:
        raise ValidationFailed(_("attach a file (multipart/form-data, field \"file\")"),
                               field="file")
    known = set(case.evidence.values_list("pk", flat=True))
    evidence = cases.add_evidence(actor, case, file, note=note,
                                  content_type=file.content_type or "application/octet-stream")
    return Status(200 if evidence.pk in known else 201, evidence_out(evidence))


# Every media type an evidence file can be stored under (core/filetypes.py), as the download's
# documented responses.
EVIDENCE_MEDIA_TYPES = {
    media_type: {"schema": {"type": "string", "format": "binary"}}
    for media_type in sorted({"application/octet-stream",
                              *(stored for stored, _aliases in filetypes.TYPES.values())})}


@router.get("/conduct/evidence/{evidence_id}/download",
            summary="Download an evidence file (streamed, as an attachment)",
            openapi_extra={"responses": {200: {
                "description": "the file, with the media type it was stored under",
                "content": EVIDENCE_MEDIA_TYPES}}})
def download_evidence(request: HttpRequest, evidence_id: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.view_evidence")
    evidence = _found(common.visible_evidence(actor), evidence_id, _("evidence"))
    return evidence_response(evidence)


class InvestigateIn(InputSchema):
    investigator: str | None = Field(None, max_length=150,
                                     description="username; default: the caller")


class CaseReasonIn(InputSchema):
    reason: str = Field(min_length=1, max_length=MAX_TEXT)


def _investigator(actor: Actor, username: str | None) -> User | None:
    if username is None:
        return actor.user
    user = common.investigators().filter(username=username).first()
    if user is None:
        raise ValidationFailed(_("%(username)s is not an active user who may investigate "
                                 "cases") % {"username": repr(username)}, field="investigator")
    return user


@router.post("/conduct/cases/{case_id}/investigate", response=CaseOut,
             summary="Start investigating a reported case")
def investigate_case(request: HttpRequest, case_id: int, payload: InvestigateIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.investigate_violationcase")
    case = case_of(actor, case_id)
    cases.investigate(actor, case, investigator=_investigator(actor, payload.investigator))
    return CaseRenderer()(case_of(actor, case_id))


@router.post("/conduct/cases/{case_id}/confirm", response=ConfirmedOut,
             summary="Confirm a violation; the ladder proposes its measures")
def confirm_case(request: HttpRequest, case_id: int, payload: CaseReasonIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.investigate_violationcase")
    case = case_of(actor, case_id)
    penalty = cases.confirm(actor, case, reason=payload.reason)
    return {"case": CaseRenderer()(case_of(actor, case_id)),
            "penalty": PenaltyRenderer()(penalty_of(actor, penalty.pk)) if penalty else None}


@router.post("/conduct/cases/{case_id}/dismiss", response=CaseOut,
             summary="Dismiss a case, with the reason")
def dismiss_case(request: HttpRequest, case_id: int, payload: CaseReasonIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.investigate_violationcase")
    cases.dismiss(actor, case_of(actor, case_id), reason=payload.reason)
    return CaseRenderer()(case_of(actor, case_id))


# --- penalties --------------------------------------------------------------------------------


@router.get("/conduct/penalties", response=list[PenaltyOut], summary="List penalties")
@paginate(Pages, page_size=50)
def list_penalties(request: HttpRequest, customer: str | None = None,
                   status: PenaltyStatus | None = None, measure: MeasureCode | None = None,
                   case: int | None = None) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.view_penalty")
    qs = _penalties(actor)
    if customer:
        qs = qs.filter(customer=customer_in_scope(actor, customer, "customer"))
    if status:
        qs = qs.filter(status=status)
    if measure:
        qs = with_measure(qs, measure)
    if case is not None:
        qs = qs.filter(case_id=case)
    return _Rows(qs.order_by("-proposed_at", "-pk"), PenaltyRenderer())


@router.get("/conduct/penalties/{penalty_id}", response=PenaltyOut, summary="Get a penalty")
def get_penalty(request: HttpRequest, penalty_id: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.view_penalty")
    return PenaltyRenderer()(penalty_of(actor, penalty_id))


class ApproveIn(InputSchema):
    note: str = Field("", max_length=MAX_TEXT)
    language: Literal["zh-hans", "en"] = Field("zh-hans", description="of the notice")


class RectificationNoteIn(InputSchema):
    note: str = Field(min_length=1, max_length=MAX_TEXT,
                      description="what the customer did to put the matter right")


def _require_approver(actor: Actor, penalty: Penalty) -> None:
    """The policy decides which roles approve which measures: anyone else gets a 403 that
    says who may."""
    if not penalties.may_approve(actor, penalty):
        roles = _(", ").join(common.role_labels(common.allowed_roles(
            common.Documents().current(), penalty.measures))) or "—"
        raise PermissionRefused(_("the policy lets only these roles decide a penalty with "
                                  "%(measures)s: %(roles)s") % {
            "measures": common.measures_text(penalty), "roles": roles})


@router.post("/conduct/penalties/{penalty_id}/approve", response=PenaltyOut,
             summary="Approve a proposed penalty: the customer is notified, the measures "
                     "take effect")
def approve_penalty(request: HttpRequest, penalty_id: int, payload: ApproveIn) -> Any:
    actor = actor_from_request(request)
    penalty = _penalty_for_decision(actor, penalty_id)
    penalties.approve(actor, penalty, note=payload.note, language=payload.language)
    return PenaltyRenderer()(penalty_of(actor, penalty_id))


def _penalty_for_decision(actor: Actor, penalty_id: int) -> Penalty:
    """The penalty to approve or reject: the permission, then the scope (404), then the
    policy's approvers (403 saying who may)."""
    require(actor, "conduct.approve_penalty")
    penalty = penalty_of(actor, penalty_id)
    _require_approver(actor, penalty)
    return penalty


@router.post("/conduct/penalties/{penalty_id}/reject", response=PenaltyOut,
             summary="Reject a proposed penalty, with the reason")
def reject_penalty(request: HttpRequest, penalty_id: int, payload: CaseReasonIn) -> Any:
    actor = actor_from_request(request)
    penalty = _penalty_for_decision(actor, penalty_id)
    penalties.reject(actor, penalty, reason=payload.reason)
    return PenaltyRenderer()(penalty_of(actor, penalty_id))


@router.post("/conduct/penalties/{penalty_id}/lift", response=PenaltyOut,
             summary="Lift an active penalty early, with the reason")
def lift_penalty(request: HttpRequest, penalty_id: int, payload: CaseReasonIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.lift_penalty")
    penalties.lift(actor, penalty_of(actor, penalty_id), reason=payload.reason)
    return PenaltyRenderer()(penalty_of(actor, penalty_id))


RECTIFYING = (Penalty.Status.ACTIVE, Penalty.Status.COMPLETED)


@router.post("/conduct/penalties/{penalty_id}/rectification", response=PenaltyOut,
             summary="Record that the customer rectified what the penalty required")
def record_rectification(request: HttpRequest, penalty_id: int,
                         payload: RectificationNoteIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.change_penalty")
    penalty = penalty_of(actor, penalty_id)
    if penalty.status not in RECTIFYING:
        raise ValidationFailed(_("this penalty has no open rectification"), field="note")
    penalties.record_rectification(actor, penalty, note=payload.note)
    return PenaltyRenderer()(penalty_of(actor, penalty_id))


@router.post("/conduct/penalties/{penalty_id}/escalate", response=EscalatedOut,
             summary="Escalate an overdue rectification: a violation of its own, confirmed, "
                     "and the ladder runs again")
def escalate_penalty(request: HttpRequest, penalty_id: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.investigate_violationcase")
    penalty = penalty_of(actor, penalty_id)
    if penalty.status not in RECTIFYING:
        raise refuse_state(_("penalty"), penalty.get_status_display())
    proposed = penalties.escalate(actor, penalty)
    penalty = penalty_of(actor, penalty_id)
    renderer = PenaltyRenderer()
    return {"penalty": renderer(penalty),
            "case": CaseRenderer()(case_of(actor, penalty.escalated_to_id)),
            "proposed": renderer(penalty_of(actor, proposed.pk)) if proposed else None}


# --- fines ------------------------------------------------------------------------------------


class SettleIn(InputSchema):
    status: Literal["paid", "waived"]
    note: str = Field("", max_length=MAX_TEXT, description="required to waive")


@router.get("/conduct/fines", response=list[FineOut], summary="List fines")
@paginate(Pages, page_size=50)
def list_fines(request: HttpRequest, customer: str | None = None,
               status: FineStatus | None = None) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.view_fine")
    qs = common.visible_fines(actor)
    if customer:
        qs = qs.filter(customer=customer_in_scope(actor, customer, "customer"))
    if status:
        qs = qs.filter(status=status)
    return _Rows(qs.order_by("-due_on", "-pk"), FineRenderer())


@router.post("/conduct/fines/{fine_id}/settle", response=FineOut,
             summary="Settle a due fine as paid, or waive it (with the reason)")
def settle_fine(request: HttpRequest, fine_id: int, payload: SettleIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.change_fine")
    fine = _found(common.visible_fines(actor), fine_id, _("fine"))
    fines.settle(actor, fine, status=payload.status, note=payload.note)
    return FineRenderer()(_found(common.visible_fines(actor), fine_id, _("fine")))


# --- contract clauses -------------------------------------------------------------------------


class ClauseIn(InputSchema):
    customer: int | str = Field(description=CUSTOMER_HELP)
    contract_number: str = Field(min_length=1, max_length=64)
    violation_type: str = Field("", max_length=64, description="blank: any violation")
    fine_amount: Money = Field(description="send it as a string, e.g. \"5000.00\"")
    valid_from: dt.date
    valid_to: dt.date | None = Field(None, description="the last day it applies")


class EndClauseIn(InputSchema):
    last_day: dt.date | None = Field(None, description="the last day it applies; default today")
    reason: str = Field(min_length=1, max_length=MAX_TEXT)


@router.get("/conduct/clauses", response=list[ClauseOut],
            summary="List contract penalty clauses")
@paginate(Pages, page_size=50)
def list_clauses(request: HttpRequest, customer: str | None = None,
                 in_force_on: dt.date | None = None) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.view_contractclause")
    qs = common.visible_clauses(actor)
    if customer:
        qs = qs.filter(customer=customer_in_scope(actor, customer, "customer"))
    if in_force_on:
        qs = qs.filter(valid_from__lte=in_force_on).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=in_force_on))
    return _Rows(qs.order_by("customer__code", "-valid_from", "-pk"), clause_out)


@router.post("/conduct/clauses", response={201: ClauseOut},
             summary="Add a contract penalty clause")
def add_clause(request: HttpRequest, payload: ClauseIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.add_contractclause")
    customer = customer_in_scope(actor, payload.customer, "customer")
    clause = clauses.add(actor, customer, contract_number=payload.contract_number,
                         violation_type=payload.violation_type,
                         fine_amount=payload.fine_amount, valid_from=payload.valid_from,
                         valid_to=payload.valid_to)
    return Status(201, clause_out(clause))


@router.post("/conduct/clauses/{clause_id}/end", response=ClauseOut,
             summary="End a contract penalty clause")
def end_clause(request: HttpRequest, clause_id: int, payload: EndClauseIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.change_contractclause")
    clause = _found(common.visible_clauses(actor), clause_id, _("clause"))
    return clause_out(clauses.end(actor, clause, last_day=payload.last_day,
                                  reason=payload.reason))
