"""Under /api/ nothing answers HTML: the wrapper of every API URL, the middleware for
what Django itself answers, and the root URLconf's 404/500 handlers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.views.defaults import page_not_found as html_page_not_found
from django.views.defaults import server_error as html_server_error

from .errors import (
    error_response,
    exception_response,
    method_not_allowed_response,
    not_found_response,
    server_error_response,
)

API_PATH_PREFIX = "/api/"


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
    return html_page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: JSON under /api/, Django's page elsewhere."""
    if is_api_request(request):
        return server_error_response()
    return html_server_error(request)
