"""RFC 9457 problem+json responses for every API error, naming the field and the reason."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from custguard.core.errors import DomainError

PROBLEM_TYPE = "https://custguard.example/problems/"
CONTENT_TYPE = "application/problem+json"


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
    parts = [p for p in loc if p not in ("body", "query", "path", "payload", "filters")]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def install(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        errors = [{"field": field, "reason": reason}
                  for field, reasons in exc.errors.items() for reason in reasons]
        titles = {400: "Bad request", 403: "Forbidden", 404: "Not found", 409: "Conflict",
                  422: "Validation failed"}
        detail = exc.message
        if exc.field and not detail.startswith(exc.field):
            detail = f"{exc.field}: {detail}"
        return problem(request, exc.status, titles.get(exc.status, "Error"), detail,
                       code=exc.code, errors=errors or None)

    @api.exception_handler(NinjaValidationError)
    def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors = [{"field": _loc_to_field(e.get("loc", [])), "reason": e.get("msg", "invalid")}
                  for e in exc.errors]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return problem(request, 422, "Validation failed", detail, code="validation_failed",
                       errors=errors)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = problem(request, 401, "Unauthorized",
                           "send a valid bearer token or log in", code="unauthorized")
        response["WWW-Authenticate"] = 'Bearer realm="custguard"'
        return response

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return problem(request, exc.status_code, "Error", str(exc), code="http_error")
