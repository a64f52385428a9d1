"""The Celery broker (Redis) stopped, or hung, while refunds are asked for through the API.

A reversal is committed `pending` before it is queued; the queue is only a shortcut to
the gateway, the sweeper is the guarantee. So with the broker down the API still
answers 200 with the pending reversal (never a 500 that invites a retry under a new
key, which would refund twice), answers it quickly (bounded broker timeouts), the audit
trail says the reversal was made, and once the broker is back every reversal reaches
the gateway exactly once.
"""

import threading
import time

import pytest

from audit.models import AuditEntry
from payments.models import Transaction
from tests.factories import PaymentFactory
from tests.reliability.conftest import (
    ApiClient,
    assert_json_answers,
    assert_reconciled,
    effects_of,
    last_reversal,
    new_merchant_and_key,
    wait_until_nothing_pending,
)

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

# A request must never wait long on a broker: the publish gives up after ~2 s.
QUICK_ANSWER_SECONDS = 8


@pytest.fixture(scope="module")
def stack(cluster):
    return cluster.up(webs=1, workers=1, beat=True)


@pytest.fixture
def shop(stack, ledger):
    merchant, secret = new_merchant_and_key()
    return merchant, ApiClient([stack.web.url], secret)


def test_a_refund_committed_while_the_broker_is_down_answers_200_and_is_sent_once_later(
    stack, ledger, shop
):
    merchant, api = shop
    payment = PaymentFactory(merchant=merchant, amount=5000)
    stack.broker.stop()

    first = api.post(f"/payments/{payment.id}/reverse", {"amount": 1200}, key="refund-1")

    assert first.status == 200, (first, stack.web.tail())
    assert first.seconds < QUICK_ANSWER_SECONDS
    refund = last_reversal(first)
    assert (refund["type"], refund["amount"], refund["status"]) == ("refund", 1200, "pending")
    assert first.body["amountReversed"] == 1200
    assert first.body["amountReversalPending"] == 1200
    # A retry of the same request answers the same, and records nothing more.
    again = api.post(f"/payments/{payment.id}/reverse", {"amount": 1200}, key="refund-1")
    assert again.status == 200 and again.replayed and again.body == first.body
    assert Transaction.objects.filter(payment_id=payment.id, type="refund").count() == 1
    # The audit trail says what happened: the refund was made (and is pending).
    entries = list(AuditEntry.objects.filter(target_id=payment.id, action="payment.refund"))
    assert [e.outcome for e in entries] == ["succeeded"], [e.detail for e in entries]
    assert entries[0].metadata["status"] == "pending"
    assert entries[0].metadata["transactionId"] == refund["id"]
    key = f"backoffice-{refund['id']}"
    assert effects_of(ledger, key) == []

    stack.broker.restart()
    stack.revive()
    wait_until_nothing_pending(stack)

    assert Transaction.objects.get(id=refund["id"]).status == "succeeded"
    assert len(effects_of(ledger, key)) == 1
    assert_reconciled(ledger)


def test_a_capture_that_got_no_answer_while_the_broker_is_down_answers_200(stack, ledger, shop):
    """capture_payment's fallback: the gateway did not answer (the sandbox captured,
    then timed out), and queueing the retry fails too: the capture stays pending."""
    merchant, api = shop
    payment = PaymentFactory(merchant=merchant, amount=5000, capture=False)
    stack.broker.stop()

    answer = api.post(f"/payments/{payment.id}/capture", {"amount": 504}, key="capture-1")

    assert answer.status == 200, (answer, stack.web.tail())
    assert answer.seconds < QUICK_ANSWER_SECONDS
    capture = [t for t in answer.body["transactions"] if t["type"] == "capture"][-1]
    assert capture["status"] == "pending"

    stack.broker.restart()
    stack.revive()
    wait_until_nothing_pending(stack)

    assert Transaction.objects.get(id=capture["id"]).status == "succeeded"
    assert len(effects_of(ledger, f"backoffice-{capture['id']}")) == 1


def test_a_hung_broker_does_not_hang_the_request(stack, ledger, shop):
    """SIGSTOP: the broker's port accepts connections but nothing answers."""
    merchant, api = shop
    payment = PaymentFactory(merchant=merchant, amount=3000, capture=False)
    stack.broker.freeze()
    try:
        answer = api.post(f"/payments/{payment.id}/reverse", key="void-1")
    finally:
        stack.broker.thaw()

    assert answer.status == 200, (answer, stack.web.tail())
    assert answer.seconds < QUICK_ANSWER_SECONDS
    void = last_reversal(answer)
    assert (void["type"], void["status"]) == ("void", "pending")
    wait_until_nothing_pending(stack)
    assert len(effects_of(ledger, f"backoffice-{void['id']}")) == 1
    assert_reconciled(ledger)


def test_refunds_while_redis_stops_and_starts_again(stack, ledger, shop):
    """Clients keep refunding (retrying an unanswered request under its own key) while
    the broker goes away and comes back; every answer is a 200, every refund reaches
    the gateway exactly once."""
    merchant, api = shop
    payments = [PaymentFactory(merchant=merchant, amount=100_000) for _ in range(6)]
    answers = []
    answers_lock = threading.Lock()
    stop = threading.Event()

    def client(index: int) -> None:
        payment = payments[index]
        for n in range(1000):
            if stop.is_set():
                return
            body = {"amount": 250, "note": f"client {index} refund {n}", "reason": "other"}
            key = f"outage-{index}-{n}"
            for _ in range(5):  # a client retries what got no answer, with the same key
                answer = api.post(f"/payments/{payment.id}/reverse", body, key=key)
                with answers_lock:
                    answers.append(answer)
                if answer.status is not None and answer.status != 409:
                    break
                time.sleep(0.2)
            time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(payments))]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)
        stack.broker.stop()
        time.sleep(3)
        stack.broker.restart()
        # A worker busy with a task when the connection dropped may have exited (see
        # Cluster.revive): its supervisor starts it again.
        restarted = stack.revive()
        print(f"restarted after the outage: {restarted or 'nothing'}")
        time.sleep(1.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

    assert_json_answers(answers)
    statuses = {a.status for a in answers}
    assert statuses == {200}, [a for a in answers if a.status != 200][:5]
    assert len(answers) >= 2 * len(payments)
    wait_until_nothing_pending(stack)
    report = assert_reconciled(ledger)
    refunds = Transaction.objects.filter(type="refund", payment__merchant=merchant)
    assert refunds.count() == len({a.body["transactions"][-1]["id"] for a in answers})
    assert report.reversals[("refund", "succeeded")] == refunds.count()
