"""The policy's membership section: the tiers (普通 / 银卡 / 金卡 / 钻石 by default), what
qualifies a customer for each over a rolling window, what each brings, how long a customer
keeps a tier it no longer qualifies for, and the day of the month the tiers are evaluated.
Part of the policy document (`schema.PolicyDocument`); the same rules as schema.py apply (no
defaults that decide anything).
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import (
    Amount,
    Code,
    Issue,
    Number,
    Percent,
    PolicyModel,
    Text,
    duplicate_codes,
    raise_issues,
)
from .codes import GradeCode

ServiceLevel = Literal["STANDARD", "PRIORITY", "DEDICATED", "VIP"]


class TierQualification(PolicyModel):
    """Every rule must be met over the section's window: at least min_paid_spend paid (payments
    applied to the customer's invoices, net of reversals), at least min_orders invoices issued,
    at least min_on_time_percent of the amount settled paid by its due date (null: no rule;
    a customer that settled nothing does not meet a rule that is set), and a credit grade of
    min_grade or better (null: any grade, or none)."""

    min_paid_spend: Amount
    min_orders: Annotated[int, Field(strict=True, ge=0, le=1_000_000)]
    min_on_time_percent: Percent | None
    min_grade: GradeCode | None

    @property
    def empty(self) -> bool:
        return (self.min_paid_spend == 0 and self.min_orders == 0
                and self.min_on_time_percent is None and self.min_grade is None)


class TierBenefits(PolicyModel):
    """What the tier brings: points earned × points_multiplier, the coupons (definition codes
    of the coupons section) issued each time a customer reaches the tier, the service level
    sales and service work to, and days credit adds to the payment terms the grade gives."""

    points_multiplier: Annotated[Number, Field(ge=1, le=10)]
    coupons_on_reaching: tuple[Code, ...]
    service_level: ServiceLevel
    payment_term_bonus_days: Annotated[int, Field(strict=True, ge=0, le=180)]


class MembershipTier(PolicyModel):
    """A tier; grace_months is its retention rule: a customer found below it keeps it that many
    months before it moves one tier down (0: at the evaluation that finds it below)."""

    code: Code
    name_zh: Text
    name_en: Text
    qualification: TierQualification
    benefits: TierBenefits
    grace_months: Annotated[int, Field(strict=True, ge=0, le=24)]

    def name(self, language: str) -> str:
        return self.name_zh if language.startswith("zh") else self.name_en


def _grade_rank(grade: GradeCode | None) -> int:
    """Higher is stricter; no grade rule is the loosest."""
    return -1 if grade is None else len(GradeCode) - grade.rank


def check_tiers(tiers: tuple[MembershipTier, ...]) -> list[Issue]:
    issues = duplicate_codes(tiers)
    if tiers and not tiers[0].qualification.empty:
        issues.append(((0, "qualification"), "the first tier is the entry tier: it must have no "
                       "thresholds (0, 0, null, null)"))
    for i, (lower, tier) in enumerate(pairwise(tiers), start=1):
        low, high = lower.qualification, tier.qualification
        for name, below, above in (
                ("min_paid_spend", low.min_paid_spend, high.min_paid_spend),
                ("min_orders", low.min_orders, high.min_orders),
                ("min_on_time_percent", low.min_on_time_percent or 0,
                 high.min_on_time_percent or 0)):
            if above < below:
                issues.append(((i, "qualification", name),
                               f"must not be below that of {lower.code} ({below})"))
        if _grade_rank(high.min_grade) < _grade_rank(low.min_grade):
            issues.append(((i, "qualification", "min_grade"),
                           f"must not be looser than that of {lower.code} "
                           f"({low.min_grade})"))
        if high == low:
            issues.append(((i, "qualification"),
                           f"must ask more than {lower.code} in at least one rule"))
        if tier.benefits.points_multiplier < lower.benefits.points_multiplier:
            issues.append(((i, "benefits", "points_multiplier"),
                           f"must not be below that of {lower.code} "
                           f"({lower.benefits.points_multiplier})"))
    return issues


class Membership(PolicyModel):
    """The tiers from the entry tier upward. On evaluation_day each month (and on demand) each
    customer's facts over the last window_months are held against the tiers: it moves up at
    once to the highest tier it qualifies for; below its tier it keeps it for that tier's
    grace_months, then moves one tier down. A manual assignment lasts at most
    manual_max_days."""

    window_months: Annotated[int, Field(strict=True, ge=1, le=36)]
    evaluation_day: Annotated[int, Field(strict=True, ge=1, le=28)]
    manual_max_days: Annotated[int, Field(strict=True, ge=1, le=3660)]
    tiers: tuple[MembershipTier, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _tiers(self) -> Membership:
        raise_issues("Membership", [(("tiers", *loc), message)
                                    for loc, message in check_tiers(self.tiers)])
        return self

    @property
    def entry(self) -> MembershipTier:
        return self.tiers[0]

    def tier(self, code: str) -> MembershipTier | None:
        return next((tier for tier in self.tiers if tier.code == code), None)

    def index(self, code: str) -> int | None:
        return next((i for i, tier in enumerate(self.tiers) if tier.code == code), None)

    def multiplier(self, code: str) -> Decimal:
        """The points multiplier of the customer's tier (the entry tier's when it has none or
        one the policy no longer has)."""
        return (self.tier(code) or self.entry).benefits.points_multiplier
