"""Points for paid invoices, through the ledger's own services: earning once paid in full, the
on-time bonus, the holding period, credit notes and reversals taking points back, debt, caps,
and points withheld while frozen or blacklisted."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.customers.models import Customer, Standing
from custguard.ledger.tests.conftest import NOW, TODAY, days
from custguard.ledger.tests.factories import credit_note, invoice, payment, reversal
from custguard.rewards.models import InvoiceEarning, PointsAccount, PointsEntry, PointsLot
from custguard.rewards.services import accounts, adjustments, expiry

pytestmark = pytest.mark.django_db


def balance(customer: Customer) -> int:
    return Standing.objects.get(pk=customer.pk).points_balance


def account(customer: Customer) -> PointsAccount:
    return PointsAccount.objects.get(pk=customer.pk)


def codes(entry: PointsEntry) -> list[str]:
    return [reason["code"] for reason in entry.reasons]


def no_drift() -> None:
    assert accounts.reconcile().drifts == []


def paid_invoice(finance: Actor, customer: Customer, ext: str, amount: str, *,
                 due: dt.date | None = None, paid: dt.date = TODAY) -> None:
    invoice(finance, customer, ext, amount, issued=days(-10), due=due or days(20))
    payment(finance, customer, f"PAY-{ext}", amount, to=[(ext, amount)], on=paid)


def test_an_invoice_paid_in_full_on_time_earns_pending_points(
        finance: Actor, customer: Customer, policy: Any) -> None:
    invoice(finance, customer, "INV-1", "10000.00", issued=days(-10), due=days(20))
    payment(finance, customer, "PAY-1", "4000.00", to=[("INV-1", "4000.00")])
    assert not PointsEntry.objects.exists()  # partly paid: nothing yet

    payment(finance, customer, "PAY-2", "6000.00", to=[("INV-1", "6000.00")])
    # 10,000.00 × 0.01 = 100 points, and 10 % for paying by the due date.
    earned = PointsEntry.objects.get(kind=PointsEntry.Kind.EARN)
    assert earned.points == 110
    assert codes(earned) == ["POINTS_EARNED", "POINTS_ON_TIME_BONUS"]
    assert earned.policy_version == policy.number
    lot = PointsLot.objects.get()
    assert (lot.remaining, lot.available) == (110, False)
    assert lot.available_on == TODAY + dt.timedelta(days=30)  # the holding period
    assert lot.expires_on == dt.date(2027, 6, 30)  # the end of the month 24 months on
    assert (balance(customer), account(customer).pending) == (0, 110)
    no_drift()


def test_a_late_payment_earns_no_bonus(finance: Actor, customer: Customer,
                                       policy: Any) -> None:
    paid_invoice(finance, customer, "INV-1", "10000.00", due=days(-5))
    assert PointsEntry.objects.get(kind=PointsEntry.Kind.EARN).points == 100


def test_the_holding_period_ends_and_the_points_become_available(
        finance: Actor, customer: Customer, policy: Any) -> None:
    paid_invoice(finance, customer, "INV-1", "10000.00")
    job = Actor.job("rewards.mature_points")
    assert expiry.mature_due(job, TODAY + dt.timedelta(days=29)) == 0
    assert expiry.mature_due(job, TODAY + dt.timedelta(days=30)) == 1
    assert (balance(customer), account(customer).pending) == (110, 0)
    assert PointsLot.objects.get().available
    assert expiry.mature_due(job, TODAY + dt.timedelta(days=31)) == 0  # once
    no_drift()


def test_a_credit_note_takes_back_the_same_share_of_the_points(
        finance: Actor, customer: Customer, policy: Any) -> None:
    paid_invoice(finance, customer, "INV-1", "10000.00")
    credit_note(finance, customer, "CN-1", "INV-1", "2500.00")
    taken = PointsEntry.objects.get(kind=PointsEntry.Kind.REVERSE)
    # A quarter of the money came back: 110 × 7,500 / 10,000 = 82.5 → 82 stay, 28 go.
    assert taken.points == -28
    assert codes(taken) == ["POINTS_CREDIT_NOTE"]
    earning = InvoiceEarning.objects.get()
    assert (earning.points, str(earning.basis)) == (82, "7500.00")
    assert account(customer).pending == 82
    credit_note(finance, customer, "CN-2", "INV-1", "7500.00")  # all of it returned
    assert InvoiceEarning.objects.get().points == 0
    assert account(customer).pending == 0
    no_drift()


def test_a_reversed_payment_takes_all_back_and_paying_again_earns_again(
        finance: Actor, customer: Customer, policy: Any) -> None:
    paid_invoice(finance, customer, "INV-1", "10000.00")
    reversal(finance, customer, "REV-1", "PAY-INV-1")
    assert account(customer).pending == 0
    assert codes(PointsEntry.objects.get(kind=PointsEntry.Kind.REVERSE)) == [
        "POINTS_INVOICE_REOPENED"]
    payment(finance, customer, "PAY-AGAIN", "10000.00", to=[("INV-1", "10000.00")])
    assert PointsEntry.objects.filter(kind=PointsEntry.Kind.EARN).count() == 2
    assert account(customer).pending == 110
    no_drift()


def test_points_spent_before_a_return_become_debt_that_the_next_points_pay_off(
        finance: Actor, customer: Customer, policy: Any) -> None:
    paid_invoice(finance, customer, "INV-1", "10000.00")
    expiry.mature_due(Actor.job("t"), TODAY + dt.timedelta(days=30))
    with clock.frozen_at(NOW + dt.timedelta(days=31)):
        adjustments.adjust(Actor.system("t"), customer, -100, note="兑换礼品")
        assert balance(customer) == 10
        reversal(finance, customer, "REV-1", "PAY-INV-1", on=days(31))
        # 110 taken back: the 10 left in the lot, and 100 the customer no longer has.
        assert (balance(customer), account(customer).debt) == (-100, 100)
        paid_invoice(finance, customer, "INV-2", "20000.00", due=days(60), paid=days(31))
        assert account(customer).pending == 220  # pending points do not pay off debt yet
    expiry.mature_due(Actor.job("t"), days(61))
    assert (balance(customer), account(customer).debt) == (120, 0)
    assert PointsLot.objects.get(invoice__external_id="INV-2").remaining == 120
    no_drift()


def test_caps_per_order_and_per_month_say_what_they_cut(
        finance: Actor, customer: Customer, capped_policy: Any) -> None:
    for ext, order in (("INV-1", "SO-1"), ("INV-2", "SO-1"), ("INV-3", "SO-2")):
        invoice(finance, customer, ext, "5000.00", issued=days(-10), due=days(20),
                order_source="erp", order_external_id=order)
    for ext in ("INV-1", "INV-2", "INV-3"):
        payment(finance, customer, f"PAY-{ext}", "5000.00", to=[(ext, "5000.00")])
    earned = {entry.invoice.external_id: entry for entry in
              PointsEntry.objects.filter(kind=PointsEntry.Kind.EARN).select_related("invoice")}
    # 50 points each; order SO-1 may earn 60 in all, the month 100.
    assert earned["INV-1"].points == 50
    assert earned["INV-2"].points == 10
    assert earned["INV-2"].reasons[-1] == {"code": "POINTS_ORDER_CAP",
                                           "params": {"cap": 60, "capped": 40}}
    assert earned["INV-3"].points == 40
    assert earned["INV-3"].reasons[-1]["code"] == "POINTS_MONTH_CAP"


def test_a_frozen_customer_earns_withheld_points(finance: Actor, customer: Customer,
                                                 policy: Any) -> None:
    Standing.objects.filter(pk=customer.pk).update(points_frozen=True)
    paid_invoice(finance, customer, "INV-1", "10000.00")
    withheld = PointsEntry.objects.get()
    assert (withheld.kind, withheld.points, withheld.withheld) == ("withhold", 0, 110)
    assert codes(withheld)[0] == "POINTS_FROZEN_WITHHELD"
    assert not PointsLot.objects.exists()
    assert (balance(customer), account(customer).withheld) == (0, 110)
    no_drift()


def test_a_blacklisted_customer_earns_nothing_it_can_use(finance: Actor, customer: Customer,
                                                         policy: Any) -> None:
    Standing.objects.filter(pk=customer.pk).update(blacklisted=True)
    paid_invoice(finance, customer, "INV-1", "10000.00")
    assert codes(PointsEntry.objects.get())[0] == "POINTS_BLACKLISTED_WITHHELD"
    assert balance(customer) == 0 and account(customer).withheld == 110


def test_expiry_ends_what_is_left_and_the_customer_is_told_first(
        finance: Actor, customer: Customer, policy: Any, mailoutbox: list[Any]) -> None:
    from custguard.customers.models import Contact

    Contact.objects.create(customer=customer, name="王经理", email="wang@example.com",
                           is_primary=True)
    adjustments.adjust(Actor.system("t"), customer, 300, note="开户礼")
    lot = PointsLot.objects.get()
    job = Actor.job("t")
    assert expiry.notify_expiring(job, lot.expires_on - dt.timedelta(days=31)) == 0
    assert expiry.notify_expiring(job, lot.expires_on - dt.timedelta(days=30)) == 1
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["wang@example.com"]
    assert "300" in mailoutbox[0].body
    assert expiry.notify_expiring(job, lot.expires_on - dt.timedelta(days=29)) == 0  # once
    assert expiry.expire_due(job, lot.expires_on) == 0  # its last day: still usable
    assert expiry.expire_due(job, lot.expires_on + dt.timedelta(days=1)) == 1
    expired = PointsEntry.objects.get(kind=PointsEntry.Kind.EXPIRE)
    assert expired.points == -300
    assert (balance(customer), account(customer).expired_total) == (0, 300)
    no_drift()


def test_an_imported_payment_file_earns_as_posting_one_by_one_does(
        finance: Actor, customer: Customer, other_customer: Customer, policy: Any) -> None:
    from custguard.ledger.importing import import_facts

    for who, ext in ((customer, "A"), (customer, "B"), (other_customer, "C")):
        invoice(finance, who, ext, "10000.00", issued=days(-10), due=days(20))
    rows = [f"{customer.code},P-1,{TODAY},10000.00,A,10000.00",
            f"{customer.code},P-2,{TODAY},4000.00,B,4000.00",
            f"{other_customer.code},P-3,{TODAY},10000.00,C,10000.00"]
    data = "\n".join(["customer,external_id,received_on,amount,invoice_external_id,"
                      "allocated_amount", *rows]).encode()
    result = import_facts(finance, "payments", data, "p.csv", source="erp")
    assert result.ok, result.problems
    earned = dict(PointsEntry.objects.filter(kind=PointsEntry.Kind.EARN)
                  .values_list("invoice__external_id", "points"))
    assert earned == {"A": 110, "C": 110}  # B is not paid in full
    assert account(customer).pending == 110 and account(other_customer).pending == 110
    no_drift()


@pytest.mark.parametrize(("tier", "points", "tier_reason"), [
    ("GOLD", 132, True),  # 10,000.00 × 0.01 × 1.2 = 120, and 10 % on time
    ("", 110, False),  # no tier yet: the entry tier's multiplier (1)
    ("PLATINUM", 110, False),  # a tier the policy no longer has: the entry tier's
])
def test_the_membership_tier_on_the_standing_row_multiplies_the_points(
        finance: Actor, customer: Customer, policy: Any, tier: str, points: int,
        tier_reason: bool) -> None:
    Standing.objects.filter(pk=customer.pk).update(tier=tier)
    paid_invoice(finance, customer, "INV-1", "10000.00")
    earned = PointsEntry.objects.get(kind=PointsEntry.Kind.EARN)
    assert earned.points == points
    assert ("POINTS_TIER_MULTIPLIER" in codes(earned)) is tier_reason
    if tier_reason:
        multiplied = next(r for r in earned.reasons if r["code"] == "POINTS_TIER_MULTIPLIER")
        assert multiplied["params"] == {"multiplier": "1.2", "tier": "GOLD"}
