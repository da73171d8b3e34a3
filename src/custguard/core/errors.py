"""Domain errors raised by services; the API maps them to problem+json, the UI to messages."""

from __future__ import annotations


class DomainError(Exception):
    """A refused action. `field` names the input at fault where there is one."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None,
                 errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code
        self.errors = errors or ({field: [message]} if field else {})


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"


class PermissionRefused(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
