"""RFC 9457 problem+json responses for every API error, naming the field and the reason.

`title`, `detail` and `errors[].reason` are human text in the request's language (Accept-Language,
else the default zh-hans); `type`, `status` and `errors[].field` are codes and never translated.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DataError, IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from custguard.core.errors import DomainError

PROBLEM_TYPE = "https://custguard.example/problems/"
CONTENT_TYPE = "application/problem+json"

TITLES = {
    400: gettext_lazy("Bad request"),
    401: gettext_lazy("Unauthorized"),
    403: gettext_lazy("Forbidden"),
    404: gettext_lazy("Not found"),
    409: gettext_lazy("Conflict"),
    413: gettext_lazy("Request body too large"),
    422: gettext_lazy("Validation failed"),
}

# Reasons for the pydantic error types the API's schemas produce, by error type; the values
# are filled from the error's `ctx`. Types not listed keep pydantic's own (English) message.
INPUT_REASONS = {
    "missing": gettext_lazy("this field is required"),
    "extra_forbidden": gettext_lazy("unknown field"),
    "string_too_short": gettext_lazy("must have at least %(min_length)s characters"),
    "string_too_long": gettext_lazy("must have at most %(max_length)s characters"),
    "string_pattern_mismatch": gettext_lazy("does not match the pattern %(pattern)s"),
    "literal_error": gettext_lazy("must be one of %(expected)s"),
    "enum": gettext_lazy("must be one of %(expected)s"),
    "string_type": gettext_lazy("must be a string"),
    "int_type": gettext_lazy("must be a whole number"),
    "int_parsing": gettext_lazy("must be a whole number"),
    "int_from_float": gettext_lazy("must be a whole number"),
    "bool_type": gettext_lazy("must be true or false"),
    "bool_parsing": gettext_lazy("must be true or false"),
    "decimal_type": gettext_lazy("must be a decimal number"),
    "decimal_parsing": gettext_lazy("must be a decimal number"),
    "float_type": gettext_lazy("must be a number"),
    "float_parsing": gettext_lazy("must be a number"),
    "greater_than": gettext_lazy("must be greater than %(gt)s"),
    "greater_than_equal": gettext_lazy("must be at least %(ge)s"),
    "less_than": gettext_lazy("must be less than %(lt)s"),
    "less_than_equal": gettext_lazy("must be at most %(le)s"),
    "date_type": gettext_lazy("must be a date (YYYY-MM-DD)"),
    "date_parsing": gettext_lazy("must be a date (YYYY-MM-DD)"),
    "date_from_datetime_parsing": gettext_lazy("must be a date (YYYY-MM-DD)"),
    "date_from_datetime_inexact": gettext_lazy("must be a date (YYYY-MM-DD)"),
    "datetime_type": gettext_lazy("must be a date and time (ISO 8601)"),
    "datetime_parsing": gettext_lazy("must be a date and time (ISO 8601)"),
    "datetime_from_date_parsing": gettext_lazy("must be a date and time (ISO 8601)"),
    "list_type": gettext_lazy("must be a list"),
    "dict_type": gettext_lazy("must be an object"),
    "model_type": gettext_lazy("must be an object"),
    "model_attributes_type": gettext_lazy("must be an object"),
    "json_invalid": gettext_lazy("the request body is not valid JSON"),
    "too_short": gettext_lazy("must have at least %(min_length)s items"),
    "too_long": gettext_lazy("must have at most %(max_length)s items"),
    "finite_number": gettext_lazy("must be a finite number"),
    "decimal_max_digits": gettext_lazy("must have at most %(max_digits)s digits"),
    "decimal_max_places": gettext_lazy("must have at most %(decimal_places)s decimal places"),
    "decimal_whole_digits": gettext_lazy("must have at most %(whole_digits)s digits before "
                                         "the point"),
    "uuid_parsing": gettext_lazy("must be a UUID"),
    "string_unicode": gettext_lazy("must be valid Unicode text"),
    "none_required": gettext_lazy("must be empty (null)"),
    "value_error": gettext_lazy("is not a valid value"),
    # api/schemas.py
    "nul_character": gettext_lazy("must not contain NUL characters"),
    "lone_surrogate": gettext_lazy("must not contain unpaired surrogate characters"),
    "int_too_large": gettext_lazy("must be at most %(max)s"),
    "money_range": gettext_lazy("must be an amount of money: at most 14 digits before the "
                                "point and 2 after it"),
}

# Messages Django Ninja raises itself (as HttpError) that the API translates.
NINJA_MESSAGES = {
    "CSRF check Failed": gettext_lazy("CSRF check failed"),
}


def title(status: int) -> str:
    return str(TITLES.get(status, gettext_lazy("Error")))


def problem(request: HttpRequest, status: int, title: str, detail: str, *, code: str,
            errors: list[dict[str, Any]] | None = None) -> HttpResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    if errors:
        body["errors"] = errors
    return JsonResponse(body, status=status, content_type=CONTENT_TYPE,
                        json_dumps_params={"ensure_ascii": False})


def _loc_to_field(loc: list[Any] | tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "payload", "filters", "form")]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def input_reason(error: dict[str, Any]) -> str:
    """The reason of one pydantic error in the active language; an error type without its
    own wording gets a general one with pydantic's (English) message after it."""
    fallback = _("is not valid (%(message)s)") % {"message": error.get("msg") or error.get("type")}
    template = INPUT_REASONS.get(str(error.get("type", "")))
    if template is None:
        return fallback
    context = {key: str(value) for key, value in (error.get("ctx") or {}).items()}
    if "expected" in context:  # pydantic writes "'a', 'b' or 'c'": keep only the values
        context["expected"] = context["expected"].replace(" or ", ", ")
    if error.get("type") == "string_too_short" and context.get("min_length") == "1":
        return _("must not be empty")
    try:
        return str(template) % context
    except (KeyError, TypeError, ValueError):
        return fallback


# The problem responses every operation may give, documented on each in the OpenAPI (with the
# body's schema) so that a client generated from it knows them; 400 and 413 concern a body.
DOCUMENTED = {
    400: "the request body is not valid JSON or not the expected media type",
    401: "no valid bearer token and no signed-in session",
    403: "the role may not do this",
    404: "the object, or one the request refers to, does not exist or is not visible",
    409: "the request conflicts with the object's state or an earlier request",
    413: "the request body is larger than the configured maximum",
    422: "a field is invalid: `errors` names each field and the reason",
}
BODY_ONLY = {400, 413}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem; `title`, `detail` and `reason` in the request's language.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "reason"],
            "properties": {"field": {"type": "string"}, "reason": {"type": "string"}}}},
    },
}


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the problem responses (DOCUMENTED) to every operation of an OpenAPI document."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    reference = {"$ref": "#/components/schemas/Problem"}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status, description in DOCUMENTED.items():
                if status in BODY_ONLY and "requestBody" not in operation:
                    continue
                responses.setdefault(status, {
                    "description": description,
                    "content": {CONTENT_TYPE: {"schema": reference}},
                })
    return schema


def install(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        errors = [{"field": field, "reason": reason}
                  for field, reasons in exc.errors.items() for reason in reasons]
        detail = exc.message
        if exc.field and not detail.startswith(exc.field):
            detail = f"{exc.field}: {detail}"
        return problem(request, exc.status, title(exc.status), detail,
                       code=exc.code, errors=errors or None)

    @api.exception_handler(NinjaValidationError)
    def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors = [{"field": _loc_to_field(e.get("loc", [])), "reason": input_reason(e)}
                  for e in exc.errors]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return problem(request, 422, title(422), detail, code="validation_failed",
                       errors=errors)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = problem(request, 401, title(401),
                           _("send a valid bearer token or log in"), code="unauthorized")
        response["WWW-Authenticate"] = 'Bearer realm="custguard"'
        return response

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return problem(request, 413, title(413),
                       _("the request body is larger than the configured maximum"),
                       code="request_too_large")

    @api.exception_handler(DataError)
    @api.exception_handler(OverflowError)
    def out_of_range(request: HttpRequest, exc: Exception) -> HttpResponse:
        # A value that passed the schemas but not the database column (too large, wrong type):
        # the client's input, not a server error.
        return problem(request, 422, title(422),
                       _("a value is out of the range the server can store"),
                       code="value_out_of_range")

    @api.exception_handler(IntegrityError)
    def integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
        # SQLite reports a value of the wrong type for its column (an integer beyond 64 bits)
        # as an IntegrityError "datatype mismatch": a range error like the above. Any other
        # integrity error is a defect of ours and stays a 500.
        if "datatype mismatch" not in str(exc):
            raise exc
        return out_of_range(request, exc)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        message = str(exc)
        detail = str(NINJA_MESSAGES.get(message, message))
        return problem(request, exc.status_code, _("Error"), detail, code="http_error")
