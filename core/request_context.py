"""The request being served, for code that has no `request` argument.

`RequestContextMiddleware` puts the request (and its client IP) in a context variable
for the duration of the request, so the audit trail can stamp every entry with the
source IP without each service taking a `request` argument. Works for sync
and async requests; Celery tasks and commands have no request, hence no IP.

The client IP is REMOTE_ADDR. X-Forwarded-For is honoured only when
settings.AUDIT_TRUST_X_FORWARDED_FOR is set, i.e. when a proxy we run sets it: True (or
1) takes the last address (the one our proxy appended), an integer N the N-th from the
right for N proxies in a row. The left-most entries are whatever the client sent and
are never trusted.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import structlog
from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.http import HttpRequest
from django.utils.decorators import sync_and_async_middleware


@dataclass(frozen=True)
class RequestContext:
    ip: str | None
    request: HttpRequest | None = None


_current: ContextVar[RequestContext | None] = ContextVar("request_context", default=None)


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    # "[::1]:443" / "1.2.3.4:5678" as some proxies write them.
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address as far as we can trust it (see the module docstring)."""
    trusted_hops = int(getattr(settings, "AUDIT_TRUST_X_FORWARDED_FOR", 0) or 0)
    if trusted_hops > 0:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= trusted_hops:
            ip = _valid_ip(hops[-trusted_hops])
            if ip:
                return ip
    return _valid_ip(request.META.get("REMOTE_ADDR"))


def current_ip() -> str | None:
    context = _current.get()
    return context.ip if context else None


def current_request_id() -> str | None:
    """The id of the request (or of the request that enqueued the task) being served,
    as config.logging binds it for every log line; None outside of one."""
    return structlog.contextvars.get_contextvars().get("request_id")


def current_request() -> HttpRequest | None:
    context = _current.get()
    return context.request if context else None


@contextmanager
def request_context(*, ip: str | None, request: HttpRequest | None = None) -> Iterator[None]:
    """Set the audit context by hand (tests, or work done on behalf of a request)."""
    token = _current.set(RequestContext(ip=_valid_ip(ip), request=request))
    try:
        yield
    finally:
        _current.reset(token)


@sync_and_async_middleware
def RequestContextMiddleware(get_response):
    """Expose the request and its client IP while it is served."""

    if iscoroutinefunction(get_response):

        async def middleware(request):
            token = _current.set(RequestContext(ip=client_ip(request), request=request))
            try:
                return await get_response(request)
            finally:
                _current.reset(token)

    else:

        def middleware(request):
            token = _current.set(RequestContext(ip=client_ip(request), request=request))
            try:
                return get_response(request)
            finally:
                _current.reset(token)

    return middleware
