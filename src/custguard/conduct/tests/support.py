"""Set-up shared by the conduct tests: the default policy, a customer who may order on credit
(a credit manager's limit, since a customer without history is rated prepay-only), and the
conduct steps up to an active penalty."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.files.base import ContentFile

from custguard.conduct.models import Penalty, ViolationCase
from custguard.conduct.services import cases, penalties
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import PolicyVersion, User
from custguard.core.services import policies
from custguard.credit.services import overrides
from custguard.customers import services as registry
from custguard.customers.models import Customer, Region
from custguard.policy import default_policy_text
from custguard.policy.schema import PolicyDocument

SYSTEM = Actor.system("tests")


def publish_default_policy() -> PolicyDocument:
    if not PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED).exists():
        policies.publish_source(SYSTEM, default_policy_text(), note="tests")
    return policies.policy_in_force()[1]


def customer_on_credit(people: dict[str, User], *, name: str = "规范客户",
                       manager: str = "account_manager", limit: str = "100000.00",
                       email: str = "buyer@example.com") -> Customer:
    """A customer of `manager` with a contact and a credit manager's limit."""
    publish_default_policy()
    region, _created = Region.objects.get_or_create(code="110000", defaults={"name": "北京市"})
    customer = registry.create_customer(
        SYSTEM, region=region, name=name, kind="dealer", account_manager=people[manager],
        contacts=[{"name": "王伟", "email": email, "is_primary": True}] if email else [])
    overrides.request_override(Actor.for_user(people["credit_manager"]), customer=customer,
                               credit_limit=Decimal(limit), reason="测试授信",
                               expires_on=clock.today() + dt.timedelta(days=180))
    return customer


def confirmed_case(people: dict[str, User], customer: Customer, *,
                   violation_type: str = "LATE_RECONCILIATION", days_ago: int = 3,
                   evidence: bool = False) -> tuple[ViolationCase, Penalty | None]:
    """A reported (by the account manager) and confirmed (by the credit manager) violation and
    the penalty the ladder proposed for it."""
    reporter = Actor.for_user(people["account_manager"])
    case = cases.report(reporter, customer, violation_type=violation_type,
                        occurred_on=clock.today() - dt.timedelta(days=days_ago),
                        description="测试违规").case
    if evidence:
        cases.add_evidence(reporter, case, ContentFile(b"%PDF-1.4 evidence", name="证据.pdf"),
                           content_type="application/pdf")
    penalty = cases.confirm(Actor.for_user(people["credit_manager"]), case, reason="属实")
    return case, penalty


def active_penalty(people: dict[str, User], customer: Customer, **kwargs: object) -> Penalty:
    """A confirmed violation whose penalty the credit manager approved (in force now)."""
    _case, penalty = confirmed_case(people, customer, **kwargs)  # type: ignore[arg-type]
    assert penalty is not None
    return penalties.approve(Actor.for_user(people["credit_manager"]), penalty)
