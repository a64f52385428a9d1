"""How the gateways answer: every call's latency and outcome, for /metrics (SPEC 14).

Recorded by the measuring wrapper `get_gateway()` hands out, so every call of every
gateway is counted in one place; config.metrics exposes them.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

from .base import GatewayDeclined, GatewayTimeout, GatewayTransientError

NAMESPACE = "backoffice"
GATEWAY_LATENCY = Histogram(
    "gateway_call_duration_seconds",
    "Time of a payment gateway call, by operation and outcome.",
    ["operation", "outcome"],
    namespace=NAMESPACE,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=None,
)
GATEWAY_ERRORS = Counter(
    "gateway_call_errors",
    "Payment gateway calls that did not succeed, by operation and outcome.",
    ["operation", "outcome"],
    namespace=NAMESPACE,
    registry=None,
)
SUCCESS_OUTCOMES = {"ok", "succeeded", "success"}


def observe_gateway_call(operation: str, outcome: str, seconds: float) -> None:
    """Record one gateway call: operation ("authorize", "capture", "refund", "void"),
    outcome ("ok", "declined", "timeout", "error"...), and how long it took."""
    GATEWAY_LATENCY.labels(operation, outcome).observe(seconds)
    if outcome not in SUCCESS_OUTCOMES:
        GATEWAY_ERRORS.labels(operation, outcome).inc()


@contextmanager
def measured(operation: str):
    started, outcome = time.perf_counter(), "error"
    try:
        yield
        outcome = "ok"
    except GatewayDeclined:
        outcome = "declined"
        raise
    except GatewayTimeout:
        outcome = "timeout"
        raise
    except GatewayTransientError:
        outcome = "unavailable"
        raise
    finally:
        observe_gateway_call(operation, outcome, time.perf_counter() - started)


class MeasuredGateway:
    """A gateway whose four operations are timed and counted; anything else (the
    sandbox's ledger and settings) reads and writes through to the gateway itself."""

    OPERATIONS = ("authorize", "capture", "refund", "void")

    def __init__(self, gateway) -> None:
        object.__setattr__(self, "_gateway", gateway)

    def __getattr__(self, name: str):
        attribute = getattr(self._gateway, name)
        if name not in self.OPERATIONS:
            return attribute

        def call(**kwargs):
            with measured(name):
                return attribute(**kwargs)

        return call

    def __setattr__(self, name: str, value) -> None:
        setattr(self._gateway, name, value)
