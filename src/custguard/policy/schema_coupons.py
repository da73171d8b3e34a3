"""The policy's coupons section: the coupon definitions (what a coupon gives, to whom, for how
long, how many) and the rules that issue them automatically (welcome, anniversary of the
partnership, tier reached, win-back after months without orders).
Part of the policy document (`schema.PolicyDocument`); the same rules as schema.py apply (no
defaults that decide anything). References to tiers and value segments are checked by the
document, which sees those sections.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import (
    Amount,
    Code,
    Count,
    Days,
    Flag,
    Issue,
    Percent,
    PolicyModel,
    Text,
    duplicate_codes,
    raise_issues,
)
from .codes import GradeCode

CouponKind = Literal["AMOUNT_OFF", "PERCENT_OFF", "GIFT", "PRIVILEGE"]
Privilege = Literal["FREE_SHIPPING", "PRIORITY_DELIVERY"]
RuleTrigger = Literal["WELCOME", "ANNIVERSARY", "TIER_REACHED", "WIN_BACK"]
Months = Annotated[int, Field(strict=True, ge=1, le=120)]


class CouponConditions(PolicyModel):
    """What an order and its customer must meet for the coupon to apply. An empty list means
    any (category, tier, grade, value segment); first_order_only: the customer has no order
    (invoice) yet."""

    min_order_amount: Amount
    categories: tuple[Code, ...]
    tiers: tuple[Code, ...]
    grades: tuple[GradeCode, ...]
    value_segments: tuple[Code, ...]
    first_order_only: Flag


class CouponValidity(PolicyModel):
    """Either a fixed window (valid_from .. valid_until, both days included) or valid_days
    after the day the coupon is issued — never both."""

    valid_from: dt.date | None
    valid_until: dt.date | None
    valid_days: Days | None

    @model_validator(mode="after")
    def _one_kind(self) -> CouponValidity:
        issues: list[Issue] = []
        fixed = self.valid_from is not None or self.valid_until is not None
        if fixed and self.valid_days is not None:
            issues.append((("valid_days",), "give either valid_from/valid_until or valid_days, "
                                            "not both"))
        elif not fixed and self.valid_days is None:
            issues.append((("valid_days",), "give valid_days, or valid_from and valid_until"))
        elif fixed and (self.valid_from is None or self.valid_until is None):
            missing = "valid_from" if self.valid_from is None else "valid_until"
            issues.append(((missing,), "a fixed window needs both valid_from and valid_until"))
        elif (self.valid_from is not None and self.valid_until is not None
              and self.valid_until < self.valid_from):
            issues.append((("valid_until",), f"ends before it starts ({self.valid_from})"))
        raise_issues("CouponValidity", issues)
        return self

    def window(self, issued_on: dt.date) -> tuple[dt.date, dt.date]:
        """The first and last day a coupon issued on issued_on may be used."""
        if self.valid_days is not None:
            return issued_on, issued_on + dt.timedelta(days=self.valid_days - 1)
        assert self.valid_from is not None and self.valid_until is not None
        return self.valid_from, self.valid_until


_KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "AMOUNT_OFF": ("amount",), "PERCENT_OFF": ("percent", "cap"),
    "GIFT": ("gift_item",), "PRIVILEGE": ("privilege",)}
_VALUE_FIELDS = ("amount", "percent", "cap", "gift_item", "privilege")


class CouponDefinition(PolicyModel):
    """A kind of coupon. AMOUNT_OFF takes `amount` off the order, PERCENT_OFF `percent` of it up
    to `cap`; GIFT adds `gift_item`; PRIVILEGE grants `privilege`. Each coupon is used once.
    per_customer: how many coupons of this definition one customer may be issued;
    total_limit: how many may be redeemed in all (null: no limit)."""

    code: Code
    name_zh: Text
    name_en: Text
    kind: CouponKind
    amount: Amount | None
    percent: Annotated[Percent, Field(gt=0)] | None
    cap: Amount | None
    gift_item: Text | None
    privilege: Privilege | None
    conditions: CouponConditions
    validity: CouponValidity
    per_customer: Count
    total_limit: Count | None

    @model_validator(mode="after")
    def _fields_of_kind(self) -> CouponDefinition:
        needed = _KIND_FIELDS[self.kind]
        issues: list[Issue] = []
        for name in _VALUE_FIELDS:
            value = getattr(self, name)
            if name in needed and value is None:
                issues.append(((name,), f"required for a {self.kind} coupon"))
            elif name not in needed and value is not None:
                issues.append(((name,), f"not used by a {self.kind} coupon: leave it null"))
        if self.kind == "AMOUNT_OFF" and self.amount is not None and self.amount <= 0:
            issues.append((("amount",), "must be more than 0"))
        raise_issues("CouponDefinition", issues)
        return self

    def name(self, language: str) -> str:
        return self.name_zh if language.startswith("zh") else self.name_en


class CouponRule(PolicyModel):
    """Issues `definition` automatically: WELCOME to a new customer, ANNIVERSARY on each
    anniversary of the partnership, TIER_REACHED when a customer reaches a tier whose benefits
    name the definition, WIN_BACK to a customer without an order for months_without_orders
    months (once per absence). The rule works only between active_from and active_until
    (null: open)."""

    code: Code
    trigger: RuleTrigger
    definition: Code
    months_without_orders: Months | None
    active_from: dt.date | None
    active_until: dt.date | None

    @model_validator(mode="after")
    def _check(self) -> CouponRule:
        issues: list[Issue] = []
        if self.trigger == "WIN_BACK" and self.months_without_orders is None:
            issues.append((("months_without_orders",), "required for a WIN_BACK rule"))
        if self.trigger != "WIN_BACK" and self.months_without_orders is not None:
            issues.append((("months_without_orders",),
                           f"only a WIN_BACK rule uses it, not {self.trigger}: leave it null"))
        if (self.active_from is not None and self.active_until is not None
                and self.active_until < self.active_from):
            issues.append((("active_until",),
                           f"the rule's window ends before it starts ({self.active_from})"))
        raise_issues("CouponRule", issues)
        return self

    def active_on(self, day: dt.date) -> bool:
        return ((self.active_from is None or self.active_from <= day)
                and (self.active_until is None or day <= self.active_until))


class Coupons(PolicyModel):
    definitions: tuple[CouponDefinition, ...]
    rules: tuple[CouponRule, ...]

    @model_validator(mode="after")
    def _references(self) -> Coupons:
        issues: list[Issue] = [(("definitions", *loc), message)
                               for loc, message in duplicate_codes(self.definitions)]
        issues += [(("rules", *loc), message) for loc, message in duplicate_codes(self.rules)]
        known = {definition.code for definition in self.definitions}
        for i, rule in enumerate(self.rules):
            if rule.definition not in known:
                issues.append((("rules", i, "definition"),
                               f"unknown coupon definition {rule.definition}"))
        raise_issues("Coupons", issues)
        return self

    def definition(self, code: str) -> CouponDefinition | None:
        return next((item for item in self.definitions if item.code == code), None)

    def rule(self, code: str) -> CouponRule | None:
        return next((item for item in self.rules if item.code == code), None)


def check_coupon_references(coupons: Coupons, tier_codes: set[str],
                            segment_codes: set[str],
                            tier_coupons: list[tuple[int, tuple[str, ...]]]) -> list[Issue]:
    """Issues across sections: the tiers and value segments a definition's conditions name,
    and the definitions the membership tiers' coupons_on_reaching name."""
    issues: list[Issue] = []
    known = {definition.code for definition in coupons.definitions}
    for i, definition in enumerate(coupons.definitions):
        for j, code in enumerate(definition.conditions.tiers):
            if code not in tier_codes:
                issues.append((("coupons", "definitions", i, "conditions", "tiers", j),
                               f"unknown membership tier {code}"))
        for j, code in enumerate(definition.conditions.value_segments):
            if code not in segment_codes:
                issues.append((("coupons", "definitions", i, "conditions", "value_segments", j),
                               f"unknown value segment {code}"))
    for index, codes in tier_coupons:
        for j, code in enumerate(codes):
            if code not in known:
                issues.append((("membership", "tiers", index, "benefits",
                                "coupons_on_reaching", j),
                               f"unknown coupon definition {code}"))
    return issues
