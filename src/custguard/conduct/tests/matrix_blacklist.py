"""The notices', the blacklist's, the recovery plans' and the partner matches' rows of the
permission matrix (pages and API routes, gathered by conduct/tests/test_ui_permissions.py and
test_api_permissions.py) and `setup_world`, which creates what the rows point at.

Who may do what (core/roles.py):
- read notices, blacklist entries and recovery plans: every role with the conduct view
  permissions (administrators, credit, sales and account managers, customer service, finance,
  auditors); an account manager only for their own customers (a colleague's is a 404);
- record a customer's response, send a notice's e-mail again: conduct.record_response
  (administrators, credit, sales and account managers, customer service);
- propose by hand, approve, reject and lift entries: conduct.decide_blacklistentry
  (administrators and credit managers);
- mark an installment paid: conduct.change_recoveryinstallment (administrators, finance);
- see partner matches: administrators, credit managers and auditors; review them:
  administrators and credit managers.
The ERP's user and a user without a role get 403 everywhere.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from custguard.api.tests.test_api_permissions import Row
from custguard.conduct.models import Notice, PartnerMatch
from custguard.conduct.services import blacklist
from custguard.conduct.tests.support import SYSTEM, active_penalty, customer_on_credit
from custguard.core import clock
from custguard.core.models import User
from custguard.core.tests.test_ui_permissions import Page
from custguard.customers.models import Contact
from custguard.policy.decisions import Reason
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

READERS = [ADMIN, CREDIT, SALES, AM, COLLEAGUE, CS, FINANCE, AUDITOR]
RESPONDERS = [ADMIN, CREDIT, SALES, AM, COLLEAGUE, CS]
DECIDERS = [ADMIN, CREDIT]
PAYERS = [ADMIN, FINANCE]
MATCH_READERS = [ADMIN, CREDIT, AUDITOR]
MATCH_REVIEWERS = [ADMIN, CREDIT]
OWN = {COLLEAGUE: 404}  # the colleague does not manage the world's customers


def page(allowed: int, who: list[str], **special: int) -> dict[str, int]:
    """A page: other signed-in users get 403, anonymous visitors a redirect to the login."""
    return matrix(allowed, who, anonymous=302, **special)


def api(allowed: int, who: list[str], **special: int) -> dict[str, int]:
    return matrix(allowed, who, **special)


NOTICE = "conduct/notices/<int:notice_id>/"
ENTRY = "conduct/blacklist/<int:blacklist_entry_id>/"
PROPOSED = "conduct/blacklist/<int:proposed_entry_id>/"
PLAN = "conduct/recovery-plans/<int:recovery_plan_id>/"
MATCH = "conduct/partner-matches/<int:partner_match_id>/"

PAGES = [
    # notices
    Page("GET", "conduct/notices/", page(200, READERS)),
    Page("GET", "conduct/notices/", page(200, READERS),
         data={"state": "all", "delivery": "no_address", "customer": "矩阵"}, label="filtered"),
    Page("GET", "conduct/notices/export/", page(200, READERS), data={"format": "xlsx"}),
    Page("GET", "conduct/notices/export/", page(200, READERS),
         data={"format": "csv", "state": "overdue"}, label="csv"),
    Page("GET", NOTICE, page(200, READERS, **OWN)),
    Page("GET", f"{NOTICE}pdf/", page(200, READERS, **OWN)),
    Page("POST", f"{NOTICE}response/", page(302, RESPONDERS, **OWN),
         data={"response-response": "客户来电表示认可处理决定", "response-responded_at": ""}),
    Page("POST", "conduct/notices/<int:unsent_notice_id>/resend/",
         page(302, RESPONDERS, **OWN)),
    # the blacklist
    Page("GET", "conduct/blacklist/", page(200, READERS)),
    Page("GET", "conduct/blacklist/", page(200, READERS),
         data={"status": "active", "criterion": "MANUAL", "customer": "矩阵"},
         label="filtered"),
    Page("GET", "conduct/blacklist/export/", page(200, READERS), data={"format": "xlsx"}),
    Page("GET", "conduct/blacklist/export/", page(200, READERS),
         data={"format": "csv", "status": "proposed"}, label="csv"),
    Page("GET", "conduct/blacklist/proposals/", page(200, READERS)),
    Page("GET", "conduct/blacklist/new/", page(200, DECIDERS)),
    Page("POST", "conduct/blacklist/new/", page(302, DECIDERS),
         data={"customer": "{plan_customer_code}", "reason": "客户恶意拖欠并转移资产",
               "duration_days": ""}),
    Page("GET", ENTRY, page(200, READERS, **OWN)),
    Page("POST", f"{PROPOSED}approve/", page(302, DECIDERS),
         data={"decision-note": "证据充分"}),
    Page("POST", f"{PROPOSED}reject/", page(302, DECIDERS),
         data={"decision-note": "逾期款项已结清"}),
    Page("GET", "conduct/blacklist/<int:active_entry_id>/lift/", page(200, DECIDERS)),
    Page("POST", "conduct/blacklist/<int:active_entry_id>/lift/", page(302, DECIDERS),
         data={"lift-reason": "客户已签订还款协议", "installments-TOTAL_FORMS": "2",
               "installments-INITIAL_FORMS": "0", "installments-0-due_on": "{due_1}",
               "installments-0-amount": "30000.00", "installments-1-due_on": "{due_2}",
               "installments-1-amount": "30000.00"}),
    # recovery plans
    Page("GET", PLAN, page(200, READERS, **OWN)),
    Page("POST", f"{PLAN}installments/<int:installment_id>/paid/", page(302, PAYERS)),
    # partner matches
    Page("GET", "conduct/partner-matches/", page(200, MATCH_READERS)),
    Page("GET", "conduct/partner-matches/", page(200, MATCH_READERS),
         data={"status": "all", "partner": "合作", "customer": "矩阵"}, label="filtered"),
    Page("GET", "conduct/partner-matches/export/", page(200, MATCH_READERS),
         data={"format": "xlsx"}),
    Page("GET", MATCH, page(200, MATCH_READERS)),
    Page("POST", f"{MATCH}review/", page(302, MATCH_REVIEWERS),
         data={"review-note": "已核实，该客户在本公司付款正常"}),
]

V1 = "/api/v1/conduct"
ROWS = [
    Row("GET", f"{V1}/notices", api(200, READERS)),
    Row("GET", f"{V1}/notices/{{notice_id}}", api(200, READERS, **OWN),
        params={"notice_id": "notice_id"}),
    Row("GET", f"{V1}/notices/{{notice_id}}/pdf", api(200, READERS, **OWN),
        params={"notice_id": "notice_id"}),
    Row("POST", f"{V1}/notices/{{notice_id}}/response", api(200, RESPONDERS, **OWN),
        body={"response": "客户书面回复：接受处理"}, params={"notice_id": "notice_id"}),
    Row("POST", f"{V1}/notices/{{notice_id}}/resend", api(200, RESPONDERS, **OWN),
        params={"notice_id": "unsent_notice_id"}),
    Row("GET", f"{V1}/blacklist", api(200, READERS)),
    Row("POST", f"{V1}/blacklist", api(201, DECIDERS),
        body={"customer": "{plan_customer_code}", "reason": "客户恶意拖欠"}),
    Row("GET", f"{V1}/blacklist/{{entry_id}}", api(200, READERS, **OWN),
        params={"entry_id": "blacklist_entry_id"}),
    Row("POST", f"{V1}/blacklist/{{entry_id}}/approve", api(200, DECIDERS),
        body={"note": "证据充分"}, params={"entry_id": "proposed_entry_id"}),
    Row("POST", f"{V1}/blacklist/{{entry_id}}/reject", api(200, DECIDERS),
        body={"reason": "款项已结清"}, params={"entry_id": "proposed_entry_id"}),
    Row("POST", f"{V1}/blacklist/{{entry_id}}/lift", api(200, DECIDERS),
        body={"reason": "已签订还款协议",
              "installments": [{"due_on": "{due_1}", "amount": "10000.00"}]},
        params={"entry_id": "active_entry_id"}),
    Row("GET", f"{V1}/recovery-plans/{{plan_id}}", api(200, READERS, **OWN),
        params={"plan_id": "recovery_plan_id"}),
    Row("POST", f"{V1}/recovery-plans/{{plan_id}}/installments/{{number}}/paid",
        api(200, PAYERS), params={"plan_id": "recovery_plan_id", "number": "installment_number"}),
    Row("GET", f"{V1}/partner-matches", api(200, MATCH_READERS)),
    Row("POST", f"{V1}/partner-matches/{{match_id}}/review", api(200, MATCH_REVIEWERS),
        body={"note": "已核实"}, params={"match_id": "partner_match_id"}),
]


def setup_world(personas: dict[str, User]) -> dict[str, Any]:
    """Three customers of the account manager: one notified by e-mail (with a proposed entry
    and a partner match), one notified by post that has an address now (with an active
    entry), and one whose entry was lifted with a recovery plan of two installments."""
    notified = customer_on_credit(personas, name="矩阵通知客户")
    penalty = active_penalty(personas, notified)
    notice = Notice.objects.get(penalty=penalty)
    blacklist.propose(SYSTEM, notified, criterion="OVERDUE_GT_90D",
                      reasons=[Reason("OVERDUE_GT_90D", {
                          "overdue_amount": Decimal("65000.00"), "days_past_due_gt": 90,
                          "min_amount": Decimal("50000.00")})], duration_days=365)
    proposed = blacklist.open_entry(notified.pk)
    assert proposed is not None

    by_post = customer_on_credit(personas, name="矩阵邮寄客户", email="")
    unsent = Notice.objects.get(penalty=active_penalty(personas, by_post))
    assert unsent.delivery == Notice.Delivery.NO_ADDRESS
    Contact.objects.create(customer=by_post, name="李娜", email="li@example.com")
    active, _created = blacklist.propose(SYSTEM, by_post, criterion=blacklist.MANUAL,
                                         reasons=[Reason(blacklist.MANUAL, {"reason": "测试"})],
                                         duration_days=180)
    blacklist.approve(SYSTEM, active)

    recovering = customer_on_credit(personas, name="矩阵修复客户")
    lifted, _created = blacklist.propose(SYSTEM, recovering, criterion=blacklist.MANUAL,
                                         reasons=[Reason(blacklist.MANUAL, {"reason": "测试"})],
                                         duration_days=180)
    blacklist.approve(SYSTEM, lifted)
    day = clock.today()
    blacklist.lift(SYSTEM, lifted, reason="分期还款", installments=[
        blacklist.InstallmentPlan(day + dt.timedelta(days=30), Decimal("20000.00")),
        blacklist.InstallmentPlan(day + dt.timedelta(days=60), Decimal("20000.00"))])
    plan = lifted.recovery_plan
    first = plan.installments.order_by("number").first()
    assert first is not None

    match = PartnerMatch.objects.create(
        partner="合作公司甲", customer=notified, identifier_kind="phone",
        partner_category="OVERDUE", partner_listed_on=day - dt.timedelta(days=40),
        file_digest="a" * 64, imported_at=clock.now())
    return {
        "notice_id": notice.pk, "unsent_notice_id": unsent.pk,
        "proposed_entry_id": proposed.pk, "blacklist_entry_id": active.pk,
        "active_entry_id": active.pk, "recovery_plan_id": plan.pk,
        "installment_id": first.pk, "installment_number": first.number,
        "partner_match_id": match.pk, "plan_customer_code": recovering.code,
        "due_1": (day + dt.timedelta(days=30)).isoformat(),
        "due_2": (day + dt.timedelta(days=60)).isoformat(),
    }
