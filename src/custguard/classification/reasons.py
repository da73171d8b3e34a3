"""The classification's reason codes in plain language (zh-Hans and English), with their numbers.

The sentences are registered with the credit app's reason texts (`credit.reasons.register`,
from `ClassificationConfig.ready()` through `install()`), so `credit.reasons.describe()` words a
class change's, a proposal's or a reminder's reasons like any decision's:

    describe({"code": "CLASS_UPGRADE_NEEDS_GROWTH",
              "params": {"growth_percent": "4.5", "needed_percent": "10"}})
    -> "Ranked for a higher class, but sales grew 4.5%, less than the 10% needed to move up"

Every code `policy.classification` and `classification.services` emit is here; `LABELS` are
the short names of the codes (a list's one-word summary of a move).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from custguard.credit import reasons as reason_texts

# Parameters of these codes that are sums of money (the others are ranks, scores, percentages,
# dates and codes).
MONEY = frozenset({"paid_sales", "min_sales"})

TEMPLATES: dict[str, Promise] = {
    # the ranking (policy/classification.py rank)
    "CLASS_RANKED_A": _("Ranked %(position)s of %(of)s in sales region %(region)s with a score "
                        "of %(score)s (paid sales %(paid_sales)s, growth %(growth_percent)s%%, "
                        "paid on time %(on_time_percent)s%%): within the share of class A"),
    "CLASS_RANKED_B": _("Ranked %(position)s of %(of)s in sales region %(region)s with a score "
                        "of %(score)s (paid sales %(paid_sales)s, growth %(growth_percent)s%%, "
                        "paid on time %(on_time_percent)s%%): within the share of class B"),
    "CLASS_RANKED_C": _("Ranked %(position)s of %(of)s in sales region %(region)s with a score "
                        "of %(score)s (paid sales %(paid_sales)s, growth %(growth_percent)s%%, "
                        "paid on time %(on_time_percent)s%%): within the share of class C"),
    "CLASS_C_BY_RULE": _("Class C by rule: customers of kind %(kind)s are not ranked"),
    "CLASS_NEW_CUSTOMER": _("New customer (created %(since)s, less than %(months)s months "
                            "ago): not ranked yet"),
    # the move (policy/classification.py move)
    "CLASS_INITIAL": _("First classification of the customer"),
    "CLASS_A_BELOW_SHARE": _("A class A customer ranked below the share of class A: its "
                             "account manager is reminded first, the class stays A"),
    "CLASS_A_BELOW_SHARE_AGAIN": _("Below the share of class A again after last month's "
                                   "reminder: proposed for class B"),
    "CLASS_BELOW_SHARE": _("Ranked below the share of its class: proposed one class down"),
    "CLASS_ABOVE_SHARE": _("Ranked above the share of its class: proposed one class up"),
    "CLASS_UPGRADE_NEEDS_GROWTH": _("Ranked for a higher class, but sales grew "
                                    "%(growth_percent)s%%, less than the %(needed_percent)s%% "
                                    "needed to move up"),
    # classification/services/moves.py
    "CLASS_MOVE_APPROVED": _("The proposed move was approved"),
    # the value segment (policy/classification.py value_segment)
    "SEGMENT_BY_VALUE": _("Value segment %(segment)s: paid sales %(paid_sales)s (at least "
                          "%(min_sales)s) and growth %(growth_percent)s%% (at least "
                          "%(min_growth_percent)s%%)"),
}

LABELS: dict[str, Promise] = {
    "CLASS_RANKED_A": _("ranked A"),
    "CLASS_RANKED_B": _("ranked B"),
    "CLASS_RANKED_C": _("ranked C"),
    "CLASS_C_BY_RULE": _("class C by rule"),
    "CLASS_NEW_CUSTOMER": _("new customer"),
    "CLASS_INITIAL": _("first classification"),
    "CLASS_A_BELOW_SHARE": _("below the A share: reminder"),
    "CLASS_A_BELOW_SHARE_AGAIN": _("below the A share again"),
    "CLASS_BELOW_SHARE": _("below its class's share"),
    "CLASS_ABOVE_SHARE": _("above its class's share"),
    "CLASS_UPGRADE_NEEDS_GROWTH": _("too little growth to move up"),
    "CLASS_MOVE_APPROVED": _("move approved"),
    "SEGMENT_BY_VALUE": _("value segment"),
}


def describe_all(reasons: Iterable[Mapping[str, Any]]) -> list[reason_texts.ReasonText]:
    """A class decision's stored reasons as sentences in the active language."""
    return reason_texts.describe_all(reasons)


def as_out(reasons: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Stored reasons with their text, as the API's ReasonOut."""
    stored = list(reasons)
    return [{"code": item.code, "params": dict(reason.get("params") or {}), "text": item.text}
            for reason, item in zip(stored, describe_all(stored), strict=True)]


def label(code: str) -> str:
    return str(LABELS.get(code, code))


def install() -> None:
    """Register the texts with credit's reason texts (ClassificationConfig.ready)."""
    reason_texts.register(TEMPLATES, money=MONEY)
