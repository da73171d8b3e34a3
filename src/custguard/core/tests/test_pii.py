"""Masks of personal data (core/pii.py): a phone number is masked by rule at every length."""

from __future__ import annotations

import re

import pytest

from custguard.core import pii

PHONES = [
    # short numbers: never shown whole
    ("", ""),
    ("1", "*"),
    ("12", "**"),
    ("1234", "****"),
    ("12345", "1***5"),
    ("95588", "9***8"),
    ("123456", "1****6"),
    ("1234567", "1*****7"),
    ("400-820-8820", "40*-***-**20"),
    # mainland mobile numbers, with and without the country code and separators
    ("13800138000", "138****8000"),
    ("138-0013-8000", "138-****-8000"),
    ("138 0013 8000", "138 **** 8000"),
    ("+86 138 0013 8000", "+86 138 **** 8000"),
    ("+8613800138000", "+86138****8000"),
    # landlines: the area code shown, fewer than half of the local number, no extension
    ("010-12345678", "010-*****678"),
    ("0755-1234567", "0755-****567"),
    ("021 6888 8888", "021 **** *888"),
    ("01012345678", "010*****678"),
    ("075512345678", "0755*****678"),
    ("0755-12345", "0755-***45"),
    ("0755-1234567-8001", "0755-****567-****"),
    ("010-12345678-123", "010-*****678-***"),
    ("+86 10 12345678", "+86 10 *****678"),
    ("+86 755 1234567", "+86 755 ****567"),
    ("+86-21-68888888-801", "+86-21-*****888-***"),
    # other countries: the country code, then at most half of the number
    ("+44 20 7946 0958", "+44 20 **** **58"),
    ("+1 555 0100", "+1 5** ***0"),
    ("+12125550100", "+12*******00"),
    ("00852 2345 6789", "008** **** *789"),
]


@pytest.mark.parametrize(("raw", "masked"), PHONES)
def test_mask_phone(raw: str, masked: str) -> None:
    assert pii.mask_phone(raw) == masked


@pytest.mark.parametrize("raw", [raw for raw, _masked in PHONES if raw])
def test_a_masked_phone_keeps_its_form_and_hides_enough(raw: str) -> None:
    """Length and separators kept; a short number (≤ 4 digits) hidden whole, any other at
    least a third of its (national) digits hidden (a mobile number the customary middle four)."""
    masked = pii.mask_phone(raw)
    assert len(masked) == len(raw)
    assert re.sub(r"[\d*]", "", masked) == re.sub(r"\d", "", raw)
    digits, hidden = sum(ch.isdigit() for ch in raw), masked.count("*")
    digits -= 2 if raw.startswith("+86") else 0  # the country code is no personal data
    assert hidden == digits if digits <= 4 else hidden * 3 >= digits


@pytest.mark.parametrize(("kind", "raw", "masked"), [
    ("id_number", "110101199003071234", "1101**********1234"),
    ("id_number", "12345678", "********"),
    ("email", "zhang.sanfeng@example.com", "z***@example.com"),
    ("name", "张三丰", "张**"),
    ("name", "Li", "L**"),
    ("address", "北京市朝阳区建国路88号", "北京市朝****"),
])
def test_other_masks(kind: str, raw: str, masked: str) -> None:
    assert pii.mask(kind, raw) == masked
