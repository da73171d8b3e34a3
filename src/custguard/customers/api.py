"""Customers, contacts, groups and regions over the API. Thin: every write calls services."""


import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from custguard.api.pagination import Pages
from custguard.api.schemas import InputSchema, QueryFilter
from custguard.core import limits
from custguard.core.actors import Actor, actor_from_request
from custguard.core.errors import NotFound, PermissionRefused, ValidationFailed
from custguard.core.models import User
from custguard.customers import selectors, services
from custguard.customers.models import (
    Contact,
    Customer,
    CustomerGroup,
    CustomerKind,
    CustomerStatus,
    Industry,
    Region,
    ScaleBand,
    ValueTier,
)

router = Router(tags=["customers"])

Kind = Literal[tuple(CustomerKind.values)]  # type: ignore[valid-type]
Tier = Literal[tuple(ValueTier.values)]  # type: ignore[valid-type]
StatusCode = Literal[tuple(CustomerStatus.values)]  # type: ignore[valid-type]
Scale = Literal[tuple(ScaleBand.values)]  # type: ignore[valid-type]
IndustryCode = Literal[tuple(Industry.values)]  # type: ignore[valid-type]
ORDERINGS = ("code", "-code", "name", "-name", "created_at", "-created_at", "region", "-region")
# An enum in the OpenAPI, so a client knows the values (an unknown one is a 422 naming it).
CustomerOrdering = Literal[ORDERINGS]  # type: ignore[valid-type]


def require(actor: Actor, perm: str) -> None:
    if not actor.can(perm):
        raise PermissionRefused(_("your role may not do this"))


class ContactIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    role: str = Field("", max_length=100)
    phone: str = Field("", max_length=32)
    email: str = Field("", max_length=254)
    is_primary: bool = False


class ContactPatch(InputSchema):
    """A field left out stays as it is; null is refused where the column holds no null."""

    name: str = Field(None, min_length=1, max_length=100)
    role: str = Field(None, max_length=100)
    phone: str = Field(None, max_length=32)
    email: str = Field(None, max_length=254)
    is_primary: bool = None


class ContactOut(Schema):
    id: int
    name: str
    role: str
    phone: str
    email: str
    is_primary: bool


class StandingOut(Schema):
    status: str
    score: int | None
    grade: str
    credit_limit: Decimal
    posted: Decimal
    reserved: Decimal
    available: Decimal
    overdue_amount: Decimal
    prepay_only: bool
    order_blocked: bool
    service_suspended: bool
    blacklisted: bool
    points_balance: int
    policy_version: int | None


class CustomerIn(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    kind: Kind
    region: str = Field(pattern=r"^\d{6}$", description="6-digit region code")
    industry: IndustryCode | Literal[""] = ""
    scale_band: Scale = "small"
    account_manager: str | None = Field(None, max_length=150,
                                        description="username of the account manager")
    department: str = Field("", max_length=100)
    value_tier: Tier = "general"
    status: StatusCode = "active"
    phone: str = Field("", max_length=32)
    id_number: str = Field("", max_length=32)
    address: str = Field("", max_length=300)
    notes: str = Field("", max_length=limits.NOTE)
    contacts: list[ContactIn] = []


class CustomerPatch(InputSchema):
    """A field left out stays as it is; null is refused where the column holds no null."""

    name: str = Field(None, min_length=1, max_length=200)
    kind: Kind = None
    industry: IndustryCode | Literal[""] = None
    scale_band: Scale = None
    account_manager: str | None = Field(None, max_length=150)
    department: str = Field(None, max_length=100)
    value_tier: Tier = None
    status: StatusCode = None
    phone: str = Field(None, max_length=32)
    id_number: str = Field(None, max_length=32)
    address: str = Field(None, max_length=300)
    notes: str = Field(None, max_length=limits.NOTE)
    reason: str = Field("", max_length=limits.CHANGE_REASON,
                        description="why the change is made (audited)")


class CustomerOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    industry: str
    region: str
    region_name: str
    scale_band: str
    account_manager: str | None
    department: str
    value_tier: str
    status: str
    group_id: int | None
    phone: str
    id_number: str
    address: str
    notes: str
    created_at: dt.datetime
    updated_at: dt.datetime
    contacts: list[ContactOut]
    standing: StandingOut | None


class CustomerFilter(QueryFilter):
    q: str | None = Field(None, description="code prefix, name or phone")
    region: str | None = Field(None, description="region code; includes its sub-regions")
    kind: Kind | None = None
    value_tier: Tier | None = None
    status: StatusCode | None = None
    account_manager: str | None = Field(None, description="username")
    group: int | None = None

    def apply(self, qs: QuerySet[Customer]) -> QuerySet[Customer]:
        if self.q:
            qs = selectors.search_customers(qs, self.q)
        if self.region:
            qs = qs.filter(region__code=self.region) | qs.filter(region__parent__code=self.region)
        for name in ("kind", "value_tier", "status"):
            value = getattr(self, name)
            if value:
                qs = qs.filter(**{name: value})
        if self.account_manager:
            qs = qs.filter(account_manager__username=self.account_manager)
        if self.group:
            qs = qs.filter(group_id=self.group)
        return qs


def _standing_out(customer: Customer) -> dict[str, Any] | None:
    standing = getattr(customer, "standing", None)
    if standing is None:
        return None
    return {name: getattr(standing, name) for name in StandingOut.model_fields}


def customer_out(customer: Customer, actor: Actor) -> dict[str, Any]:
    pii = selectors.sees_pii(actor)
    contacts = [
        {"id": c.id, "name": c.name, "role": c.role, "email": c.email if pii else "",
         "phone": c.phone if pii else selectors.mask_phone(c.phone), "is_primary": c.is_primary}
        for c in customer.contacts.all()
    ]
    return {
        "id": customer.pk, "code": customer.code, "name": customer.name, "kind": customer.kind,
        "industry": customer.industry, "region": customer.region_id,
        "region_name": customer.region.full_name, "scale_band": customer.scale_band,
        "account_manager": customer.account_manager.username if customer.account_manager else None,
        "department": customer.department, "value_tier": customer.value_tier,
        "status": customer.status, "group_id": customer.group_id,
        "phone": customer.phone if pii else selectors.mask_phone(customer.phone),
        "id_number": customer.id_number if pii else selectors.mask_id_number(customer.id_number),
        "address": customer.address if pii else selectors.mask_address(customer.address),
        "notes": customer.notes, "created_at": customer.created_at,
        "updated_at": customer.updated_at, "contacts": contacts,
        "standing": _standing_out(customer),
    }


def _manager(username: str | None) -> User | None:
    if username is None:
        return None
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationFailed(_("no active user named %(username)s") % {
            "username": repr(username)}, field="account_manager")
    return user


def _get_customer(actor: Actor, id_or_code: str) -> Customer:
    qs = selectors.customers_for(actor).prefetch_related("contacts")
    return selectors.customer_in_scope(actor, id_or_code, qs=qs)

@router.get("/customers", response=list[CustomerOut], summary="List customers")
@paginate(Pages, page_size=50)
def list_customers(request: HttpRequest, filters: Query[CustomerFilter],
                   ordering: CustomerOrdering = "code") -> Any:
    actor = actor_from_request(request)
    require(actor, "customers.view_customer")
    qs = filters.apply(selectors.customers_for(actor)).prefetch_related("contacts")
    return _OutList(qs.order_by(ordering.replace("region", "region__code"), "pk"), actor)


class _OutList:
    """A lazily sliced queryset that renders customers with the caller's masking."""

    def __init__(self, qs: QuerySet[Customer], actor: Actor) -> None:
        self.qs, self.actor = qs, actor

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        return [customer_out(c, self.actor) for c in self.qs[item]]


@router.get("/customers/{id_or_code}", response=CustomerOut,
            summary="Get a customer by id or 9-digit code")
def get_customer(request: HttpRequest, id_or_code: str) -> Any:
    actor = actor_from_request(request)
    require(actor, "customers.view_customer")
    return customer_out(_get_customer(actor, id_or_code), actor)


@router.post("/customers", response={201: CustomerOut}, summary="Create a customer")
def create_customer(request: HttpRequest, payload: CustomerIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "customers.add_customer")
    region = Region.objects.filter(pk=payload.region).first()
    if region is None:
        raise ValidationFailed(_("region %(code)s does not exist") % {"code": payload.region},
                               field="region")
    data = payload.dict(exclude={"region", "contacts", "account_manager"})
    if payload.account_manager is not None:
        data["account_manager"] = _manager(payload.account_manager)
    customer = services.create_customer(
        actor, region=region, contacts=[c.dict() for c in payload.contacts], **data)
    return Status(201, customer_out(_get_customer(actor, customer.code), actor))


@router.patch("/customers/{id_or_code}", response=CustomerOut, summary="Update a customer")
def update_customer(request: HttpRequest, id_or_code: str, payload: CustomerPatch) -> Any:
    actor = actor_from_request(request)
    require(actor, "customers.change_customer")
    customer = _get_customer(actor, id_or_code)
    data = payload.dict(exclude_unset=True, exclude={"reason"})
    if "account_manager" in data:
        data["account_manager"] = _manager(data["account_manager"])
    services.update_customer(actor, customer, reason=payload.reason, **data)
    return customer_out(_get_customer(actor, customer.code), actor)


@router.post("/customers/{id_or_code}/contacts", response={201: ContactOut},
             summary="Add a contact")
def add_contact(request: HttpRequest, id_or_code: str, payload: ContactIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "customers.change_customer")
    customer = _get_customer(actor, id_or_code)
    return Status(201, services.add_contact(actor, customer, **payload.dict()))


def _get_contact(actor: Actor, id_or_code: str, contact_id: int) -> Contact:
    customer = _get_customer(actor, id_or_code)
    contact = customer.contacts.filter(pk=contact_id).first()
    if contact is None:
        raise NotFound(_("contact %(id)s not found") % {"id": contact_id})
    return contact


@router.patch("/customers/{id_or_code}/contacts/{contact_id}", response=ContactOut,
              summary="Update a contact")
def update_contact(request: HttpRequest, id_or_code: str, contact_id: int,
                   payload: ContactPatch) -> Any:
    actor = actor_from_request(request)
    require(actor, "customers.change_customer")
    contact = _get_contact(actor, id_or_code, contact_id)
    return services.update_contact(actor, contact, **payload.dict(exclude_unset=True))


@router.delete("/customers/{id_or_code}/contacts/{contact_id}", response={204: None},
               summary="Remove a contact")
def remove_contact(request: HttpRequest, id_or_code: str, contact_id: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "customers.change_customer")
    services.remove_contact(actor, _get_contact(actor, id_or_code, contact_id))
    return Status(204, None)


# --- groups ---------------------------------------------------------------------------------


class GroupIn(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    parent: str = Field(pattern=r"^\d{9}$", description="code of the parent customer")
    members: list[str] = Field([], description="codes of further member customers")
    notes: str = Field("", max_length=limits.NOTE)


class GroupPatch(InputSchema):
    """A field left out stays as it is; null is refused where the column holds no null."""

    name: str = Field(None, min_length=1, max_length=200)
    notes: str = Field(None, max_length=limits.NOTE)


class MemberIn(InputSchema):
    customer: str = Field(pattern=r"^\d{9}$", description="customer code")


class MemberOut(Schema):
    id: int
    code: str
    name: str


class GroupOut(Schema):
    id: int
    name: str
    parent: MemberOut
    members: list[MemberOut]
    notes: str
    credit_limit: Decimal
    posted: Decimal
    reserved: Decimal
    available: Decimal
    created_at: dt.datetime


def group_out(group: CustomerGroup) -> dict[str, Any]:
    standing = group.standing
    return {
        "id": group.pk, "name": group.name, "notes": group.notes, "created_at": group.created_at,
        "parent": {"id": group.parent.pk, "code": group.parent.code, "name": group.parent.name},
        "members": [{"id": m.pk, "code": m.code, "name": m.name}
                    for m in group.members.order_by("code")],
        "credit_limit": standing.credit_limit, "posted": standing.posted,
        "reserved": standing.reserved, "available": standing.available,
    }


def _customer_by_code(actor: Actor, code: str, field: str) -> Customer:
    customer = selectors.customers_for(actor).filter(code=code).first()
    if customer is None:
        raise ValidationFailed(_("customer %(code)s not found") % {"code": code}, field=field)
    return customer


def _get_group(actor: Actor, group_id: int) -> CustomerGroup:
    group = selectors.groups_for(actor).filter(pk=group_id).first()
    if group is None:
        raise NotFound(_("group %(id)s not found") % {"id": group_id})
    return group


@router.get("/groups", response=list[GroupOut], tags=["groups"], summary="List groups")
@paginate(Pages, page_size=50)
def list_groups(request: HttpRequest, q: str = "") -> Any:
    actor = actor_from_request(request)
    require(actor, "customers.view_customergroup")
    qs = selectors.groups_for(actor)
    if q:
        qs = qs.filter(name__icontains=q)
    return [group_out(g) for g in qs.order_by("name")]


@router.get("/groups/{group_id}", response=GroupOut, tags=["groups"], summary="Get a group")
def get_group(request: HttpRequest, group_id: int) -> Any:
    actor = actor_from_request(request)
    require(actor, "customers.view_customergroup")
    return group_out(_get_group(actor, group_id))


@router.post("/groups", response={201: GroupOut}, tags=["groups"], summary="Create a group")
def create_group(request: HttpRequest, payload: GroupIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "customers.add_customergroup")
    parent = _customer_by_code(actor, payload.parent, "parent")
    members = [_customer_by_code(actor, code, f"members[{i}]")
               for i, code in enumerate(payload.members)]
    group = services.create_group(actor, name=payload.name, parent=parent, members=members,
                                  notes=payload.notes)
    return Status(201, group_out(group))


@router.patch("/groups/{group_id}", response=GroupOut, tags=["groups"], summary="Update a group")
def update_group(request: HttpRequest, group_id: int, payload: GroupPatch) -> Any:
    actor = actor_from_request(request)
    require(actor, "customers.change_customergroup")
    group = services.update_group(actor, _get_group(actor, group_id), **payload.dict(
        exclude_unset=True))
    return group_out(group)


@router.post("/groups/{group_id}/members", response=GroupOut, tags=["groups"],
             summary="Add a member")
def add_member(request: HttpRequest, group_id: int, payload: MemberIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "customers.change_customergroup")
    group = _get_group(actor, group_id)
    services.add_group_member(actor, group, _customer_by_code(actor, payload.customer,
                                                              "customer"))
    return group_out(_get_group(actor, group_id))


@router.delete("/groups/{group_id}/members/{code}", response=GroupOut, tags=["groups"],
               summary="Remove a member")
def remove_member(request: HttpRequest, group_id: int, code: str) -> Any:
    actor = actor_from_request(request)
    require(actor, "customers.change_customergroup")
    group = _get_group(actor, group_id)
    customer = group.members.filter(code=code).first()
    if customer is None:
        raise NotFound(_("customer %(code)s is not a member of this group") % {"code": code})
    services.remove_group_member(actor, group, customer)
    return group_out(_get_group(actor, group_id))


# --- regions --------------------------------------------------------------------------------


class RegionOut(Schema):
    code: str
    name: str
    parent: str | None = Field(None, alias="parent_id")
    customers_created: int = Field(alias="last_serial")


@router.get("/regions", response=list[RegionOut], tags=["regions"], summary="List regions")
@paginate(Pages, page_size=100)
def list_regions(request: HttpRequest, parent: str | None = None, q: str = "") -> Any:
    require(actor_from_request(request), "customers.view_region")
    qs = selectors.regions()
    if parent is not None:
        qs = qs.filter(parent_id=parent or None)
    if q:
        qs = qs.filter(name__icontains=q) | qs.filter(code__startswith=q)
    return qs.order_by("code")


@router.get("/regions/{code}", response=RegionOut, tags=["regions"], summary="Get a region")
def get_region(request: HttpRequest, code: str) -> Any:
    require(actor_from_request(request), "customers.view_region")
    try:
        return Region.objects.get(pk=code)  # not .first(): it would order by the key
    except Region.DoesNotExist:
        raise NotFound(_("region %(code)s not found") % {"code": code}) from None
