"""Probes and metrics for load balancers and Prometheus (SPEC 14).

- `/healthz`: the process answers; touches nothing.
- `/readyz`: the database, the Celery broker and the cache answer; 503 naming the
  failing parts otherwise. The answer names each part's state, never an error
  message (they carry internal addresses); the errors go to the log.
- `/metrics`: Prometheus text, for a client address in METRICS_ALLOWED_NETWORKS or a
  request with `Authorization: Bearer <METRICS_TOKEN>`; anyone else gets 403.

All three are exempt from the HTTPS redirect (settings.SECURE_REDIRECT_EXEMPT) so a
probe can use plain HTTP inside the network.
"""

from __future__ import annotations

import hmac
import ipaddress
import uuid
from collections.abc import Callable
from functools import cache

import structlog
from django.conf import settings
from django.core.cache import cache as django_cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection
from prometheus_client import CONTENT_TYPE_LATEST

from . import metrics as figures

logger = structlog.get_logger(__name__)

CHECK_TIMEOUT_SECONDS = 1.0


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


# --- readiness -------------------------------------------------------------------------


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def check_broker(url: str | None = None) -> str:
    """A connection to the Celery broker, given up after about a second."""
    if url is None:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            return "in-process"  # no broker configured: tasks run in the web process
        url = settings.CELERY_BROKER_URL
    timeouts = {"socket_connect_timeout": CHECK_TIMEOUT_SECONDS}
    timeouts["socket_timeout"] = CHECK_TIMEOUT_SECONDS
    with Connection(
        url, connect_timeout=CHECK_TIMEOUT_SECONDS, transport_options=timeouts
    ) as broker:
        broker.ensure_connection(max_retries=0, timeout=CHECK_TIMEOUT_SECONDS)
    return "ok"


def check_cache() -> str:
    key, value = "readyz:probe", uuid.uuid4().hex
    django_cache.set(key, value, timeout=10)
    if django_cache.get(key) != value:
        raise RuntimeError("the cache did not return the value just set")
    return "ok"


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "broker": check_broker,
    "cache": check_cache,
}


@require_safe
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    for part, check in CHECKS.items():
        try:
            checks[part] = check()
        except Exception as error:
            logger.warning("readiness_check_failed", part=part, error=repr(error))
            checks[part] = f"failing: {type(error).__name__}"
    failing = [part for part, state in checks.items() if state.startswith("failing")]
    if failing:
        body = {"status": "unavailable", "failing": failing, "checks": checks}
        return JsonResponse(body, status=503)
    return JsonResponse({"status": "ready", "checks": checks})


# --- metrics ---------------------------------------------------------------------------


@cache
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr)


def metrics_allowed(request: HttpRequest) -> bool:
    """By bearer token (METRICS_TOKEN, if set) or by the connecting address
    (REMOTE_ADDR, never X-Forwarded-For: a client writes that header itself)."""
    token = settings.METRICS_TOKEN
    authorization = request.headers.get("Authorization", "")
    if token and authorization.startswith("Bearer "):
        return hmac.compare_digest(authorization.removeprefix("Bearer ").encode(), token.encode())
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    address = getattr(address, "ipv4_mapped", None) or address  # ::ffff:127.0.0.1
    return any(
        address in network for network in _networks(tuple(settings.METRICS_ALLOWED_NETWORKS))
    )


@require_safe
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponseForbidden("metrics: not from an allowed network or token\n")
    return HttpResponse(figures.render(), content_type=CONTENT_TYPE_LATEST)
