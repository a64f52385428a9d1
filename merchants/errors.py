"""Domain errors raised by services. The API maps each to the SPEC's JSON error shape
(its `type` and HTTP status); the dashboard shows the message."""


class DomainError(Exception):
    type = "invalid_request"
    status = 400

    def __init__(self, message: str, *, param: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param


class InvalidRequest(DomainError):
    type = "invalid_request"
    status = 400


class ValidationFailed(DomainError):
    type = "validation_error"
    status = 400


class PermissionDenied(DomainError):
    type = "permission_error"
    status = 403


class NotFound(DomainError):
    type = "not_found"
    status = 404


class Conflict(DomainError):
    type = "conflict"
    status = 409
