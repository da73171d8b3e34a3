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
ERP = "erp_integration"

ROLE_LABELS = {
    ADMIN: _("Administrator"),
    CREDIT_MANAGER: _("Credit manager"),
    SALES_MANAGER: _("Sales manager"),
    ACCOUNT_MANAGER: _("Account manager"),
    CUSTOMER_SERVICE: _("Customer service"),
    FINANCE: _("Finance"),
    AUDITOR: _("Auditor"),
    ERP: _("ERP integration"),
}
ALL_ROLES = list(ROLE_LABELS)

_VIEW_REGISTRY = [
    "customers.view_customer",
    "customers.view_customergroup",
    "customers.view_region",
    "customers.view_standing",
]

_VIEW_LEDGER = ["ledger.view_order", "ledger.view_invoice", "ledger.view_payment"]
_VIEW_CREDIT = [
    "credit.view_creditscore",
    "credit.view_creditoverride",
    "credit.view_creditreview",
    "credit.view_reservation",
    "credit.view_gatecheck",
]
_POST_FACTS = ["ledger.add_order", "ledger.add_invoice", "ledger.add_payment"]
_VIEW_CONDUCT = [
    "conduct.view_violationcase",
    "conduct.view_evidence",
    "conduct.view_penalty",
    "conduct.view_fine",
    "conduct.view_notice",
    "conduct.view_blacklistentry",
    "conduct.view_recoveryplan",
    "conduct.view_appeal",
    "conduct.view_contractclause",
]
_REPORT = ["conduct.add_violationcase", "conduct.add_evidence"]
_VIEW_CLASSES = ["classification.view_customerclass", "classification.view_classchange",
                 "classification.view_classproposal", "classification.view_classreminder",
                 "classification.view_classificationrun"]
_VIEW_POINTS = ["rewards.view_pointsaccount", "rewards.view_pointsentry",
                "rewards.view_pointslot", "rewards.view_reward", "rewards.view_redemption"]

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
        *_VIEW_LEDGER,
        *_VIEW_CREDIT,
        "credit.rescore",
        "credit.add_creditoverride",
        "credit.approve_creditoverride",
        "credit.add_creditreview",
        "credit.decide_hold",
        "credit.check_gate",
        *_VIEW_CONDUCT,
        *_REPORT,
        "conduct.investigate_violationcase",
        "conduct.approve_penalty",
        "conduct.lift_penalty",
        "conduct.change_penalty",
        "conduct.record_response",
        "conduct.decide_blacklistentry",
        "conduct.share_blacklist",
        "conduct.view_partnermatch",
        "conduct.change_partnermatch",
        "conduct.add_appeal",
        "conduct.review_appeal",
        "conduct.add_contractclause",
        "conduct.change_contractclause",
        *_VIEW_POINTS,
        *_VIEW_CLASSES,
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
        *_VIEW_LEDGER,
        *_VIEW_CREDIT,
        *_VIEW_CONDUCT,
        *_REPORT,
        "conduct.investigate_violationcase",
        "conduct.approve_penalty",
        "conduct.change_penalty",
        "conduct.record_response",
        "conduct.add_appeal",
        "conduct.review_appeal",
        "conduct.add_contractclause",
        "conduct.change_contractclause",
        *_VIEW_POINTS,
        "rewards.adjust_points",
        "rewards.add_redemption",
        "rewards.fulfil_redemption",
        "rewards.add_reward",
        "rewards.change_reward",
        *_VIEW_CLASSES,
        "classification.run_classification",
        "classification.decide_classproposal",
        "classification.change_classreminder",
    ],
    ACCOUNT_MANAGER: [
        *_VIEW_REGISTRY,
        "core.view_pii",
        "customers.add_customer",
        "customers.change_customer",
        *_VIEW_LEDGER,
        "credit.view_creditscore",
        "credit.view_creditoverride",
        "credit.view_reservation",
        "credit.view_gatecheck",
        *_VIEW_CONDUCT,
        *_REPORT,
        "conduct.approve_penalty",
        "conduct.change_penalty",
        "conduct.record_response",
        "conduct.add_appeal",
        *_VIEW_POINTS,
        "rewards.add_redemption",
        *_VIEW_CLASSES,
        "classification.change_classreminder",
    ],
    CUSTOMER_SERVICE: [
        *_VIEW_REGISTRY,
        "core.manage_all_customers",
        "credit.view_creditscore",
        *_VIEW_CONDUCT,
        *_REPORT,
        "conduct.record_response",
        "conduct.add_appeal",
        *_VIEW_POINTS,
        "rewards.adjust_points",
        "rewards.add_redemption",
        "rewards.fulfil_redemption",
        *_VIEW_CLASSES,
    ],
    FINANCE: [
        *_VIEW_REGISTRY,
        "core.manage_all_customers",
        "core.view_pii",
        "core.view_policyversion",
        *_VIEW_LEDGER,
        *_POST_FACTS,
        "ledger.import_facts",
        *_VIEW_CREDIT,
        *_VIEW_CONDUCT,
        *_REPORT,
        "conduct.change_fine",
        "conduct.change_recoveryinstallment",
        *_VIEW_POINTS,
        "rewards.fulfil_redemption",
        *_VIEW_CLASSES,
    ],
    AUDITOR: [
        *_VIEW_REGISTRY,
        "core.manage_all_customers",
        "core.view_auditentry",
        "core.verify_audit",
        "core.view_policyversion",
        *_VIEW_LEDGER,
        *_VIEW_CREDIT,
        *_VIEW_CONDUCT,
        "conduct.view_partnermatch",
        *_VIEW_POINTS,
        *_VIEW_CLASSES,
    ],
    # The company's ERP / order system: posts facts and asks the gate; reads only what it must.
    ERP: [
        "customers.view_customer",
        "core.manage_all_customers",
        *_POST_FACTS,
        "credit.check_gate",
        "credit.view_reservation",
        "credit.change_reservation",
        "rewards.view_pointsaccount",
        "rewards.adjust_points",
        "rewards.view_reward",
        "rewards.add_redemption",
        "rewards.fulfil_redemption",
        "classification.view_customerclass",
    ],
}


# --- coupons (rewards, issue 11): who sees, issues and redeems coupons ------------------------
_VIEW_COUPONS = ["rewards.view_coupon", "rewards.view_couponbatch",
                 "rewards.view_couponredemption"]
_COUPON_PERMISSIONS: dict[str, list[str]] = {
    CREDIT_MANAGER: [*_VIEW_COUPONS],
    SALES_MANAGER: [*_VIEW_COUPONS, "rewards.issue_coupon", "rewards.redeem_coupon"],
    ACCOUNT_MANAGER: [*_VIEW_COUPONS],
    CUSTOMER_SERVICE: [*_VIEW_COUPONS, "rewards.redeem_coupon"],
    FINANCE: [*_VIEW_COUPONS],
    AUDITOR: [*_VIEW_COUPONS],
    # The ERP reads a customer's coupons and uses them on orders (with the gate).
    ERP: ["rewards.view_coupon", "rewards.redeem_coupon"],
}
for _role, _perms in _COUPON_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], *_perms]

# Membership tiers (rewards): who sees them, proposes a manual tier, approves one (never the
# proposer: tier_assignments checks that), and runs the evaluation.
_VIEW_TIERS = ["rewards.view_tierstatus", "rewards.view_tierchange", "rewards.view_tierrun",
               "rewards.view_tierassignment", "rewards.view_tiernotice"]
_TIER_PERMISSIONS: dict[str, list[str]] = {
    CREDIT_MANAGER: [*_VIEW_TIERS, "rewards.approve_tier"],
    SALES_MANAGER: [*_VIEW_TIERS, "rewards.assign_tier", "rewards.approve_tier",
                    "rewards.run_tiers"],
    ACCOUNT_MANAGER: [*_VIEW_TIERS, "rewards.assign_tier"],
    CUSTOMER_SERVICE: [*_VIEW_TIERS],
    FINANCE: [*_VIEW_TIERS],
    AUDITOR: [*_VIEW_TIERS],
    ERP: ["rewards.view_tierstatus"],
}
for _role, _perms in _TIER_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role].extend(_perms)

# The apps whose permissions the roles are made of (the admin role gets all of them).
APP_LABELS = ["core", "customers", "ledger", "credit", "conduct", "classification",
              "rewards"]


def sync_roles(**kwargs: Any) -> None:
    """Create the role groups and set exactly the permissions the matrix gives them."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    using = kwargs.get("using", "default")
    # post_migrate reaches this app before later apps have their permissions created.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    every = Permission.objects.using(using).filter(content_type__app_label__in=APP_LABELS)
    by_key = {f"{p.content_type.app_label}.{p.codename}": p
              for p in every.select_related("content_type")}
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=role)
        wanted = list(by_key.values()) if role == ADMIN else [
            by_key[key] for key in perms if key in by_key]
        group.permissions.set(wanted)


def role_label(code: str) -> str:
    return str(ROLE_LABELS.get(code, code))
