"""Domain errors. Services raise these; the web edge turns them into pages or problem+json."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from careplane.kernel.group_commit import Write


class CareplaneError(Exception):
    status = 400
    title = "Bad request"
    type_slug = "bad-request"
    #: Response headers the edge adds to the answer (e.g. ``Retry-After``).
    headers: Mapping[str, str] = MappingProxyType({})

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class NotFound(CareplaneError):
    status = 404
    title = "Not found"
    type_slug = "not-found"


class NotAuthenticated(CareplaneError):
    status = 401
    title = "Authentication required"
    type_slug = "not-authenticated"


class AccessDenied(CareplaneError):
    """Refused by the access policy. Carries the audit row to keep after the rollback, as writes
    (statement, parameters) that the unit of work executes once it has rolled back."""

    status = 403
    title = "Access denied"
    type_slug = "access-denied"

    def __init__(self, detail: str, keep_after_rollback: list[Write] | None = None) -> None:
        super().__init__(detail)
        self.keep_after_rollback = keep_after_rollback or []


class Conflict(CareplaneError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class ValidationFailed(CareplaneError):
    """Input that breaks a rule. ``errors`` maps a field name to its message."""

    status = 422
    title = "Validation failed"
    type_slug = "validation-failed"

    def __init__(self, errors: dict[str, str], detail: str | None = None) -> None:
        super().__init__(detail or "; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class TooManyRequests(CareplaneError):
    status = 429
    title = "Too many requests"
    type_slug = "too-many-requests"


class Overloaded(CareplaneError):
    """More work than the server takes on at once: nothing was done; the caller may retry after
    ``retry_after`` seconds (503 with ``Retry-After``)."""

    status = 503
    title = "Busy"
    type_slug = "overloaded"

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}
