"""Navigation shown in the UI shell: only the pages the user's role may open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from custguard.core.money import currency
from custguard.core.roles import role_label


@dataclass(frozen=True)
class Link:
    key: str
    label: Any
    url_name: str
    permission: str | None = None


@dataclass(frozen=True)
class Menu:
    """A drop-down of links; shown when the user may open at least one of them."""

    key: str
    label: Any
    links: tuple[Link, ...]


NAVIGATION: list[Link | Menu] = [
    Link("home", _("Overview"), "home"),
    Menu("registry", _("Customers"), (
        Link("customers", _("Customers"), "customers:list", "customers.view_customer"),
        Link("groups", _("Groups"), "customers:groups", "customers.view_customergroup"),
        Link("regions", _("Regions"), "customers:regions", "customers.view_region"),
        Link("customer_import", _("Import customers"), "customers:import",
             "customers.import_customers"),
    )),
    Menu("credit", _("Credit"), (
        Link("credit_overview", _("Credit overview"), "credit:overview",
             "credit.view_creditscore"),
        Link("reviews", _("Review queue"), "credit:reviews", "credit.view_creditreview"),
        Link("holds", _("Credit holds"), "credit:holds", "credit.view_reservation"),
        Link("overrides", _("Limit overrides"), "credit:overrides",
             "credit.view_creditoverride"),
        Link("gate_checks", _("Gate answers"), "credit:gate_checks", "credit.view_gatecheck"),
    )),
    Menu("conduct", _("Conduct"), (
        Link("conduct_overview", _("Conduct overview"), "conduct:overview",
             "conduct.view_violationcase"),
        Link("case_new", _("Report a violation"), "conduct:case_new",
             "conduct.add_violationcase"),
        Link("cases", _("Cases to investigate"), "conduct:cases", "conduct.view_violationcase"),
        Link("penalties", _("Penalties to approve"), "conduct:penalties",
             "conduct.view_penalty"),
        Link("rectifications", _("Rectifications due"), "conduct:rectifications",
             "conduct.view_penalty"),
        Link("notices", _("Notices awaiting response"), "conduct:notices",
             "conduct.view_notice"),
        Link("appeals", _("Appeals to review"), "conduct:appeals", "conduct.view_appeal"),
        Link("blacklist_proposals", _("Blacklist proposals"), "conduct:blacklist_proposals",
             "conduct.view_blacklistentry"),
        Link("blacklist", _("Blacklist"), "conduct:blacklist", "conduct.view_blacklistentry"),
        Link("fines", _("Fines"), "conduct:fines", "conduct.view_fine"),
        Link("partner_matches", _("Partner blacklist matches"), "conduct:partner_matches",
             "conduct.view_partnermatch"),
    )),
    Menu("classification", _("Classification"), (
        Link("class_proposals", _("Class moves to approve"), "classification:proposals",
             "classification.view_classproposal"),
        Link("class_reminders", _("Class reminders"), "classification:reminders",
             "classification.view_classreminder"),
        Link("class_report", _("Monthly classification report"), "classification:report",
             "classification.view_classificationrun"),
        Link("class_migration", _("ABC migration"), "classification:migration",
             "classification.view_classificationrun"),
    )),
    Menu("rewards", _("Rewards"), (
        Link("points_overview", _("Points overview"), "rewards:overview",
             "rewards.view_pointslot"),
    )),
    Menu("receivables", _("Receivables"), (
        Link("invoices", _("Invoices"), "ledger:invoices", "ledger.view_invoice"),
        Link("payments", _("Payments"), "ledger:payments", "ledger.view_payment"),
        Link("orders", _("Orders"), "ledger:orders", "ledger.view_order"),
        Link("fact_import", _("Import facts"), "ledger:import", "ledger.import_facts"),
    )),
    Link("policies", _("Policies"), "core:policies", "core.view_policyversion"),
    Link("audit", _("Audit log"), "core:audit", "core.view_auditentry"),
]


def _link(link: Link, user: Any, path: str) -> dict[str, Any] | None:
    if link.permission and not user.has_perm(link.permission):
        return None
    url = reverse(link.url_name)
    active = path == url if link.url_name == "home" else path.startswith(url)
    return {"key": link.key, "label": link.label, "url": url, "active": active}


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"currency": currency()}
    items: list[dict[str, Any]] = []
    for entry in NAVIGATION:
        if isinstance(entry, Link):
            item = _link(entry, user, request.path)
            if item is not None:
                items.append(item)
            continue
        links = [item for link in entry.links
                 if (item := _link(link, user, request.path)) is not None]
        if links:
            items.append({"key": entry.key, "label": entry.label, "links": links,
                          "active": any(link["active"] for link in links)})
    return {
        "nav_items": items,
        "user_role_labels": [role_label(g.name) for g in user.groups.all()],
        "currency": currency(),
    }
