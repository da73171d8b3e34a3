"""Audit entries (read-only), API tokens and policy versions over the API."""


import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from custguard.api.pagination import Pages
from custguard.api.schemas import InputSchema, QueryFilter
from custguard.core import pii, selectors
from custguard.core.actors import actor_from_request
from custguard.core.errors import NotFound
from custguard.core.models import ApiToken, User
from custguard.core.services import tokens

router = Router()


class AuditEntryOut(Schema):
    seq: int
    at: dt.datetime
    actor_kind: str
    actor_label: str
    action: str
    object_type: str
    object_id: str
    customer_id: int | None
    before: dict[str, Any] | None = Field(
        description="personal data masked for roles without core.view_pii")
    after: dict[str, Any] | None = Field(
        description="personal data masked for roles without core.view_pii")
    reason: str
    prev_hash: str
    hash: str


class AuditFilter(QueryFilter):
    actor: str = ""
    action: str = Field("", description="action code or its prefix, e.g. customer.")
    object_type: str = ""
    object_id: str = ""
    customer_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@router.get("/audit", response=list[AuditEntryOut], tags=["audit"],
            summary="List audit entries, newest first")
@paginate(Pages, page_size=100)
def list_audit(request: HttpRequest, filters: Query[AuditFilter]) -> Any:
    actor = actor_from_request(request)
    qs = selectors.filter_audit(selectors.audit_entries_for(actor), **filters.dict())
    return selectors.shown_audit_entries(actor, qs.order_by("-seq"))  # PII masked by role


@router.get("/audit/{seq}", response=AuditEntryOut, tags=["audit"], summary="Get one entry")
def get_audit_entry(request: HttpRequest, seq: int) -> Any:
    actor = actor_from_request(request)
    entry = selectors.audit_entries_for(actor).filter(seq=seq).first()
    if entry is None:
        raise NotFound(_("audit entry %(seq)s not found") % {"seq": seq})
    return selectors.shown_entry(entry, pii.sees_pii(actor))  # PII masked by role


class TokenIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    expires_days: int | None = Field(
        None, ge=1, le=3650,
        description="days until it expires; empty: the longest allowed (CUSTGUARD_TOKEN_MAX_DAYS, "
                    "365 by default). A token made with a token expires no later than it.")


class TokenOut(Schema):
    id: int
    user: str
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None
    parent: str | None = Field(None, description="prefix of the token it was made with")

    @staticmethod
    def resolve_parent(obj: ApiToken) -> str | None:
        return obj.parent.prefix if obj.parent_id else None

    @staticmethod
    def resolve_user(obj: ApiToken) -> str:
        return obj.user.get_username()


class TokenCreatedOut(TokenOut):
    secret: str = Field(description="shown once; store it now")


@router.get("/tokens", response=list[TokenOut], tags=["tokens"], summary="Your API tokens")
def list_tokens(request: HttpRequest) -> Any:
    user: User = request.user  # type: ignore[assignment]
    return selectors.tokens_for(user)


@router.post("/tokens", response={201: TokenCreatedOut}, tags=["tokens"],
             summary="Create an API token for yourself")
def create_token(request: HttpRequest, payload: TokenIn) -> Any:
    actor = actor_from_request(request)
    user: User = request.user  # type: ignore[assignment]
    token, secret = tokens.create_token(actor, user=user, name=payload.name,
                                        expires_days=payload.expires_days)
    token.secret = secret  # type: ignore[attr-defined]
    return Status(201, token)


@router.post("/tokens/{token_id}/revoke", response=TokenOut, tags=["tokens"],
             summary="Revoke a token")
def revoke_token(request: HttpRequest, token_id: int) -> Any:
    user: User = request.user  # type: ignore[assignment]
    token = selectors.tokens_for(user).filter(pk=token_id).first()
    if token is None:
        raise NotFound(_("token %(id)s not found") % {"id": token_id})
    return tokens.revoke_token(actor_from_request(request), token)
