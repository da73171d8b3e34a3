"""Contract penalty clauses: the fine a customer's contract sets for a violation type (or for
any violation, with a blank type). While a clause is valid, a penalty with FINE takes its
amount instead of the policy's (conduct.services.penalties).

A customer has at most one clause per violation type (or blank) on any day, so which clause
applies is never a guess: a new clause may not overlap an existing one for the same type; the
old one is ended first. Clauses are ended, never deleted or edited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db.models import Q
from django.utils.translation import gettext as _

from custguard.conduct.models import ContractClause
from custguard.conduct.services.common import policy, reason_text, require, today
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, ValidationFailed
from custguard.core.services import audit
from custguard.customers.models import Customer

MAX_FINE = Decimal("99999999999999.99")  # what the column holds (16 digits, 2 decimals)
CENT = Decimal("0.01")


def _contract_number(value: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(_("enter the contract number"), field="contract_number")
    if len(text) > 64:
        raise ValidationFailed(_("at most %(n)d characters") % {"n": 64},
                               field="contract_number")
    return text


def _violation_type(value: str) -> str:
    """Blank (any violation) or a violation type of the policy in force."""
    code = (value or "").strip().upper()
    if not code:
        return ""
    _version, document = policy()
    try:
        return document.violation_type(code).code
    except KeyError:
        raise ValidationFailed(_("unknown violation type %(code)s") % {"code": code},
                               field="violation_type") from None


def _fine(value: object) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_("the fine must be an amount such as 5000.00"),
                               field="fine_amount") from None
    if not amount.is_finite():
        raise ValidationFailed(_("the fine must be an amount such as 5000.00"),
                               field="fine_amount")
    if amount < 0:
        raise ValidationFailed(_("the fine may not be negative"), field="fine_amount")
    if amount > MAX_FINE:
        raise ValidationFailed(_("the fine is too large"), field="fine_amount")
    if amount != amount.quantize(CENT):
        raise ValidationFailed(_("the fine has at most two decimals"), field="fine_amount")
    return amount.quantize(CENT)


def _overlapping(customer: Customer, code: str, valid_from: dt.date,
                 valid_to: dt.date | None) -> ContractClause | None:
    qs = ContractClause.objects.filter(customer=customer, violation_type=code).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=valid_from))
    if valid_to is not None:
        qs = qs.filter(valid_from__lte=valid_to)
    return qs.order_by("valid_from", "pk").first()


def add(actor: Actor, customer: Customer, *, contract_number: str, violation_type: str = "",
        fine_amount: object, valid_from: dt.date,
        valid_to: dt.date | None = None) -> ContractClause:
    """Record a penalty clause of the customer's contract. `valid_to` is the last day it
    applies (None: until ended)."""
    require(actor, "conduct.add_contractclause")
    number = _contract_number(contract_number)
    code = _violation_type(violation_type)
    amount = _fine(fine_amount)
    if valid_to is not None and valid_to < valid_from:
        raise ValidationFailed(_("the last day may not come before the first"),
                               field="valid_to")
    with audit.deferred_transaction():
        # The customer's row serialises clause changes, so two overlapping clauses added at
        # once cannot both pass the check below.
        Customer.objects.select_for_update(no_key=True).filter(pk=customer.pk).first()
        clash = _overlapping(customer, code, valid_from, valid_to)
        if clash is not None:
            raise Conflict(_("contract %(number)s already sets the fine for this violation "
                             "type from %(start)s: end that clause first") % {
                "number": clash.contract_number, "start": clash.valid_from},
                field="valid_from")
        clause = ContractClause.objects.create(
            customer=customer, contract_number=number, violation_type=code, fine_amount=amount,
            valid_from=valid_from, valid_to=valid_to, created_at=clock.now())
        audit.record(actor, "conduct.clause_add", clause, customer_id=customer.pk,
                     after={"contract_number": number, "violation_type": code,
                            "fine_amount": amount, "valid_from": valid_from,
                            "valid_to": valid_to})
    return clause


def end(actor: Actor, clause: ContractClause, *, last_day: dt.date | None = None,
        reason: str) -> ContractClause:
    """End a clause: `last_day` (default today) is the last day it applies. A clause is only
    shortened, never backdated before today or its first day."""
    require(actor, "conduct.change_contractclause")
    text = reason_text(reason)
    day = last_day or today()
    with audit.deferred_transaction():
        current = ContractClause.objects.select_for_update().get(pk=clause.pk)
        if current.valid_to is not None and current.valid_to < today():
            raise Conflict(_("the clause ended on %(day)s") % {"day": current.valid_to},
                           field="last_day")
        if day < today():
            raise ValidationFailed(_("a clause cannot be ended in the past"), field="last_day")
        if day < current.valid_from:
            raise ValidationFailed(_("the last day may not come before the first (%(day)s)")
                                   % {"day": current.valid_from}, field="last_day")
        if current.valid_to is not None and day >= current.valid_to:
            raise ValidationFailed(_("the clause already ends on %(day)s") % {
                "day": current.valid_to}, field="last_day")
        previous = current.valid_to
        ContractClause.objects.filter(pk=current.pk).update(valid_to=day)
        audit.record(actor, "conduct.clause_end", current, customer_id=current.customer_id,
                     before={"valid_to": previous}, after={"valid_to": day}, reason=text)
    return ContractClause.objects.get(pk=clause.pk)
