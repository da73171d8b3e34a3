"""The tier reasons in plain language: every TIER_ code policy.membership and the tier services
emit has a sentence and a label, and every sentence takes its numbers in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation

from custguard.credit import reasons as reason_texts
from custguard.rewards import reasons

ROOT = Path(reasons.__file__).resolve().parent.parent
SOURCES = [ROOT / "policy" / "membership.py",
           *sorted((ROOT / "rewards" / "services").glob("tier_*.py"))]
CODE = re.compile(r'"(TIER_[A-Z_]+)"')
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
CJK = re.compile("[\u4e00-\u9fff]")


def test_every_tier_code_has_a_sentence_and_a_label() -> None:
    codes: set[str] = set()
    for path in SOURCES:
        codes |= set(CODE.findall(path.read_text(encoding="utf-8")))
    codes.discard("TIER_REACHED")  # the coupons section's rule kind, not a reason code
    assert {"TIER_UPGRADE", "TIER_GRACE_OVER", "TIER_MANUAL"} <= codes
    assert codes - set(reasons.TIER_TEMPLATES) == set()
    assert set(reasons.TIER_LABELS) == set(reasons.TIER_TEMPLATES)
    assert set(reasons.TIER_TEMPLATES) <= set(reason_texts.REGISTERED)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("code", sorted(reasons.TIER_TEMPLATES))
def test_every_tier_sentence_takes_its_numbers(code: str, language: str) -> None:
    names = PLACEHOLDER.findall(str(reasons.TIER_TEMPLATES[code]))
    params = {name: "7" for name in names}
    with translation.override(language):
        text = reason_texts.describe({"code": code, "params": params})
    assert code not in text
    assert "%(" not in text


def test_paid_spend_is_shown_as_money() -> None:
    with translation.override("en"):
        text = reason_texts.describe({"code": "TIER_QUALIFIES", "params": {
            "tier": "GOLD", "paid_spend": "2400000.00", "orders": 12,
            "on_time_percent": "100.0", "grade": "A"}})
    assert "2,400,000.00" in text
