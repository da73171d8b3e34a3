"""Building blocks of the policy schema: the base model, field types and located rule errors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Annotated, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, StringConstraints
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

CODE_PATTERN = r"^[A-Z][A-Z0-9_]{0,63}$"

Loc = tuple[str | int, ...]
Issue = tuple[Loc, str]


class PolicyModel(BaseModel):
    """Base of every section: immutable, and unknown keys are mistakes."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _normalize(value: Decimal) -> Decimal:
    """One spelling per number: no trailing zeros, no exponent for whole numbers."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _to_cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Flag = Annotated[bool, Strict()]
Int = Annotated[int, Strict()]
Count = Annotated[int, Strict(), Field(ge=1, le=1_000_000)]
Days = Annotated[int, Strict(), Field(ge=1, le=36_500)]
ScorePoints = Annotated[int, Strict(), Field(ge=-10_000, le=10_000)]
Number = Annotated[Decimal, Field(allow_inf_nan=False), AfterValidator(_normalize)]
Percent = Annotated[Decimal, Field(ge=0, le=100, allow_inf_nan=False), AfterValidator(_normalize)]
Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=18, decimal_places=2, allow_inf_nan=False),
    AfterValidator(_to_cents),
]


def raise_issues(title: str, issues: Sequence[Issue]) -> None:
    """Raise one validation error that carries every issue at its own location.

    Pydantic prefixes the locations with the location of the model or field being validated, so
    an issue at ("bins", 0, "upper") raised by a factor ends up at its full path in the document.
    """
    if not issues:
        return
    raise PydanticValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(
                type=PydanticCustomError("policy_rule", "{detail}", {"detail": message}),
                loc=loc,
                input=None,
            )
            for loc, message in issues
        ],
    )


class HasCode(Protocol):
    @property
    def code(self) -> str: ...


def duplicate_codes(items: Iterable[HasCode], prefix: Loc = ()) -> list[Issue]:
    """An issue at (index, "code") for every item whose code was already used."""
    first: dict[str, int] = {}
    issues: list[Issue] = []
    for index, item in enumerate(items):
        if item.code in first:
            issues.append(
                ((*prefix, index, "code"),
                 f"duplicate code {item.code} (already used at index {first[item.code]})")
            )
        else:
            first[item.code] = index
    return issues
