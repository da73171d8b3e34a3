"""Helpers shared by the registry's views: the actor, PII display and the customer timeline."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from custguard.core import pii
from custguard.core import selectors as core_selectors
from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.customers import selectors
from custguard.customers.models import Contact, Customer

ACTION_LABELS = {
    "customer.create": _("Customer created"),
    "customer.update": _("Customer changed"),
    "customer.import": _("Customer imported"),
    "customer.import_batch": _("Batch of imported customers"),
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
    "ledger.import_batch": _("Batch of imported facts"),
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
    "conduct.case_report": _("Violation reported"),
    "conduct.evidence_add": _("Evidence attached"),
    "conduct.case_investigate": _("Investigation started"),
    "conduct.case_confirm": _("Violation confirmed"),
    "conduct.case_dismiss": _("Violation dismissed"),
    "conduct.case_overturn": _("Violation overturned on appeal"),
    "conduct.penalty_propose": _("Penalty proposed"),
    "conduct.penalty_approve": _("Penalty approved"),
    "conduct.penalty_reject": _("Penalty proposal rejected"),
    "conduct.penalty_notify": _("Customer notified"),
    "conduct.penalty_activate": _("Penalty in force"),
    "conduct.penalty_complete": _("Penalty completed"),
    "conduct.penalty_lift": _("Penalty lifted early"),
    "conduct.penalty_overturn": _("Penalty overturned"),
    "conduct.penalty_reduce": _("Penalty reduced on appeal"),
    "conduct.effects": _("Restrictions changed"),
    "conduct.credit_terms": _("Credit terms changed by conduct"),
    "conduct.rectify": _("Rectification recorded"),
    "conduct.fine_settle": _("Fine settled"),
    "conduct.clause_add": _("Contract clause added"),
    "conduct.clause_end": _("Contract clause ended"),
    "conduct.notice_issue": _("Notice written"),
    "conduct.notice_sent": _("Notice e-mailed"),
    "conduct.notice_failed": _("Notice e-mail failed"),
    "conduct.notice_resend": _("Notice sent again"),
    "conduct.notice_response": _("Customer's response recorded"),
    "conduct.blacklist_propose": _("Blacklist entry proposed"),
    "conduct.blacklist_approve": _("Blacklisted"),
    "conduct.blacklist_reject": _("Blacklist proposal rejected"),
    "conduct.blacklist_lift": _("Blacklist entry lifted"),
    "conduct.blacklist_expire": _("Blacklist entry expired"),
    "conduct.blacklist_overturn": _("Blacklist entry overturned"),
    "conduct.recovery_plan": _("Recovery plan agreed"),
    "conduct.recovery_paid": _("Recovery installment paid"),
    "conduct.recovery_complete": _("Recovery plan completed"),
    "conduct.recovery_default": _("Recovery plan defaulted"),
    "conduct.partner_match": _("Listed by a partner company"),
    "conduct.partner_review": _("Partner listing reviewed"),
    "conduct.appeal_file": _("Appeal filed"),
    "conduct.appeal_review": _("Appeal under review"),
    "conduct.appeal_decide": _("Appeal decided"),
    "conduct.appeal_withdraw": _("Appeal withdrawn"),
    "classification.run": _("Classification run"),
    "classification.assign": _("Classes set by the monthly run"),
    "classification.remind": _("Class reminders sent"),
    "classification.propose": _("Class moves proposed"),
    "classification.close": _("Classification run closed"),
    "classification.proposal_approved": _("Class move approved"),
    "classification.proposal_rejected": _("Class move rejected"),
    "classification.class_change": _("Class changed"),
    "classification.reminder_answer": _("Class reminder answered"),
    "classification.credit_terms": _("Credit terms changed by the class"),
    "rewards.points_earn": _("Points earned"),
    "rewards.points_withhold": _("Points withheld"),
    "rewards.points_release": _("Withheld points released"),
    "rewards.points_forfeit": _("Withheld points forfeited"),
    "rewards.points_reverse": _("Points taken back"),
    "rewards.points_expire": _("Points expired"),
    "rewards.points_deduct": _("Points deducted by a penalty"),
    "rewards.points_restore": _("Deducted points given back"),
    "rewards.points_adjust": _("Points adjusted"),
    "rewards.points_mature": _("Points became available"),
    "rewards.points_redeem": _("Points redeemed"),
    "rewards.points_refund": _("Redeemed points given back"),
    "rewards.expiry_notice": _("Told that points expire soon"),
}
# Keys of audit before/after values that are not fields of the audited object.
EXTRA_FIELD_LABELS = {
    "contacts": _("contacts"),
    "member": _("member"),
    # the ledger's facts
    "allocations": _("applied to"),
    "applied": _("applied"),
    "unapplied": _("unapplied"),
    "invoice": _("invoice"),
    "cancelled_on": _("cancelled on"),
    "reversed_on": _("reversed on"),
    # credit: gate answers, reviews, overrides, reconciliation
    "outcome": _("outcome"),
    "reasons": _("reasons"),
    "grade": _("grade"),
    "credit_limit": _("credit limit"),
    "policy_version": _("policy version"),
    "interval_days": _("review interval (days)"),
    "override": _("credit override"),
    "superseded_by": _("superseded by"),
    "group_id": _("group id"),
    "field": _("counter"),
    "stored": _("stored"),
    "recomputed": _("recomputed"),
    "difference": _("difference"),
    "fixed": _("corrected"),
    # classification: proposals and approved moves
    "class": _("class"),
    "from": _("from"),
    "to": _("to"),
}
# Coded values under keys that are not fields of the audited object: the field whose choices
# label them, as (model, field).
EXTRA_VALUE_CHOICES = {
    "outcome": ("credit.gatecheck", "outcome"),
}
# Reasons that services and jobs store as codes, by action: the field whose choices label
# them, as (model, field), or the labels themselves.
CODED_REASONS: dict[str, tuple[str, str] | dict[str, Any]] = {
    "credit.rescore": ("credit.creditscore", "trigger"),
    "credit.drift": {"reconciliation": _("nightly reconciliation of the counters")},
    "credit.drift_fix": {"reconciliation": _("nightly reconciliation of the counters")},
    "gate.release": {"order cancelled": _("order cancelled")},
}
# Values another app words itself, by (object type, key): an app registers its formatters in
# its AppConfig.ready (the credit app words the gate's reason codes).
VALUE_FORMATTERS: dict[tuple[str, str], Callable[[Any], str]] = {}


def register_value_formatter(object_type: str, key: str, formatter: Callable[[Any], str],
                             ) -> None:
    VALUE_FORMATTERS[(object_type, key)] = formatter


def actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user)  # type: ignore[arg-type]


def user_of(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def get_customer_or_404(request: HttpRequest, code: str) -> Customer:
    """A customer the user may see; one outside their scope does not exist for them."""
    customer = selectors.customers_for(user_of(request)).filter(code=code).first()
    if customer is None:
        raise Http404
    return customer


mask_email = pii.mask_email


PII_MASKS = {
    "phone": selectors.mask_phone,
    "contact_phone": selectors.mask_phone,
    "id_number": selectors.mask_id_number,
    "address": selectors.mask_address,
    "email": mask_email,
    "contact_email": mask_email,
    "recipient": mask_email,  # a notice's e-mail address
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
    reason: str = ""  # the entry's reason as the user reads it (a coded reason labelled)


def reason_label(action: str, reason: str) -> str:
    """An audit entry's reason: a person's words as written, a coded reason in words."""
    coded = CODED_REASONS.get(action)
    if not reason or coded is None:
        return reason
    labels = (_choice_labels(coded[0]).get(coded[1], {}) if isinstance(coded, tuple)
              else coded)
    return str(labels.get(reason, reason))


def _display_value(key: str, value: Any, users: dict[int, str],
                   choices: dict[str, dict[str, str]] | None = None,
                   object_type: str = "") -> str:
    if value is None or value == "":
        return "—"
    formatter = VALUE_FORMATTERS.get((object_type, key))
    if formatter is not None:
        return formatter(value)
    if key == "account_manager" and isinstance(value, int):
        return users.get(value, f"#{value}")
    if key == "field" and isinstance(value, str) and object_type:  # a reconciled counter
        return field_label(object_type, value)
    if isinstance(value, dict):
        # a customer's contacts, or a part of a fact (a payment's allocations)
        labels = "customers.contact" if object_type.startswith("customers.") else object_type
        parts = [f"{field_label(labels, k)}={_display_value(k, v, users)}"
                 for k, v in value.items() if v not in (None, "", False)]
        return ", ".join(parts)
    if isinstance(value, list):
        return "; ".join(_display_value(key, v, users, object_type=object_type)
                         for v in value) or "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, str):
        labels = (choices or {}).get(key)
        if labels is None and key in EXTRA_VALUE_CHOICES:
            model, field = EXTRA_VALUE_CHOICES[key]
            labels = _choice_labels(model).get(field)
        return (labels or {}).get(value, value)
    return json.dumps(value, ensure_ascii=False)


def timeline(entries: Iterable[AuditEntry], show_pii: bool) -> list[TimelineItem]:
    """Audit entries ready to show: before → after per field, PII masked where it must be
    (by the models' declarations, `core.selectors.shown_entry`, as on the audit log)."""
    entries = core_selectors.shown_entries(entries, show_pii)
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
        kind = entry.object_type
        changes = [
            Change(field=key, label=field_label(kind, key),
                   before=_display_value(key, before[key], users, own, kind)
                   if key in before else None,
                   after=_display_value(key, after[key], users, own, kind)
                   if key in after else None)
            for key in [*after, *[k for k in before if k not in after]]
        ]
        items.append(TimelineItem(entry=entry, label=str(ACTION_LABELS.get(entry.action,
                                                                               entry.action)),
                                  changes=changes,
                                  reason=reason_label(entry.action, entry.reason)))
    return items
