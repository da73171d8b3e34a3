"""Reads of the registry, scoped to what a user may see. The UI and the API both use these."""

from __future__ import annotations

import functools
import re

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from custguard.core import pii, sql
from custguard.core.actors import Actor
from custguard.core.errors import NotFound
from custguard.core.limits import MAX_INT
from custguard.core.models import User
from custguard.customers.models import Customer, CustomerGroup, Region


def _user_of(who: User | Actor) -> User | None:
    return who.user if isinstance(who, Actor) else who


def sees_all_customers(who: User | Actor) -> bool:
    if isinstance(who, Actor) and who.user is None:
        return who.kind in ("job", "system")
    user = _user_of(who)
    return bool(user and user.has_perm("core.manage_all_customers"))


def sees_pii(who: User | Actor) -> bool:
    user = _user_of(who)
    if isinstance(who, Actor) and user is None:
        return who.kind in ("job", "system")
    return bool(user and user.has_perm("core.view_pii"))


def customers_for(who: User | Actor) -> QuerySet[Customer]:
    """Customers `who` may see: everyone's for most roles, only their own for account managers."""
    qs = Customer.objects.select_related("region", "region__parent", "account_manager",
                                         "group", "standing")
    user = _user_of(who)
    if sees_all_customers(who):
        return qs
    if user is None or not user.has_perm("customers.view_customer"):
        return qs.none()
    return qs.filter(account_manager=user)


_ASCII_DIGITS = re.compile("[0-9]+")


def customer_key(value: int | str) -> tuple[str, str | int] | None:
    """("code", "980601001") or ("id", 17) for what the caller gave, None when it is neither.

    Only ASCII digits count ("²" and "٣" are digits to `str.isdigit`, not to a database), and
    an id must fit a 64-bit column."""
    if isinstance(value, bool):
        return None
    text = str(value).strip()
    if not _ASCII_DIGITS.fullmatch(text):
        return None
    if len(text) == 9:
        return "code", text
    number = int(text)
    return ("id", number) if 1 <= number <= MAX_INT else None


def find_customer(qs: QuerySet[Customer], value: int | str) -> Customer | None:
    """The customer of `qs` with this id or 9-digit code, or None."""
    key = customer_key(value)
    if key is None:
        return None
    # id and code are unique: a slice, not .first(), which would add an ORDER BY.
    found = qs.filter(**{key[0]: key[1]})[:1]
    return found[0] if found else None


def customer_in_scope(who: User | Actor, value: int | str, field: str | None = None, *,
                      qs: QuerySet[Customer] | None = None) -> Customer:
    """A customer `who` may see (of `qs`, default all), by id or 9-digit code; any other is
    not found (404), so that a customer's existence is not revealed."""
    scope = customers_for(who) if qs is None else qs
    customer = find_customer(scope, value)
    if customer is None:
        raise customer_not_found(value, field)
    return customer


def may_see(who: User | Actor, account_manager_id: int | None) -> bool:
    """Whether `who` sees a customer with this account manager: the rule of customers_for."""
    if sees_all_customers(who):
        return True
    user = _user_of(who)
    return bool(user is not None and user.has_perm("customers.view_customer")
                and account_manager_id == user.pk)


# In the model's field order: Model.from_db takes a partial row's values in that order.
BRIEF_FIELDS = tuple(f.attname for f in Customer._meta.concrete_fields
                     if f.attname in {"id", "code", "status", "group_id", "account_manager_id"})


@functools.cache
def _brief_statement(vendor: str, key: str) -> str:
    c = Customer
    names = ", ".join(sql.column(c, name) for name in BRIEF_FIELDS)
    return " ".join([  # our own table's names; the value is a parameter
        f"SELECT {names} FROM {sql.table(c)}",  # noqa: S608
        f"WHERE {sql.column(c, key)} = %s"])


def brief_customer_in_scope(who: User | Actor, value: int | str,
                            field: str | None = None) -> Customer:
    """customer_in_scope for the hot paths (the order gate, posting facts): the customer's key,
    code, status, group and account manager read by one written-out statement (the ORM's
    compilation costs more than the read), every other field deferred."""
    key = customer_key(value)
    row = None
    if key is not None:
        with sql.prepared_cursor() as cursor:
            cursor.execute(_brief_statement(connection.vendor, key[0]), [key[1]])
            row = cursor.fetchone()
    customer = None if row is None else Customer.from_db(connection.alias, BRIEF_FIELDS, row)
    if customer is None or not may_see(who, customer.account_manager_id):
        raise customer_not_found(value, field)
    return customer


def customer_not_found(value: int | str, field: str | None = None) -> NotFound:
    return NotFound(_("customer %(code)s not found") % {"code": str(value).strip() or "''"},
                    field=field)


def search_customers(qs: QuerySet[Customer], text: str) -> QuerySet[Customer]:
    """Search by code (prefix), name (contains) or phone (contains, customer or contact)."""
    text = text.strip()
    if not text:
        return qs
    condition = Q(code__startswith=text) | Q(name__icontains=text)
    digits = "".join(ch for ch in text if ch.isdigit() or ch == "+")
    if len(digits) >= 4:
        condition |= Q(phone__contains=digits) | Q(contacts__phone__contains=digits)
    return qs.filter(condition).distinct()


def groups_for(who: User | Actor) -> QuerySet[CustomerGroup]:
    qs = CustomerGroup.objects.select_related("parent", "standing")
    if sees_all_customers(who):
        return qs
    user = _user_of(who)
    if user is None:
        return qs.none()
    return qs.filter(members__account_manager=user).distinct()


def regions() -> QuerySet[Region]:
    return Region.objects.select_related("parent")


def account_managers() -> QuerySet[User]:
    return User.objects.filter(is_active=True, groups__name="account_manager").order_by(
        "username")


# The masks live in core (core/pii.py), where the audit log uses them too.
mask_phone = pii.mask_phone
mask_id_number = pii.mask_id_number
mask_address = pii.mask_address
