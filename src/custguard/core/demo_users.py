"""The demo's people: one user per role (username = role code) and two more account managers,
each with a Chinese display name and a department. Used by `custguard demo`."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction

from custguard.core import roles
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.core.services import audit


@dataclass(frozen=True)
class DemoPerson:
    username: str
    role: str
    display_name: str
    department: str
    phone: str


# Account managers are listed in the order the demo hands out customers (round-robin).
DEMO_PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("admin", roles.ADMIN, "周工", "信息技术部", "13905710001"),
    DemoPerson("credit_manager", roles.CREDIT_MANAGER, "林经理", "信用管理部", "13905710002"),
    DemoPerson("sales_manager", roles.SALES_MANAGER, "王总监", "销售管理部", "13905710003"),
    DemoPerson("account_manager", roles.ACCOUNT_MANAGER, "陈经理", "华东销售部", "13905710004"),
    DemoPerson("account_manager_2", roles.ACCOUNT_MANAGER, "刘经理", "华南销售部",
               "13905710005"),
    DemoPerson("account_manager_3", roles.ACCOUNT_MANAGER, "张经理", "华北销售部",
               "13905710006"),
    DemoPerson("customer_service", roles.CUSTOMER_SERVICE, "赵专员", "客户服务部",
               "13905710007"),
    DemoPerson("finance", roles.FINANCE, "孙会计", "财务部", "13905710008"),
    DemoPerson("auditor", roles.AUDITOR, "吴审计", "内审部", "13905710009"),
    DemoPerson("erp_integration", roles.ERP, "ERP接口", "信息技术部", "13905710010"),
)
DEMO_ACCOUNT_MANAGERS = tuple(p.username for p in DEMO_PEOPLE if p.role == roles.ACCOUNT_MANAGER)


def ensure_demo_users(password: str, *, actor: Actor | None = None) -> dict[str, User]:
    """Create the demo users that are missing and put every one in its role group. Idempotent:
    users that already exist keep their password, flags and names (only blanks are filled in),
    so running it against a database with real users never takes over their accounts.
    Returns the users by username, in DEMO_PEOPLE order."""
    missing_roles = set(roles.ALL_ROLES) - {p.role for p in DEMO_PEOPLE}
    assert not missing_roles, f"DEMO_PEOPLE lacks a user for {sorted(missing_roles)}"
    actor = actor or Actor.job("demo")
    users: dict[str, User] = {}
    with transaction.atomic():
        groups = {g.name: g for g in Group.objects.filter(name__in=roles.ALL_ROLES)}
        if len(groups) != len(roles.ALL_ROLES):
            roles.sync_roles()
            groups = {g.name: g for g in Group.objects.filter(name__in=roles.ALL_ROLES)}
        for person in DEMO_PEOPLE:
            user = User.objects.filter(username=person.username).first()
            if user is None:
                user = _create(actor, person, password)
            else:
                _complete(actor, user, person)
            if not user.groups.filter(pk=groups[person.role].pk).exists():
                user.groups.add(groups[person.role])
                audit.record(actor, "user.role_add", user, after={"role": person.role})
            users[person.username] = user
    return users


def _create(actor: Actor, person: DemoPerson, password: str) -> User:
    is_admin = person.role == roles.ADMIN
    user = User.objects.create_user(
        username=person.username, password=password, email=f"{person.username}@example.com",
        display_name=person.display_name, department=person.department, phone=person.phone,
        is_staff=is_admin, is_superuser=is_admin)
    audit.record(actor, "user.create", user, after={
        "username": user.username, "display_name": user.display_name,
        "department": user.department, "is_staff": is_admin, "is_superuser": is_admin})
    return user


def _complete(actor: Actor, user: User, person: DemoPerson) -> None:
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    for field in ("display_name", "department"):
        if not getattr(user, field):
            before[field], after[field] = "", getattr(person, field)
            setattr(user, field, after[field])
    if after:
        user.save(update_fields=list(after))
        audit.record(actor, "user.update", user, before=before, after=after)
