"""The order gate's rows of the permission matrix (docs/permissions.md, core/roles.py): its API
routes (GATE_ROWS, run by credit/tests/test_api_permissions.py) and its pages (GATE_PAGES, run
by credit/tests/test_ui_permissions.py), and `setup_world`, which creates the objects the rows
point at.

Placeholders: API rows name the world key of each route placeholder in `params` and refer to
world values in bodies as "{key}"; page patterns use placeholders named after world keys
(`<int:reservation_id>`), data values likewise "{key}".
"""

from __future__ import annotations

from typing import Any

from custguard.api.tests.test_api_permissions import Row
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.core.tests.test_ui_permissions import Page
from custguard.credit.services import gate
from custguard.testing.matrix import (
    ADMIN,
    AM,
    AUDITOR,
    CREDIT,
    ERP,
    FINANCE,
    SALES,
    matrix,
)

from .gate_support import make_customer

GATE_USERS = [ADMIN, CREDIT, ERP]  # credit.check_gate
HOLD_DECIDERS = [ADMIN, CREDIT]  # credit.decide_hold
# credit.view_reservation: every reader of credit data, and the ERP (its own orders)
RESERVATION_READERS = [ADMIN, CREDIT, SALES, AM, FINANCE, AUDITOR, ERP]
GATECHECK_READERS = [ADMIN, CREDIT, SALES, AM, FINANCE, AUDITOR]  # credit.view_gatecheck
COLLEAGUE = "account_manager_2"

V1 = "/api/v1"
GATE_ROWS = [
    # the ERP asks (and reserves); credit managers and administrators may ask too
    Row("POST", f"{V1}/gate/check", matrix(200, GATE_USERS),
        body={"customer": "{gate_customer}", "amount": "10.00", "reserve": True,
              "source": "erp", "external_id": "MATRIX-NEW"}),
    # cancelling the order: whoever may ask the gate, and the ERP's change permission
    Row("POST", f"{V1}/gate/reservations/{{source}}/{{external_id}}/release",
        matrix(200, GATE_USERS), body={"reason": "矩阵撤单"},
        params={"source": "gate_source", "external_id": "gate_pending"}),
    # an account manager reads their own customers' reservations; a colleague gets a 404
    Row("GET", f"{V1}/gate/reservations/{{source}}/{{external_id}}",
        matrix(200, RESERVATION_READERS, **{COLLEAGUE: 404}),
        params={"source": "gate_source", "external_id": "gate_pending"}),
    Row("GET", f"{V1}/customers/{{id_or_code}}/gate-checks",
        matrix(200, GATECHECK_READERS, **{COLLEAGUE: 404}),
        params={"id_or_code": "gate_customer"}),
]


def page_matrix(allowed: int, who: list[str], **special: int) -> dict[str, int]:
    """A page: other signed-in users get 403, anonymous visitors a redirect to the login."""
    return matrix(allowed, who, anonymous=302, **special)


GATE_PAGES = [
    Page("GET", "credit/holds/", page_matrix(200, [*RESERVATION_READERS, COLLEAGUE])),
    Page("GET", "credit/holds/export/", page_matrix(200, [*RESERVATION_READERS, COLLEAGUE]),
         data={"format": "xlsx"}),
    Page("GET", "credit/holds/<int:reservation_id>/",
         page_matrix(200, RESERVATION_READERS, **{COLLEAGUE: 404})),
    Page("POST", "credit/holds/<int:reservation_id>/decide/", page_matrix(302, HOLD_DECIDERS),
         data={"decision": "approve", "reason": "矩阵批准"}),
    Page("GET", "credit/gate/", page_matrix(200, [*GATECHECK_READERS, COLLEAGUE])),
    Page("GET", "credit/gate/export/", page_matrix(200, [*GATECHECK_READERS, COLLEAGUE]),
         data={"format": "csv"}),
]


def setup_world(personas: dict[str, User]) -> dict[str, Any]:
    """The account manager's customer with a pending reservation (erp/MATRIX-1) and a held
    one (erp/MATRIX-HOLD). Needs a policy in force."""
    erp = Actor.system("erp")
    customer = make_customer("矩阵门客户", limit="1000.00", account_manager=personas[AM])
    gate.check(erp, customer, "100.00", reserve=True, source="erp", external_id="MATRIX-1")
    held = gate.check(erp, customer, "5000.00", reserve=True, source="erp",
                      external_id="MATRIX-HOLD").reservation
    assert held is not None and held.status == "held"
    return {"gate_customer": customer.code, "gate_source": "erp", "gate_pending": "MATRIX-1",
            "reservation_id": held.pk}
