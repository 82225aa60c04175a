"""Domain errors. The API maps each to `{"detail": ..., "code": ...}` with its status, once."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a message for people, a stable code for programs, an HTTP status."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None, field: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.field = field
        if code:
            self.code = code


class InvalidInput(DomainError):
    status = 422
    code = "invalid"


class InvalidFields(InvalidInput):
    """Schema errors, listed as a single request's 422 lists them: `errors` holds one
    `{field, msg, type}` each (the API's `detail` for `validation_error`)."""

    code = "validation_error"

    def __init__(self, errors: list[dict[str, str]]):
        first = errors[0] if errors else {"field": "body", "msg": "invalid", "type": ""}
        super().__init__(f"{first['field']}: {first['msg']}", field=first["field"])
        self.errors = errors or [first]


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class RateLimited(DomainError):
    """Too many requests: the client should wait `retry_after` seconds (Retry-After)."""

    status = 429
    code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_after


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"
