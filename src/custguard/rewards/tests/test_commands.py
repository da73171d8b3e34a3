"""`custguard rewards`: the back-fill earns what the hook would have and is idempotent; the
jobs run; reconcile exits non-zero naming the drift."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from custguard.core.actors import Actor
from custguard.customers.models import Customer, Standing
from custguard.ledger import hooks
from custguard.ledger.tests.conftest import days
from custguard.ledger.tests.factories import invoice, payment
from custguard.rewards.models import PointsEntry
from custguard.rewards.services import earning
from custguard.rewards.tests.helpers import give_points

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    shown = [] if args[0] == "reconcile" else ["--no-progress"]
    call_command("rewards", *args, *shown, stdout=out)
    return out.getvalue()


def test_the_back_fill_earns_once(finance: Actor, customer: Customer, policy: Any,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # The invoices were paid before rewards listened to the ledger.
    monkeypatch.setattr(hooks, "_on_invoices_changed", [])
    invoice(finance, customer, "INV-1", "10000.00", issued=days(-10), due=days(20))
    payment(finance, customer, "PAY-1", "10000.00")
    assert not PointsEntry.objects.exists()
    monkeypatch.setattr(hooks, "_on_invoices_changed", [earning.invoices_changed])
    assert run("earn", "--since", str(days(-1))).startswith("1 invoice(s)")
    assert PointsEntry.objects.get(kind="earn").points == 110
    run("earn", "--since", str(days(-1)))
    assert PointsEntry.objects.count() == 1
    with pytest.raises(CommandError, match="not a date"):
        run("earn", "--since", "yesterday")


def test_reconcile_names_a_drift(customer: Customer, policy: Any) -> None:
    give_points(customer, 50)
    assert "no drift" in run("reconcile")
    Standing.objects.filter(pk=customer.pk).update(points_balance=70)
    err = StringIO()
    with pytest.raises(CommandError, match="1 drift"):
        call_command("rewards", "reconcile", stdout=StringIO(), stderr=err)
    assert "points_balance is 70, the lots say 50" in err.getvalue()
    assert run("mature").startswith("0 customer(s)")
    assert run("expire").startswith("0 customer(s)")
