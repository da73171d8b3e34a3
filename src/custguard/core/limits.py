"""The longest free text custguard accepts, in characters: one constant per kind of text.

Every free-text input is bounded with the same number three times: by the API's input schema
(`Field(max_length=...)`: a 422 naming the field), by the form (`max_length`: a field error)
and by the service that stores it (`bounded()`, or the model field's validator where the
service runs `clean_fields`: a `ValidationFailed` naming the field), so a caller that skips
the first two is still refused before anything is written. Model TextFields carry the same
`max_length` (Django puts no database constraint on a TextField, so their migrations change
the state only; ModelForms pick the maximum up). docs/architecture.md has the table.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext as _

from custguard.core.errors import ValidationFailed

# The largest whole number a 64-bit column holds (BIGINT; SQLite's INTEGER): no id or count
# the API accepts is larger (api/schemas.py).
MAX_INT = 2**63 - 1
MIN_INT = -(2**63)

NAME = 200           # names and titles: a customer's, a group's
SHORT_TEXT = 300     # one-line notes: an evidence file's note, an address
CHANGE_REASON = 500  # why a record was changed or an order cancelled (audited)
REASON = 2000        # a credit decision's reason or note: overrides, holds, reviews
NOTE = 4000          # notes, descriptions, reasons, grounds and responses of conduct cases,
#                      penalties, blacklist entries and appeals; customer and group notes


def bounded(value: str | None, limit: int, field: str) -> str:
    """`value` trimmed, refused naming `field` when it is longer than `limit` characters."""
    text = (value or "").strip()
    if len(text) > limit:
        raise ValidationFailed(_("at most %(n)d characters") % {"n": limit}, field=field)
    return text


def model_text(limit: int) -> dict[str, Any]:
    """Options of a model TextField holding free text: the maximum for its form fields and a
    validator for `full_clean()`/`clean_fields()` (no database constraint)."""
    return {"max_length": limit, "validators": [MaxLengthValidator(limit)]}
