"""The roles (Django groups) and their permissions. docs/permissions.md is the written matrix;
this module is its executable form, synced after every migrate."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

ADMIN = "admin"
CREDIT_MANAGER = "credit_manager"
SALES_MANAGER = "sales_manager"
ACCOUNT_MANAGER = "account_manager"
CUSTOMER_SERVICE = "customer_service"
FINANCE = "finance"
AUDITOR = "auditor"

ROLE_LABELS = {
    ADMIN: _("Administrator"),
    CREDIT_MANAGER: _("Credit manager"),
    SALES_MANAGER: _("Sales manager"),
    ACCOUNT_MANAGER: _("Account manager"),
    CUSTOMER_SERVICE: _("Customer service"),
    FINANCE: _("Finance"),
    AUDITOR: _("Auditor"),
}
ALL_ROLES = list(ROLE_LABELS)

_VIEW_REGISTRY = [
    "customers.view_customer",
    "customers.view_customergroup",
    "customers.view_region",
    "customers.view_standing",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    ADMIN: [],  # every permission, filled in by sync_roles
    CREDIT_MANAGER: [
        *_VIEW_REGISTRY,
        "core.manage_all_customers",
        "core.view_pii",
        "customers.add_customergroup",
        "customers.change_customergroup",
        "core.view_policyversion",
        "core.add_policyversion",
        "core.publish_policyversion",
    ],
    SALES_MANAGER: [
        *_VIEW_REGISTRY,
        "core.manage_all_customers",
        "core.view_pii",
        "customers.add_customer",
        "customers.change_customer",
        "customers.import_customers",
        "customers.add_customergroup",
        "customers.change_customergroup",
        "core.view_policyversion",
    ],
    ACCOUNT_MANAGER: [
        *_VIEW_REGISTRY,
        "core.view_pii",
        "customers.add_customer",
        "customers.change_customer",
    ],
    CUSTOMER_SERVICE: [
        *_VIEW_REGISTRY,
        "core.manage_all_customers",
    ],
    FINANCE: [
        *_VIEW_REGISTRY,
        "core.manage_all_customers",
        "core.view_pii",
        "core.view_policyversion",
    ],
    AUDITOR: [
        *_VIEW_REGISTRY,
        "core.manage_all_customers",
        "core.view_auditentry",
        "core.verify_audit",
        "core.view_policyversion",
    ],
}


def sync_roles(**kwargs: Any) -> None:
    """Create the role groups and set exactly the permissions the matrix gives them."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    using = kwargs.get("using", "default")
    # post_migrate reaches this app before later apps have their permissions created.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    every = Permission.objects.using(using).filter(content_type__app_label__in=[
        "core", "customers"])
    by_key = {f"{p.content_type.app_label}.{p.codename}": p
              for p in every.select_related("content_type")}
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=role)
        wanted = list(by_key.values()) if role == ADMIN else [
            by_key[key] for key in perms if key in by_key]
        group.permissions.set(wanted)


def role_label(code: str) -> str:
    return str(ROLE_LABELS.get(code, code))
