"""A sandbox gateway that behaves like a real one, with magic amounts.

Magic amounts, in minor units, of the amount an operation moves (for a void, the
authorized amount):

| amount | what the sandbox does                                                      |
|--------|----------------------------------------------------------------------------|
| 666    | declines: authorizations fail, refunds/voids/captures are refused for good |
| 667    | authorizes and captures, but refunds and voids of it are declined          |
| 503    | answers 503 to the first two calls with one idempotency key, then succeeds |
| 408    | times out on every call (after SANDBOX_GATEWAY_TIMEOUT_MS)                 |

Every other amount succeeds after SANDBOX_GATEWAY_LATENCY_MS.

The sandbox records every call it receives in a ledger (in this process's memory,
or in Redis when SANDBOX_GATEWAY_LEDGER is a redis:// URL so that a Celery worker
and the tests share it). Tests count calls there.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from typing import Protocol

from django.conf import settings

from .base import (
    CardDetails,
    GatewayDeclined,
    GatewayResult,
    GatewayTimeout,
    GatewayTransientError,
)

DECLINE_AMOUNT = 666
REVERSAL_DECLINE_AMOUNT = 667
TRANSIENT_AMOUNT = 503
TIMEOUT_AMOUNT = 408
TRANSIENT_FAILURES_BEFORE_SUCCESS = 2


class CallLedger(Protocol):
    def record(self, call: dict) -> int:
        """Store a call; answer how many calls with this operation and key came so far."""

    def calls(self) -> list[dict]: ...

    def clear(self) -> None: ...


class MemoryLedger:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[dict] = []
        self._seen: Counter[tuple[str, str]] = Counter()

    def record(self, call: dict) -> int:
        with self._lock:
            self._calls.append(call)
            self._seen[(call["op"], call["idempotency_key"])] += 1
            return self._seen[(call["op"], call["idempotency_key"])]

    def calls(self) -> list[dict]:
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
            self._seen.clear()


class RedisLedger:
    KEY = "sandbox-gateway:calls"
    SEEN = "sandbox-gateway:seen"

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)

    def record(self, call: dict) -> int:
        pipe = self._redis.pipeline()
        pipe.rpush(self.KEY, json.dumps(call))
        pipe.hincrby(self.SEEN, f"{call['op']}:{call['idempotency_key']}", 1)
        return int(pipe.execute()[1])

    def calls(self) -> list[dict]:
        return [json.loads(raw) for raw in self._redis.lrange(self.KEY, 0, -1)]

    def clear(self) -> None:
        self._redis.delete(self.KEY, self.SEEN)


def _reference(prefix: str, idempotency_key: str) -> str:
    return f"{prefix}_{hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]}"


# The test cards the sandbox reports, like a real gateway's test mode would.
TEST_CARDS = [("visa", "4242", "US"), ("mastercard", "4444", "GB"), ("amex", "8431", "US")]


def _test_card(idempotency_key: str) -> CardDetails:
    """A plausible test card, the same for every call with one key."""
    digest = hashlib.sha256(idempotency_key.encode()).digest()
    brand, last4, country = TEST_CARDS[digest[0] % len(TEST_CARDS)]
    return CardDetails(
        brand=brand,
        last4=last4,
        exp_month=1 + digest[1] % 12,
        exp_year=2027 + digest[2] % 5,
        country=country,
    )


class SandboxGateway:
    name = "sandbox"

    def __init__(self, *, ledger: CallLedger, latency_ms: int = 0, timeout_ms: int = 200):
        self.ledger = ledger
        self.latency_ms = latency_ms
        self.timeout_ms = timeout_ms

    @classmethod
    def from_settings(cls) -> SandboxGateway:
        where = settings.SANDBOX_GATEWAY_LEDGER
        ledger: CallLedger = MemoryLedger() if where == "memory" else RedisLedger(where)
        return cls(
            ledger=ledger,
            latency_ms=settings.SANDBOX_GATEWAY_LATENCY_MS,
            timeout_ms=settings.SANDBOX_GATEWAY_TIMEOUT_MS,
        )

    def _call(self, op: str, *, amount: int, idempotency_key: str, reference: str = "") -> None:
        seen = self.ledger.record(
            {"op": op, "amount": amount, "idempotency_key": idempotency_key, "ref": reference}
        )
        if amount == TIMEOUT_AMOUNT:
            time.sleep(self.timeout_ms / 1000)
            raise GatewayTimeout(f"sandbox: {op} timed out")
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        if amount == TRANSIENT_AMOUNT and seen <= TRANSIENT_FAILURES_BEFORE_SUCCESS:
            raise GatewayTransientError(f"sandbox: 503 on {op} (attempt {seen})")
        if amount == DECLINE_AMOUNT or (
            amount == REVERSAL_DECLINE_AMOUNT and op in ("refund", "void")
        ):
            reason = "card_declined" if op == "authorize" else f"{op}_declined"
            raise GatewayDeclined(reason)

    def authorize(
        self, *, amount: int, currency: str, capture: bool, idempotency_key: str
    ) -> GatewayResult:
        self._call("authorize", amount=amount, idempotency_key=idempotency_key)
        return GatewayResult(
            reference=_reference("sbx_pi", idempotency_key), card=_test_card(idempotency_key)
        )

    def capture(self, *, reference: str, amount: int, idempotency_key: str) -> GatewayResult:
        self._call("capture", amount=amount, idempotency_key=idempotency_key, reference=reference)
        return GatewayResult(reference=reference)

    def refund(self, *, reference: str, amount: int, idempotency_key: str) -> GatewayResult:
        self._call("refund", amount=amount, idempotency_key=idempotency_key, reference=reference)
        return GatewayResult(reference=_reference("sbx_re", idempotency_key))

    def void(self, *, reference: str, amount: int, idempotency_key: str) -> GatewayResult:
        self._call("void", amount=amount, idempotency_key=idempotency_key, reference=reference)
        return GatewayResult(reference=reference)
