"""Set-up and checks shared by the order gate's tests: the default policy, customers with a grade
and a limit written straight onto their standing rows (the scorecard is tested elsewhere), groups
with a unified limit, and the invariants every run must keep."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum

from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, PolicyVersion, User
from custguard.core.services import policies
from custguard.core.services.audit import verify_chain
from custguard.credit.models import GateCheck, Reservation
from custguard.customers import services
from custguard.customers.models import Customer, CustomerGroup, GroupStanding, Region, Standing
from custguard.policy import default_policy_text
from custguard.policy.gate import ceiling
from custguard.policy.schema import PolicyDocument

SYSTEM = Actor.system("tests")
D = Decimal
ZERO = Decimal("0.00")


def publish_default_policy() -> PolicyDocument:
    """The shipped policy, published now (once per database)."""
    if not PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED).exists():
        policies.publish_source(SYSTEM, default_policy_text(), note="tests")
    return policies.policy_in_force()[1]


def region() -> Region:
    beijing, _created = Region.objects.get_or_create(code="110000", defaults={"name": "北京市"})
    return beijing


def make_customer(name: str, *, limit: str | Decimal = "10000.00", grade: str = "A",
                  account_manager: User | None = None, **standing: Any) -> Customer:
    """A customer whose standing has a grade and a credit limit (set directly)."""
    customer = services.create_customer(SYSTEM, region=region(), name=name, kind="enterprise",
                                        account_manager=account_manager)
    Standing.objects.filter(pk=customer.pk).update(grade=grade, credit_limit=D(limit),
                                                   **standing)
    return customer


def make_group(name: str, parent: Customer, members: list[Customer],
               limit: str | Decimal | None = None) -> CustomerGroup:
    """A group (before any of its members has exposure); with `limit`, a unified limit."""
    group = services.create_group(SYSTEM, name=name, parent=parent, members=members)
    if limit is not None:
        GroupStanding.objects.filter(pk=group.pk).update(has_limit=True, credit_limit=D(limit))
    return group


def counters(customer: Customer) -> tuple[Decimal, Decimal]:
    """(posted, reserved) of the customer's standing row, to the cent."""
    row = Standing.objects.get(pk=customer.pk)
    return row.posted.quantize(D("0.01")), row.reserved.quantize(D("0.01"))


def group_counters(group: CustomerGroup) -> tuple[Decimal, Decimal]:
    row = GroupStanding.objects.get(pk=group.pk)
    return row.posted.quantize(D("0.01")), row.reserved.quantize(D("0.01"))


def snapshot() -> dict[str, Any]:
    """Everything the gate can change."""
    return {
        "standings": list(Standing.objects.order_by("pk").values(
            "pk", "posted", "reserved", "credit_limit", "grade", "updated_at")),
        "group_standings": list(GroupStanding.objects.order_by("pk").values(
            "pk", "posted", "reserved", "credit_limit", "updated_at")),
        "reservations": list(Reservation.objects.order_by("pk").values()),
        "checks": GateCheck.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def pending_sum(**filters: Any) -> Decimal:
    total = Reservation.objects.filter(status=Reservation.Status.PENDING, **filters).aggregate(
        total=Sum("amount"))["total"]
    return Decimal(total or ZERO).quantize(D("0.01"))


def assert_invariants(policy: PolicyDocument, *, limits: bool = True) -> None:
    """posted + reserved within the ceiling on every row (unless `limits` is False: an invoice
    may take posted past the limit, and rescoring after it may lower the limit), reserved =
    the sum of pending reservations (customer, and group = sum of members), one reservation
    per order identity, and an intact audit chain."""
    for row in Standing.objects.all():
        if limits:
            assert row.posted + row.reserved <= ceiling(policy, row.credit_limit) or (
                # an approved hold may take a customer past its limit, by decision
                Reservation.objects.filter(customer_id=row.pk,
                                           decided_by__isnull=False).exists()), row.pk
        assert row.reserved.quantize(D("0.01")) == pending_sum(customer_id=row.pk), row.pk
    for group in GroupStanding.objects.all():
        members = Q(customer__group_id=group.pk)
        if limits and group.has_limit:
            assert group.posted + group.reserved <= ceiling(policy, group.credit_limit)
        total = Reservation.objects.filter(members, status=Reservation.Status.PENDING) \
            .aggregate(total=Sum("amount"))["total"] or ZERO
        assert group.reserved.quantize(D("0.01")) == Decimal(total).quantize(D("0.01"))
    identities = Reservation.objects.values_list("source", "external_id")
    assert len(set(identities)) == identities.count()
    assert verify_chain() is None
