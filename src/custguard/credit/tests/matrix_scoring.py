"""Scores', reviews' and overrides' rows of the permission matrix (docs/permissions.md,
core/roles.py): the API routes (SCORING_ROWS, run by credit/tests/test_api_permissions.py),
the pages (SCORING_PAGES, run by credit/tests/test_ui_permissions.py), and `setup_world`,
which creates what the rows point at (the default policy is already in force).

Who may do what (core/roles.py):
- credit.view_creditscore: administrators, credit and sales managers, account managers (their
  own customers), customer service, finance and auditors;
- credit.view_creditreview / credit.view_creditoverride: the readers of credit data (account
  managers see the overrides of their own customers but not the review queue; customer
  service neither);
- credit.rescore, credit.add_creditreview, credit.add_creditoverride,
  credit.approve_creditoverride: credit managers and administrators.
The pending override in the world was requested by a third credit manager, so both the
credit manager and the administrator may decide on it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from custguard.api.tests.test_api_permissions import Row
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.core.tests.test_ui_permissions import Page
from custguard.credit.services import overrides, scoring
from custguard.customers import services
from custguard.customers.models import Region
from custguard.testing.matrix import (
    ADMIN,
    AM,
    AUDITOR,
    CREDIT,
    CS,
    FINANCE,
    SALES,
    matrix,
)

COLLEAGUE = "account_manager_2"
SCORE_READERS = [ADMIN, CREDIT, SALES, AM, CS, FINANCE, AUDITOR]  # credit.view_creditscore
REVIEW_READERS = [ADMIN, CREDIT, SALES, FINANCE, AUDITOR]  # credit.view_creditreview
OVERRIDE_READERS = [ADMIN, CREDIT, SALES, AM, FINANCE, AUDITOR]  # credit.view_creditoverride
CREDIT_WRITERS = [ADMIN, CREDIT]  # rescore, add review, add / approve override

V1 = "/api/v1"
CUSTOMER = {"id_or_code": "s_customer"}
PENDING = {"override_id": "s_pending"}
ACTIVE = {"override_id": "s_active"}

SCORING_ROWS = [
    Row("GET", f"{V1}/customers/{{id_or_code}}/credit",
        matrix(200, SCORE_READERS, **{COLLEAGUE: 404}), params=CUSTOMER),
    Row("GET", f"{V1}/customers/{{id_or_code}}/scores",
        matrix(200, SCORE_READERS, **{COLLEAGUE: 404}), params=CUSTOMER),
    Row("POST", f"{V1}/customers/{{id_or_code}}/rescore", matrix(200, CREDIT_WRITERS),
        params=CUSTOMER),
    Row("POST", f"{V1}/customers/{{id_or_code}}/reviews", matrix(201, CREDIT_WRITERS),
        body={"note": "矩阵复核"}, params=CUSTOMER),
    Row("GET", f"{V1}/credit/reviews", matrix(200, REVIEW_READERS)),
    Row("GET", f"{V1}/credit/overrides", matrix(200, [*OVERRIDE_READERS, COLLEAGUE])),
    Row("GET", f"{V1}/credit/overrides/{{override_id}}",
        matrix(200, OVERRIDE_READERS, **{COLLEAGUE: 404}), params=PENDING),
    Row("POST", f"{V1}/credit/overrides", matrix(201, CREDIT_WRITERS),
        body={"group": "{s_group}", "credit_limit": "100000.00", "reason": "矩阵集团额度",
              "expires_on": "{s_expires}"}),
    Row("POST", f"{V1}/credit/overrides/{{override_id}}/approve", matrix(200, CREDIT_WRITERS),
        body={"note": "矩阵批准"}, params=PENDING),
    Row("POST", f"{V1}/credit/overrides/{{override_id}}/reject", matrix(200, CREDIT_WRITERS),
        body={"note": "矩阵拒绝"}, params=PENDING),
    Row("POST", f"{V1}/credit/overrides/{{override_id}}/revoke", matrix(200, CREDIT_WRITERS),
        body={"reason": "矩阵撤销"}, params=ACTIVE),
]


def page_matrix(allowed: int, who: list[str], **special: int) -> dict[str, int]:
    """A page: other signed-in users get 403, anonymous visitors a redirect to the login."""
    return matrix(allowed, who, anonymous=302, **special)


SCORING_PAGES = [
    Page("GET", "credit/reviews/", page_matrix(200, REVIEW_READERS)),
    Page("GET", "credit/reviews/export/", page_matrix(200, REVIEW_READERS),
         data={"format": "xlsx"}),
    Page("GET", "credit/reviews/<str:review_code>/", page_matrix(200, REVIEW_READERS)),
    Page("POST", "credit/reviews/<str:review_code>/", page_matrix(302, CREDIT_WRITERS),
         data={"note": "矩阵复核"}),
    Page("POST", "credit/reviews/<str:review_code>/rescore/", page_matrix(302, CREDIT_WRITERS)),
    Page("GET", "credit/overrides/", page_matrix(200, [*OVERRIDE_READERS, COLLEAGUE])),
    Page("GET", "credit/overrides/export/", page_matrix(200, [*OVERRIDE_READERS, COLLEAGUE]),
         data={"format": "csv", "status": "all"}),
    Page("GET", "credit/overrides/new/", page_matrix(200, CREDIT_WRITERS)),
    Page("POST", "credit/overrides/new/", page_matrix(302, CREDIT_WRITERS),
         data={"target": "group", "group": "{s_group}", "credit_limit": "100000.00",
               "reason": "矩阵集团额度", "expires_on": "{s_expires}"}),
    Page("GET", "credit/overrides/<int:override_id>/",
         page_matrix(200, OVERRIDE_READERS, **{COLLEAGUE: 404})),
    Page("POST", "credit/overrides/<int:override_id>/approve/",
         page_matrix(302, CREDIT_WRITERS), data={"decision-note": "矩阵批准"}),
    Page("POST", "credit/overrides/<int:override_id>/reject/",
         page_matrix(302, CREDIT_WRITERS), data={"decision-note": "矩阵拒绝"}),
    Page("POST", "credit/overrides/<int:override_id>/revoke/",
         page_matrix(302, CREDIT_WRITERS), data={"revoke-reason": "矩阵撤回"}),
]


def setup_world(personas: dict[str, User]) -> dict[str, Any]:
    """The account manager's customer, scored, in a group, with an override in force and
    another waiting for approval (requested by a third credit manager)."""
    system = Actor.system("matrix")
    beijing = Region.objects.get(pk="110000")
    customer = services.create_customer(system, region=beijing, name="矩阵评分客户",
                                        kind="enterprise", account_manager=personas[AM])
    parent = services.create_customer(system, region=beijing, name="矩阵评分母公司",
                                      kind="enterprise", account_manager=personas[AM])
    group = services.create_group(system, name="矩阵评分集团", parent=parent,
                                  members=[customer])
    scoring.rescore(system, [customer.pk, parent.pk])
    requester = User.objects.create_user(username="credit_manager_matrix",
                                         password="pw-credit-matrix")
    requester.groups.add(*personas[CREDIT].groups.all())
    ask = Actor.for_user(requester)
    expires = clock.today() + dt.timedelta(days=30)
    active = overrides.request_override(ask, customer=customer, credit_limit="20000.00",
                                        reason="矩阵临时额度", expires_on=expires)
    pending = overrides.request_override(ask, customer=customer, credit_limit="900000.00",
                                         reason="矩阵大额授信", expires_on=expires)
    assert (active.status, pending.status) == ("active", "pending")
    return {"s_customer": customer.code, "review_code": customer.code, "s_group": group.pk,
            "s_pending": pending.pk, "override_id": pending.pk, "s_active": active.pk,
            "s_expires": expires.isoformat()}
