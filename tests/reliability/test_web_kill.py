"""A gunicorn worker killed (SIGKILL) in the middle of a request.

The client gets no answer at all (the connection breaks), never an HTML page. What the
request committed stays committed and is finished by the worker and the sweeper; what
it had not committed never happened. A retry under the same Idempotency-Key answers
409 (the first request's outcome is unknown, so it is never done a second time); a new
key is a new request. gunicorn replaces the worker.
"""

import os
import random
import signal
import threading
import time
from collections import Counter

import pytest
from django.db import transaction

from payments.gateways import sandbox
from payments.models import Payment, Transaction
from tests.factories import PaymentFactory
from tests.reliability.conftest import (
    ApiClient,
    assert_json_answers,
    assert_reconciled,
    effects_of,
    last_reversal,
    new_merchant_and_key,
    wait_for,
    wait_until_nothing_pending,
)

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def stack(cluster):
    return cluster.up(webs=1, web_workers=2, workers=1, beat=True)


@pytest.fixture
def shop(stack, ledger):
    merchant, secret = new_merchant_and_key()
    return merchant, ApiClient([stack.web.url], secret)


def in_background(call) -> tuple[threading.Thread, dict]:
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(answer=call()))
    thread.start()
    return thread, result


def kill_the_busy_worker(stack) -> int:
    busy = wait_for(stack.web.busy_worker_pids, "a gunicorn worker busy with the request")
    assert len(busy) == 1, busy
    os.kill(busy[0], signal.SIGKILL)
    return busy[0]


def wait_for_a_full_house(stack, killed: int) -> None:
    wait_for(
        lambda: len(set(stack.web.worker_pids()) - {killed}) == stack.web.workers,
        "gunicorn to replace its killed worker",
        logs=stack.web.tail,
    )


def test_killed_while_the_gateway_captures(stack, ledger, shop):
    """The capture was committed pending, the gateway captured, the answer never
    came back: the sweeper finishes the capture, under the same gateway key."""
    merchant, api = shop
    payment = PaymentFactory(merchant=merchant, amount=5000, capture=False)
    path = f"/payments/{payment.id}/capture"
    body = {"amount": sandbox.PAUSE_AFTER_EFFECT_AMOUNT}
    thread, result = in_background(lambda: api.post(path, body, key="capture-1"))
    capture = wait_for(
        lambda: Transaction.objects.filter(payment_id=payment.id, type="capture").first(),
        "the capture to be recorded",
    )
    key = capture.gateway_idempotency_key
    wait_for(lambda: f"pause-after:capture:{key}" in ledger.marks(), "the gateway to capture")

    killed = kill_the_busy_worker(stack)
    thread.join(timeout=30)

    assert result["answer"].status is None, result["answer"]
    retry = api.post(path, body, key="capture-1")
    assert retry.status == 409 and retry.body["error"]["type"] == "conflict", retry
    wait_until_nothing_pending(stack)
    capture.refresh_from_db()
    assert capture.status == "succeeded"
    assert len(effects_of(ledger, key)) == 1
    answer = api.get(f"/payments/{payment.id}")
    assert answer.body["isCaptured"] and answer.body["amountCaptured"] == 702
    wait_for_a_full_house(stack, killed)
    refund = api.post(f"/payments/{payment.id}/reverse", {"amount": 300}, key="refund-1")
    assert refund.status == 200, refund
    wait_until_nothing_pending(stack)
    assert_reconciled(ledger)


def test_killed_in_the_middle_of_a_reversal(stack, ledger, shop):
    """The request is inside its transaction (waiting for the payment's row lock)
    when its worker dies: nothing of it is committed."""
    merchant, api = shop
    payment = PaymentFactory(merchant=merchant, amount=5000)
    path = f"/payments/{payment.id}/reverse"
    with transaction.atomic():
        Payment.objects.select_for_update().get(id=payment.id)  # hold the row lock
        thread, result = in_background(lambda: api.post(path, {"amount": 1000}, key="r-1"))
        # Past its idempotency claim, inside reverse_payment's transaction, waiting.
        wait_for(
            lambda: stack.query(
                "SELECT 1 FROM pg_stat_activity WHERE application_name = %(web)s "
                "AND wait_event_type = 'Lock'",
                {"web": stack.application_name("web")},
            ),
            "the request to wait for the payment's row lock",
        )
        killed = kill_the_busy_worker(stack)
        thread.join(timeout=30)

    assert result["answer"].status is None, result["answer"]
    time.sleep(0.5)  # let PostgreSQL notice the dead client and roll its transaction back
    assert not Transaction.objects.filter(payment_id=payment.id, type="refund").exists()
    retry = api.post(path, {"amount": 1000}, key="r-1")
    assert retry.status == 409 and retry.body["error"]["type"] == "conflict", retry
    wait_for_a_full_house(stack, killed)
    again = api.post(path, {"amount": 1000}, key="r-2")
    assert again.status == 200, again
    assert last_reversal(again)["status"] == "pending"
    wait_until_nothing_pending(stack)
    payment.refresh_from_db()
    assert payment.amount_reversed == 1000
    assert_reconciled(ledger)


def test_workers_killed_at_random_under_load(stack, ledger, shop):
    merchant, api = shop
    payments = [PaymentFactory(merchant=merchant, amount=1_000_000) for _ in range(6)]
    answers = []
    answered: dict[str, str] = {}  # idempotency key -> the refund a 200 answered
    done = threading.Event()
    lock = threading.Lock()

    def client(number: int) -> None:
        rng = random.Random(number)
        for n in range(10_000):
            if done.is_set():
                return
            payment = rng.choice(payments)
            key = f"load-{number}-{n}"
            body = {"amount": rng.randint(1, 300), "reason": "other", "note": key}
            for _ in range(4):  # no answer: retry under the same key
                answer = api.post(f"/payments/{payment.id}/reverse", body, key=key)
                with lock:
                    answers.append(answer)
                if answer.status == 200:
                    mine = [t for t in answer.body["transactions"] if t["note"] == key]
                    answered[key] = mine[0]["id"]
                if answer.status is not None:
                    break
                time.sleep(0.3)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    kills = 0
    killed: set[int] = set()
    try:
        for _ in range(6):
            time.sleep(0.8)
            candidates = [pid for pid in stack.web.worker_pids() if pid not in killed]
            if candidates:
                victim = random.choice(candidates)
                os.kill(victim, signal.SIGKILL)
                killed.add(victim)
                kills += 1
        time.sleep(1)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=60)

    assert kills >= 4
    assert_json_answers(answers)
    assert {a.status for a in answers} <= {200, 409, None}, Counter(a.status for a in answers)
    assert sum(a.status == 200 for a in answers) >= 5
    wait_until_nothing_pending(stack)
    report = assert_reconciled(ledger)
    notes = Counter(
        Transaction.objects.filter(payment__merchant=merchant, type="refund").values_list(
            "note", flat=True
        )
    )
    assert all(count == 1 for count in notes.values()), "a request was done twice"
    succeeded = Transaction.objects.filter(type="refund", status="succeeded")
    assert set(answered.values()) <= set(succeeded.values_list("id", flat=True))
    print(
        f"{len(answers)} requests, {kills} gunicorn workers killed, "
        f"{Counter(a.status for a in answers)}; {report.summary()}"
    )
