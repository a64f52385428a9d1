"""A Celery worker killed in the middle of sending a reversal, and a gateway whose answer
times out after it has refunded.

The kill is SIGKILL to the worker's whole process group (main process and pool): no
cleanup, no ack, no requeue; its message stays unacknowledged in Redis for the
visibility timeout (an hour), so only the sweeper can finish the reversal. It must,
once the send lease runs out, under the same gateway key: the gateway performs
every reversal exactly once.
"""

import pytest

from payments.gateways import sandbox
from payments.models import Transaction
from tests.factories import PaymentFactory
from tests.reliability.conftest import (
    ApiClient,
    assert_reconciled,
    calls_of,
    effects_of,
    last_reversal,
    new_merchant_and_key,
    wait_for,
    wait_until_nothing_pending,
)

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def stack(cluster):
    # A send lease longer than the time the test takes to see the pause and kill, so
    # the sweeper cannot finish the reversal behind the test's back before the kill.
    return cluster.up(webs=1, web_workers=1, workers=1, beat=True, REVERSAL_SEND_LEASE_SECONDS="5")


@pytest.fixture
def shop(stack, ledger):
    merchant, secret = new_merchant_and_key()
    return merchant, ApiClient([stack.web.url], secret)


def reverse_with_amount(shop, kind: str, amount: int) -> tuple[dict, str]:
    """A refund of `amount` of a captured payment, or a void of an authorization of
    `amount`, asked through the API: (the pending reversal, its gateway key)."""
    merchant, api = shop
    if kind == "refund":
        payment = PaymentFactory(merchant=merchant, amount=5000)
        body = {"amount": amount}
    else:
        payment = PaymentFactory(merchant=merchant, amount=amount, capture=False)
        body = None
    answer = api.post(f"/payments/{payment.id}/reverse", body, key=f"{kind}-{amount}")
    assert answer.status == 200, answer
    reversal = last_reversal(answer)
    assert (reversal["type"], reversal["status"]) == (kind, "pending")
    return reversal, f"backoffice-{reversal['id']}"


@pytest.mark.parametrize("kind", ["refund", "void"])
def test_worker_killed_after_the_gateway_answered_before_the_result_was_saved(
    stack, ledger, shop, kind
):
    reversal, key = reverse_with_amount(shop, kind, sandbox.PAUSE_AFTER_EFFECT_AMOUNT)
    wait_for(
        lambda: f"pause-after:{kind}:{key}" in ledger.marks(),
        f"the gateway to have performed the {kind}",
        logs=stack.logs,
    )

    stack.workers["worker1"].kill()

    assert Transaction.objects.get(id=reversal["id"]).status == "pending"
    assert len(effects_of(ledger, key)) == 1
    stack.revive()
    wait_until_nothing_pending(stack)
    assert Transaction.objects.get(id=reversal["id"]).status == "succeeded"
    assert len(effects_of(ledger, key)) == 1
    assert len(calls_of(ledger, key)) >= 2  # sent again, under the same key
    assert_reconciled(ledger)


@pytest.mark.parametrize("kind", ["refund", "void"])
def test_worker_killed_before_the_gateway_was_called(stack, ledger, shop, kind):
    reversal, key = reverse_with_amount(shop, kind, sandbox.PAUSE_BEFORE_CALL_AMOUNT)
    wait_for(
        lambda: f"pause-before:{kind}:{key}" in ledger.marks(),
        f"the worker to be about to send the {kind}",
        logs=stack.logs,
    )

    stack.workers["worker1"].kill()

    txn = Transaction.objects.get(id=reversal["id"])
    assert txn.status == "pending" and txn.attempts == 1
    assert calls_of(ledger, key) == []
    stack.revive()
    wait_until_nothing_pending(stack)
    assert Transaction.objects.get(id=reversal["id"]).status == "succeeded"
    assert len(effects_of(ledger, key)) == 1
    assert_reconciled(ledger)


def test_gateway_times_out_after_it_has_refunded(stack, ledger, shop):
    """The retry (autoretry, same key) gets the first result back: one refund."""
    reversal, key = reverse_with_amount(shop, "refund", sandbox.PERFORM_THEN_TIMEOUT_AMOUNT)

    wait_until_nothing_pending(stack)

    txn = Transaction.objects.get(id=reversal["id"])
    assert txn.status == "succeeded"
    assert txn.attempts >= 2
    assert len(effects_of(ledger, key)) == 1
    calls = [c for c in ledger.calls() if c["op"] == "refund"]
    assert len(calls) >= 2 and {c["idempotency_key"] for c in calls} == {key}
    assert_reconciled(ledger)
