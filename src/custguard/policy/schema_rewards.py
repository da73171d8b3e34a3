"""The policy's sections about rewarding customers: the classification (monthly ABC shares and
score, value tiers, the treatment of each class) and the points rules. Part
of the policy document (`schema.PolicyDocument`), kept apart so that neither file grows past
what one reader takes in; the same rules as schema.py apply (no defaults that decide anything).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from .base import (
    Amount,
    Code,
    Days,
    Flag,
    Issue,
    Number,
    Percent,
    PolicyModel,
    Text,
    duplicate_codes,
    raise_issues,
)
from .codes import PointsExpiry, Rounding
from .schema_rules import check_value_tiers


class AbcShares(PolicyModel):
    """The monthly ABC classification. Within each sales region (customers whose region codes
    share their first region_digits digits; 0: all customers together), customers are ranked by
    a score: the weighted percentile ranks of their paid sales over sales_window_months, their
    on-time payment share and their growth on the window before. The top a_percent are A, the
    next b_percent B, the rest C. Customers of the c_by_rule_kinds are C by rule; a customer
    created less than new_customer_months ago starts in new_customer_class. Moves are
    proposals: an A customer below its share is first reminded (its account manager answers
    within reminder_response_days) and proposed for B only if it is below again the next month;
    a B customer is proposed for A only with at least upgrade_min_growth_percent growth. The run
    happens on run_day; proposals are decided by close_day at close_time (local time)."""

    a_percent: Annotated[Percent, Field(gt=0)]
    b_percent: Annotated[Percent, Field(gt=0)]
    c_percent: Annotated[Percent, Field(gt=0)]
    sales_window_months: Annotated[int, Field(strict=True, ge=1, le=36)]
    weight_sales: Percent
    weight_payment: Percent
    weight_growth: Percent
    region_digits: Literal[0, 2, 4, 6]
    c_by_rule_kinds: tuple[Literal["enterprise", "dealer", "individual"], ...]
    new_customer_months: Annotated[int, Field(strict=True, ge=0, le=36)]
    new_customer_class: Literal["A", "B", "C"]
    upgrade_min_growth_percent: Annotated[Number, Field(ge=-100, le=10_000)]
    reminder_response_days: Days
    run_day: Annotated[int, Field(strict=True, ge=1, le=28)]
    close_day: Annotated[int, Field(strict=True, ge=1, le=28)]
    close_time: Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]

    @model_validator(mode="after")
    def _sum(self) -> AbcShares:
        issues: list[Issue] = []
        total = self.a_percent + self.b_percent + self.c_percent
        if total != 100:
            issues.append(((), f"A, B and C shares must add up to 100, not {total}"))
        weights = self.weight_sales + self.weight_payment + self.weight_growth
        if weights != 100:
            issues.append((("weight_sales",),
                           f"the score's weights must add up to 100, not {weights}"))
        if self.close_day < self.run_day:
            issues.append((("close_day",), f"the run closes on day {self.close_day}, before "
                                           f"it runs on day {self.run_day}"))
        raise_issues("AbcShares", issues)
        return self


class ValueTier(PolicyModel):
    """A value segment (战略 / 重要 / 一般 / 潜在), set with the monthly classification run.
    Segments are tried in order; the first whose thresholds are all met applies: paid sales over
    the run's sales window (min_sales_12m: the window is 12 months by default) and growth on the
    window before. The last segment has no thresholds so that every customer gets one. `team`
    is who looks after the segment: ACCOUNT_MANAGER (the customer's named account manager, with
    a care visit every care_interval_days), SALES_TEAM or MARKETING (follow-up)."""

    code: Code
    min_sales_12m: Amount
    min_growth_percent: Annotated[Number, Field(ge=-100, le=10_000)] | None
    team: Literal["ACCOUNT_MANAGER", "SALES_TEAM", "MARKETING"]
    care_interval_days: Annotated[int, Field(strict=True, ge=1, le=366)] | None
    description_zh: Text
    description_en: Text

    @model_validator(mode="after")
    def _care(self) -> ValueTier:
        if self.team == "ACCOUNT_MANAGER" and self.care_interval_days is None:
            raise_issues("ValueTier", [(("care_interval_days",),
                                        "ACCOUNT_MANAGER needs care_interval_days")])
        if self.team != "ACCOUNT_MANAGER" and self.care_interval_days is not None:
            raise_issues("ValueTier", [(("care_interval_days",), "applies only to "
                                        f"ACCOUNT_MANAGER, not {self.team}")])
        return self

    def description(self, language: str) -> str:
        return self.description_zh if language.startswith("zh") else self.description_en


class ClassTreatment(PolicyModel):
    """How a class is treated: scarce goods first (the order gate says so), days added to the
    payment terms the grade gives, promotion support and first access to new products (lists
    for sales and marketing)."""

    abc: Literal["A", "B", "C"]
    priority_allocation: Flag
    payment_term_bonus_days: Annotated[int, Field(strict=True, ge=0, le=180)]
    promotion_support: Flag
    new_products_first: Flag


class Classification(PolicyModel):
    abc: AbcShares
    treatments: tuple[ClassTreatment, ...]
    value_tiers: tuple[ValueTier, ...] = Field(min_length=1)

    @field_validator("treatments")
    @classmethod
    def _treatments(cls, value: tuple[ClassTreatment, ...]) -> tuple[ClassTreatment, ...]:
        classes = [item.abc for item in value]
        if sorted(classes) != ["A", "B", "C"]:
            raise_issues("Classification", [((), "give one treatment for each of A, B and C, "
                                                 f"not {', '.join(classes) or 'none'}")])
        return value

    def treatment(self, abc: str) -> ClassTreatment:
        return next(item for item in self.treatments if item.abc == abc)

    def value_tier(self, code: str) -> ValueTier | None:
        return next((item for item in self.value_tiers if item.code == code), None)

    @field_validator("value_tiers")
    @classmethod
    def _value_tiers(cls, value: tuple[ValueTier, ...]) -> tuple[ValueTier, ...]:
        raise_issues("Classification", check_value_tiers(value))
        return value


class PointsCampaign(PolicyModel):
    """A multiplier for the invoices issued from starts_on to ends_on (both included)."""

    code: Code
    multiplier: Annotated[Number, Field(gt=0, le=10)]
    starts_on: date
    ends_on: date
    description_zh: Text
    description_en: Text

    @model_validator(mode="after")
    def _window(self) -> PointsCampaign:
        if self.ends_on < self.starts_on:
            raise_issues("PointsCampaign", [(("ends_on",),
                                             f"the campaign ends on {self.ends_on}, before it "
                                             f"starts on {self.starts_on}")])
        return self


class PointsRules(PolicyModel):
    """Points are earned on paid invoices: once an invoice is paid in full, it earns
    rounding(paid amount net of credit notes * points_per_unit * the membership tier's
    points_multiplier * the multiplier of the campaign its issue date falls in), plus
    on_time_bonus_percent of that when it was paid by its due date; capped per order and per
    calendar month (null: no cap). Earned points are pending for holding_days, then available;
    each earning is a lot that expires by `expiry` (MONTHS_AFTER_EARNING: at the end of the
    month expiry_months after the month earned; END_OF_FOLLOWING_YEAR: on 31 December of the
    next year). A point is worth redemption_value in money (cash-back and the liability)."""

    points_per_unit: Annotated[Number, Field(gt=0, le=1000)]
    rounding: Rounding
    holding_days: Annotated[int, Field(strict=True, ge=0, le=365)]
    expiry: PointsExpiry
    expiry_months: Annotated[int, Field(strict=True, ge=1, le=120)] | None
    expiry_notice_days: Annotated[int, Field(strict=True, ge=0, le=365)]
    on_time_bonus_percent: Annotated[Percent, Field(le=100)]
    cap_per_order: Annotated[int, Field(strict=True, ge=1, le=1_000_000_000)] | None
    cap_per_month: Annotated[int, Field(strict=True, ge=1, le=1_000_000_000)] | None
    redemption_value: Annotated[Number, Field(gt=0, le=1000)]
    restore_withheld_on_lapse: Flag
    campaigns: tuple[PointsCampaign, ...]

    @model_validator(mode="after")
    def _rules(self) -> PointsRules:
        issues: list[Issue] = []
        if self.expiry == PointsExpiry.MONTHS_AFTER_EARNING and self.expiry_months is None:
            issues.append((("expiry_months",), "MONTHS_AFTER_EARNING needs expiry_months"))
        if self.expiry != PointsExpiry.MONTHS_AFTER_EARNING and self.expiry_months is not None:
            issues.append((("expiry_months",), "expiry_months applies only to "
                           f"MONTHS_AFTER_EARNING, not {self.expiry}"))
        issues.extend(duplicate_codes(self.campaigns, ("campaigns",)))
        raise_issues("PointsRules", issues)
        return self

    def campaign_on(self, day: date) -> PointsCampaign | None:
        """The campaign of an invoice issued on `day`: the one with the highest multiplier
        when campaigns overlap."""
        running = [c for c in self.campaigns if c.starts_on <= day <= c.ends_on]
        return max(running, key=lambda c: (c.multiplier, c.code)) if running else None
