"""Personal data (PII): how each kind is masked, and which fields of which model hold it.

Roles without `core.view_pii` see personal data masked: enough of it (the first and last
digits, the first letter) to tell records apart, never enough to call or write to someone.

A model declares its personal fields next to its other fields, as a class attribute
`PII_FIELDS`: field name → the kind of mask (a key of `MASKS`), or, for a field that holds
other records (a customer's `contacts` in its audit entries), the `app_label.model` of those
records, whose own declaration applies to each of them. Core reads the declarations through the
app registry, so it names no upper app. `mask_values()` applies them to an audit entry's
before/after values; `core.selectors.shown_audit_entries()` is the one place the audit log's
page, its export and the API (and the customer timelines) get the values they show from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from django.apps import apps

from custguard.core.actors import Actor

_DIGIT = re.compile(r"\d")
_GROUP = re.compile(r"\d+")


def sees_pii(actor: Actor) -> bool:
    """People and tokens with `core.view_pii`; jobs and the system act on unmasked data."""
    return actor.can("core.view_pii")


# --- masks -------------------------------------------------------------------------------------


def _generic_reveal(n: int) -> tuple[int, int]:
    """(first, last) digits shown of a number without a known structure: none of a short one
    (≤ 4 digits), and never more than half of a longer one."""
    if n <= 4:
        return 0, 0
    shown = max(1, n // 4)
    return min(3, shown), min(4, shown)


def _tail_reveal(n: int) -> int:
    """Last digits shown of a local number behind its area code: fewer than half of them."""
    return min(4, (n - 1) // 2)


def _reveal_positions(value: str) -> set[int]:
    """The indexes (into the digits of `value`) a masked phone number shows."""
    groups = [m.group() for m in _GROUP.finditer(value)]
    digits = "".join(groups)
    n = len(digits)
    shown: set[int] = set()
    start = 0  # index of the first digit of the national number
    country = ""
    international = value.lstrip().startswith("+")
    if international and groups:
        if len(groups) > 1 and len(groups[0]) <= 3:
            country = groups[0]
        elif digits.startswith("86"):
            country = "86"
        start = len(country)
        shown.update(range(start))
    national = digits[start:]
    rest = groups[1:] if country and len(groups) > 1 and groups[0] == country else groups
    mainland = country == "86" or not international
    if mainland and len(national) == 11 and national.startswith("1"):
        # a mainland mobile number: 138****8000
        shown.update(range(start, start + 3))
        shown.update(range(n - 4, n))
        return shown
    landline = (not international and national.startswith("0")
                and not national.startswith("00") and len(national) >= 9) or (
        country == "86" and len(rest) >= 2)
    if landline:
        if len(rest) >= 2 and 2 <= len(rest[0]) <= 4:
            # 010-12345678[-ext], 021 6888 8888, +86 755 1234567: the local number is the
            # groups after the area code up to seven digits; any group after it an extension
            area, local = len(rest[0]), 0
            for group in rest[1:]:
                local += len(group)
                if local >= 7:
                    break
        else:  # written without separators: 010 / 02x are three digits, the others four
            area = 3 if national[1] in "12" else 4
            local = len(national) - area
        shown.update(range(start, start + area))
        local_end = start + area + local
        shown.update(range(local_end - _tail_reveal(local), local_end))
        return shown  # an extension after the local number is hidden whole
    first, last = _generic_reveal(len(national))
    shown.update(range(start, start + first))
    shown.update(range(n - last, n))
    return shown


def mask_phone(value: str) -> str:
    """A phone number with most of its digits as `*`, its separators kept: 138****8000,
    +86 138 **** 8000, 010-*****678, 0755-****567-****, 95588 → 9***8, 1234 → ****."""
    if not value:
        return ""
    shown = _reveal_positions(value)
    out, index = [], 0
    for char in value:
        if _DIGIT.fullmatch(char):
            out.append(char if index in shown else "*")
            index += 1
        else:
            out.append(char)
    return "".join(out)


def mask_id_number(value: str) -> str:
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_address(value: str) -> str:
    if not value:
        return ""
    keep = min(6, max(1, len(value) // 3))
    return value[:keep] + "****"


def mask_email(value: str) -> str:
    if not value:
        return ""
    local, _at, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if domain else local[:1] + "***"


def mask_name(value: str) -> str:
    """A person's name: its first character (a Chinese surname) and two stars."""
    return value[:1] + "**" if value else ""


MASKS: dict[str, Callable[[str], str]] = {
    "phone": mask_phone,
    "id_number": mask_id_number,
    "address": mask_address,
    "email": mask_email,
    "name": mask_name,
}


def mask(kind: str, value: str) -> str:
    return MASKS[kind](value) if value else value


# --- declarations ------------------------------------------------------------------------------


@cache
def pii_fields(object_type: str) -> Mapping[str, str]:
    """The personal fields the model named `app_label.modelname` declares (`PII_FIELDS`)."""
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return {}
    return dict(getattr(model, "PII_FIELDS", {}))


def mask_values(object_type: str, values: Any) -> Any:
    """An audit entry's before or after values of an `object_type` object with its personal
    fields masked (nested records by their own model's declaration); other values unchanged.
    Returns a new structure; the stored values are never touched."""
    if not isinstance(values, dict):
        return values
    fields = pii_fields(object_type)
    if not fields:
        return values
    return {key: _masked(fields[key], value) if key in fields else value
            for key, value in values.items()}


def _masked(kind: str, value: Any) -> Any:
    if kind in MASKS:
        return mask(kind, value) if isinstance(value, str) else value
    if isinstance(value, list):  # records of another model: `kind` is its app_label.model
        return [mask_values(kind, item) for item in value]
    return mask_values(kind, value)
