"""Everything a post could change, to assert that a refused or repeated post changed nothing."""

from __future__ import annotations

from typing import Any

from custguard.core.models import AuditEntry
from custguard.credit.models import CreditScore, GateCheck, Reservation
from custguard.customers.models import GroupStanding, Standing
from custguard.ledger.models import Allocation, Invoice, Order, Payment


def state() -> dict[str, Any]:
    return {
        "orders": list(Order.objects.order_by("pk").values()),
        "invoices": list(Invoice.objects.order_by("pk").values()),
        "payments": list(Payment.objects.order_by("pk").values()),
        "allocations": list(Allocation.objects.order_by("pk").values()),
        "standings": list(Standing.objects.order_by("pk").values()),
        "group_standings": list(GroupStanding.objects.order_by("pk").values()),
        "reservations": list(Reservation.objects.order_by("pk").values()),
        "gate_checks": GateCheck.objects.count(),
        "scores": CreditScore.objects.count(),
        "audit": list(AuditEntry.objects.order_by("seq").values_list("seq", "hash")),
    }
