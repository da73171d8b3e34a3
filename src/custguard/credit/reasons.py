"""Reason codes in plain language.

Decisions store reasons as `{"code": ..., "params": {...}}` (policy.decisions.Reason.as_dict):
stable codes and the numbers that triggered them. This module turns them into a sentence in
the reader's language, with the numbers, for pages, exports and messages. It covers every code
the gate (policy/gate.py, credit/services/gate.py) and the credit terms (policy/credit.py) emit;
a scorecard bin's reason code is policy data (each policy names its own bins), so those are
described generically from the factor's description in the policy document. Apps above credit
word their own codes with `register()` (from their AppConfig.ready(); rewards/reasons.py).

    describe({"code": "LIMIT_EXCEEDED", "params": {"shortfall": "1200.00", ...}})
    -> "Limit exceeded by 1,200.00 (available 800.00)"
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import formats
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from custguard.policy.schema import PolicyDocument, ScoreFactor

# Parameters that are sums of money: shown with two decimals, grouped as the locale groups.
MONEY_PARAMS = frozenset({
    "amount", "limit", "used", "available", "shortfall", "available_after", "base",
    "sales_12m", "cap", "uncapped", "stored", "recomputed",
})

TEMPLATES: dict[str, Promise] = {
    # the order gate (policy/gate.py), most severe first
    "CUSTOMER_CLOSED": gettext_lazy("The customer is closed"),
    "BLACKLISTED": gettext_lazy("The customer is blacklisted"),
    "ORDER_BLOCKED": gettext_lazy("Orders from this customer are blocked"),
    "SERVICE_SUSPENDED": gettext_lazy("Service to this customer is suspended"),
    "NOT_RATED": gettext_lazy("The customer has no credit grade yet: prepayment required"),
    "PREPAY_ONLY_GRADE": gettext_lazy("Grade %(grade)s is prepayment only"),
    "PREPAY_ONLY": gettext_lazy("The customer is on prepayment only"),
    "LIMIT_EXCEEDED": gettext_lazy(
        "Limit exceeded by %(shortfall)s (available %(available)s, limit %(limit)s, "
        "tolerance %(tolerance_percent)s%%)"),
    "GROUP_LIMIT_EXCEEDED": gettext_lazy(
        "Group limit exceeded by %(shortfall)s (group available %(available)s, group limit "
        "%(limit)s, tolerance %(tolerance_percent)s%%)"),
    "WITHIN_LIMIT": gettext_lazy(
        "Within the limit: %(available_after)s still available after this order"),
    "PRIORITY_ALLOCATION": gettext_lazy(
        "Its class puts this customer first when goods are scarce"),
    # credit/services/gate.py
    "CONCURRENT_UPDATES": gettext_lazy(
        "The customer's credit kept changing during %(attempts)s attempts: held for review"),
    # credit terms (policy/credit.py)
    "LIMIT_FROM_GRADE": gettext_lazy(
        "Limit %(limit)s for grade %(grade)s: base %(base)s x scale %(scale)s "
        "(%(multiplier)s) + %(sales_percent)s%% of 12-month sales %(sales_12m)s"),
    "LIMIT_CAPPED": gettext_lazy("Limit capped at %(cap)s (computed %(uncapped)s)"),
}
# OVERDUE_GT_<days>D: the code carries the policy's limit, so it is matched by pattern.
OVERDUE_CODE = re.compile(r"^OVERDUE_GT_(\d+)D$")
OVERDUE_TEMPLATE = gettext_lazy(
    "Oldest unpaid invoice %(days_past_due)s days past due (more than %(limit_days)s)")
# A scorecard reason (policy.decisions.score_factor / _score_missing), whatever its code.
FACTOR_TEMPLATE = gettext_lazy(
    "%(factor)s: %(value)s, %(points)s points (%(points_lost)s below the best)")
FACTOR_MISSING_TEMPLATE = gettext_lazy(
    "%(factor)s: no history yet, %(points)s points (%(points_lost)s below the best)")

# Codes other apps word themselves (`register`): the template and the parameters that are
# sums of money for those codes (MONEY_PARAMS does not apply to them: a points cap is no money).
REGISTERED: dict[str, tuple[Promise, frozenset[str]]] = {}


def register(templates: Mapping[str, Promise], *, money: Iterable[str] = ()) -> None:
    """Word another app's reason codes, e.g. the rewards app's POINTS_* codes; call it from the
    app's AppConfig.ready(). `money` names the parameters of these codes that are sums of
    money. A code keeps one wording: registering a code this module or another app already
    words differently is a mistake (ValueError); registering the same again is harmless."""
    amounts = frozenset(money)
    for code, template in templates.items():
        known = REGISTERED.get(code)
        if code in TEMPLATES or (known is not None and known != (template, amounts)):
            raise ValueError(f"reason code {code} is worded already")
        REGISTERED[code] = (template, amounts)


@dataclass(frozen=True)
class ReasonText:
    code: str
    text: str


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def format_param(name: str, value: Any, money: frozenset[str] = MONEY_PARAMS) -> str:
    """One parameter as the sentence shows it: money (the parameters named in `money`) with two
    decimals and separators, other numbers without trailing zeros, text as it is."""
    number = _number(value)
    if number is None:
        return str(value)
    if name in money:
        # grouped as the reader's locale groups (as the templates' floatformat:"2g" does)
        return formats.number_format(number.quantize(Decimal("0.01")), 2, use_l10n=True,
                                     force_grouping=True)
    if number == number.to_integral_value():
        return str(int(number))
    return format(number, "f").rstrip("0").rstrip(".")


def _factor_label(policy: PolicyDocument | None, code: str) -> str:
    factor: ScoreFactor | None = None
    if policy is not None:
        try:
            factor = policy.scorecard.factor(code)
        except KeyError:
            factor = None
    if factor is None:
        return code
    language = (get_language() or "zh-hans").lower()
    return factor.description_zh if language.startswith("zh") else factor.description_en


def _fill(template: str, params: Mapping[str, Any],
          money: frozenset[str] = MONEY_PARAMS) -> str | None:
    shown = {name: format_param(name, value, money) for name, value in params.items()}
    try:
        return template % shown
    except (KeyError, TypeError, ValueError):
        return None


def _fallback(code: str, params: Mapping[str, Any],
              money: frozenset[str] = MONEY_PARAMS) -> str:
    if not params:
        return code
    numbers = ", ".join(f"{name}={format_param(name, value, money)}"
                        for name, value in sorted(params.items()))
    return f"{code} ({numbers})"


def describe(reason: Mapping[str, Any], policy: PolicyDocument | None = None) -> str:
    """One stored reason as a sentence in the active language. `policy` (the version that made
    the decision, or the one in force) names the scorecard factors; without it the factor's
    code stands in. A code this module does not know is shown as the code with its numbers."""
    code = str(reason.get("code", ""))
    params: Mapping[str, Any] = reason.get("params") or {}
    template: str | None = None
    if code in TEMPLATES:
        template = str(TEMPLATES[code])
    elif code in REGISTERED:
        registered, money = REGISTERED[code]
        return _fill(str(registered), params, money) or _fallback(code, params, money)
    elif OVERDUE_CODE.match(code):
        template = str(OVERDUE_TEMPLATE)
    elif "factor" in params:
        values = dict(params)
        values["factor"] = _factor_label(policy, str(params["factor"]))
        template = str(FACTOR_MISSING_TEMPLATE if "value" not in params else FACTOR_TEMPLATE)
        return _fill(template, values) or _fallback(code, params)
    if template is None:
        return _fallback(code, params)
    return _fill(template, params) or _fallback(code, params)


def describe_all(reasons: Iterable[Mapping[str, Any]],
                 policy: PolicyDocument | None = None) -> list[ReasonText]:
    return [ReasonText(code=str(r.get("code", "")), text=describe(r, policy)) for r in reasons]


def summary(reasons: Iterable[Mapping[str, Any]], policy: PolicyDocument | None = None) -> str:
    """All reasons in one line (exports, messages)."""
    return _("; ").join(item.text for item in describe_all(reasons, policy))
