"""The conduct overview's and the customer conduct page's rows of the permission matrix
(gathered by conduct/tests/test_ui_permissions.py) and `setup_world`, which creates the
customer the rows point at.

Who may open the pages: every role with conduct.view_violationcase (core/roles.py) —
administrators, credit, sales and account managers, customer service, finance and auditors. An
account manager sees only their own customers: a colleague's customer is a 404, and the
overview covers only their own. The ERP's user and a user without a role get 403.
"""

from __future__ import annotations

from typing import Any

from custguard.conduct.tests.support import confirmed_case, customer_on_credit
from custguard.core.models import User
from custguard.core.tests.test_ui_permissions import Page
from custguard.testing.matrix import (
    ADMIN,
    AM,
    AUDITOR,
    COLLEAGUE,
    CREDIT,
    CS,
    FINANCE,
    SALES,
    matrix,
)

# conduct.view_violationcase
CONDUCT_READERS = [ADMIN, CREDIT, SALES, AM, COLLEAGUE, CS, FINANCE, AUDITOR]


def page_matrix(allowed: int, who: list[str], **special: int) -> dict[str, int]:
    """A page: other signed-in users get 403, anonymous visitors a redirect to the login."""
    return matrix(allowed, who, anonymous=302, **special)


PAGES = [
    Page("GET", "conduct/overview/", page_matrix(200, CONDUCT_READERS)),
    Page("GET", "conduct/overview/", page_matrix(200, CONDUCT_READERS),
         data={"states": "all", "severity": "MINOR", "region": "110000"}, label="filtered"),
    Page("GET", "conduct/overview/export/", page_matrix(200, CONDUCT_READERS),
         data={"format": "xlsx"}),
    Page("GET", "conduct/overview/export/", page_matrix(200, CONDUCT_READERS),
         data={"format": "csv", "states": "all"}, label="csv"),
    Page("GET", "conduct/customers/<str:conduct_code>/",
         page_matrix(200, CONDUCT_READERS, **{COLLEAGUE: 404})),
]


def setup_world(personas: dict[str, User]) -> dict[str, Any]:
    """The account manager's customer with a confirmed minor violation and the warning the
    ladder proposed for it. Needs a policy in force."""
    customer = customer_on_credit(personas, name="矩阵行为客户")
    confirmed_case(personas, customer)
    return {"conduct_code": customer.code}
