"""Property tests of the scorecard (issue 3): a later payment never raises the score; more
overdue never raises the score; the same inputs always give the same result.

Histories are generated invoice by invoice (amount, issue date, terms, payments) and turned into
CreditFacts the way the credit module defines them (credit/services/scoring.py computes the
same numbers in SQL, and credit/tests/test_scoring_facts.py checks that it does), so "a later
payment" is a real change to one payment's date, with every consequence it has on the facts.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from custguard.policy import ScaleBand, load_default_policy
from custguard.policy.credit import CreditAssessment, CreditFacts, assess

POLICY = load_default_policy()
AS_OF = dt.date(2025, 6, 30)
WINDOW = 365
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Bill:
    issued_days_ago: int
    terms_days: int
    amount: Decimal
    payments: tuple[tuple[int, Decimal], ...]  # (days after the issue date, amount)

    @property
    def issued(self) -> dt.date:
        return AS_OF - dt.timedelta(days=self.issued_days_ago)

    @property
    def due(self) -> dt.date:
        return self.issued + dt.timedelta(days=self.terms_days)

    def paid_on(self, offset: int) -> dt.date:
        return self.issued + dt.timedelta(days=offset)


@dataclass(frozen=True)
class History:
    bills: tuple[Bill, ...]
    others: dict[str, Any]  # the facts that payments do not touch (orders, conduct)
    scale: ScaleBand


def facts_of(history: History) -> CreditFacts:
    """The CreditFacts of a history, as of AS_OF (see CreditFacts for the definitions)."""
    start = AS_OF - dt.timedelta(days=WINDOW)
    rows = []
    for bill in history.bills:
        paid = [(bill.paid_on(offset), amount) for offset, amount in bill.payments
                if bill.paid_on(offset) <= AS_OF]
        open_amount = bill.amount - sum((amount for _on, amount in paid), ZERO)
        settled = max(on for on, _amount in paid) if paid and open_amount == 0 else None
        dpd = max(0, ((settled or AS_OF) - bill.due).days)
        rows.append((bill, open_amount, settled, dpd))
    due = [r for r in rows if start < r[0].due <= AS_OF]
    outstanding = [r for r in rows if r[0].due <= AS_OF and (
        r[0].due > start or r[2] is None or r[2] > start)]
    return CreditFacts(
        as_of=AS_OF,
        invoices_due_12m=len(due),
        invoices_paid_on_time_12m=sum(1 for r in due if r[2] is not None and r[2] <= r[0].due),
        max_days_past_due_12m=max((r[3] for r in outstanding), default=0),
        amount_days_past_due_12m=sum((r[0].amount * r[3] for r in due), ZERO),
        amount_due_12m=sum((r[0].amount for r in due), ZERO),
        open_receivable=sum((r[1] for r in rows if r[1] > 0), ZERO),
        overdue_receivable=sum((r[1] for r in rows if r[1] > 0 and r[0].due < AS_OF), ZERO),
        amount_not_yet_due=sum((r[0].amount for r in rows if r[0].due > AS_OF), ZERO),
        sales_12m=sum((r[0].amount for r in rows if r[0].issued > start), ZERO),
        **history.others,
    )


def score_of(history: History) -> CreditAssessment:
    return assess(POLICY, facts_of(history), history.scale)


amounts = st.integers(min_value=1, max_value=5_000_000).map(lambda c: Decimal(c) * CENT)
offsets = st.integers(0, 30) | st.integers(0, 500)  # days from the issue date to a payment


@st.composite
def bills(draw: st.DrawFn) -> Bill:
    amount = draw(amounts)
    parts = draw(st.integers(min_value=0, max_value=3))
    payments: list[tuple[int, Decimal]] = []
    left = amount
    for index in range(parts):
        if left <= 0:
            break
        last = index == parts - 1
        share = left if last and draw(st.booleans()) else (
            draw(st.integers(min_value=1, max_value=int(left / CENT))) * CENT)
        payments.append((draw(offsets), share))
        left -= share
    # Recent bills are common, so that bills not yet due (and paid early) are too.
    return Bill(issued_days_ago=draw(st.integers(0, 130) | st.integers(0, 800)),
                terms_days=draw(st.sampled_from([0, 10, 30, 45, 60, 90, 120])),
                amount=amount, payments=tuple(payments))


@st.composite
def histories(draw: st.DrawFn) -> History:
    orders = draw(st.integers(min_value=0, max_value=60))
    first_order = draw(st.none() | st.integers(min_value=0, max_value=4000))
    others = {
        "first_order_on": None if first_order is None else AS_OF - dt.timedelta(
            days=first_order),
        "order_amount_12m": draw(amounts) if orders else ZERO,
        "order_months_12m": min(12, orders, draw(st.integers(min_value=0, max_value=13))),
        "orders_12m": orders,
        "cancelled_orders_12m": draw(st.integers(min_value=0, max_value=orders)),
        "violation_points_weighted": Decimal(draw(st.integers(min_value=0, max_value=40))),
        "complaints_12m": draw(st.integers(min_value=0, max_value=8)),
    }
    return History(bills=tuple(draw(st.lists(bills(), max_size=12))), others=others,
                   scale=draw(st.sampled_from(list(ScaleBand))))


def _with_bill(history: History, index: int, bill: Bill) -> History:
    changed = list(history.bills)
    changed[index] = bill
    return replace(history, bills=tuple(changed))


def _paid_bills(history: History) -> list[int]:
    return [i for i, bill in enumerate(history.bills) if bill.payments]


@settings(max_examples=400, deadline=None)
@given(history=histories(), data=st.data())
def test_a_later_payment_never_raises_the_score(history: History, data: st.DataObject) -> None:
    paid = _paid_bills(history)
    if not paid:
        return
    index = data.draw(st.sampled_from(paid), label="bill")
    bill = history.bills[index]
    which = data.draw(st.integers(min_value=0, max_value=len(bill.payments) - 1),
                      label="payment")
    delay = data.draw(st.integers(min_value=1, max_value=600), label="days later")
    payments = list(bill.payments)
    offset, amount = payments[which]
    payments[which] = (offset + delay, amount)
    later = _with_bill(history, index, replace(bill, payments=tuple(payments)))
    before, after = score_of(history), score_of(later)
    assert after.score.score <= before.score.score, (facts_of(history), facts_of(later))
    assert after.grade.rank >= before.grade.rank
    assert after.credit_limit <= before.credit_limit


@settings(max_examples=300, deadline=None)
@given(history=histories(), data=st.data())
def test_a_payment_that_never_comes_never_raises_the_score(history: History,
                                                           data: st.DataObject) -> None:
    paid = _paid_bills(history)
    if not paid:
        return
    index = data.draw(st.sampled_from(paid), label="bill")
    bill = history.bills[index]
    which = data.draw(st.integers(min_value=0, max_value=len(bill.payments) - 1),
                      label="payment")
    unpaid = replace(bill, payments=bill.payments[:which] + bill.payments[which + 1:])
    before, after = score_of(history), score_of(_with_bill(history, index, unpaid))
    assert after.score.score <= before.score.score


@settings(max_examples=300, deadline=None)
@given(history=histories(), more_overdue=amounts, more_days=st.integers(0, 400),
       more_weighted_days=st.integers(0, 10**9).map(lambda c: Decimal(c) * CENT))
def test_more_overdue_never_raises_the_score(history: History, more_overdue: Decimal,
                                             more_days: int,
                                             more_weighted_days: Decimal) -> None:
    """On the facts themselves: more overdue receivables, a longer delay, more amount x days."""
    facts = facts_of(history)
    base = assess(POLICY, facts, history.scale).score.score
    changes: list[dict[str, Any]] = [
        {"overdue_receivable": facts.overdue_receivable + more_overdue,
         "open_receivable": facts.open_receivable + more_overdue},
        {"max_days_past_due_12m": facts.max_days_past_due_12m + more_days},
        {"amount_days_past_due_12m": facts.amount_days_past_due_12m + more_weighted_days},
    ]
    changes.append({k: v for change in changes for k, v in change.items()})
    for change in changes:
        worse = replace(facts, **change)
        assert assess(POLICY, worse, history.scale).score.score <= base, change


@settings(max_examples=200, deadline=None)
@given(history=histories())
def test_the_same_inputs_always_give_the_same_result(history: History) -> None:
    facts = facts_of(history)
    first = assess(POLICY, facts, history.scale)
    again = assess(POLICY, copy.deepcopy(facts), history.scale)
    fresh = assess(load_default_policy(), facts_of(copy.deepcopy(history)), history.scale)
    assert first == again == fresh
    assert [r.as_dict() for r in first.score.reasons] == [r.as_dict() for r in
                                                          fresh.score.reasons]
    assert first.credit_limit == fresh.credit_limit
    assert first.limit_reasons == fresh.limit_reasons
