"""Credit decisions as a person reads them: the scorecard factors of a score with the policy's
own descriptions (Chinese or English by the active language), values in their units and the
points each one cost; grade descriptions; exposure bars; the ECharts options of the credit
pages. Gate and limit reasons are worded by `credit.reasons`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import get_language, ngettext, pgettext_lazy
from django.utils.translation import gettext as _

from custguard.core.models import PolicyVersion
from custguard.core.money import currency
from custguard.credit import reasons
from custguard.credit.models import CreditScore, GateCheck
from custguard.customers.models import StandingFields
from custguard.ledger.selectors import Ageing
from custguard.policy.codes import FactorCode, Unit
from custguard.policy.schema import GradeBand, PolicyDocument, ScoreFactor

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)

# Tabler's palette: green for what is fine, through yellow and orange, to red.
AGEING_COLOURS = {"not_due": "#2fb344", "dpd_1_30": "#f59f00", "dpd_31_60": "#f76707",
                  "dpd_61_90": "#d63939", "dpd_over_90": "#a61e4d"}
AGEING_LABELS = {
    "not_due": pgettext_lazy("ageing bucket", "Not due"),
    "dpd_1_30": pgettext_lazy("ageing bucket", "1–30 days"),
    "dpd_31_60": pgettext_lazy("ageing bucket", "31–60 days"),
    "dpd_61_90": pgettext_lazy("ageing bucket", "61–90 days"),
    "dpd_over_90": pgettext_lazy("ageing bucket", "Over 90 days"),
}
OUTCOME_BADGES = {
    GateCheck.Outcome.ALLOW: "bg-green-lt",
    GateCheck.Outcome.HOLD: "bg-yellow-lt",
    GateCheck.Outcome.PREPAY_REQUIRED: "bg-orange-lt",
    GateCheck.Outcome.DENY: "bg-red-lt",
}
# Grade bands in the score chart: good grades green, middling yellow, prepayment grades red.
BAND_COLOURS = ("rgba(47,179,68,0.10)", "rgba(245,159,0,0.10)", "rgba(214,57,57,0.10)")


def is_chinese() -> bool:
    return (get_language() or "zh-hans").lower().startswith("zh")


# --- policy versions --------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _document(number: int, checksum: str) -> PolicyDocument:
    document = PolicyVersion.objects.values_list("document", flat=True).get(number=number)
    return PolicyDocument.model_validate(document)


def policy_document(number: int | None) -> PolicyDocument | None:
    """The document of a stored policy version (parsed once per process), or None."""
    if number is None:
        return None
    row = PolicyVersion.objects.filter(number=number).values_list("checksum", flat=True).first()
    return _document(number, row) if row is not None else None


def grade_band(policy: PolicyDocument | None, grade: str) -> GradeBand | None:
    if policy is None or not grade:
        return None
    try:
        return policy.grade_band(grade)
    except (KeyError, ValueError):
        return None


def grade_description(policy: PolicyDocument | None, grade: str) -> str:
    band = grade_band(policy, grade)
    if band is None:
        return ""
    return band.description_zh if is_chinese() else band.description_en


# --- the scorecard of one score ---------------------------------------------------------------


@dataclass(frozen=True)
class FactorLine:
    """One scorecard factor of a score: what it measures, the customer's value, the points it
    earned and how many it fell short of the factor's best bin."""

    factor: str
    reason_code: str
    description: str
    value: str  # "" when the customer has no history for it
    points: int
    points_lost: int
    bin: str  # the bin's range, e.g. "60 – 80"

    @property
    def best(self) -> int:
        return self.points + self.points_lost


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _plain(number: Decimal) -> str:
    if number == number.to_integral_value():
        return number_format(int(number), force_grouping=True)
    return format(number.normalize(), "f")


def format_value(factor: str, value: Any) -> str:
    """A factor's value in its unit, as the active language writes it."""
    number = _decimal(value)
    if number is None:
        return ""
    try:
        unit = FactorCode(factor).unit
    except ValueError:
        return _plain(number)
    if unit == Unit.PERCENT:
        return f"{_plain(number.quantize(CENT))}%"
    if unit == Unit.DAYS:
        count = int(number) if number == number.to_integral_value() else 2
        return ngettext("%(n)s day", "%(n)s days", count) % {"n": _plain(number)}
    if unit == Unit.MONTHS:
        return ngettext("%(n)s month", "%(n)s months", int(number)) % {"n": _plain(number)}
    if unit == Unit.AMOUNT:
        return f"{grouped(number)} {currency()}"
    return _plain(number)


def _bin_text(params: Mapping[str, Any]) -> str:
    """A scorecard bin [lower, upper) as "≥ 31, < 61" (either bound may be open)."""
    lower, upper = _decimal(params.get("lower")), _decimal(params.get("upper"))
    parts = []
    if lower is not None:
        parts.append(f"≥ {_plain(lower)}")
    if upper is not None:
        parts.append(f"< {_plain(upper)}")
    return ", ".join(parts)


def _factor_description(factor: ScoreFactor | None, code: str) -> str:
    if factor is None:
        return code
    return factor.description_zh if is_chinese() else factor.description_en


def factor_lines(score: CreditScore, policy: PolicyDocument | None = None) -> list[FactorLine]:
    """The factors of `score` in the order its reasons were stored (the largest loss first),
    described by the policy version that made the score."""
    policy = policy if policy is not None else policy_document(score.policy_version)
    factors: dict[str, ScoreFactor] = (
        {f.code.value: f for f in policy.scorecard.factors} if policy is not None else {})
    lines = []
    for reason in score.reasons or []:
        params: Mapping[str, Any] = reason.get("params") or {}
        factor = str(params.get("factor", ""))
        value = params.get("value", (score.factor_values or {}).get(factor))
        lines.append(FactorLine(
            factor=factor, reason_code=str(reason.get("code", "")),
            description=_factor_description(factors.get(factor), factor),
            value=format_value(factor, value) if "value" in params else "",
            points=int(params.get("points", (score.factor_points or {}).get(factor, 0))),
            points_lost=int(params.get("points_lost", 0)),
            bin=_bin_text(params)))
    return lines


def limit_lines(score: CreditScore, policy: PolicyDocument | None = None) -> list[str]:
    """How the computed limit came about (grade base, scale, trailing sales, cap)."""
    return [item.text for item in reasons.describe_all(score.limit_reasons or [], policy)]


def gate_reason_lines(check: GateCheck) -> list[reasons.ReasonText]:
    return reasons.describe_all(check.reasons or [])


def outcome_badge(outcome: str) -> str:
    return OUTCOME_BADGES.get(outcome, "bg-secondary-lt")  # type: ignore[call-overload]


# --- exposure ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExposureBar:
    """Posted receivables, open orders (reserved) and what is left of the limit, as shares of
    the larger of the limit and the exposure (so an exposure over the limit still fits)."""

    credit_limit: Decimal
    posted: Decimal
    reserved: Decimal
    has_limit: bool = True

    @property
    def exposure(self) -> Decimal:
        return self.posted + self.reserved

    @property
    def available(self) -> Decimal:
        return self.credit_limit - self.exposure

    @property
    def over_limit(self) -> bool:
        return self.has_limit and self.available < 0

    @property
    def utilisation(self) -> Decimal | None:
        if not self.has_limit or self.credit_limit <= 0:
            return None
        return (self.exposure * HUNDRED / self.credit_limit).quantize(Decimal("0.1"))

    def _share(self, part: Decimal) -> str:
        scale = max(self.credit_limit if self.has_limit else ZERO, self.exposure)
        if scale <= 0 or part <= 0:
            return "0"
        return format((part * HUNDRED / scale).quantize(Decimal("0.01")), "f")

    @property
    def posted_share(self) -> str:
        return self._share(max(self.posted, ZERO))

    @property
    def reserved_share(self) -> str:
        return self._share(self.reserved)

    @property
    def available_share(self) -> str:
        return self._share(self.available) if self.has_limit else "0"


def exposure_bar(row: StandingFields, *, has_limit: bool = True) -> ExposureBar:
    return ExposureBar(credit_limit=to_decimal(row.credit_limit), posted=to_decimal(row.posted),
                       reserved=to_decimal(row.reserved), has_limit=has_limit)


# --- charts -----------------------------------------------------------------------------------


def ageing_chart(ageing: Ageing) -> dict[str, Any]:
    """Open receivables by days past due (bar). Amounts are Decimal strings: ECharts reads
    them as numbers, the page never rounds money through a float."""
    buckets = ageing.as_list()
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 90, "right": 20, "top": 20, "bottom": 30},
        "xAxis": {"type": "category", "axisLabel": {"interval": 0},
                  "data": [str(AGEING_LABELS[code]) for code, _a in buckets]},
        "yAxis": {"type": "value", "name": currency()},
        "series": [{
            "type": "bar", "name": _("Open amount"),
            "data": [{"value": format(amount, "f"),
                      "itemStyle": {"color": AGEING_COLOURS[code]}} for code, amount in buckets],
        }],
    }


def _band_colour(band: GradeBand) -> str:
    if band.prepay_only:
        return BAND_COLOURS[2]
    return BAND_COLOURS[0] if band.payment_terms_days >= 45 else BAND_COLOURS[1]


def score_chart(history: Sequence[CreditScore], policy: PolicyDocument | None) -> dict[str, Any]:
    """Score over time (line, one point per day scored) over the grade bands of `policy`
    (shaded areas named by grade)."""
    scores = [s.score for s in history]
    top = policy.scorecard.max_score if policy is not None else max(scores, default=1000)
    low = min(scores, default=0)
    bottom = max(0, (low - 50) // 100 * 100)
    areas: list[list[dict[str, Any]]] = []
    if policy is not None:
        upper = top
        for band in policy.grades:  # best grade first
            lower = max(band.min_score, bottom)
            if upper > lower:
                areas.append([
                    {"name": band.code.value, "yAxis": lower,
                     "itemStyle": {"color": _band_colour(band)}},
                    {"yAxis": upper}])
            upper = min(upper, band.min_score)
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 50, "right": 50, "top": 20, "bottom": 30},
        "xAxis": {"type": "time", "minInterval": 24 * 3600 * 1000},
        "yAxis": {"type": "value", "min": bottom, "max": top, "name": _("Score")},
        "series": [{
            "type": "line", "name": _("Score"), "symbolSize": 6,
            "data": [[s.as_of.isoformat(), s.score] for s in history],
            "markArea": {"silent": True, "label": {"position": "insideLeft", "fontSize": 10,
                                                   "color": "#667382"},
                         "data": areas},
        }],
    }


def money(value: Any) -> str:
    """An amount as a plain two-place string (chart data, table cells before separators)."""
    return format(to_decimal(value), "f")


def grade_chart(grades: Iterable[tuple[str, int]]) -> dict[str, Any]:
    """Customers per grade (bar)."""
    rows = list(grades)
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 50, "right": 20, "top": 20, "bottom": 30},
        "xAxis": {"type": "category", "data": [g or str(_("Not rated")) for g, _n in rows]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [{"type": "bar", "name": _("Customers"), "barMaxWidth": 48,
                    "data": [n for _g, n in rows]}],
    }


def stacked_chart(categories: Sequence[str], series: Sequence[tuple[str, str, Sequence[Decimal]]],
                  *, horizontal: bool = False) -> dict[str, Any]:
    """Stacked bars of amounts: `series` is (name, colour, values per category)."""
    category_axis = {"type": "category", "data": list(categories)}
    value_axis = {"type": "value", "name": currency()}
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"bottom": 0},
        "grid": {"left": 110 if horizontal else 90, "right": 30, "top": 30, "bottom": 40},
        "xAxis": value_axis if horizontal else category_axis,
        "yAxis": category_axis if horizontal else value_axis,
        "series": [{"type": "bar", "name": name, "stack": "exposure", "barMaxWidth": 36,
                    "itemStyle": {"color": colour},
                    "data": [money(v) for v in values]} for name, colour, values in series],
    }


def days_between(later: dt.date, earlier: dt.date | None) -> int:
    return max(0, (later - earlier).days) if earlier is not None else 0


def to_decimal(value: Any) -> Decimal:
    """An amount read from the database as a two-place Decimal. SQLite keeps decimals as
    binary floats, so a balance that nets to nothing may come back as -1e-12: that is 0.00,
    never -0.00."""
    amount = Decimal(str(value if value is not None else ZERO)).quantize(CENT)
    return amount if amount != 0 else ZERO


def grouped(value: Any) -> str:
    """An amount with two decimals and the locale's grouping, like floatformat:"2g"."""
    return number_format(to_decimal(value), decimal_pos=2, force_grouping=True)
