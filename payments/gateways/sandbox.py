"""A sandbox gateway that behaves like a real one, with magic amounts.

Magic amounts, in minor units, of the amount an operation moves (for a void, the
authorized amount):

| amount | what the sandbox does                                                      |
|--------|----------------------------------------------------------------------------|
| 666    | declines: authorizations fail, refunds/voids/captures are refused for good |
| 667    | authorizes and captures, but refunds and voids of it are declined          |
| 503    | answers 503 to the first two calls with one idempotency key, then succeeds |
| 408    | times out on every call (after SANDBOX_GATEWAY_TIMEOUT_MS)                 |
| 504    | captures, refunds, voids: performs the operation, then times out (only the |
|        | first call with a key; a retry answers the result, performing nothing)     |
| 701    | captures, refunds, voids: the first call with a key waits PAUSE_SECONDS    |
|        | before it reaches the sandbox (nothing recorded yet), then goes on         |
| 702    | captures, refunds, voids: the first call with a key performs the           |
|        | operation, then waits PAUSE_SECONDS before answering                       |

Every other amount succeeds after SANDBOX_GATEWAY_LATENCY_MS.

Like a real gateway, the sandbox honours idempotency keys: the first successful call
with an (operation, key) performs the operation (an *effect*); a later call with the
same key answers the same result and performs nothing. 504, 701 and 702 exist for
fault-injection tests (tests/reliability): 504 is "the gateway refunded, but our
request timed out"; 701 and 702 give a test time to kill the process that is sending,
before the gateway got the call or after it performed it but before we saved the
answer. Authorizations of these amounts behave like any other amount.

The sandbox records every call it receives, and every effect, in a ledger (in this
process's memory, or in Redis when SANDBOX_GATEWAY_LEDGER is a redis:// URL so that a
Celery worker and the tests share it). Tests count calls and effects there.
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
PERFORM_THEN_TIMEOUT_AMOUNT = 504
PAUSE_BEFORE_CALL_AMOUNT = 701
PAUSE_AFTER_EFFECT_AMOUNT = 702
PAUSE_SECONDS = 30.0
TRANSIENT_FAILURES_BEFORE_SUCCESS = 2


class CallLedger(Protocol):
    def record(self, call: dict) -> int:
        """Store a call; answer how many calls with this operation and key came so far."""

    def calls(self) -> list[dict]: ...

    def perform(self, call: dict) -> bool:
        """Record the effect of a call unless its (operation, key) already had one;
        answer whether this call performed it."""

    def effects(self) -> list[dict]: ...

    def mark_once(self, mark: str) -> bool:
        """Answer True the first time a mark is given, False ever after."""

    def marks(self) -> set[str]: ...

    def clear(self) -> None: ...


def _effect_key(call: dict) -> str:
    return f"{call['op']}:{call['idempotency_key']}"


class MemoryLedger:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[dict] = []
        self._seen: Counter[tuple[str, str]] = Counter()
        self._effects: dict[str, dict] = {}
        self._marks: set[str] = set()

    def record(self, call: dict) -> int:
        with self._lock:
            self._calls.append(call)
            self._seen[(call["op"], call["idempotency_key"])] += 1
            return self._seen[(call["op"], call["idempotency_key"])]

    def calls(self) -> list[dict]:
        with self._lock:
            return list(self._calls)

    def perform(self, call: dict) -> bool:
        with self._lock:
            if _effect_key(call) in self._effects:
                return False
            self._effects[_effect_key(call)] = call
            return True

    def effects(self) -> list[dict]:
        with self._lock:
            return list(self._effects.values())

    def mark_once(self, mark: str) -> bool:
        with self._lock:
            first = mark not in self._marks
            self._marks.add(mark)
            return first

    def marks(self) -> set[str]:
        with self._lock:
            return set(self._marks)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
            self._seen.clear()
            self._effects.clear()
            self._marks.clear()


class RedisLedger:
    KEY = "sandbox-gateway:calls"
    SEEN = "sandbox-gateway:seen"
    EFFECTS = "sandbox-gateway:effects"  # list: every effect, in order
    PERFORMED = "sandbox-gateway:performed"  # hash: operation:key -> its effect
    MARKS = "sandbox-gateway:marks"
    # One atomic step, so two processes sending one key can never both perform it.
    PERFORM_ONCE = """
    if redis.call('hsetnx', KEYS[1], ARGV[1], ARGV[2]) == 1 then
        redis.call('rpush', KEYS[2], ARGV[2])
        return 1
    end
    return 0
    """

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self._perform_once = self._redis.register_script(self.PERFORM_ONCE)

    def record(self, call: dict) -> int:
        pipe = self._redis.pipeline()
        pipe.rpush(self.KEY, json.dumps(call))
        pipe.hincrby(self.SEEN, f"{call['op']}:{call['idempotency_key']}", 1)
        return int(pipe.execute()[1])

    def calls(self) -> list[dict]:
        return [json.loads(raw) for raw in self._redis.lrange(self.KEY, 0, -1)]

    def perform(self, call: dict) -> bool:
        keys = [self.PERFORMED, self.EFFECTS]
        return bool(self._perform_once(keys=keys, args=[_effect_key(call), json.dumps(call)]))

    def effects(self) -> list[dict]:
        return [json.loads(raw) for raw in self._redis.lrange(self.EFFECTS, 0, -1)]

    def mark_once(self, mark: str) -> bool:
        return bool(self._redis.sadd(self.MARKS, mark))

    def marks(self) -> set[str]:
        return {raw.decode() for raw in self._redis.smembers(self.MARKS)}

    def clear(self) -> None:
        self._redis.delete(self.KEY, self.SEEN, self.EFFECTS, self.PERFORMED, self.MARKS)


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
        call = {"op": op, "amount": amount, "idempotency_key": idempotency_key, "ref": reference}
        faulty = op != "authorize"
        if (
            faulty
            and amount == PAUSE_BEFORE_CALL_AMOUNT
            and self.ledger.mark_once(f"pause-before:{_effect_key(call)}")
        ):
            time.sleep(PAUSE_SECONDS)
        seen = self.ledger.record(call)
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
        performed = self.ledger.perform(call)
        if faulty and performed and amount == PERFORM_THEN_TIMEOUT_AMOUNT:
            time.sleep(self.timeout_ms / 1000)
            raise GatewayTimeout(f"sandbox: {op} performed, but the answer timed out")
        if faulty and performed and amount == PAUSE_AFTER_EFFECT_AMOUNT:
            self.ledger.mark_once(f"pause-after:{_effect_key(call)}")
            time.sleep(PAUSE_SECONDS)

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

    def refund_outcome(self, *, reference: str) -> GatewayResult:
        # The sandbox finishes every refund in its answer: none is ever left pending.
        return GatewayResult(reference=reference)
