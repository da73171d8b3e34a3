"""Reads of the registry, scoped to what a user may see. The UI and the API both use these."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from custguard.core import pii
from custguard.core.actors import Actor
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
