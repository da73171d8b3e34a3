"""A customer's points over the API. Thin: reads go through rewards.selectors, an adjustment
through rewards.services.adjustments, which checks the permission again and audits. Customers
are scoped as everywhere: one the caller may not see is a 404.

    GET  /customers/{id_or_code}/points               available, pending, withheld, debt,
                                                      totals, flags, next expiry
    GET  /customers/{id_or_code}/points/entries       the ledger, newest first (paginated;
                                                      filters: kind, date_from, date_to)
    GET  /customers/{id_or_code}/points/lots          open lots, the first to expire first
                                                      (paginated)
    POST /customers/{id_or_code}/points/adjustments   add or take points (201; 200 when the
                                                      same source/external_id was posted)
"""
# No `from __future__ import annotations`: Django Ninja resolves the annotations at import.

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from custguard.api.pagination import Pages
from custguard.api.schemas import CustomerRef, InputSchema, QueryFilter, ReasonOut
from custguard.core import limits
from custguard.core.actors import Actor, actor_from_request
from custguard.core.errors import PermissionRefused
from custguard.core.transactions import atomic_with_retry
from custguard.customers.models import Customer
from custguard.customers.selectors import customer_in_scope
from custguard.ledger.api.common import FactRef
from custguard.rewards import reasons, selectors
from custguard.rewards.models import PointsEntry, PointsLot
from custguard.rewards.services import adjustments

router = Router(tags=["rewards"])

EntryKind = Literal[tuple(PointsEntry.Kind.values)]  # type: ignore[valid-type]
PAGE_SIZE = 50
LOT_PAGE_SIZE = 100


def require(actor: Actor, perm: str) -> None:
    if not actor.can(perm):
        raise PermissionRefused(_("your role may not do this"))


def _customer(request: HttpRequest, id_or_code: str, perm: str) -> tuple[Actor, Customer]:
    actor = actor_from_request(request)
    require(actor, perm)
    return actor, customer_in_scope(actor, id_or_code, "id_or_code")


def _ref(customer: Customer) -> dict[str, Any]:
    return {"id": customer.pk, "code": customer.code, "name": customer.name}


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


# --- the summary ------------------------------------------------------------------------------


class NextExpiryOut(Schema):
    on: dt.date = Field(description="the last day these points can be used")
    points: int


class PointsSummaryOut(Schema):
    customer: CustomerRef
    available: int = Field(description="points the customer may spend now (the standing's "
                                       "points balance; negative while it owes points)")
    pending: int = Field(description="earned, still in the holding period")
    withheld: int = Field(description="earned while frozen or blacklisted: released or "
                                      "forfeited when that ends")
    debt: int = Field(description="points taken back after they were spent; the next "
                                  "points pay it off")
    earned_total: int
    spent_total: int
    expired_total: int
    points_frozen: bool
    blacklisted: bool
    next_expiry: NextExpiryOut | None = Field(description="the first lots to expire")
    value: Decimal | None = Field(description="the available points in money at the "
                                              "redemption value of the policy in force "
                                              "(null without one)")
    updated_at: dt.datetime | None


def summary_out(summary: selectors.Summary) -> dict[str, Any]:
    expiry = summary.next_expiry
    return {
        "customer": _ref(summary.customer), "available": summary.available,
        "pending": summary.pending, "withheld": summary.withheld, "debt": summary.debt,
        "earned_total": summary.earned_total, "spent_total": summary.spent_total,
        "expired_total": summary.expired_total, "points_frozen": summary.points_frozen,
        "blacklisted": summary.blacklisted,
        "next_expiry": {"on": expiry.on, "points": expiry.points} if expiry else None,
        "value": summary.value, "updated_at": summary.updated_at,
    }


@router.get("/customers/{id_or_code}/points", response=PointsSummaryOut,
            summary="A customer's points: available, pending, withheld, debt and next expiry")
def get_points(request: HttpRequest, id_or_code: str) -> Any:
    _actor, customer = _customer(request, id_or_code, "rewards.view_pointsaccount")
    return summary_out(selectors.summary_of(customer))


# --- the entries ------------------------------------------------------------------------------


class PointsEntryOut(Schema):
    id: int
    kind: str
    kind_label: str = Field(description="in the request's language")
    points: int = Field(description="the change of what the customer holds (available and "
                                    "pending)")
    withheld: int = Field(description="the change of what is withheld")
    on: dt.date
    invoice: FactRef | None
    penalty: int | None = Field(description="the penalty that deducted or gave back points")
    reasons: list[ReasonOut]
    policy_version: int | None
    note: str
    source: str
    external_id: str
    recorded_at: dt.datetime
    recorded_by: str


def entry_out(entry: PointsEntry) -> dict[str, Any]:
    invoice = entry.invoice
    return {
        "id": entry.pk, "kind": entry.kind, "kind_label": entry.get_kind_display(),
        "points": entry.points, "withheld": entry.withheld, "on": entry.on,
        "invoice": {"id": invoice.pk, "source": invoice.source,
                    "external_id": invoice.external_id, "number": invoice.number}
        if invoice is not None else None,
        "penalty": entry.penalty_id,
        "reasons": [{"code": item.code, "params": stored.get("params") or {},
                     "text": item.text}
                    for stored, item in zip(entry.reasons,
                                            reasons.describe_all(entry.reasons), strict=True)],
        "policy_version": entry.policy_version, "note": entry.note, "source": entry.source,
        "external_id": entry.external_id, "recorded_at": entry.recorded_at,
        "recorded_by": entry.recorded_by,
    }


class EntryFilter(QueryFilter):
    kind: EntryKind | None = None
    date_from: dt.date | None = Field(None, description="the entry's date, from (inclusive)")
    date_to: dt.date | None = Field(None, description="the entry's date, to (inclusive)")


@router.get("/customers/{id_or_code}/points/entries", response=list[PointsEntryOut],
            summary="A customer's points entries, newest first")
@paginate(Pages, page_size=PAGE_SIZE)
def list_entries(request: HttpRequest, id_or_code: str, filters: Query[EntryFilter]) -> Any:
    _actor, customer = _customer(request, id_or_code, "rewards.view_pointsentry")
    qs = selectors.entries_of(customer, kind=filters.kind or "", start=filters.date_from,
                              end=filters.date_to)
    return _Rows(qs, entry_out)


# --- the lots ---------------------------------------------------------------------------------


class PointsLotOut(Schema):
    id: int
    points: int = Field(description="what the lot was given")
    remaining: int
    earned_on: dt.date
    available_on: dt.date = Field(description="the first day its points may be spent")
    expires_on: dt.date = Field(description="the last day its points may be spent")
    available: bool = Field(description="false while in the holding period")
    entry: int = Field(description="the entry that created it")
    invoice: FactRef | None


def lot_out(lot: PointsLot) -> dict[str, Any]:
    invoice = lot.invoice
    return {
        "id": lot.pk, "points": lot.points, "remaining": lot.remaining,
        "earned_on": lot.earned_on, "available_on": lot.available_on,
        "expires_on": lot.expires_on, "available": lot.available, "entry": lot.entry_id,
        "invoice": {"id": invoice.pk, "source": invoice.source,
                    "external_id": invoice.external_id, "number": invoice.number}
        if invoice is not None else None,
    }


@router.get("/customers/{id_or_code}/points/lots", response=list[PointsLotOut],
            summary="A customer's lots with points left, the first to expire first")
@paginate(Pages, page_size=LOT_PAGE_SIZE)
def list_lots(request: HttpRequest, id_or_code: str) -> Any:
    _actor, customer = _customer(request, id_or_code, "rewards.view_pointslot")
    return _Rows(selectors.open_lots(customer), lot_out)


# --- adjustments ------------------------------------------------------------------------------


class AdjustmentIn(InputSchema):
    points: int = Field(ge=-adjustments.MAX_ADJUSTMENT, le=adjustments.MAX_ADJUSTMENT,
                        description="positive: added as a lot available at once (expiring as "
                                    "the policy says); negative: taken from the lots that "
                                    "expire first, never more than the customer may spend; "
                                    "not 0")
    note: str = Field(min_length=1, max_length=limits.REASON,
                      description="why the points change")
    source: str = Field("", max_length=50, description="the posting system, with external_id")
    external_id: str = Field("", max_length=100,
                             description="the adjustment's id in that system: posting it "
                                         "again returns the first entry and changes nothing")


class AdjustedOut(PointsEntryOut):
    created: bool = Field(description="false: posted before with this source/external_id; "
                                      "this is that entry")
    available: int = Field(description="the customer's available points now")


@router.post("/customers/{id_or_code}/points/adjustments",
             response={200: AdjustedOut, 201: AdjustedOut},
             summary="Adjust a customer's points (201: stored now; 200: posted before, "
                     "nothing changed)")
def adjust_points(request: HttpRequest, id_or_code: str, payload: AdjustmentIn) -> Any:
    actor, customer = _customer(request, id_or_code, "rewards.adjust_points")
    entry, created = atomic_with_retry(lambda: adjustments.adjust(
        actor, customer, payload.points, note=payload.note, source=payload.source,
        external_id=payload.external_id))
    return Status(201 if created else 200,
                  entry_out(entry) | {"created": created,
                                      "available": selectors.available_points(customer)})
