"""Helpers shared by the registry's views: the actor, PII display and the customer timeline."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.customers import selectors
from custguard.customers.models import Contact, Customer

ACTION_LABELS = {
    "customer.create": _("Customer created"),
    "customer.update": _("Customer changed"),
    "customer.import": _("Customer imported"),
    "contact.create": _("Contact added"),
    "contact.update": _("Contact changed"),
    "contact.delete": _("Contact removed"),
    "group.create": _("Group created"),
    "group.update": _("Group changed"),
    "group.member_add": _("Joined group"),
    "group.member_remove": _("Left group"),
    "ledger.order": _("Order received"),
    "ledger.order_cancel": _("Order cancelled"),
    "ledger.invoice": _("Invoice posted"),
    "ledger.credit_note": _("Credit note posted"),
    "ledger.payment": _("Payment received"),
    "ledger.payment_reverse": _("Payment reversed"),
    "ledger.import": _("Facts imported"),
    "ledger.refresh_due_states": _("Overdue amounts refreshed"),
    "gate.reserve": _("Credit reserved for an order"),
    "gate.hold": _("Order put on credit hold"),
    "gate.hold_approve": _("Held order approved"),
    "gate.hold_reject": _("Held order rejected"),
    "gate.release": _("Reservation released"),
    "gate.convert": _("Reservation invoiced"),
    "gate.expire": _("Reservation expired"),
    "credit.rescore": _("Credit score changed"),
    "credit.rescore_now": _("Rescored on request"),
    "credit.review": _("Credit reviewed"),
    "credit.override_request": _("Limit override requested"),
    "credit.override_apply": _("Limit override in force"),
    "credit.override_approve": _("Limit override approved"),
    "credit.override_reject": _("Limit override rejected"),
    "credit.override_revoke": _("Limit override revoked"),
    "credit.override_expire": _("Limit override expired"),
    "credit.override_supersede": _("Limit override replaced"),
    "credit.drift": _("Counter drift found"),
    "credit.drift_fix": _("Counter drift corrected"),
}
# Keys of audit before/after values that are not model fields.
EXTRA_FIELD_LABELS = {
    "contacts": _("contacts"),
    "member": _("member"),
}


def actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user)  # type: ignore[arg-type]


def user_of(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def wants_partial(request: HttpRequest) -> bool:
    """An htmx request for a fragment (not a full page restored from history)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def get_customer_or_404(request: HttpRequest, code: str) -> Customer:
    """A customer the user may see; one outside their scope does not exist for them."""
    customer = selectors.customers_for(user_of(request)).filter(code=code).first()
    if customer is None:
        raise Http404
    return customer


def mask_email(value: str) -> str:
    if not value:
        return ""
    local, _at, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if domain else local[:1] + "***"


PII_MASKS = {
    "phone": selectors.mask_phone,
    "contact_phone": selectors.mask_phone,
    "id_number": selectors.mask_id_number,
    "address": selectors.mask_address,
    "email": mask_email,
    "contact_email": mask_email,
}


def shown(field: str, value: str, show_pii: bool) -> str:
    """A PII field's value as this user may see it."""
    if show_pii or not value:
        return value or ""
    return PII_MASKS[field](value)


@dataclass(frozen=True)
class CustomerPii:
    phone: str
    id_number: str
    address: str


def customer_pii(customer: Customer, show_pii: bool) -> CustomerPii:
    return CustomerPii(phone=shown("phone", customer.phone, show_pii),
                       id_number=shown("id_number", customer.id_number, show_pii),
                       address=shown("address", customer.address, show_pii))


@dataclass(frozen=True)
class ContactRow:
    contact: Contact
    phone: str
    email: str


def contact_rows(contacts: Iterable[Contact], show_pii: bool) -> list[ContactRow]:
    return [ContactRow(c, shown("phone", c.phone, show_pii), shown("email", c.email, show_pii))
            for c in contacts]


# --- timeline ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    field: str  # the code, as stored in the audit entry
    label: str  # what the user reads
    before: str | None
    after: str | None


def _model(object_type: str) -> type[Model] | None:
    """The model an audit entry's object type (`app_label.modelname`) names, if any."""
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def field_label(object_type: str, key: str) -> str:
    """The translated name of a field of an audited object, else the key itself."""
    model = _model(object_type)
    if model is not None:
        try:
            label = getattr(model._meta.get_field(key), "verbose_name", None)
        except FieldDoesNotExist:
            label = None
        if label:
            return str(label)
    return str(EXTRA_FIELD_LABELS.get(key, key))


def _choice_labels(object_type: str) -> dict[str, dict[str, str]]:
    """The labels of the coded values of an audited object's fields, by field."""
    model = _model(object_type)
    if model is None:
        return {}
    return {f.name: {str(value): str(label) for value, label in f.flatchoices}
            for f in model._meta.get_fields() if getattr(f, "choices", None)}


@dataclass(frozen=True)
class TimelineItem:
    entry: AuditEntry
    label: str
    changes: list[Change]


def _masked_value(key: str, value: Any, show_pii: bool, users: dict[int, str],
                  choices: dict[str, dict[str, str]] | None = None) -> str:
    if value is None or value == "":
        return "—"
    if key == "account_manager" and isinstance(value, int):
        return users.get(value, f"#{value}")
    if isinstance(value, dict):
        parts = [f"{field_label('customers.contact', k)}={_masked_value(k, v, show_pii, users)}"
                 for k, v in value.items() if v not in (None, "", False)]
        return ", ".join(parts)
    if isinstance(value, list):
        return "; ".join(_masked_value(key, v, show_pii, users) for v in value) or "—"
    if key in PII_MASKS and isinstance(value, str):
        return shown(key, value, show_pii)
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, str):
        return (choices or {}).get(key, {}).get(value, value)
    return json.dumps(value, ensure_ascii=False)


def timeline(entries: Iterable[AuditEntry], show_pii: bool) -> list[TimelineItem]:
    """Audit entries ready to show: before → after per field, PII masked where it must be."""
    entries = list(entries)
    manager_ids = {value for e in entries for side in (e.before, e.after) if side
                   for key, value in side.items()
                   if key == "account_manager" and isinstance(value, int)}
    users = dict(User.objects.filter(pk__in=manager_ids).values_list("pk", "username"))
    choices = {object_type: _choice_labels(object_type)
               for object_type in {e.object_type for e in entries}}
    items = []
    for entry in entries:
        before, after = entry.before or {}, entry.after or {}
        own = choices.get(entry.object_type)
        changes = [
            Change(field=key, label=field_label(entry.object_type, key),
                   before=_masked_value(key, before[key], show_pii, users, own)
                   if key in before else None,
                   after=_masked_value(key, after[key], show_pii, users, own)
                   if key in after else None)
            for key in [*after, *[k for k in before if k not in after]]
        ]
        items.append(TimelineItem(entry=entry, label=str(ACTION_LABELS.get(entry.action,
                                                                               entry.action)),
                                  changes=changes))
    return items
