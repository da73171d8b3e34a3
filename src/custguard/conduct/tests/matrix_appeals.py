"""The appeals' rows of the permission matrix (docs/permissions.md, core/roles.py): the pages
(PAGES, run by conduct/tests/test_ui_permissions.py), the API routes (ROWS, run by
conduct/tests/test_api_permissions.py) and `setup_world`.

Who may do what: every staff role reads appeals (conduct.view_appeal; account managers their
own customers' only, so the colleague gets a 404 for one of them); administrators, credit,
sales and account managers and customer service file and withdraw them (conduct.add_appeal);
administrators, credit and sales managers review them (conduct.review_appeal) — except the
person who made the decision appealed: here the credit manager confirmed the case, so the
credit manager's review and decision are a 403."""

from __future__ import annotations

from typing import Any

from custguard.api.tests.test_api_permissions import Row
from custguard.conduct.services import appeals
from custguard.conduct.tests.support import confirmed_case, customer_on_credit
from custguard.core.actors import Actor
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

READERS = [ADMIN, CREDIT, SALES, AM, CS, FINANCE, AUDITOR]  # conduct.view_appeal
FILERS = [ADMIN, CREDIT, SALES, AM, CS]  # conduct.add_appeal
REVIEWERS = [ADMIN, SALES]  # conduct.review_appeal, without the credit manager who decided


def page_matrix(allowed: int, who: list[str], **special: int) -> dict[str, int]:
    """A page: other signed-in users get 403, anonymous visitors a redirect to the login."""
    return matrix(allowed, who, anonymous=302, **special)


PAGES = [
    Page("GET", "conduct/appeals/", page_matrix(200, [*READERS, COLLEAGUE])),
    Page("GET", "conduct/appeals/", page_matrix(200, [*READERS, COLLEAGUE]),
         data={"status": "all", "overdue": "on", "mine": "on", "kind": "case"},
         label="filtered"),
    Page("GET", "conduct/appeals/export/", page_matrix(200, [*READERS, COLLEAGUE]),
         data={"format": "xlsx"}),
    Page("GET", "conduct/appeals/export/", page_matrix(200, [*READERS, COLLEAGUE]),
         data={"format": "csv", "status": "all"}, label="csv"),
    Page("GET", "conduct/appeals/new/", page_matrix(200, FILERS, **{COLLEAGUE: 404}),
         data={"case": "{appeal_case_id}"}),
    Page("POST", "conduct/appeals/new/", page_matrix(302, FILERS, **{COLLEAGUE: 404}),
         data={"case": "{appeal_case_id}", "grounds": "矩阵申诉：客户否认违规"}),
    Page("GET", "conduct/appeals/<int:appeal_id>/",
         page_matrix(200, READERS, **{COLLEAGUE: 404})),
    Page("POST", "conduct/appeals/<int:appeal_id>/review/", page_matrix(302, REVIEWERS)),
    Page("POST", "conduct/appeals/<int:appeal_id>/decide/", page_matrix(302, REVIEWERS),
         data={"decide-outcome": "upheld", "decide-note": "矩阵维持原决定"}),
    Page("POST", "conduct/appeals/<int:appeal_id>/withdraw/",
         page_matrix(302, FILERS, **{COLLEAGUE: 404}),
         data={"withdraw-note": "矩阵客户撤回"}),
]

V1 = "/api/v1"
ROWS = [
    Row("POST", f"{V1}/appeals", matrix(201, FILERS, **{COLLEAGUE: 404}),
        body={"case": "{appeal_case_id}", "grounds": "矩阵接口申诉"}),
    Row("GET", f"{V1}/appeals", matrix(200, [*READERS, COLLEAGUE])),
    Row("GET", f"{V1}/appeals/{{appeal_id}}", matrix(200, READERS, **{COLLEAGUE: 404}),
        params={"appeal_id": "appeal_id"}),
    Row("POST", f"{V1}/appeals/{{appeal_id}}/review", matrix(200, REVIEWERS),
        params={"appeal_id": "appeal_id"}),
    Row("POST", f"{V1}/appeals/{{appeal_id}}/decide", matrix(200, REVIEWERS),
        body={"outcome": "upheld", "note": "矩阵维持"}, params={"appeal_id": "appeal_id"}),
    Row("POST", f"{V1}/appeals/{{appeal_id}}/withdraw",
        matrix(200, FILERS, **{COLLEAGUE: 404}), body={"note": "矩阵撤回"},
        params={"appeal_id": "appeal_id"}),
]


def setup_world(personas: dict[str, User]) -> dict[str, Any]:
    """The account manager's customer with two violations the credit manager confirmed: an
    open appeal against the first (appeal_id), none yet against the second
    (appeal_case_id). Needs a policy in force."""
    customer = customer_on_credit(personas, name="矩阵申诉客户")
    appealed, _penalty = confirmed_case(personas, customer, violation_type="LATE_PAYMENT",
                                        days_ago=4)
    target, _penalty = confirmed_case(personas, customer, violation_type="LATE_RECONCILIATION",
                                      days_ago=2)
    appeal = appeals.file(Actor.for_user(personas[CS]), appealed, grounds="客户否认迟付")
    return {"appeal_id": appeal.pk, "appeal_case_id": target.pk}
