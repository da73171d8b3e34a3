"""The credit overview's and the customer credit page's rows of the permission matrix
(OVERVIEW_PAGES, gathered by credit/tests/test_ui_permissions.py), `setup_world`, which creates
the objects the rows point at, and `post_history`, a short receivables history posted through
the ledger services that the page tests share.

Who may open the pages: every role with credit.view_creditscore (docs/permissions.md,
core/roles.py) — administrators, credit, sales and account managers, customer service, finance
and auditors. An account manager sees only their own customers: a colleague's customer is a
404, and the overview covers only their own. The ERP's user and a user without a role get 403.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.core.tests.test_ui_permissions import Page
from custguard.credit.services import gate
from custguard.customers import services
from custguard.customers.models import Customer, Region
from custguard.ledger import services as ledger
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

SOURCE = "erp"
SYSTEM = Actor.system("tests")
# credit.view_creditscore
CREDIT_READERS = [ADMIN, CREDIT, SALES, AM, COLLEAGUE, CS, FINANCE, AUDITOR]


def page_matrix(allowed: int, who: list[str], **special: int) -> dict[str, int]:
    """A page: other signed-in users get 403, anonymous visitors a redirect to the login."""
    return matrix(allowed, who, anonymous=302, **special)


OVERVIEW_PAGES = [
    Page("GET", "credit/overview/", page_matrix(200, CREDIT_READERS)),
    Page("GET", "credit/overview/export/", page_matrix(200, CREDIT_READERS),
         data={"format": "xlsx"}),
    Page("GET", "credit/customers/<str:credit_code>/",
         page_matrix(200, CREDIT_READERS, **{COLLEAGUE: 404})),
]


def post_history(customer: Customer, today: dt.date, *, prefix: str = "H",
                 amount: str = "10000.00", late: bool = True, actor: Actor = SYSTEM) -> None:
    """Six monthly invoices of `amount` with 30 days' terms ending `today`, and an open invoice
    of half the amount not yet due. With `late`, one of the six was paid 20 days late and the
    last is still open, 15 days overdue; without, all six were paid two days early. One
    `posting()` batch, so the customer is refreshed and scored once."""
    with ledger.posting(actor):
        for month in range(6):
            issued = today - dt.timedelta(days=30 * (7 - month) - 15)
            ext = f"{prefix}-{customer.code}-{month}"
            ledger.post_order(actor, customer, source=SOURCE, external_id=f"SO-{ext}",
                              ordered_on=issued, amount=amount)
            ledger.post_invoice(actor, customer, source=SOURCE, external_id=f"INV-{ext}",
                                issued_on=issued, due_on=issued + dt.timedelta(days=30),
                                amount=amount, order_source=SOURCE,
                                order_external_id=f"SO-{ext}")
            due = issued + dt.timedelta(days=30)
            paid = due + dt.timedelta(days=20 if late and month == 2 else -2)
            if not (late and month == 5):
                ledger.post_payment(actor, customer, source=SOURCE, external_id=f"RC-{ext}",
                                    received_on=paid, amount=amount,
                                    allocations=[ledger.AllocationRequest(
                                        SOURCE, f"INV-{ext}", amount)])
        ledger.post_invoice(actor, customer, source=SOURCE, external_id=f"INV-{prefix}-"
                            f"{customer.code}-new", issued_on=today - dt.timedelta(days=5),
                            due_on=today + dt.timedelta(days=25), amount=Decimal(amount) / 2)


def setup_world(personas: dict[str, User]) -> dict[str, Any]:
    """The account manager's customer with a receivables history, a score and a gate answer.
    Needs a policy in force."""
    region, _created = Region.objects.get_or_create(code="110000", defaults={"name": "北京市"})
    customer = services.create_customer(SYSTEM, region=region, name="矩阵信用客户",
                                        kind="enterprise", account_manager=personas[AM])
    post_history(customer, clock.today(), prefix="MX")
    gate.check(Actor.system("erp"), customer, "100.00")
    return {"credit_code": customer.code}
