"""Stable codes used by policy documents and decisions.

Every enumerated value in a policy document is an upper-case code. Codes are data: they are
stored, compared and shown through labels, never renamed. Where an order matters (severity,
measures, grades, priorities), the order of the members below is that order.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Self


class RankedCode(StrEnum):
    """A code whose members are listed in a meaningful order; `rank` is the position."""

    @property
    def rank(self) -> int:
        return list(type(self)).index(self)

    @classmethod
    def ordered(cls) -> tuple[Self, ...]:
        return tuple(cls)


class Severity(RankedCode):
    """Severity of a violation type, mildest first."""

    MINOR = "MINOR"
    MAJOR = "MAJOR"
    SEVERE = "SEVERE"
    CRITICAL = "CRITICAL"


class Measure(RankedCode):
    """What a penalty does, mildest first. A step of the ladder may take several measures; the
    step is as severe as its most severe measure.

    WARNING               a warning on record
    WRITTEN_REMINDER      a formal written reminder (书面提醒)
    FINE                  a fine: the contract clause's amount where one exists, else the step's
    POINTS_DEDUCTION      loyalty points taken off the balance
    POINTS_FREEZE         the points balance can be neither earned nor spent while it lasts
    CREDIT_LIMIT_REDUCTION  the credit limit cut to the step's credit_limit_percent
    PREPAY_ONLY           orders only against prepayment
    ORDER_BLOCK           no orders at all
    SERVICE_SUSPENSION    supply and service suspended
    BLACKLIST_PROPOSAL    a blacklist entry proposed for a credit manager's approval
    TERMINATION           cooperation terminated (lasts until lifted)
    LEGAL_REFERRAL        the case handed to the legal department
    """

    WARNING = "WARNING"
    WRITTEN_REMINDER = "WRITTEN_REMINDER"
    FINE = "FINE"
    POINTS_DEDUCTION = "POINTS_DEDUCTION"
    POINTS_FREEZE = "POINTS_FREEZE"
    CREDIT_LIMIT_REDUCTION = "CREDIT_LIMIT_REDUCTION"
    PREPAY_ONLY = "PREPAY_ONLY"
    ORDER_BLOCK = "ORDER_BLOCK"
    SERVICE_SUSPENSION = "SERVICE_SUSPENSION"
    BLACKLIST_PROPOSAL = "BLACKLIST_PROPOSAL"
    TERMINATION = "TERMINATION"
    LEGAL_REFERRAL = "LEGAL_REFERRAL"


class ViolationCategory(StrEnum):
    """What kind of rule a violation type breaks."""

    PAYMENT_DEFAULT = "PAYMENT_DEFAULT"
    CONTRACT_BREACH = "CONTRACT_BREACH"
    FRAUD = "FRAUD"
    CROSS_REGION_SALES = "CROSS_REGION_SALES"
    PRICE_VIOLATION = "PRICE_VIOLATION"
    SERVICE_ABUSE = "SERVICE_ABUSE"
    MISCONDUCT = "MISCONDUCT"
    IP_INFRINGEMENT = "IP_INFRINGEMENT"
    CONFIDENTIALITY = "CONFIDENTIALITY"
    BRIBERY = "BRIBERY"
    OTHER = "OTHER"


class RoleCode(StrEnum):
    """The staff roles a policy may name (e.g. who approves a measure). The role's group in the
    application is the lower-case code."""

    ADMIN = "ADMIN"
    CREDIT_MANAGER = "CREDIT_MANAGER"
    SALES_MANAGER = "SALES_MANAGER"
    ACCOUNT_MANAGER = "ACCOUNT_MANAGER"
    CUSTOMER_SERVICE = "CUSTOMER_SERVICE"
    FINANCE = "FINANCE"
    AUDITOR = "AUDITOR"

    @property
    def group(self) -> str:
        return self.value.lower()


class GradeCode(RankedCode):
    """Credit grades, best first. BB and below are speculative (riskier) grades."""

    AAA = "AAA"
    AA = "AA"
    A = "A"
    BBB = "BBB"
    BB = "BB"
    B = "B"
    C = "C"
    D = "D"

    @property
    def speculative(self) -> bool:
        return self.rank >= GradeCode.BB.rank


class Unit(StrEnum):
    """Unit of a scorecard factor value or an alert metric."""

    PERCENT = "PERCENT"
    DAYS = "DAYS"
    MONTHS = "MONTHS"
    AMOUNT = "AMOUNT"
    COUNT = "COUNT"
    POINTS = "POINTS"
    RATIO = "RATIO"


class FactorCode(StrEnum):
    """Scorecard inputs that the credit module computes from facts.

    ON_TIME_PAYMENT_RATE_12M  percent of invoices due in the last 12 months paid by their due date
    MAX_DAYS_PAST_DUE         largest days past due of any invoice in the last 12 months
    AVG_DAYS_PAST_DUE         amount-weighted average days past due over the last 12 months
    OVERDUE_RATIO             overdue receivables as a percent of what was billed for the window
                              (due in the last 12 months, or not yet due)
    RELATIONSHIP_MONTHS       whole months since the customer's first order
    ORDER_VOLUME_12M          order amount of the last 12 months, in the policy currency
    ORDER_REGULARITY          months of the last 12 with at least one order (0-12)
    VIOLATION_POINTS_WEIGHTED points of confirmed violations, weighted by recency
    COMPLAINTS_12M            substantiated complaints about the customer's conduct, last 12 months
    FULFILMENT_RATE           percent of contracted orders the customer took and paid as agreed
    """

    ON_TIME_PAYMENT_RATE_12M = "ON_TIME_PAYMENT_RATE_12M"
    MAX_DAYS_PAST_DUE = "MAX_DAYS_PAST_DUE"
    AVG_DAYS_PAST_DUE = "AVG_DAYS_PAST_DUE"
    OVERDUE_RATIO = "OVERDUE_RATIO"
    RELATIONSHIP_MONTHS = "RELATIONSHIP_MONTHS"
    ORDER_VOLUME_12M = "ORDER_VOLUME_12M"
    ORDER_REGULARITY = "ORDER_REGULARITY"
    VIOLATION_POINTS_WEIGHTED = "VIOLATION_POINTS_WEIGHTED"
    COMPLAINTS_12M = "COMPLAINTS_12M"
    FULFILMENT_RATE = "FULFILMENT_RATE"

    @property
    def unit(self) -> Unit:
        return _FACTOR_UNITS[self]

    @property
    def may_be_missing(self) -> bool:
        """A value that has no meaning without history (a rate of zero invoices), so the
        scorecard must say what a customer without that history scores."""
        return self in _MAY_BE_MISSING


_MAY_BE_MISSING = frozenset({"ON_TIME_PAYMENT_RATE_12M", "OVERDUE_RATIO", "FULFILMENT_RATE"})

_FACTOR_UNITS = {
    FactorCode.ON_TIME_PAYMENT_RATE_12M: Unit.PERCENT,
    FactorCode.MAX_DAYS_PAST_DUE: Unit.DAYS,
    FactorCode.AVG_DAYS_PAST_DUE: Unit.DAYS,
    FactorCode.OVERDUE_RATIO: Unit.PERCENT,
    FactorCode.RELATIONSHIP_MONTHS: Unit.MONTHS,
    FactorCode.ORDER_VOLUME_12M: Unit.AMOUNT,
    FactorCode.ORDER_REGULARITY: Unit.MONTHS,
    FactorCode.VIOLATION_POINTS_WEIGHTED: Unit.POINTS,
    FactorCode.COMPLAINTS_12M: Unit.COUNT,
    FactorCode.FULFILMENT_RATE: Unit.PERCENT,
}


class ScaleBand(RankedCode):
    """Enterprise scale (企业规模), smallest first."""

    MICRO = "MICRO"
    SMALL = "SMALL"
    MEDIUM = "MEDIUM"
    LARGE = "LARGE"


class OverLimitAction(StrEnum):
    """What the order gate does with an order that would exceed the credit limit."""

    HOLD = "HOLD"
    DENY = "DENY"


class BlacklistKind(StrEnum):
    """How a blacklist criterion is evaluated; each kind uses its own fields."""

    OVERDUE = "OVERDUE"
    REPEAT_VIOLATION = "REPEAT_VIOLATION"
    VIOLATION_TYPE = "VIOLATION_TYPE"


class PointsExpiry(StrEnum):
    """When a lot of earned points expires."""

    MONTHS_AFTER_EARNING = "MONTHS_AFTER_EARNING"
    END_OF_FOLLOWING_YEAR = "END_OF_FOLLOWING_YEAR"


class Rounding(StrEnum):
    """How earned points are rounded to whole points."""

    FLOOR = "FLOOR"
    HALF_UP = "HALF_UP"
    CEILING = "CEILING"

    def apply(self, value: Decimal) -> int:
        mode = {
            Rounding.FLOOR: ROUND_FLOOR,
            Rounding.HALF_UP: ROUND_HALF_UP,
            Rounding.CEILING: ROUND_CEILING,
        }[self]
        return int(value.quantize(Decimal(1), rounding=mode))


class AlertMetric(StrEnum):
    """Measures an alert rule can watch, per customer unless noted."""

    CREDIT_UTILIZATION_PERCENT = "CREDIT_UTILIZATION_PERCENT"
    DAYS_PAST_DUE = "DAYS_PAST_DUE"
    OVERDUE_AMOUNT = "OVERDUE_AMOUNT"
    SCORE_DROP_30D = "SCORE_DROP_30D"
    SALES_DROP_PERCENT = "SALES_DROP_PERCENT"
    ORDER_AMOUNT_ZSCORE = "ORDER_AMOUNT_ZSCORE"
    OPEN_COMPLAINTS = "OPEN_COMPLAINTS"
    COMPLAINT_SLA_BREACHES = "COMPLAINT_SLA_BREACHES"
    VIOLATIONS_90D = "VIOLATIONS_90D"
    RECONCILIATION_DRIFT_AMOUNT = "RECONCILIATION_DRIFT_AMOUNT"

    @property
    def unit(self) -> Unit:
        return _METRIC_UNITS[self]


_METRIC_UNITS = {
    AlertMetric.CREDIT_UTILIZATION_PERCENT: Unit.PERCENT,
    AlertMetric.DAYS_PAST_DUE: Unit.DAYS,
    AlertMetric.OVERDUE_AMOUNT: Unit.AMOUNT,
    AlertMetric.SCORE_DROP_30D: Unit.POINTS,
    AlertMetric.SALES_DROP_PERCENT: Unit.PERCENT,
    AlertMetric.ORDER_AMOUNT_ZSCORE: Unit.RATIO,
    AlertMetric.OPEN_COMPLAINTS: Unit.COUNT,
    AlertMetric.COMPLAINT_SLA_BREACHES: Unit.COUNT,
    AlertMetric.VIOLATIONS_90D: Unit.COUNT,
    AlertMetric.RECONCILIATION_DRIFT_AMOUNT: Unit.AMOUNT,
}


class Comparison(StrEnum):
    """Comparison of an alert rule: metric OPERATOR threshold."""

    GT = "GT"
    GTE = "GTE"
    LT = "LT"
    LTE = "LTE"

    def holds(self, value: Decimal, threshold: Decimal) -> bool:
        match self:
            case Comparison.GT:
                return value > threshold
            case Comparison.GTE:
                return value >= threshold
            case Comparison.LT:
                return value < threshold
            case Comparison.LTE:
                return value <= threshold


class AlertSeverity(RankedCode):
    """Severity of a raised alert, mildest first."""

    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


class ComplaintPriority(RankedCode):
    """Complaint priority, most urgent first."""

    URGENT = "URGENT"
    HIGH = "HIGH"
    NORMAL = "NORMAL"
    LOW = "LOW"
