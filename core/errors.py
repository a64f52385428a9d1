"""Domain errors raised by services. The API maps each to the SPEC's JSON error shape
(its `type` and HTTP status); the dashboard shows the message."""

from __future__ import annotations


class DomainError(Exception):
    type = "invalid_request"
    status = 400

    def __init__(self, message: str, *, param: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param


class InvalidRequest(DomainError):
    """The request cannot be done in the object's state (SPEC 7: 400 invalid_request)."""


class ValidationFailed(DomainError):
    type, status = "validation_error", 400


class NotFound(DomainError):
    type, status = "not_found", 404


class Conflict(DomainError):
    type, status = "conflict", 409


def found_or_not_found(queryset, pk, *, name: str):
    """The row of `queryset` (already scoped to the merchant) with this primary key, or
    NotFound naming it, so a foreign id answers exactly as a missing one."""
    # No ORDER BY (a primary key finds one row): `.first()` would sort by the model's
    # ordering, which costs the compiler on every hot-path lookup.
    found = next(iter(queryset.filter(pk=pk).order_by()[:1]), None)
    if found is None:
        raise NotFound(f"No such {name}: '{pk}'", param="id")
    return found
