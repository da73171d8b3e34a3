"""Notices, the credit blacklist, recovery plans and partner matches over the API. Thin: every
change is made by conduct.services (notices, blacklist, sharing), which check permissions
again and audit. Customers are scoped as everywhere: one the caller may not see is a 404.

    GET  /conduct/notices                           filters: customer, state, delivery
    GET  /conduct/notices/{notice_id}
    GET  /conduct/notices/{notice_id}/pdf           the PDF letter
    POST /conduct/notices/{notice_id}/response      the customer's response (once)
    POST /conduct/notices/{notice_id}/resend        e-mail a failed / by-post notice again
    GET  /conduct/blacklist                         filters: customer, status, criterion
    POST /conduct/blacklist                         a credit manager's proposal (MANUAL)
    GET  /conduct/blacklist/{entry_id}              with its evidence in words
    POST /conduct/blacklist/{entry_id}/approve | reject | lift (optional recovery plan)
    GET  /conduct/recovery-plans/{plan_id}
    POST /conduct/recovery-plans/{plan_id}/installments/{number}/paid
    GET  /conduct/partner-matches                   filters: status, partner, customer
    POST /conduct/partner-matches/{match_id}/review
"""
# No `from __future__ import annotations`: Django Ninja resolves the annotations at import.

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from custguard.api.pagination import Pages
from custguard.api.schemas import CustomerRef, InputSchema, Money
from custguard.conduct.models import (
    BlacklistEntry,
    Notice,
    PartnerMatch,
    RecoveryInstallment,
    RecoveryPlan,
)
from custguard.conduct.services import blacklist, notices, sharing
from custguard.conduct.services.common import MAX_REASON, require, today
from custguard.core.actors import Actor, actor_from_request
from custguard.core.errors import NotFound
from custguard.customers import selectors
from custguard.customers.models import Customer
from custguard.customers.selectors import customer_in_scope

router = Router(tags=["conduct"])

NoticeState = Literal["awaiting", "overdue", "responded"]
DeliveryState = Literal[tuple(Notice.Delivery.values)]  # type: ignore[valid-type]
EntryStatus = Literal[tuple(BlacklistEntry.Status.values)]  # type: ignore[valid-type]
MatchStatus = Literal[tuple(PartnerMatch.Status.values)]  # type: ignore[valid-type]
CUSTOMER_HELP = "customer id, or its 9-digit code"


def _scoped(qs: QuerySet[Any], actor: Actor) -> QuerySet[Any]:
    if selectors.sees_all_customers(actor):
        return qs
    return qs.filter(customer__in=selectors.customers_for(actor).values("pk"))


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



def _customer(customer: Customer) -> dict[str, Any]:
    return {"id": customer.pk, "code": customer.code, "name": customer.name}


# --- notices ----------------------------------------------------------------------------------


class NoticeOut(Schema):
    id: int
    reference: str
    customer: CustomerRef
    penalty: int
    measures: list[str]
    language: str
    subject: str
    created_at: dt.datetime
    delivery: str = Field(description="sent | failed | no_address (deliver by post)")
    delivered_at: dt.datetime | None
    delivery_error: str
    recipient: str = Field(description="masked for roles that may not see PII")
    response_due_on: dt.date
    appeal_deadline: dt.date
    overdue: bool = Field(description="no response recorded and the response date passed")
    responded_at: dt.datetime | None
    response: str
    response_recorded_by: str
    pdf_url: str


def notice_out(notice: Notice, show_pii: bool) -> dict[str, Any]:
    from custguard.customers.views.common import mask_email

    return {
        "id": notice.pk, "reference": notice.reference, "customer": _customer(notice.customer),
        "penalty": notice.penalty_id, "measures": list(notice.penalty.measures),
        "language": notice.language, "subject": notice.subject,
        "created_at": notice.created_at, "delivery": notice.delivery,
        "delivered_at": notice.delivered_at, "delivery_error": notice.delivery_error,
        "recipient": notice.recipient if show_pii else mask_email(notice.recipient),
        "response_due_on": notice.response_due_on, "appeal_deadline": notice.appeal_deadline,
        "overdue": notices.is_overdue(notice), "responded_at": notice.responded_at,
        "response": notice.response, "response_recorded_by": notice.response_recorded_by,
        "pdf_url": f"/api/v1/conduct/notices/{notice.pk}/pdf",
    }


def visible_notices(actor: Actor) -> QuerySet[Notice]:
    return _scoped(Notice.objects.select_related("customer", "penalty").defer("body_html"),
                   actor)


def notice_in_scope(actor: Actor, notice_id: int) -> Notice:
    notice = visible_notices(actor).filter(pk=notice_id).first()
    if notice is None:
        raise NotFound(_("notice %(id)s not found") % {"id": notice_id})
    return notice


@router.get("/conduct/notices", response=list[NoticeOut],
            summary="Notices to customers, the most urgent response first")
@paginate(Pages, page_size=50)
def list_notices(request: HttpRequest, customer: str | None = None,
                 state: NoticeState | None = None,
                 delivery: DeliveryState | None = None) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.view_notice")
    qs = visible_notices(actor)
    if customer:
        qs = qs.filter(customer=customer_in_scope(actor, customer, field="customer"))
    if state == "awaiting":
        qs = qs.filter(responded_at__isnull=True)
    elif state == "overdue":
        qs = qs.filter(responded_at__isnull=True, response_due_on__lt=today())
    elif state == "responded":
        qs = qs.filter(responded_at__isnull=False)
    if delivery:
        qs = qs.filter(delivery=delivery)
    show_pii = selectors.sees_pii(actor)
    return _Rows(qs.order_by("response_due_on", "pk"), lambda n: notice_out(n, show_pii))


@router.get("/conduct/notices/{notice_id}", response=NoticeOut, summary="Get a notice")
def get_notice(request: HttpRequest, notice_id: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.view_notice")
    return notice_out(notice_in_scope(actor, notice_id), selectors.sees_pii(actor))


@router.get("/conduct/notices/{notice_id}/pdf", summary="The notice's PDF letter",
            openapi_extra={"responses": {200: {"description": "the PDF letter",
                                               "content": {"application/pdf": {}}}}})
def notice_pdf(request: HttpRequest, notice_id: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.view_notice")
    notice = notice_in_scope(actor, notice_id)
    try:
        stream = notice.pdf.open("rb") if notice.pdf else None
    except FileNotFoundError:
        stream = None
    if stream is None:
        raise NotFound(_("the PDF of notice %(ref)s is missing") % {"ref": notice.reference})
    response = FileResponse(stream, as_attachment=True, filename=f"{notice.reference}.pdf",
                            content_type="application/pdf")
    response["Cache-Control"] = "private, no-store"
    return response


class ResponseIn(InputSchema):
    response: str = Field(min_length=1, max_length=MAX_REASON,
                          description="the customer's response, as received")
    responded_at: dt.datetime | None = Field(
        None, description="when it reached us (ISO 8601 with time zone); default now")


@router.post("/conduct/notices/{notice_id}/response", response=NoticeOut,
             summary="Record the customer's response to a notice (once)")
def record_response(request: HttpRequest, notice_id: int, payload: ResponseIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.record_response")
    notice = notice_in_scope(actor, notice_id)
    notices.record_response(actor, notice, response=payload.response,
                            responded_at=payload.responded_at)
    return notice_out(notice_in_scope(actor, notice_id), selectors.sees_pii(actor))


@router.post("/conduct/notices/{notice_id}/resend", response=NoticeOut,
             summary="E-mail a notice again (after a failure, or once an address is on file)")
def resend_notice(request: HttpRequest, notice_id: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.record_response")
    notices.resend(actor, notice_in_scope(actor, notice_id))
    return notice_out(notice_in_scope(actor, notice_id), selectors.sees_pii(actor))


# --- the blacklist ----------------------------------------------------------------------------


class CriterionEvidenceOut(Schema):
    code: str
    title: str = Field(description="the criterion, in the request's language")
    detail: str = Field(description="the numbers behind it, in the request's language")
    params: dict[str, Any]


class EntryOut(Schema):
    id: int
    customer: CustomerRef
    criterion: str
    criterion_text: str
    evidence: list[CriterionEvidenceOut]
    status: str
    policy_version: int
    penalty: int | None
    duration_days: int
    proposed_at: dt.datetime
    proposed_by: str
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_note: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    ended_at: dt.datetime | None
    end_reason: str
    recovery_plan: int | None


def entry_out(entry: BlacklistEntry) -> dict[str, Any]:
    document = blacklist.document_of(entry.policy_version)
    plan = RecoveryPlan.objects.filter(entry=entry).values_list("pk", flat=True).first()
    return {
        "id": entry.pk, "customer": _customer(entry.customer), "criterion": entry.criterion,
        "criterion_text": blacklist.criterion_label(entry.criterion, document),
        "evidence": [{"code": e.code, "title": e.title, "detail": e.detail, "params": e.params}
                     for e in blacklist.explain(entry, document)],
        "status": entry.status, "policy_version": entry.policy_version,
        "penalty": entry.penalty_id, "duration_days": entry.duration_days,
        "proposed_at": entry.proposed_at, "proposed_by": entry.proposed_by_label,
        "decided_by": entry.decided_by.get_username() if entry.decided_by else None,
        "decided_at": entry.decided_at, "decision_note": entry.decision_note,
        "starts_on": entry.starts_on, "ends_on": entry.ends_on, "ended_at": entry.ended_at,
        "end_reason": entry.end_reason, "recovery_plan": plan,
    }


def visible_entries(actor: Actor) -> QuerySet[BlacklistEntry]:
    return _scoped(BlacklistEntry.objects.select_related("customer", "decided_by"), actor)


def entry_in_scope(actor: Actor, entry_id: int) -> BlacklistEntry:
    entry = visible_entries(actor).filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(_("blacklist entry %(id)s not found") % {"id": entry_id})
    return entry


@router.get("/conduct/blacklist", response=list[EntryOut],
            summary="Blacklist entries, newest proposal first")
@paginate(Pages, page_size=50)
def list_entries(request: HttpRequest, customer: str | None = None,
                 status: EntryStatus | None = None, criterion: str | None = None) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.view_blacklistentry")
    qs = visible_entries(actor)
    if customer:
        qs = qs.filter(customer=customer_in_scope(actor, customer, field="customer"))
    if status:
        qs = qs.filter(status=status)
    if criterion:
        qs = qs.filter(criterion=criterion.strip().upper())
    return _Rows(qs.order_by("-proposed_at", "-pk"), entry_out)


class ProposalIn(InputSchema):
    customer: int | str = Field(description=CUSTOMER_HELP)
    reason: str = Field(min_length=1, max_length=MAX_REASON,
                        description="what the customer did and the evidence")
    duration_days: int | None = Field(None, ge=1, le=blacklist.MAX_DURATION_DAYS,
                                      description="default: the policy's")


@router.post("/conduct/blacklist", response={200: EntryOut, 201: EntryOut},
             summary="Propose an entry by hand (201; 200 with the customer's open entry when "
                     "it has one)")
def propose(request: HttpRequest, payload: ProposalIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.decide_blacklistentry")
    customer = customer_in_scope(actor, str(payload.customer), field="customer")
    entry, created = blacklist.propose_manual(actor, customer, reason=payload.reason,
                                              duration_days=payload.duration_days)
    body = entry_out(entry_in_scope(actor, entry.pk))
    return Status(201, body) if created else body


@router.get("/conduct/blacklist/{entry_id}", response=EntryOut,
            summary="Get a blacklist entry with its evidence")
def get_entry(request: HttpRequest, entry_id: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.view_blacklistentry")
    return entry_out(entry_in_scope(actor, entry_id))


class ReviewNoteIn(InputSchema):
    note: str = Field("", max_length=MAX_REASON, description="optional")


class BlacklistReasonIn(InputSchema):
    reason: str = Field(min_length=1, max_length=MAX_REASON)


class InstallmentIn(InputSchema):
    due_on: dt.date
    amount: Money = Field(description="send it as a string, e.g. \"12000.00\"")


class LiftIn(InputSchema):
    reason: str = Field(min_length=1, max_length=MAX_REASON)
    installments: list[InstallmentIn] = Field(
        default_factory=list, max_length=blacklist.MAX_INSTALLMENTS,
        description="a recovery plan: installments in order of their due dates, from today on; "
                    "the credit limit is restored in equal steps as each is paid")


@router.post("/conduct/blacklist/{entry_id}/approve", response=EntryOut,
             summary="Approve a proposal: the gate denies the customer at once")
def approve(request: HttpRequest, entry_id: int, payload: ReviewNoteIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.decide_blacklistentry")
    blacklist.approve(actor, entry_in_scope(actor, entry_id), note=payload.note)
    return entry_out(entry_in_scope(actor, entry_id))


@router.post("/conduct/blacklist/{entry_id}/reject", response=EntryOut,
             summary="Reject a proposal, with a reason")
def reject(request: HttpRequest, entry_id: int, payload: BlacklistReasonIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.decide_blacklistentry")
    blacklist.reject(actor, entry_in_scope(actor, entry_id), reason=payload.reason)
    return entry_out(entry_in_scope(actor, entry_id))


@router.post("/conduct/blacklist/{entry_id}/lift", response=EntryOut,
             summary="Lift an active entry early, with a reason and an optional recovery plan")
def lift(request: HttpRequest, entry_id: int, payload: LiftIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.decide_blacklistentry")
    blacklist.lift(actor, entry_in_scope(actor, entry_id), reason=payload.reason,
                   installments=[blacklist.InstallmentPlan(due_on=row.due_on, amount=row.amount)
                                 for row in payload.installments])
    return entry_out(entry_in_scope(actor, entry_id))


# --- recovery plans ---------------------------------------------------------------------------


class InstallmentOut(Schema):
    number: int
    due_on: dt.date
    amount: Decimal
    limit_percent_after: Decimal = Field(description="share of the limit restored once paid")
    paid_at: dt.datetime | None


class PlanOut(Schema):
    id: int
    entry: int
    customer: CustomerRef
    status: str
    total_amount: Decimal
    paid_amount: Decimal
    limit_percent_now: Decimal = Field(description="share of the limit the customer has now")
    created_at: dt.datetime
    created_by: str
    installments: list[InstallmentOut]


def plan_out(plan: RecoveryPlan) -> dict[str, Any]:
    from custguard.customers.models import Standing

    rows = list(plan.installments.order_by("number"))
    standing = Standing.objects.filter(pk=plan.customer_id).values_list(
        "penalty_limit_percent", flat=True).first()
    return {
        "id": plan.pk, "entry": plan.entry_id, "customer": _customer(plan.customer),
        "status": plan.status, "total_amount": plan.total_amount,
        "paid_amount": sum((r.amount for r in rows if r.paid_at), Decimal("0.00")),
        "limit_percent_now": standing if standing is not None else Decimal("100.00"),
        "created_at": plan.created_at, "created_by": plan.created_by_label,
        "installments": [{"number": r.number, "due_on": r.due_on, "amount": r.amount,
                          "limit_percent_after": r.limit_percent_after, "paid_at": r.paid_at}
                         for r in rows],
    }


def plan_in_scope(actor: Actor, plan_id: int) -> RecoveryPlan:
    plan = _scoped(RecoveryPlan.objects.select_related("customer"), actor).filter(
        pk=plan_id).first()
    if plan is None:
        raise NotFound(_("recovery plan %(id)s not found") % {"id": plan_id})
    return plan


@router.get("/conduct/recovery-plans/{plan_id}", response=PlanOut,
            summary="A recovery plan with its installments")
def get_plan(request: HttpRequest, plan_id: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.view_recoveryplan")
    return plan_out(plan_in_scope(actor, plan_id))


@router.post("/conduct/recovery-plans/{plan_id}/installments/{number}/paid",
             response=PlanOut,
             summary="Mark the next installment paid: the limit is restored to its step")
def pay_installment(request: HttpRequest, plan_id: int, number: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.change_recoveryinstallment")
    plan = plan_in_scope(actor, plan_id)
    installment = RecoveryInstallment.objects.filter(plan=plan, number=number).first()
    if installment is None:
        raise NotFound(_("installment %(n)s not found") % {"n": number}, field="number")
    blacklist.pay_installment(actor, installment)
    return plan_out(plan_in_scope(actor, plan_id))


# --- partner matches --------------------------------------------------------------------------


class MatchOut(Schema):
    id: int
    partner: str
    customer: CustomerRef
    identifier_kind: str = Field(description="id_number | phone")
    partner_category: str
    partner_listed_on: dt.date | None
    file_digest: str
    imported_at: dt.datetime
    status: str
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    note: str


def match_out(match: PartnerMatch) -> dict[str, Any]:
    return {
        "id": match.pk, "partner": match.partner, "customer": _customer(match.customer),
        "identifier_kind": match.identifier_kind, "partner_category": match.partner_category,
        "partner_listed_on": match.partner_listed_on, "file_digest": match.file_digest,
        "imported_at": match.imported_at, "status": match.status,
        "reviewed_by": match.reviewed_by.get_username() if match.reviewed_by else None,
        "reviewed_at": match.reviewed_at, "note": match.note,
    }


def visible_matches(actor: Actor) -> QuerySet[PartnerMatch]:
    return _scoped(PartnerMatch.objects.select_related("customer", "reviewed_by"), actor)


@router.get("/conduct/partner-matches", response=list[MatchOut],
            summary="Our customers found in partners' blacklist files, newest first")
@paginate(Pages, page_size=50)
def list_matches(request: HttpRequest, status: MatchStatus | None = None,
                 partner: str | None = None, customer: str | None = None) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.view_partnermatch")
    qs = visible_matches(actor)
    if status:
        qs = qs.filter(status=status)
    if partner:
        qs = qs.filter(partner=partner.strip())
    if customer:
        qs = qs.filter(customer=customer_in_scope(actor, customer, field="customer"))
    return _Rows(qs.order_by("-imported_at", "-pk"), match_out)


class MatchReviewIn(InputSchema):
    note: str = Field(min_length=1, max_length=MAX_REASON,
                      description="what was checked and decided")


@router.post("/conduct/partner-matches/{match_id}/review", response=MatchOut,
             summary="Mark a partner match reviewed, with a note")
def review_match(request: HttpRequest, match_id: int, payload: MatchReviewIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "conduct.change_partnermatch")
    match = visible_matches(actor).filter(pk=match_id).first()
    if match is None:
        raise NotFound(_("partner match %(id)s not found") % {"id": match_id})
    sharing.review(actor, match, note=payload.note)
    return match_out(visible_matches(actor).get(pk=match_id))
