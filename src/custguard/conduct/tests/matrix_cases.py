"""Cases', penalties', fines' and contract clauses' rows of the permission matrix
(docs/permissions.md, core/roles.py): the pages (PAGES, run by test_ui_permissions.py), the API
routes (ROWS, run by test_api_permissions.py), and `setup_world`, which creates what they point
at (the default policy is already in force).

Who may do what (core/roles.py, and the policy's approvers):
- read cases, evidence, penalties, fines, clauses: every staff role (account managers their own
  customers' only: the colleague gets 404 on the account manager's records);
- report a violation and attach evidence: all staff but auditors;
- investigate, confirm, dismiss, escalate: administrators, credit and sales managers;
- approve or reject: the approval permission (administrators, credit, sales and account
  managers) AND a role the policy allows for every measure. The world's proposed warning may be
  approved by all four; its proposed prepay-only penalty by administrators and credit managers
  only (sales and account managers get 403 from the policy);
- lift: administrators and credit managers; record a rectification: the approvers' roles;
- settle a fine: administrators and finance; contract clauses: administrators, credit and
  sales managers.
A form the service refuses is shown again with 422 (the colleague reporting for a customer code
it may not see, or uploading to the API without a file).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F

from custguard.api.tests.test_api_permissions import Row
from custguard.conduct.models import ContractClause, Penalty
from custguard.conduct.services import cases, clauses, penalties
from custguard.conduct.tests.support import SYSTEM, customer_on_credit
from custguard.core import clock
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

READERS = [ADMIN, CREDIT, SALES, AM, CS, FINANCE, AUDITOR]  # conduct.view_*
REPORTERS = [ADMIN, CREDIT, SALES, AM, CS, FINANCE]  # add_violationcase, add_evidence
INVESTIGATORS = [ADMIN, CREDIT, SALES]  # investigate_violationcase
APPROVERS = [ADMIN, CREDIT, SALES, AM]  # approve_penalty (and change_penalty)
LIFTERS = [ADMIN, CREDIT]  # lift_penalty
FINANCE_ROLES = [ADMIN, FINANCE]  # change_fine
CLAUSE_WRITERS = [ADMIN, CREDIT, SALES]  # add / change contractclause
OWN = {COLLEAGUE: 404}
AGO = dt.timedelta(days=40)  # the colleague may act, but not on the account manager's customer


def page(allowed: int, who: list[str], **special: int) -> dict[str, int]:
    """A page: other signed-in users get 403, anonymous visitors a redirect to the login."""
    return matrix(allowed, who, anonymous=302, **special)


def _day(days_ago: int) -> str:
    return (clock.today() - dt.timedelta(days=days_ago)).isoformat()


PAGES = [
    Page("GET", "conduct/cases/", page(200, [*READERS, COLLEAGUE])),
    Page("GET", "conduct/cases/", page(200, [*READERS, COLLEAGUE]),
         data={"status": "all", "investigator": "mine", "severity": "MAJOR"}, label="filtered"),
    Page("GET", "conduct/cases/export/", page(200, [*READERS, COLLEAGUE]),
         data={"format": "xlsx", "status": "all"}),
    Page("GET", "conduct/cases/new/", page(200, [*REPORTERS, COLLEAGUE])),
    Page("POST", "conduct/cases/new/", page(302, REPORTERS, **{COLLEAGUE: 422}),
         data={"customer": "{cs_customer}", "violation_type": "LATE_PAYMENT",
               "occurred_on": "{cs_two_days_ago}", "description": "矩阵上报"}),
    Page("GET", "conduct/cases/<int:case_id>/", page(200, READERS, **OWN)),
    Page("POST", "conduct/cases/<int:case_id>/evidence/", page(302, REPORTERS, **OWN),
         data={"evidence-file": "{cs_upload}", "evidence-note": "矩阵证据"}),
    Page("POST", "conduct/cases/<int:case_id>/investigate/", page(302, INVESTIGATORS),
         data={"investigate-investigator": "{cs_investigator}"}),
    Page("POST", "conduct/cases/<int:case_id>/confirm/", page(302, INVESTIGATORS),
         data={"confirm-reason": "矩阵确认"}),
    Page("POST", "conduct/cases/<int:case_id>/dismiss/", page(302, INVESTIGATORS),
         data={"dismiss-reason": "矩阵驳回"}),
    Page("GET", "conduct/evidence/<int:evidence_id>/", page(200, READERS, **OWN)),
    Page("GET", "conduct/penalties/", page(200, [*READERS, COLLEAGUE])),
    Page("GET", "conduct/penalties/", page(200, [*READERS, COLLEAGUE]),
         data={"status": "active", "measure": "PREPAY_ONLY"}, label="filtered"),
    Page("GET", "conduct/penalties/export/", page(200, [*READERS, COLLEAGUE]),
         data={"format": "csv", "status": "all"}),
    Page("GET", "conduct/penalties/<int:penalty_id>/", page(200, READERS, **OWN)),
    Page("POST", "conduct/penalties/<int:penalty_id>/approve/", page(302, APPROVERS, **OWN),
         data={"approve-language": "zh-hans", "approve-note": "矩阵批准"}),
    Page("POST", "conduct/penalties/<int:penalty_id>/reject/", page(302, APPROVERS, **OWN),
         data={"reject-reason": "矩阵不同意"}),
    Page("POST", "conduct/penalties/<int:active_penalty_id>/lift/", page(302, LIFTERS),
         data={"lift-reason": "矩阵提前解除"}),
    Page("POST", "conduct/penalties/<int:active_penalty_id>/rectify/",
         page(302, APPROVERS, **OWN), data={"rectify-note": "矩阵整改完成"}),
    Page("POST", "conduct/penalties/<int:active_penalty_id>/escalate/",
         page(302, INVESTIGATORS)),
    Page("GET", "conduct/rectifications/", page(200, [*READERS, COLLEAGUE])),
    Page("GET", "conduct/rectifications/export/", page(200, [*READERS, COLLEAGUE]),
         data={"format": "xlsx", "overdue": "on"}),
    Page("GET", "conduct/fines/", page(200, [*READERS, COLLEAGUE])),
    Page("GET", "conduct/fines/export/", page(200, [*READERS, COLLEAGUE]),
         data={"format": "csv", "status": "all"}),
    Page("POST", "conduct/fines/<int:fine_id>/settle/", page(302, FINANCE_ROLES),
         data={"settle-status": "paid", "settle-note": "矩阵收款"}),
    Page("GET", "conduct/clauses/<str:customer_code>/", page(200, READERS, **OWN)),
    Page("GET", "conduct/clauses/<str:customer_code>/export/", page(200, READERS, **OWN),
         data={"format": "xlsx"}),
    Page("POST", "conduct/clauses/<str:customer_code>/add/", page(302, CLAUSE_WRITERS),
         data={"clause-contract_number": "HT-矩阵-2", "clause-violation_type": "PRICE_DISRUPTION",
               "clause-fine_amount": "3000.00", "clause-valid_from": "{cs_today}"}),
    Page("POST", "conduct/clauses/<int:clause_id>/end/", page(302, CLAUSE_WRITERS),
         data={"end-last_day": "{cs_today}", "end-reason": "矩阵合同终止"}),
]

V1 = "/api/v1"
CASE = {"case_id": "case_id"}
PROPOSED = {"penalty_id": "penalty_id"}
MAJOR = {"penalty_id": "cs_major_penalty"}
ACTIVE = {"penalty_id": "active_penalty_id"}
API_OWN = {COLLEAGUE: 404}
AGO = dt.timedelta(days=40)

ROWS = [
    Row("GET", f"{V1}/conduct/violation-types", matrix(200, [*READERS, COLLEAGUE])),
    Row("POST", f"{V1}/conduct/cases", matrix(201, REPORTERS, **API_OWN),
        body={"customer": "{cs_customer}", "violation_type": "LATE_PAYMENT",
              "occurred_on": "{cs_two_days_ago}", "description": "接口上报",
              "source": "crm", "external_id": "matrix-1"}),
    Row("GET", f"{V1}/conduct/cases", matrix(200, [*READERS, COLLEAGUE])),
    Row("GET", f"{V1}/conduct/cases/{{case_id}}", matrix(200, READERS, **API_OWN),
        params=CASE),
    # JSON instead of multipart: the file is missing (422) once role and scope are checked.
    Row("POST", f"{V1}/conduct/cases/{{case_id}}/evidence", matrix(422, REPORTERS, **API_OWN),
        body={"note": "no file"}, params=CASE),
    Row("GET", f"{V1}/conduct/evidence/{{evidence_id}}/download",
        matrix(200, READERS, **API_OWN), params={"evidence_id": "evidence_id"}),
    Row("POST", f"{V1}/conduct/cases/{{case_id}}/investigate", matrix(200, INVESTIGATORS),
        body={}, params=CASE),
    Row("POST", f"{V1}/conduct/cases/{{case_id}}/confirm", matrix(200, INVESTIGATORS),
        body={"reason": "接口确认"}, params=CASE),
    Row("POST", f"{V1}/conduct/cases/{{case_id}}/dismiss", matrix(200, INVESTIGATORS),
        body={"reason": "接口驳回"}, params=CASE),
    Row("GET", f"{V1}/conduct/penalties", matrix(200, [*READERS, COLLEAGUE])),
    Row("GET", f"{V1}/conduct/penalties/{{penalty_id}}", matrix(200, READERS, **API_OWN),
        params=PROPOSED),
    Row("POST", f"{V1}/conduct/penalties/{{penalty_id}}/approve",
        matrix(200, APPROVERS, **API_OWN), body={"language": "en"}, params=PROPOSED,
        label="a warning"),
    Row("POST", f"{V1}/conduct/penalties/{{penalty_id}}/approve",
        matrix(200, LIFTERS, **API_OWN), body={}, params=MAJOR,
        label="prepay only (the policy refuses sales and account managers)"),
    Row("POST", f"{V1}/conduct/penalties/{{penalty_id}}/reject",
        matrix(200, APPROVERS, **API_OWN), body={"reason": "接口不同意"}, params=PROPOSED),
    Row("POST", f"{V1}/conduct/penalties/{{penalty_id}}/lift", matrix(200, LIFTERS),
        body={"reason": "接口提前解除"}, params=ACTIVE),
    Row("POST", f"{V1}/conduct/penalties/{{penalty_id}}/rectification",
        matrix(200, APPROVERS, **API_OWN), body={"note": "接口整改完成"}, params=ACTIVE),
    Row("POST", f"{V1}/conduct/penalties/{{penalty_id}}/escalate", matrix(200, INVESTIGATORS),
        body={}, params=ACTIVE),
    Row("GET", f"{V1}/conduct/fines", matrix(200, [*READERS, COLLEAGUE])),
    Row("POST", f"{V1}/conduct/fines/{{fine_id}}/settle", matrix(200, FINANCE_ROLES),
        body={"status": "waived", "note": "接口减免"}, params={"fine_id": "fine_id"}),
    Row("GET", f"{V1}/conduct/clauses", matrix(200, [*READERS, COLLEAGUE])),
    Row("POST", f"{V1}/conduct/clauses", matrix(201, CLAUSE_WRITERS),
        body={"customer": "{cs_customer}", "contract_number": "HT-接口",
              "violation_type": "PRICE_DISRUPTION", "fine_amount": "3000.00",
              "valid_from": "{cs_today}"}),
    Row("POST", f"{V1}/conduct/clauses/{{clause_id}}/end", matrix(200, CLAUSE_WRITERS),
        body={"reason": "接口合同终止"}, params={"clause_id": "clause_id"}),
]


def setup_world(personas: dict[str, User]) -> dict[str, Any]:
    """Two customers of the account manager:
    - A has a prepay-only penalty in force for 40 days (active, its fine due, its
      rectification 10 days overdue), a later violation whose prepay-only penalty is proposed,
      a reported case with evidence, and a contract clause;
    - B has one minor violation whose warning is proposed."""
    credit = Actor.for_user(personas[CREDIT])
    am = Actor.for_user(personas[AM])
    first = customer_on_credit(personas, name="矩阵违规客户甲", manager=AM)
    second = customer_on_credit(personas, name="矩阵违规客户乙", manager=AM)
    old = cases.report(am, first, violation_type="RECTIFICATION_OVERDUE",
                       occurred_on=clock.today() - dt.timedelta(days=42),
                       description="逾期未整改").case
    active = cases.confirm(credit, old, reason="属实")
    assert active is not None
    penalties.approve(credit, active)
    # As if approved 40 days ago: still in force, its rectification 10 days overdue. (The
    # policy took effect when the world was made, so the clock cannot go back that far.)
    Penalty.objects.filter(pk=active.pk).update(
        starts_on=F("starts_on") - AGO, ends_on=F("ends_on") - AGO,
        rectification_due_on=F("rectification_due_on") - AGO)
    recent = cases.report(am, first, violation_type="LATE_PAYMENT",
                          occurred_on=clock.today() - dt.timedelta(days=5),
                          description="逾期付款").case
    major = cases.confirm(credit, recent, reason="属实")
    assert major is not None and "PREPAY_ONLY" in major.measures
    reported = cases.report(am, first, violation_type="LATE_RECONCILIATION",
                            occurred_on=clock.today() - dt.timedelta(days=1),
                            description="未按时对账").case
    evidence = cases.add_evidence(am, reported, ContentFile(b"%PDF-1.4 matrix", name="对账单.pdf"),
                                  content_type="application/pdf")
    minor = cases.report(am, second, violation_type="LATE_PAYMENT",
                         occurred_on=clock.today() - dt.timedelta(days=3),
                         description="逾期付款").case
    warning = cases.confirm(credit, minor, reason="属实")
    assert warning is not None and warning.measures == ["WARNING"]
    clause = clauses.add(SYSTEM, first, contract_number="HT-矩阵-1", violation_type="",
                         fine_amount="8000.00", valid_from=clock.today() - dt.timedelta(days=100))
    assert isinstance(clause, ContractClause)
    active.refresh_from_db()
    return {
        "cs_customer": first.code, "customer_code": first.code, "case_id": reported.pk,
        "evidence_id": evidence.pk, "penalty_id": warning.pk, "cs_major_penalty": major.pk,
        "active_penalty_id": active.pk, "fine_id": active.fine.pk, "clause_id": clause.pk,
        "cs_investigator": personas[CREDIT].pk, "cs_today": clock.today().isoformat(),
        "cs_two_days_ago": _day(2),
        "cs_upload": SimpleUploadedFile("现场照片.pdf", b"%PDF-1.4 photo", "application/pdf"),
    }
