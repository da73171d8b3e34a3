"""Every write to the registry: customers, contacts, groups. Each validates, changes, audits and
keeps the standing rows in one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from custguard.core import clock, limits
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from custguard.core.models import User
from custguard.core.services import audit
from custguard.credit.services import exposure
from custguard.customers.models import (
    Contact,
    Customer,
    CustomerGroup,
    GroupStanding,
    Region,
    Standing,
)
from custguard.customers.selectors import sees_all_customers

MAX_SERIAL = 999
CUSTOMER_FIELDS = ["name", "kind", "industry", "scale_band", "account_manager", "department",
                   "value_tier", "status", "phone", "id_number", "address", "notes"]
CONTACT_FIELDS = ["name", "role", "phone", "email", "is_primary"]
AUDITED_FIELDS = ["code", "region", *CUSTOMER_FIELDS]


def _raise_from(error: ValidationError, prefix: str = "") -> None:
    errors = {f"{prefix}{field}": [str(m) for m in messages]
              for field, messages in error.message_dict.items()}
    first_field = next(iter(errors))
    raise ValidationFailed(f"{first_field}: {errors[first_field][0]}", field=first_field,
                           errors=errors) from None


def _unknown_field(field: str) -> str:
    reason = _("unknown field")
    return f"{field}: {reason}"


def _snapshot(customer: Customer) -> dict[str, Any]:
    values = {name: getattr(customer, name) for name in CUSTOMER_FIELDS}
    values["account_manager"] = customer.account_manager_id
    return values


def _check_account_manager(actor: Actor, manager: User | None) -> None:
    if manager is not None and not manager.is_active:
        raise ValidationFailed(_("the account manager is not an active user"),
                               field="account_manager")
    if not sees_all_customers(actor) and (
            manager is None or actor.user is None or manager.pk != actor.user.pk):
        raise PermissionRefused(_("an account manager may only assign customers to themselves"),
                                field="account_manager")


def _require(actor: Actor, perm: str) -> None:
    if not actor.can(perm):
        raise PermissionRefused(_("your role may not do this"))


def _clean_contacts(contacts: Sequence[Mapping[str, Any]]) -> list[Contact]:
    cleaned = []
    for index, data in enumerate(contacts):
        unknown = set(data) - set(CONTACT_FIELDS) - {"id"}
        if unknown:
            field = sorted(unknown)[0]
            raise ValidationFailed(_unknown_field(f"contacts[{index}].{field}"),
                                   field=f"contacts[{index}].{field}")
        contact = Contact(**{k: v for k, v in data.items() if k in CONTACT_FIELDS})
        try:
            contact.clean_fields(exclude=["customer"])
        except ValidationError as error:
            _raise_from(error, prefix=f"contacts[{index}].")
        cleaned.append(contact)
    return cleaned


def next_code(region: Region) -> tuple[str, int]:
    """Take the region's next serial. The conditional UPDATE holds the region row until commit,
    so concurrent creations in one region queue up and each gets its own serial."""
    taken = Region.objects.filter(pk=region.pk, last_serial__lt=MAX_SERIAL).update(
        last_serial=F("last_serial") + 1)
    if not taken:
        if not Region.objects.filter(pk=region.pk).exists():
            raise ValidationFailed(_("region %(code)s does not exist") % {"code": region.pk},
                                   field="region")
        raise ValidationFailed(
            _("region %(code)s has used all %(max)s customer codes; ask an administrator to "
              "split the region") % {"code": region.pk, "max": MAX_SERIAL},
            field="region", code="region_full")
    serial = Region.objects.values_list("last_serial", flat=True).get(pk=region.pk)
    return f"{region.pk}{serial:03d}", serial


@transaction.atomic
def create_customer(actor: Actor, *, region: Region, contacts: Sequence[Mapping[str, Any]] = (),
                    **fields: Any) -> Customer:
    _require(actor, "customers.add_customer")
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise ValidationFailed(_unknown_field(sorted(unknown)[0]), field=sorted(unknown)[0])
    if not sees_all_customers(actor) and "account_manager" not in fields:
        fields["account_manager"] = actor.user
    _check_account_manager(actor, fields.get("account_manager"))
    now = clock.now()
    customer = Customer(region=region, created_at=now, updated_at=now, code="000000000",
                        serial=1, **fields)
    try:
        customer.clean_fields(exclude=["code", "serial", "region", "group"])
    except ValidationError as error:
        _raise_from(error)
    cleaned_contacts = _clean_contacts(contacts)
    customer.code, customer.serial = next_code(region)
    customer.save(force_insert=True)
    for contact in cleaned_contacts:
        contact.customer = customer
        contact.save()
    Standing.objects.create(customer=customer, status=customer.status, updated_at=now)
    after = _snapshot(customer) | {"code": customer.code, "region": region.pk,
                                   "contacts": [_contact_values(c) for c in cleaned_contacts]}
    audit.record(actor, "customer.create", customer, customer_id=customer.pk, after=after)
    return customer


def _contact_values(contact: Contact) -> dict[str, Any]:
    return {name: getattr(contact, name) for name in CONTACT_FIELDS}


def _locked_customer(actor: Actor, customer: Customer) -> Customer:
    from custguard.customers.selectors import customers_for

    locked = (customers_for(actor).select_for_update(of=("self",), no_key=True)
              .filter(pk=customer.pk).first())
    if locked is None:
        raise NotFound(_("customer not found"))
    return locked


@transaction.atomic
def update_customer(actor: Actor, customer: Customer, *, reason: str = "",
                    **fields: Any) -> Customer:
    _require(actor, "customers.change_customer")
    reason = limits.bounded(reason, limits.CHANGE_REASON, "reason")
    customer = _locked_customer(actor, customer)
    for forbidden in ("code", "serial", "region"):
        if forbidden in fields:
            raise ValidationFailed(_("%(field)s cannot be changed after creation") % {
                "field": forbidden}, field=forbidden)
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise ValidationFailed(_unknown_field(sorted(unknown)[0]), field=sorted(unknown)[0])
    if "account_manager" in fields:
        _check_account_manager(actor, fields["account_manager"])
    previous = _snapshot(customer)
    for name, value in fields.items():
        setattr(customer, name, value)
    try:
        customer.clean_fields(exclude=["code", "serial", "region", "group"])
    except ValidationError as error:
        _raise_from(error)
    current = _snapshot(customer)
    before = {k: v for k, v in previous.items() if current[k] != v}
    after = {k: current[k] for k in before}
    if not after:
        return customer
    customer.updated_at = clock.now()
    customer.save()
    if "status" in after:
        Standing.objects.filter(customer=customer).update(status=customer.status,
                                                          updated_at=customer.updated_at)
    audit.record(actor, "customer.update", customer, customer_id=customer.pk, before=before,
                 after=after, reason=reason)
    return customer


@transaction.atomic
def add_contact(actor: Actor, customer: Customer, **fields: Any) -> Contact:
    _require(actor, "customers.change_customer")
    customer = _locked_customer(actor, customer)
    (contact,) = _clean_contacts([fields])
    contact.customer = customer
    contact.save()
    audit.record(actor, "contact.create", contact, customer_id=customer.pk,
                 after=_contact_values(contact))
    return contact


@transaction.atomic
def update_contact(actor: Actor, contact: Contact, **fields: Any) -> Contact:
    _require(actor, "customers.change_customer")
    customer = _locked_customer(actor, contact.customer)
    contact = Contact.objects.get(pk=contact.pk, customer=customer)
    previous = _contact_values(contact)
    (cleaned,) = _clean_contacts([previous | fields])
    for name in CONTACT_FIELDS:
        setattr(contact, name, getattr(cleaned, name))
    current = _contact_values(contact)
    before = {k: v for k, v in previous.items() if current[k] != v}
    if before:
        contact.save()
        audit.record(actor, "contact.update", contact, customer_id=customer.pk, before=before,
                     after={k: current[k] for k in before})
    return contact


@transaction.atomic
def remove_contact(actor: Actor, contact: Contact, *, reason: str = "") -> None:
    _require(actor, "customers.change_customer")
    customer = _locked_customer(actor, contact.customer)
    contact = Contact.objects.get(pk=contact.pk, customer=customer)
    values = _contact_values(contact)
    contact_id = contact.pk
    contact.delete()
    audit.record(actor, "contact.delete", object_type="customers.contact", object_id=contact_id,
                 customer_id=customer.pk, before=values, reason=reason)


# --- groups -------------------------------------------------------------------------------


def _join_group(actor: Actor, group: CustomerGroup, customer: Customer) -> None:
    joined = Customer.objects.filter(pk=customer.pk, group__isnull=True).update(
        group=group, updated_at=clock.now())
    if not joined:
        current = Customer.objects.filter(pk=customer.pk).values_list("group__name",
                                                                      flat=True).first()
        if current == group.name:
            return
        raise Conflict(_("customer %(code)s already belongs to group %(group)s") % {
            "code": customer.code, "group": current}, field="members")
    # The group's credit counters are the sums of its members': carry this one's across.
    exposure.move_member(customer.pk, None, group.pk)
    audit.record(actor, "group.member_add", group, customer_id=customer.pk,
                 after={"member": customer.code})


@audit.atomic
def create_group(actor: Actor, *, name: str, parent: Customer,
                 members: Sequence[Customer] = (), notes: str = "") -> CustomerGroup:
    _require(actor, "customers.add_customergroup")
    name = name.strip()
    notes = limits.bounded(notes, limits.NOTE, "notes")
    if not name:
        raise ValidationFailed(_("a group needs a name"), field="name")
    if CustomerGroup.objects.filter(name=name).exists():
        raise ValidationFailed(_("a group named %(name)s already exists") % {"name": name},
                                   field="name")
    now = clock.now()
    group = CustomerGroup.objects.create(name=name[:200], parent=parent, notes=notes,
                                         created_at=now, updated_at=now)
    GroupStanding.objects.create(group=group, updated_at=now)
    audit.record(actor, "group.create", group, customer_id=parent.pk,
                 after={"name": group.name, "parent": parent.code, "notes": notes})
    for customer in [parent, *[m for m in members if m.pk != parent.pk]]:
        _join_group(actor, group, customer)
    return group


@transaction.atomic
def update_group(actor: Actor, group: CustomerGroup, *, name: str | None = None,
                 notes: str | None = None) -> CustomerGroup:
    _require(actor, "customers.change_customergroup")
    group = CustomerGroup.objects.select_for_update(no_key=True).get(pk=group.pk)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if name is not None and name.strip() != group.name:
        name = name.strip()
        if not name:
            raise ValidationFailed(_("a group needs a name"), field="name")
        if CustomerGroup.objects.filter(name=name).exclude(pk=group.pk).exists():
            raise ValidationFailed(_("a group named %(name)s already exists") % {"name": name},
                                       field="name")
        before["name"], after["name"] = group.name, name
        group.name = name
    if notes is not None:
        notes = limits.bounded(notes, limits.NOTE, "notes")
    if notes is not None and notes != group.notes:
        before["notes"], after["notes"] = group.notes, notes
        group.notes = notes
    if after:
        group.updated_at = clock.now()
        group.save()
        audit.record(actor, "group.update", group, customer_id=group.parent_id, before=before,
                     after=after)
    return group


@audit.atomic
def add_group_member(actor: Actor, group: CustomerGroup, customer: Customer) -> None:
    _require(actor, "customers.change_customergroup")
    group = CustomerGroup.objects.select_for_update(no_key=True).get(pk=group.pk)
    _join_group(actor, group, customer)


@audit.atomic
def remove_group_member(actor: Actor, group: CustomerGroup, customer: Customer, *,
                        reason: str = "") -> None:
    _require(actor, "customers.change_customergroup")
    group = CustomerGroup.objects.select_for_update(no_key=True).get(pk=group.pk)
    if customer.pk == group.parent_id:
        raise ValidationFailed(_("the parent customer cannot leave its own group"),
                               field="member")
    left = Customer.objects.filter(pk=customer.pk, group=group).update(group=None,
                                                                       updated_at=clock.now())
    if not left:
        raise ValidationFailed(_("customer %(code)s is not a member of %(group)s") % {
            "code": customer.code, "group": group.name}, field="member")
    exposure.move_member(customer.pk, group.pk, None)
    audit.record(actor, "group.member_remove", group, customer_id=customer.pk,
                 before={"member": customer.code}, reason=reason)
