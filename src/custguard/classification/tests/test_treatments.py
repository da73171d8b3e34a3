"""What a class brings, on the standing row: the order gate names an A customer's priority
for scarce goods, and the class's bonus days lengthen the payment terms the grade gives."""

from __future__ import annotations

import pytest

from custguard.classification.services import runs
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.credit.services import gate
from custguard.customers.models import Customer, Standing

pytestmark = pytest.mark.django_db


def test_an_a_customer_gets_priority_and_longer_terms(province: list[Customer],
                                                      personas: dict[str, User]) -> None:
    before = {c.pk: Standing.objects.get(pk=c.pk).payment_terms_days for c in province}
    assert before[province[-1].pk] > 0  # the grade gives the top customer terms
    result = runs.run_month(Actor.job("classification.monthly_run"))
    assert result.treated == 10
    top, middle, last = province[-1], province[4], province[0]
    rows = {c.pk: Standing.objects.get(pk=c.pk) for c in (top, middle, last)}
    assert (rows[top.pk].abc_class, rows[top.pk].priority_allocation) == ("A", True)
    assert (rows[middle.pk].abc_class, rows[middle.pk].priority_allocation) == ("B", False)
    # The default policy: A +15 days, B +5, C nothing, on top of what the grade gives.
    for customer, bonus in ((top, 15), (middle, 5), (last, 0)):
        expected = before[customer.pk] + bonus if before[customer.pk] > 0 else 0
        assert rows[customer.pk].payment_terms_days == expected
    credit = Actor.for_user(personas["credit_manager"])
    codes = [r["code"] for r in gate.check(credit, top, "100.00").check.reasons]
    assert codes[-1] == "PRIORITY_ALLOCATION"
    assert "PRIORITY_ALLOCATION" not in [
        r["code"] for r in gate.check(credit, middle, "100.00").check.reasons]
    again = runs.run_month(Actor.job("classification.monthly_run"))
    assert again.treated == 0
