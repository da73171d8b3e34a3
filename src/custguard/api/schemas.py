"""Base classes and types shared by every app's API schemas.

Input is checked here, once, so that a value the database cannot hold is refused with a 422 that
names the field instead of failing deeper as a 500 (docs/api.md, "Input rules"):
- text: no NUL character, no lone surrogate (PostgreSQL refuses both; SQLite would store them);
- whole numbers: JSON integers only (no `true` for 1, no `1.0`), within a 64-bit column;
- money (`Money`): a JSON number or a decimal string of ASCII digits, finite, at most two
  decimal places and 14 digits before the point; "-0" is 0.
"""

from __future__ import annotations

import re
import types
import typing
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from ninja import Field, FilterSchema, Schema
from pydantic import BeforeValidator, ConfigDict, ValidationInfo, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from custguard.core.limits import MAX_INT, MIN_INT

MONEY_INTEGER_DIGITS = 14  # core.money.money_field_kwargs(): 16 digits, 2 after the point
MONEY_BOUND = 99_999_999_999_999.99
MONEY_PATTERN = r"^-?[0-9]{1,14}(\.[0-9]{1,2})?$"
_MONEY_TEXT = re.compile(MONEY_PATTERN)
_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable_text(value: str) -> str | None:
    """The pydantic error type of a text no database column can hold, or None."""
    if "\x00" in value:
        return "nul_character"
    if _SURROGATE.search(value):
        return "lone_surrogate"
    return None


def _check_text(value: Any) -> None:
    """Every text in a raw input value (nested lists and objects too, keys included)."""
    if isinstance(value, str):
        problem = unstorable_text(value)
        if problem == "nul_character":
            raise PydanticCustomError(problem, "must not contain NUL characters")
        if problem == "lone_surrogate":
            raise PydanticCustomError(problem, "must not contain unpaired surrogate characters")
    elif isinstance(value, list | tuple):
        for item in value:
            _check_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)


def _kinds(annotation: Any) -> set[type]:
    """The plain types an annotation accepts at its top level (unions and Annotated unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _kinds(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        kinds: set[type] = set()
        for arg in typing.get_args(annotation):
            kinds |= _kinds(arg)
        return kinds
    if origin is not None:
        return {origin}
    return {annotation} if isinstance(annotation, type) else set()


def _check_number(value: Any, kinds: set[type]) -> None:
    """JSON's types kept apart: a field for whole numbers takes neither `true` nor `1.0`."""
    if int not in kinds or bool in kinds and isinstance(value, bool):
        return
    numeric = float in kinds or Decimal in kinds
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "must be a whole number")
    if isinstance(value, float) and not numeric:
        raise PydanticCustomError("int_from_float", "must be a whole number")
    if isinstance(value, int) and not MIN_INT <= value <= MAX_INT:
        raise PydanticCustomError("int_too_large", "must be at most {max}", {"max": MAX_INT})


class InputSchema(Schema):
    """A request body: an unknown key is a mistake (e.g. trying to PATCH `code`), so it is
    refused with a 422 that names it instead of being silently ignored; text and whole numbers
    are checked as the module says."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        _check_text(value)
        field = cls.model_fields.get(info.field_name or "")
        if field is not None:
            kinds = _kinds(field.annotation)
            _check_number(value, kinds)
            if list in kinds and isinstance(value, list):
                inner = typing.get_args(field.annotation)
                item_kinds = _kinds(inner[0]) if inner else set()
                for item in value:
                    _check_number(item, item_kinds)
        return value


class QueryFilter(FilterSchema):
    """Query parameters of a list: whole numbers within a 64-bit column (text is checked for
    every query parameter by api.middleware)."""

    @field_validator("*", mode="after")
    @classmethod
    def _in_range(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            _check_number(value, {int})
        return value


def _money(value: Any) -> Any:
    """Money as the client sent it, checked before pydantic makes a Decimal of it: nothing is
    rounded, and a value too large for the column is refused, not stored cut."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise PydanticCustomError("decimal_type", "must be a decimal number")
    if isinstance(value, float):
        text = repr(value)
        if "e" in text or "inf" in text or "nan" in text:  # 1e30, 1e400 (inf), NaN
            raise PydanticCustomError("money_range", "must be an amount of money")
    else:
        text = str(value).strip()
    if not _MONEY_TEXT.match(text):
        raise PydanticCustomError("money_range", "must be an amount of money")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise PydanticCustomError("money_range", "must be an amount of money") from None
    return amount if amount else Decimal("0.00")  # "-0" and "-0.00" are zero, not minus zero


Money = Annotated[
    Decimal,
    BeforeValidator(_money),
    WithJsonSchema({"anyOf": [{"type": "number", "multipleOf": 0.01,
                               "minimum": -MONEY_BOUND, "maximum": MONEY_BOUND},
                              {"type": "string", "pattern": MONEY_PATTERN}],
                    "description": "an amount of money: at most two decimal places and "
                                   f"{MONEY_INTEGER_DIGITS} digits before the point; "
                                   "send it as a string, e.g. \"1280.00\""}),
]


class CustomerRef(Schema):
    """A customer as other objects point at it."""

    id: int
    code: str
    name: str


class ReasonOut(Schema):
    """A reason code of a decision with its parameters and its plain-language text."""

    code: str
    params: dict[str, Any]
    text: str = Field(description="the reason in plain language (the request's language)")
