"""`custguard demo` as a command: it builds everything in one audited job, prints the logins and
the registry, credit and conduct rows, publishes the default policy once and, with --if-empty,
does nothing the second time.

A whole demo (registry, credit history, conduct) takes seconds to build, so the module builds
one with --if-empty on the empty database and every test reads it or runs the command again
on top of it, inside its own rolled-back savepoint (see `module_db`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from io import StringIO

import pytest
from django.core.management import call_command

from custguard.conduct.models import ViolationCase
from custguard.core.models import AuditEntry, PolicyVersion, User
from custguard.core.roles import ALL_ROLES
from custguard.core.services.audit import verify_chain
from custguard.core.services.policies import version_in_force
from custguard.customers.models import Customer, Region
from custguard.ledger.models import Order

pytestmark = pytest.mark.django_db

PASSWORD = "demo-pass-123"
CUSTOMERS = 12


@pytest.fixture(scope="module")
def first_run(module_db: Callable[[], contextlib.AbstractContextManager[None]],
              module_regions: None) -> str:
    """What the first `custguard demo --if-empty` printed on the empty database."""
    out = StringIO()
    with module_db():
        assert not Customer.objects.exists()
        call_command("demo", "--customers", str(CUSTOMERS), "--seed", "3", "--if-empty",
                     "--no-progress", "--password", PASSWORD, stdout=out)
    return out.getvalue()


def test_the_first_run_prints_every_login(first_run: str) -> None:
    assert Customer.objects.count() == CUSTOMERS
    for role in ALL_ROLES:
        assert role in first_run
    assert PASSWORD in first_run and "customers" in first_run


def test_command_if_empty_does_nothing_the_second_time(first_run: str) -> None:
    entries = AuditEntry.objects.count()
    users = User.objects.count()

    out = StringIO()
    call_command("demo", "--customers", "30", "--if-empty", "--no-progress",
                 "--password", PASSWORD, stdout=out)
    assert "skipped" in out.getvalue()
    assert "account_manager_3" in out.getvalue() and PASSWORD in out.getvalue()
    assert Customer.objects.count() == CUSTOMERS
    assert AuditEntry.objects.count() == entries
    assert User.objects.count() == users
    assert verify_chain() is None


def test_command_builds_in_one_audited_job(first_run: str) -> None:
    assert Customer.objects.count() == CUSTOMERS
    assert verify_chain() is None
    creates = AuditEntry.objects.filter(action="customer.create")
    assert creates.count() == CUSTOMERS
    assert set(creates.values_list("actor_kind", "actor_label")) == {("job", "demo")}
    assert AuditEntry.objects.filter(action="group.create").exists()


def test_command_publishes_the_default_policy_once(first_run: str) -> None:
    version = version_in_force()
    assert version is not None and version.number == 1
    call_command("demo", "--customers", "2", "--seed", "4", "--no-progress", stdout=StringIO())
    assert Customer.objects.count() == CUSTOMERS + 2
    assert PolicyVersion.objects.count() == 1
    assert verify_chain() is None


def test_the_first_run_prints_the_credit_rows(first_run: str) -> None:
    for label in ("credit history", "payment behaviour", "grades", "gate answers",
                  "orders on credit hold", "open orders reserved", "credit overrides"):
        assert label in first_run, label
    assert Region.objects.exists() and Order.objects.exists()
    assert verify_chain() is None


def test_the_first_run_prints_the_conduct_rows(first_run: str) -> None:
    for label in ("conduct cases", "penalties", "notices", "fines", "blacklist", "appeals",
                  "restrictions in force"):
        assert label in first_run, label
    assert ViolationCase.objects.exists()
    assert verify_chain() is None


def test_the_first_run_prints_the_rewards_rows_and_the_points_balance(first_run: str) -> None:
    from custguard.rewards.models import PointsEntry, Redemption
    from custguard.rewards.services import accounts

    for label in ("points", "reward catalogue", "redemptions"):
        assert label in first_run, label
    assert PointsEntry.objects.filter(kind=PointsEntry.Kind.EARN).exists()
    assert Redemption.objects.exists()
    assert accounts.reconcile().drifts == []
