"""Navigation shown in the UI shell: only the pages the user's role may open."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from custguard.core.money import currency
from custguard.core.roles import role_label

# (key, label, url name, permission needed or None)
NAVIGATION = [
    ("home", _("Overview"), "home", None),
    ("customers", _("Customers"), "customers:list", "customers.view_customer"),
    ("groups", _("Groups"), "customers:groups", "customers.view_customergroup"),
    ("regions", _("Regions"), "customers:regions", "customers.view_region"),
    ("policies", _("Policies"), "core:policies", "core.view_policyversion"),
    ("audit", _("Audit log"), "core:audit", "core.view_auditentry"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"currency": currency()}
    path = request.path
    items = []
    for key, label, url_name, perm in NAVIGATION:
        if perm and not user.has_perm(perm):
            continue
        url = reverse(url_name)
        active = path == url if url_name == "home" else path.startswith(url)
        items.append({"key": key, "label": label, "url": url, "active": active})
    return {
        "nav_items": items,
        "user_role_labels": [role_label(g.name) for g in user.groups.all()],
        "currency": currency(),
    }
