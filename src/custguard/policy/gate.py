"""The order gate's decision: may this customer place an order of this amount on credit now?

Input is what the standing rows hold (one row for the customer, one for its group); output is
the outcome and every reason that applies, with the numbers. The credit module makes the
reservation itself with a conditional UPDATE that re-checks `ceiling()` in the database, so a
decision made on a stale read can never let exposure past the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from .codes import OverLimitAction, RankedCode
from .decisions import Reason, ReasonParam
from .schema import PolicyDocument

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


class GateOutcome(RankedCode):
    """Gate answers, mildest first; the most severe reason decides."""

    ALLOW = "allow"
    HOLD = "hold"
    PREPAY_REQUIRED = "prepay_required"
    DENY = "deny"


@dataclass(frozen=True)
class Exposure:
    """A standing row's credit counters."""

    credit_limit: Decimal
    posted: Decimal
    reserved: Decimal

    @property
    def used(self) -> Decimal:
        return self.posted + self.reserved

    @property
    def available(self) -> Decimal:
        return self.credit_limit - self.used


@dataclass(frozen=True)
class GateRequest:
    amount: Decimal
    customer: Exposure
    group: Exposure | None  # None: not in a group, or the group has no unified limit
    grade: str  # "" while the customer has not been rated
    closed: bool = False
    blacklisted: bool = False
    order_blocked: bool = False
    service_suspended: bool = False
    prepay_only: bool = False  # the standing row's effective flag (grade, override, penalty)
    penalty_prepay: bool = False  # part of prepay_only: a penalty in force imposes it
    days_past_due: int = 0
    priority_allocation: bool = False  # the customer's class puts it first for scarce goods


@dataclass(frozen=True)
class GateDecision:
    outcome: GateOutcome
    reasons: tuple[Reason, ...]
    available_customer: Decimal
    available_group: Decimal | None


def tolerance_factor(policy: PolicyDocument) -> Decimal:
    """Exposure may reach limit x this factor (1 + tolerance)."""
    return 1 + policy.credit.tolerance_percent / HUNDRED


def ceiling(policy: PolicyDocument, credit_limit: Decimal) -> Decimal:
    """The most exposure an allowed order may leave: the limit plus the tolerance, in cents."""
    return (credit_limit * tolerance_factor(policy)).quantize(CENT, rounding=ROUND_FLOOR)


def _action(action: OverLimitAction) -> GateOutcome:
    return GateOutcome.DENY if action == OverLimitAction.DENY else GateOutcome.HOLD


def _limit_reason(code: str, policy: PolicyDocument, amount: Decimal,
                  exposure: Exposure) -> Reason | None:
    top = ceiling(policy, exposure.credit_limit)
    if exposure.used + amount <= top:
        return None
    params: dict[str, ReasonParam] = {
        "amount": amount, "limit": exposure.credit_limit, "used": exposure.used,
        "available": exposure.available, "tolerance_percent": policy.credit.tolerance_percent,
        "shortfall": exposure.used + amount - top,
    }
    return Reason(code, params)


def decide(policy: PolicyDocument, request: GateRequest) -> GateDecision:
    """The outcome is the most severe of every reason that applies; reasons come most severe
    first. Prepayment makes the credit limit irrelevant, so limits are checked only for an
    order on credit."""
    found: list[tuple[GateOutcome, Reason]] = []
    if request.closed:
        found.append((GateOutcome.DENY, Reason("CUSTOMER_CLOSED")))
    if request.blacklisted:
        found.append((GateOutcome.DENY, Reason("BLACKLISTED")))
    if request.order_blocked:
        found.append((GateOutcome.DENY, Reason("ORDER_BLOCKED")))
    if request.service_suspended:
        found.append((GateOutcome.DENY, Reason("SERVICE_SUSPENDED")))
    overdue_limit = policy.credit.overdue_days_limit
    if request.days_past_due > overdue_limit:
        found.append((_action(policy.credit.overdue_action),
                      Reason(f"OVERDUE_GT_{overdue_limit}D",
                             {"days_past_due": request.days_past_due,
                              "limit_days": overdue_limit})))
    prepay = False
    if not request.grade:
        prepay = True
        found.append((GateOutcome.PREPAY_REQUIRED, Reason("NOT_RATED")))
    elif request.prepay_only:
        # The standing row's flag is the effective one: a prepay-only grade sets it, and a
        # credit manager's limit override lifts it.
        prepay = True
        if not request.penalty_prepay and policy.grade_band(request.grade).prepay_only:
            found.append((GateOutcome.PREPAY_REQUIRED,
                          Reason("PREPAY_ONLY_GRADE", {"grade": request.grade})))
        else:
            found.append((GateOutcome.PREPAY_REQUIRED, Reason("PREPAY_ONLY")))
    if not prepay:
        over_action = _action(policy.credit.over_limit_action)
        customer = _limit_reason("LIMIT_EXCEEDED", policy, request.amount, request.customer)
        if customer is not None:
            found.append((over_action, customer))
        if request.group is not None:
            group = _limit_reason("GROUP_LIMIT_EXCEEDED", policy, request.amount, request.group)
            if group is not None:
                found.append((over_action, group))
    if not found:
        found.append((GateOutcome.ALLOW, Reason("WITHIN_LIMIT", {
            "amount": request.amount,
            "available_after": request.customer.available - request.amount})))
    found.sort(key=lambda item: -item[0].rank)
    if request.priority_allocation:
        # Not a reason for the outcome: what the ERP should know when stock is short.
        found.append((GateOutcome.ALLOW, Reason("PRIORITY_ALLOCATION")))
    return GateDecision(
        outcome=found[0][0],
        reasons=tuple(reason for _outcome, reason in found),
        available_customer=request.customer.available,
        available_group=request.group.available if request.group is not None else None,
    )
