"""Two approvers approving the same manual tier at the same moment: one approval is recorded,
the other is refused, and the customer's tier changed once. Real commits and threads, on
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from custguard.core.actors import Actor
from custguard.core.errors import Conflict
from custguard.core.models import AuditEntry, User
from custguard.core.services.audit import verify_chain
from custguard.customers.models import Customer
from custguard.ledger.tests.conftest import TODAY
from custguard.ledger.tests.test_concurrency import race
from custguard.rewards.models import TierAssignment, TierChange
from custguard.rewards.services import tier_assignments
from custguard.rewards.tests.tiers import tier_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_approvers_at_once_make_one_approval(customer: Customer,
                                                 personas: dict[str, User], policy: Any,
                                                 make_user: Any) -> None:
    proposer = Actor.for_user(personas["account_manager"])
    assignment = tier_assignments.propose(proposer, customer, tier="GOLD",
                                          expires_on=TODAY + dt.timedelta(days=60),
                                          reason="大客户试用")
    approvers = [Actor.for_user(personas["sales_manager"]),
                 Actor.for_user(personas["credit_manager"])]
    for approver in approvers:
        approver.can("rewards.approve_tier")  # load the permissions before the race
    results, errors = race(approvers[0], [
        lambda who=who: tier_assignments.approve(who, assignment.pk) for who in approvers])
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], Conflict)
    assignment.refresh_from_db()
    assert assignment.status == TierAssignment.Status.ACTIVE
    assert TierChange.objects.filter(customer=customer, kind="manual").count() == 1
    assert AuditEntry.objects.filter(action="rewards.tier_assignment_approve").count() == 1
    assert tier_of(customer) == ("GOLD", 5)
    assert verify_chain() is None
