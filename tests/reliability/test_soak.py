"""Scale-out soak: two gunicorn instances, two Celery workers and beat on one database
and one broker, under a few thousand mixed API requests (partial and full refunds,
voids, captures racing voids, chargebacks, external refunds, gateway declines and
timeouts, idempotent retries, many clients on the same hot payments) while a Celery
worker is killed (SIGKILL) and restarted, twice.

Afterwards every reversal is final, and reconciling our ledger against the gateway's
finds nothing lost, nothing duplicated, nothing over-refunded.

In CI it sends SOAK_REQUESTS requests (default 2000; about a minute here). A longer
run for a person, e.g.:

    SOAK_REQUESTS=50000 SOAK_SECONDS=900 SOAK_CLIENTS=12 \\
        python -m pytest tests/reliability/test_soak.py -s

stops at whichever limit comes first (SOAK_SECONDS defaults to 150) and kills a
worker every SOAK_KILL_EVERY seconds (default: twice per run).
"""

import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass

import pytest

from payments.models import Payment, Transaction
from tests.factories import PaymentFactory
from tests.reliability.conftest import (
    Answer,
    ApiClient,
    assert_json_answers,
    new_merchant_and_key,
    reconcile,
    wait_until_nothing_pending,
)

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

SOAK_REQUESTS = int(os.environ.get("SOAK_REQUESTS", "2000"))
SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "150"))
SOAK_CLIENTS = int(os.environ.get("SOAK_CLIENTS", "8"))
SOAK_KILL_EVERY = float(os.environ.get("SOAK_KILL_EVERY", "0"))  # 0: at 25% and 60%
CAPTURED, AUTHORIZED, HOT = 120, 60, 12


@pytest.fixture(scope="module")
def stack(cluster):
    return cluster.up(
        webs=2,
        web_workers=2,
        workers=2,
        concurrency=2,
        beat=True,
        # A busy queue must not make the sweeper re-send what is merely waiting in it.
        REVERSAL_RESEND_AFTER_SECONDS="5",
        REVERSAL_SEND_LEASE_SECONDS="5",
        RESEND_STALE_EVERY_SECONDS="2",
        SANDBOX_GATEWAY_LATENCY_MS="20",
    )


@dataclass
class Sent:
    key: str | None
    path: str
    body: dict | None
    answer: Answer


class Load:
    """What the clients send, and what they got back."""

    def __init__(self, api: ApiClient, captured: list[str], authorized: list[str]):
        self.api = api
        self.captured = captured
        self.authorized = authorized
        self.hot = captured[:HOT] + authorized[: HOT // 2]
        self.sent: list[Sent] = []
        self.retries: list[tuple[Sent, Answer]] = []
        self.lock = threading.Lock()
        self.count = 0
        self.stop = threading.Event()

    def take(self) -> bool:
        with self.lock:
            if self.count >= SOAK_REQUESTS:
                self.stop.set()
            self.count += 1
            return not self.stop.is_set()

    def pick(self, rng: random.Random, pool: list[str]) -> str:
        """Half the time one of a few hot payments, so requests race on them."""
        hot = [p for p in self.hot if p in pool]
        return rng.choice(hot if rng.random() < 0.5 else pool)

    def request(self, rng: random.Random, client: int, n: int) -> None:
        key = f"soak-{client}-{n}"
        roll = rng.random()
        if roll < 0.15 and self.sent:  # an idempotent retry of an earlier request
            with self.lock:
                earlier = rng.choice(self.sent[-200:])
            if earlier.key is not None:
                again = self.api.post(earlier.path, earlier.body, key=earlier.key)
                with self.lock:
                    self.retries.append((earlier, again))
                return
        if roll < 0.30:
            payment = self.pick(rng, self.captured + self.authorized)
            self.record(None, f"/payments/{payment}", None, self.api.get(f"/payments/{payment}"))
            return
        if roll < 0.60:
            path, body = (
                f"/payments/{self.pick(rng, self.captured)}/reverse",
                {"amount": rng.randint(1, 3000)},
            )
        elif roll < 0.66:
            path, body = f"/payments/{self.pick(rng, self.captured)}/reverse", None
        elif roll < 0.70:  # the gateway declines (667), fails twice (503), times out after (504)
            amount = rng.choice([503, 504, 667])
            path, body = f"/payments/{self.pick(rng, self.captured)}/reverse", {"amount": amount}
        elif roll < 0.73:
            path = f"/payments/{self.pick(rng, self.captured)}/reverse"
            body = {"amount": rng.randint(1, 500), "isExternal": True}
        elif roll < 0.83:
            path, body = f"/payments/{self.pick(rng, self.authorized)}/reverse", None
        elif roll < 0.90:
            path, body = f"/payments/{self.pick(rng, self.authorized)}/capture", None
        else:
            path, body = f"/payments/{self.pick(rng, self.captured)}/record-chargeback", None
        self.record(key, path, body, self.api.post(path, body, key=key))

    def record(self, key, path, body, answer) -> None:
        with self.lock:
            self.sent.append(Sent(key, path, body, answer))

    def client(self, number: int) -> None:
        rng = random.Random(number)
        n = 0
        while self.take():
            n += 1
            self.request(rng, number, n)

    def answers(self) -> list[Answer]:
        return [s.answer for s in self.sent] + [again for _, again in self.retries]


def test_soak_two_webs_two_workers_and_beat(stack, ledger):
    merchant, secret = new_merchant_and_key("Soak Shop")
    api = ApiClient([web.url for web in stack.webs], secret)
    captured = [PaymentFactory(merchant=merchant, amount=20_000).id for _ in range(CAPTURED)]
    authorized = [
        PaymentFactory(merchant=merchant, amount=5_000, capture=False).id for _ in range(AUTHORIZED)
    ]
    load = Load(api, captured, authorized)
    victim = stack.workers["worker1"]
    kills = 0

    threads = [threading.Thread(target=load.client, args=(i,)) for i in range(SOAK_CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        marks = iter([0.25, 0.60])
        next_mark = next(marks)
        last_kill = started
        while any(t.is_alive() for t in threads):
            elapsed = time.monotonic() - started
            if elapsed > SOAK_SECONDS:
                load.stop.set()
                break
            due = (
                elapsed - (last_kill - started) >= SOAK_KILL_EVERY
                if SOAK_KILL_EVERY
                else next_mark is not None and load.count >= next_mark * SOAK_REQUESTS
            )
            if due:
                victim.kill()
                kills += 1
                last_kill = time.monotonic()
                time.sleep(2)  # the other worker carries on alone for a while
                victim.start()  # ...then the supervisor restarts it
                next_mark = next(marks, None)
            time.sleep(0.2)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=120)
    seconds = time.monotonic() - started

    answers = load.answers()
    statuses = Counter(a.status for a in answers)
    print(
        f"soak: {len(answers)} requests in {seconds:.0f}s by {SOAK_CLIENTS} clients, "
        f"{kills} worker kills; {dict(statuses)}"
    )
    assert kills >= 1
    assert_json_answers(answers)
    assert set(statuses) <= {200, 400, 409}, [
        a for a in answers if a.status not in (200, 400, 409)
    ][:5]
    for first, again in load.retries:
        if first.answer.status != 400:  # a 400 did nothing and is not kept: it may run again
            assert (again.status, again.replayed) == (first.answer.status, True), (first, again)
            assert again.body == first.answer.body
    wait_until_nothing_pending(stack, timeout=120)

    report = reconcile(ledger)
    print(f"reconciliation: {report.summary()}")
    assert (len(report.lost), len(report.duplicated), len(report.over_refunded)) == (0, 0, 0), (
        report.problems[:30]
    )
    assert not report.inconsistent, report.inconsistent[:30]
    assert report.reversals[("refund", "succeeded")] > 50
    assert report.reversals[("refund", "failed")] >= 1  # the 667s
    for payment in Payment.objects.filter(merchant=merchant):
        chargebacks = Transaction.objects.filter(payment=payment, type="chargeback").count()
        assert chargebacks == int(payment.is_chargebacked), payment.id
