"""Every failure under /api/ as the API's one error shape (SPEC 7; the schema is
core.api.ErrorOut).

Every error under /api/ answers JSON `{"error": {"type", "message", "param"?}}`, never
an HTML page, also with DEBUG=True:

- domain errors raised by services carry their own `type` and status;
- request validation (ninja/pydantic) -> 400 `validation_error` naming the field;
- a body that is not JSON, or not sent as application/json -> 400 `invalid_request`;
- a missing, unknown or revoked API key -> 401 `authentication_error`;
- an unknown route -> 404 `not_found`; a known route with another method -> 405;
- anything unexpected -> 500 `api_error`, logged with its traceback, which the
  answer never contains.

Inside /api/v1/ the ninja API does all of this itself (its handlers are installed by
`install_exception_handlers`); config/api/middleware.py is the net for the rest of /api/.
"""

from __future__ import annotations

import json
import logging

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from ninja.errors import AuthenticationError, HttpError, ValidationError

from core.errors import DomainError

logger = logging.getLogger("config.api")

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


class UnsupportedContentType(Exception):
    """A request body sent as something else than JSON."""


def error_response(
    status: int,
    type: str,
    message: str,
    *,
    param: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: str | None,
) -> HttpResponse:
    error = {"type": type, "message": message}
    if param:
        error["param"] = param
    error.update({name: value for name, value in extra.items() if value is not None})
    response = HttpResponse(
        json.dumps({"error": error}), status=status, content_type=JSON_CONTENT_TYPE
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def domain_error_response(error: DomainError) -> HttpResponse:
    return error_response(
        error.status,
        error.type,
        error.message,
        param=error.param,
        rule=getattr(error, "rule", None),
    )


def not_found_response(request: HttpRequest) -> HttpResponse:
    return error_response(
        404, "not_found", f"Unrecognized request URL ({request.method}: {request.path})"
    )


def method_not_allowed_response(request: HttpRequest, allowed: str) -> HttpResponse:
    return error_response(
        405,
        "invalid_request",
        f"{request.method} is not allowed on {request.path}; allowed: {allowed}",
        headers={"Allow": allowed},
    )


def authentication_error_response() -> HttpResponse:
    return error_response(
        401,
        "authentication_error",
        "Missing, unknown or revoked API key: send 'Authorization: Bearer sk_test_…'",
        headers={"WWW-Authenticate": 'Bearer realm="api"'},
    )


def server_error_response() -> HttpResponse:
    return error_response(500, "api_error", "Something went wrong on our side; please retry")


def exception_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """The JSON answer to any exception raised while serving an API request."""
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    if isinstance(exc, ValidationError):
        return validation_error_response(exc)
    if isinstance(exc, AuthenticationError):
        return authentication_error_response()
    if isinstance(exc, HttpError):
        return http_error_response(exc)
    if isinstance(exc, Http404):
        return not_found_response(request)
    if isinstance(exc, PermissionDenied):
        return error_response(403, "permission_error", "You may not do this")
    if isinstance(exc, SuspiciousOperation | BadRequest):
        # Includes a body over DATA_UPLOAD_MAX_MEMORY_SIZE.
        return error_response(400, "invalid_request", "Bad request")
    logger.exception("Unexpected error serving %s %s", request.method, request.path, exc_info=exc)
    return server_error_response()


def http_error_response(exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:
        cause = exc.__cause__
        if isinstance(cause, DomainError):
            return domain_error_response(cause)
        if isinstance(cause, UnsupportedContentType):
            message = f"Content-Type must be application/json, not {cause}"
        elif isinstance(cause, SuspiciousOperation):
            message = "The request body is too large"
        else:
            message = "The request body is not valid JSON"
        return error_response(400, "invalid_request", message)
    if exc.status_code == 404:
        return error_response(404, "not_found", str(exc))
    return error_response(exc.status_code, "invalid_request", str(exc))


def _param_path(location: tuple) -> str | None:
    """('body', 'payload', 'customer', 'email') -> 'customer.email'; ('query',
    'limit') -> 'limit'. Locations are already camelCase: schemas validate by alias."""
    source, *path = location
    if source == "body" and path:
        path = path[1:]  # the view's argument name, e.g. `payload`
    if "[key]" in path:  # a refused key of a mapping: name the mapping
        path = path[: path.index("[key]") - 1]
    return ".".join(str(part) for part in path) or None


def validation_error_response(exc: ValidationError) -> HttpResponse:
    """The first problem, as 400 validation_error with the field's name in `param`."""
    error = exc.errors[0]
    param = _param_path(tuple(error.get("loc", ())))
    kind = error.get("type", "")
    detail = str(error.get("msg", "Invalid value")).removeprefix("Value error, ")
    if kind == "missing":
        message = f"Missing required parameter: {param}" if param else "A request body is required"
    elif kind == "extra_forbidden":
        message = f"Received unknown parameter: {param}"
    elif param:
        message = f"Invalid {param}: {detail}"
    else:
        message = f"Invalid request body: {detail}"
    return error_response(400, "validation_error", message, param=param)


def install_exception_handlers(api) -> None:
    """Replace ninja's default handlers (which answer {"detail"}, 422 for validation,
    and a plain-text traceback under DEBUG) with the API's error shape."""
    for exc_class in (Exception, Http404, HttpError, ValidationError, DomainError):
        api.add_exception_handler(exc_class, lambda request, exc: exception_response(request, exc))
