"""The points reasons in plain language: every code the rewards services and policy.points emit
has a sentence (found by reading their source, so a new code without one fails here), every
sentence takes its numbers in both languages, and money is shown as money while points are
not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation

from custguard.credit import reasons as reason_texts
from custguard.rewards import reasons

ROOT = Path(reasons.__file__).resolve().parent.parent
SOURCES = [*sorted((ROOT / "rewards").glob("**/*.py")), ROOT / "policy" / "points.py"]
# A quoted POINTS_ code that is not a refusal's error code (`code="POINTS_NOT_ENOUGH"`).
CODE = re.compile(r'(?<!code=)"(POINTS_[A-Z_]+)"')
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
CJK = re.compile("[\u4e00-\u9fff]")


def emitted() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        if "tests" in path.parts:
            continue
        found |= set(CODE.findall(path.read_text(encoding="utf-8")))
    # policy.points.earn names the withheld reason after the blocking one: f"{code}_WITHHELD"
    return found | {f"{code}_WITHHELD" for code in ("POINTS_FROZEN", "POINTS_BLACKLISTED")}


def test_every_code_the_rewards_code_emits_has_a_sentence_and_a_label() -> None:
    codes = emitted()
    assert {"POINTS_EARNED", "POINTS_EXPIRED", "POINTS_FROZEN_WITHHELD"} <= codes
    assert codes - set(reasons.TEMPLATES) == set()
    assert set(reasons.LABELS) == set(reasons.TEMPLATES)
    assert set(reasons.TEMPLATES) <= set(reason_texts.REGISTERED)  # installed by ready()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("code", sorted(reasons.TEMPLATES))
def test_every_sentence_takes_its_numbers(code: str, language: str) -> None:
    names = PLACEHOLDER.findall(str(reasons.TEMPLATES[code]))
    params = {name: "7" for name in names}
    with translation.override(language):
        text = reason_texts.describe({"code": code, "params": params})
    assert code not in text  # not the fallback: the sentence was filled
    assert text.count("7") >= len(names)
    if language == "zh-hans":
        assert CJK.search(text), text


def test_money_is_shown_as_money_and_points_as_points() -> None:
    with translation.override("en"):
        paid = reason_texts.describe({"code": "POINTS_EARNED",
                                      "params": {"paid": "1234.5", "per_unit": "0.01"}})
        cap = reason_texts.describe({"code": "POINTS_ORDER_CAP",
                                     "params": {"cap": 50000, "capped": 120}})
    assert paid == "1,234.50 paid, at 0.01 points per unit of currency"
    assert cap == "At most 50000 points per order: 120 points not earned"  # no 50,000.00


def test_a_code_keeps_one_wording() -> None:
    reason_texts.register(reasons.TEMPLATES, money=reasons.MONEY)  # the same again: harmless
    with pytest.raises(ValueError, match="POINTS_EARNED"):
        reason_texts.register({"POINTS_EARNED": reasons.TEMPLATES["POINTS_ADJUSTED"]})
    with pytest.raises(ValueError, match="LIMIT_EXCEEDED"):
        reason_texts.register({"LIMIT_EXCEEDED": reasons.TEMPLATES["POINTS_ADJUSTED"]})


def test_the_audited_codes_read_as_labels_in_a_timeline() -> None:
    from custguard.customers.views.common import VALUE_FORMATTERS

    formatter = VALUE_FORMATTERS[("rewards.pointsentry", "reasons")]
    with translation.override("en"):
        assert formatter(["POINTS_EARNED", "POINTS_ON_TIME_BONUS"]) == (
            "points for a paid invoice; on-time payment bonus")
        assert formatter(["SOMETHING_NEW"]) == "SOMETHING_NEW"
