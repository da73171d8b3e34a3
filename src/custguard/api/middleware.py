"""Refuse, for the API, a path or query parameter holding text no database column can hold.

A NUL character or a lone surrogate in a query parameter or the path is a 500 on PostgreSQL and
silently stored or compared on SQLite; here it is a 422 naming the parameter, the same on both,
before any view runs. Request bodies are checked by the schemas (api/schemas.py)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from custguard.api import problems
from custguard.api.schemas import unstorable_text

API_PREFIX = "/api/"


class UnstorableTextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(API_PREFIX):
            field = _unstorable_parameter(request)
            if field is not None:
                reason = problems.input_reason({"type": field[1]})
                return problems.problem(request, 422, problems.title(422),
                                        f"{field[0]}: {reason}", code="validation_failed",
                                        errors=[{"field": field[0], "reason": reason}])
        return self.get_response(request)


def _unstorable_parameter(request: HttpRequest) -> tuple[str, str] | None:
    """(parameter, error type) of the first unstorable path or query text, or None."""
    problem = unstorable_text(request.path_info)
    if problem is not None:
        return _("path"), problem
    for key, values in request.GET.lists():
        for text in (key, *values):
            problem = unstorable_text(text)
            if problem is not None:
                return (key if unstorable_text(key) is None else "query"), problem
    return None
