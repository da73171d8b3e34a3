"""Everything a post could change, to assert that a refused or repeated post changed nothing."""

from __future__ import annotations

from typing import Any

from custguard.core.models import AuditEntry
from custguard.credit.models import CreditScore, GateCheck, Reservation
from custguard.customers.models import GroupStanding, Standing
from custguard.ledger.models import Allocation, Invoice, Order, Payment
from custguard.testing.shared import table_rows


def state() -> dict[str, Any]:
    return table_rows(Order, Invoice, Payment, Allocation, Standing, GroupStanding,
                      Reservation) | {
        "gate_checks": GateCheck.objects.count(),
        "scores": CreditScore.objects.count(),
        "audit": list(AuditEntry.objects.order_by("seq").values_list("seq", "hash")),
    }
