"""The API's one error shape (SPEC 7), and everything that turns a failure into it.

Every error under /api/ answers JSON `{"error": {"type", "message", "param"?}}`, never
an HTML page, also with DEBUG=True:

- domain errors raised by services carry their own `type` and status;
- request validation (ninja/pydantic) -> 400 `validation_error` naming the field;
- a body that is not JSON, or not sent as application/json -> 400 `invalid_request`;
- a missing, unknown or revoked API key -> 401 `authentication_error`;
- an unknown route -> 404 `not_found`; a known route with another method -> 405;
- anything unexpected -> 500 `api_error`, logged with its traceback, which the
  answer never contains.

Inside /api/v1/ the ninja API does all of this itself. For the rest of /api/ (and as
a net under everything) `ApiJsonErrorsMiddleware`, `page_not_found` and `server_error`
are available to settings.MIDDLEWARE and the root URLconf.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Literal

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from merchants.errors import DomainError, ValidationFailed

logger = logging.getLogger("config.api")

API_PATH_PREFIX = "/api/"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"

ErrorType = Literal[
    "invalid_request",
    "validation_error",
    "authentication_error",
    "permission_error",
    "customer_restricted",
    "not_found",
    "conflict",
    "idempotency_error",
    "api_error",
]


class ErrorDetail(Schema):
    type: ErrorType
    message: str
    param: str | None = None
    rule: str | None = None


class ErrorOut(Schema):
    """Every error answer: `param` names the offending field (camelCase path) when
    there is one; `rule` names the refusing rule of a `customer_restricted` answer."""

    error: ErrorDetail


def errors(*statuses: int) -> dict:
    """`response=` entries declaring these error statuses with the error shape."""
    return dict.fromkeys(statuses, ErrorOut)


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


# --- request validation ---------------------------------------------------------------


class UnsupportedContentType(Exception):
    pass


def _is_storable_text(text: str) -> bool:
    """PostgreSQL stores neither NUL characters nor lone surrogates."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _first_unstorable_string(value, path: tuple = ()) -> tuple | None:
    if isinstance(value, str):
        return None if _is_storable_text(value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            if not _is_storable_text(key):
                return (*path, key)
            if (found := _first_unstorable_string(item, (*path, key))) is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if (found := _first_unstorable_string(item, (*path, index))) is not None:
                return found
    return None


class JsonOnlyParser(Parser):
    """Bodies are JSON, sent as application/json (or a +json type); anything else is
    refused with 400 invalid_request rather than guessed at. Text the database cannot
    store (NUL characters, lone surrogates) is refused with 400 validation_error, in
    the body and in the query string alike, for every endpoint."""

    def parse_body(self, request: HttpRequest):
        content_type = (request.content_type or "").lower()
        if content_type != "application/json" and not content_type.endswith("+json"):
            raise UnsupportedContentType(content_type or "none")
        data = super().parse_body(request)
        if (path := _first_unstorable_string(data)) is not None:
            raise ValidationFailed(
                "Text must not contain NUL characters or lone surrogates",
                param=".".join(str(part) for part in path) or None,
            )
        return data

    def parse_querydict(self, data, list_fields, request):
        for name, values in data.lists():
            if not all(_is_storable_text(text) for text in (name, *values)):
                raise ValidationFailed(
                    "Text must not contain NUL characters or lone surrogates", param=name
                )
        return super().parse_querydict(data, list_fields, request)


def reject_nul_in_path(run: Callable) -> Callable:
    """Ninja "view" decorator: an id the database could not even store names nothing,
    so it is not found (rather than a database error)."""

    @wraps(run)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if not all(_is_storable_text(str(value)) for value in kwargs.values()):
            return not_found_response(request)
        return run(request, *args, **kwargs)

    return wrapper


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


# --- around every view of the API -------------------------------------------------------


def _is_json(response: HttpResponseBase) -> bool:
    return "json" in response.get("Content-Type", "")


def json_errors(view: Callable, *, safe_methods_only: bool = False) -> Callable:
    """Wrap a URL view of the API so nothing it answers is HTML: exceptions that
    escape ninja (e.g. Http404 from its root view) and ninja's plain 405 become JSON.
    Every API view is CSRF-exempt: requests authenticate with a bearer key, never a
    cookie, so there is no ambient credential to forge."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if safe_methods_only and request.method not in ("GET", "HEAD"):
            return method_not_allowed_response(request, "GET, HEAD")
        try:
            response = view(request, *args, **kwargs)
        except Exception as exc:
            return exception_response(request, exc)
        if response.status_code == 405 and not _is_json(response):
            return method_not_allowed_response(request, response.get("Allow", ""))
        return response

    wrapper.csrf_exempt = True
    return wrapper


# --- outside the ninja API (settings.MIDDLEWARE, handler404, handler500) -----------------


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith(API_PATH_PREFIX)


class ApiJsonErrorsMiddleware:
    """Under /api/, turn what Django itself answers in HTML into the API's JSON errors:
    an unknown URL (also DEBUG's technical 404), an exception that escaped a view (also
    DEBUG's technical 500), a CSRF refusal. Other paths are left alone."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not is_api_request(request) or _is_json(response) or response.status_code < 400:
            return response
        if response.status_code == 404:
            return not_found_response(request)
        if response.status_code == 405:
            return method_not_allowed_response(request, response.get("Allow", ""))
        if response.status_code == 403:
            return error_response(403, "permission_error", "You may not do this")
        if response.status_code >= 500:
            return server_error_response()
        return error_response(response.status_code, "invalid_request", "Bad request")

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not is_api_request(request):
            return None
        return exception_response(request, exc)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: JSON under /api/, Django's page elsewhere."""
    if is_api_request(request):
        return not_found_response(request)
    from django.views.defaults import page_not_found as html_page_not_found

    return html_page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: JSON under /api/, Django's page elsewhere."""
    if is_api_request(request):
        return server_error_response()
    from django.views.defaults import server_error as html_server_error

    return html_server_error(request)


__all__ = [
    "ApiJsonErrorsMiddleware",
    "ErrorOut",
    "JsonOnlyParser",
    "error_response",
    "errors",
    "exception_response",
    "install_exception_handlers",
    "json_errors",
    "page_not_found",
    "server_error",
]
