"""Prometheus figures (SPEC 14).

Two kinds:

- Measured in code, as requests and gateway calls happen: `REQUEST_LATENCY` (by
  `MetricsMiddleware`) and the gateway call histogram and error counter (by
  `observe_gateway_call()`). Under gunicorn every worker is a process of its own, so
  these use prometheus_client's multiprocess mode: with PROMETHEUS_MULTIPROC_DIR set
  (config/gunicorn.py sets it) each process writes its samples to files there and a
  scrape adds them up, whichever worker answers it.
- Read from the shared state at scrape time by `StateCollector`: reversals by type
  and status, the age of the oldest pending reversal, the Celery queue depth and the
  webhook backlog. PostgreSQL and Redis are the truth for every process (web and
  Celery workers, on any host), so nothing has to be counted in process memory.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import structlog
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from payments import selectors as payment_selectors
from payments.gateways.metrics import GATEWAY_ERRORS, GATEWAY_LATENCY
from webhooks import selectors as webhook_selectors

logger = structlog.get_logger(__name__)

NAMESPACE = "backoffice"
CELERY_QUEUE = "celery"  # the default queue's Redis list
# The count of settled (succeeded, failed) reversals is shared through the cache.
SETTLED_REVERSALS_CACHE_KEY = "metrics:settled-reversals"
SETTLED_REVERSALS_CACHE_SECONDS = 300

REQUEST_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by route (URL name), method and status class.",
    ["route", "method", "status"],
    namespace=NAMESPACE,
    registry=None,
)


class MetricsMiddleware:
    """Times every request. The route label is the resolved URL name (bounded), never
    the raw path; a request that resolved to nothing is "<unresolved>"."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.view_name or match.route) if match else "<unresolved>"
        status = f"{response.status_code // 100}xx"
        REQUEST_LATENCY.labels(route, request.method, status).observe(time.perf_counter() - started)
        return response


# --- read at scrape time ---------------------------------------------------------------


def _reversal_counts() -> list[tuple[str, str, int]]:
    """(type, status, rows) of refunds and voids. The pending ones are counted at every
    scrape from the partial index on pending rows (a few rows). The settled ones need a
    scan of the table (about 0.5 s per 2 million transactions on the 2-core machine),
    so that count is shared through the cache by every process for a few minutes."""
    settled = cache.get(SETTLED_REVERSALS_CACHE_KEY)
    if settled is None:
        settled = payment_selectors.reversal_counts(pending=False)
        cache.set(SETTLED_REVERSALS_CACHE_KEY, settled, SETTLED_REVERSALS_CACHE_SECONDS)
    return [*settled, *payment_selectors.reversal_counts(pending=True)]


def _oldest_pending_reversal_age() -> float:
    """Seconds since the oldest pending refund or void was created (0 if none): the
    partial index on created_at WHERE status='pending' answers it from a few rows."""
    oldest = payment_selectors.oldest_pending_reversal_at()
    return max((timezone.now() - oldest).total_seconds(), 0.0) if oldest else 0.0


def redis_broker_url() -> str | None:
    """The Celery broker's URL when it is Redis, else None (in-process or another kind)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    url = settings.CELERY_BROKER_URL
    return url if urlsplit(url).scheme in ("redis", "rediss") else None


def _queue_depth(url: str) -> int:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        return int(client.llen(CELERY_QUEUE))
    finally:
        client.close()


class StateCollector(Collector):
    """Gauges read from PostgreSQL and Redis when /metrics is scraped. A part that
    cannot be read is left out of the answer (and logged), the rest still answers."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._safely("reversals", self._reversals)
        yield from self._safely("oldest pending reversal", self._oldest_pending)
        yield from self._safely("queue depth", self._queue)
        yield from self._safely("webhook backlog", self._webhook_backlog)

    def _safely(self, part: str, read: Callable[[], Iterator[GaugeMetricFamily]]):
        try:
            yield from list(read())
        except Exception:
            logger.warning("metrics_part_unavailable", part=part, exc_info=True)

    def _reversals(self):
        family = GaugeMetricFamily(
            f"{NAMESPACE}_reversals",
            "Refunds and voids in the ledger, by type and status.",
            labels=["type", "status"],
        )
        for type_, status, rows in _reversal_counts():
            family.add_metric([type_, status], rows)
        yield family

    def _oldest_pending(self):
        yield GaugeMetricFamily(
            f"{NAMESPACE}_oldest_pending_reversal_age_seconds",
            "Age of the oldest refund or void still pending at the gateway (0: none).",
            value=_oldest_pending_reversal_age(),
        )

    def _webhook_backlog(self):
        yield GaugeMetricFamily(
            f"{NAMESPACE}_webhook_backlog",
            "Webhook deliveries still to be delivered (pending, retries included).",
            value=webhook_selectors.pending_delivery_count(),
        )

    def _queue(self):
        url = redis_broker_url()
        if url is None:
            return  # tasks run in-process: there is no queue
        family = GaugeMetricFamily(
            f"{NAMESPACE}_celery_queue_depth",
            "Messages waiting in the Celery queue.",
            labels=["queue"],
        )
        family.add_metric([CELERY_QUEUE], _queue_depth(url))
        yield family


def render() -> bytes:
    """The exposition text for one scrape."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        for metric in (REQUEST_LATENCY, GATEWAY_LATENCY, GATEWAY_ERRORS):
            registry.register(metric)
    registry.register(StateCollector())
    return generate_latest(registry)
