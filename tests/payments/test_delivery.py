"""Sending pending reversals to the gateway: declines, retries, duplicates, the sweeper.

These tests commit (transaction=True), so the task enqueued on commit really runs
(in-process here; test_celery_worker.py runs it in a real worker on Redis).
"""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from core.actors import SYSTEM
from customers.models import BlacklistEntry
from payments import delivery, events, selectors, services, tasks
from payments.models import Transaction
from tests.conftest import require_postgres, run_concurrently
from tests.factories import CustomerFactory, PaymentFactory
from webhooks.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lost_messages():
    """Tasks go to an in-memory queue that no worker reads: every message is lost."""
    from config.celery import app

    app.conf.task_always_eager = False
    try:
        yield
    finally:
        app.conf.task_always_eager = True


def refund(payment, **kwargs):
    return services.reverse_payment(
        merchant=payment.merchant, payment_id=payment.id, actor=SYSTEM, **kwargs
    )


def test_pending_refund_is_sent_after_commit_and_succeeds(merchant, gateway_calls):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    reversal = refund(payment, amount=1000)
    reversal.refresh_from_db()
    payment.refresh_from_db()
    assert reversal.status == "succeeded"
    assert reversal.gateway_reference.startswith("sbx_re_")
    assert payment.amount_reversed == 1000
    assert payment.amount_reversal_pending == 0
    [call] = gateway_calls("refund")
    assert call["amount"] == 1000
    assert call["idempotency_key"] == f"backoffice-{reversal.id}"


def test_the_gateways_answer_is_recorded_and_announced_as_the_payment_now_reads(
    merchant, lost_messages, django_assert_max_num_queries
):
    customer = CustomerFactory(merchant=merchant, email="Known.Fraud@example.test")
    payment = PaymentFactory(merchant=merchant, customer=customer, amount=2500)
    BlacklistEntry.objects.create(email="known.fraud@example.test", reason="fraud")
    pending = refund(payment, amount=1000)

    # Claim, read, then one transaction: lock (with the customer and its mark), the
    # ledger, the two updates, the event and the endpoints it goes to.
    with django_assert_max_num_queries(10):
        status = delivery.send_pending_transaction(transaction_id=pending.id)

    assert status == "succeeded"
    event = Event.objects.get(type="refund.succeeded")
    now = selectors.get_payment(merchant=merchant, payment_id=payment.id)
    assert event.data == json.loads(events.payment_answer(now))
    assert event.data["transactions"][-1]["status"] == "succeeded"
    assert (event.data["amountReversed"], event.data["amountReversalPending"]) == (1000, 0)
    assert event.data["customer"]["isBlacklisted"] is True


def test_declined_refund_fails_and_its_amount_can_be_refunded_again(merchant, gateway_calls):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    declined = refund(payment, amount=666)  # the sandbox declines this amount
    declined.refresh_from_db()
    payment.refresh_from_db()
    assert declined.status == "failed"
    assert declined.failure_reason == "refund_declined"
    assert payment.amount_reversed == 0
    assert payment.amount_reversible == 2500
    assert payment.display_status == "captured"

    again = refund(payment)
    again.refresh_from_db()
    assert again.status == "succeeded"
    assert again.amount == 2500


def test_declined_void_gives_the_authorization_back(merchant):
    payment = PaymentFactory(merchant=merchant, amount=667, capture=False)  # voids declined
    void = refund(payment)
    void.refresh_from_db()
    payment.refresh_from_db()
    assert void.type == "void"
    assert void.status == "failed"
    assert not payment.is_voided
    assert payment.amount_reversed == 0
    assert payment.display_status == "authorized"
    captured = services.capture_payment(merchant=merchant, payment_id=payment.id, actor=SYSTEM)
    assert captured.amount_captured == 667


def test_transient_failures_are_retried_until_the_refund_succeeds(merchant, gateway_calls):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    reversal = refund(payment, amount=503)  # 503 twice, then success
    reversal.refresh_from_db()
    assert reversal.status == "succeeded"
    assert reversal.attempts == 3
    calls = gateway_calls("refund")
    assert len(calls) == 3
    assert {c["idempotency_key"] for c in calls} == {f"backoffice-{reversal.id}"}


def test_a_gateway_that_never_answers_leaves_the_refund_pending_and_counted(
    merchant, settings, gateway_calls
):
    settings.SANDBOX_GATEWAY_TIMEOUT_MS = 1
    payment = PaymentFactory(merchant=merchant, amount=2500)
    reversal = refund(payment, amount=408)  # times out on every attempt
    reversal.refresh_from_db()
    payment.refresh_from_db()
    assert reversal.status == "pending"
    assert reversal.attempts == tasks.send_to_gateway.max_retries + 1
    assert reversal.send_lease_until is None  # free for the sweeper
    assert payment.amount_reversal_pending == 408
    assert payment.amount_reversible == 2500 - 408


def test_lost_queue_message_is_finished_by_the_sweeper(merchant, gateway_calls, lost_messages):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    reversal = refund(payment, amount=900)
    assert Transaction.objects.get(id=reversal.id).status == "pending"

    assert tasks.resend_stale_reversals() == 0  # too recent to be called lost
    Transaction.objects.filter(id=reversal.id).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    assert gateway_calls("refund") == []
    from config.celery import app

    app.conf.task_always_eager = True  # the sweeper's own messages are delivered
    assert tasks.resend_stale_reversals() == 1

    reversal.refresh_from_db()
    assert reversal.status == "succeeded"
    assert len(gateway_calls("refund")) == 1
    assert tasks.resend_stale_reversals() == 0


def test_a_worker_that_died_mid_send_is_resent_with_the_same_key_after_its_lease(
    merchant, gateway_calls, lost_messages
):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    reversal = refund(payment, amount=900)
    long_ago = timezone.now() - timedelta(minutes=10)
    # A worker claimed it and died: its lease is still running.
    Transaction.objects.filter(id=reversal.id).update(
        last_attempt_at=long_ago, send_lease_until=timezone.now() + timedelta(minutes=1)
    )
    assert tasks.resend_stale_reversals() == 0
    assert delivery.send_pending_transaction(transaction_id=reversal.id) == "pending"
    assert gateway_calls("refund") == []

    Transaction.objects.filter(id=reversal.id).update(send_lease_until=long_ago)
    from config.celery import app

    app.conf.task_always_eager = True
    assert tasks.resend_stale_reversals() == 1
    [call] = gateway_calls("refund")
    assert call["idempotency_key"] == f"backoffice-{reversal.id}"


def test_the_same_task_delivered_twice_refunds_once(merchant, gateway_calls):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    reversal = refund(payment, amount=1000)
    tasks.send_to_gateway.delay(reversal.id)
    tasks.send_to_gateway.apply(args=[reversal.id])
    assert len(gateway_calls("refund")) == 1


def test_duplicate_deliveries_at_the_same_moment_refund_once(
    merchant, settings, gateway_calls, lost_messages
):
    require_postgres()
    settings.SANDBOX_GATEWAY_LATENCY_MS = 200
    from payments.gateways import get_gateway

    get_gateway().latency_ms = 200
    try:
        payment = PaymentFactory(merchant=merchant, amount=2500)
        reversal = refund(payment, amount=1000)
        results = run_concurrently(
            lambda _: delivery.send_pending_transaction(transaction_id=reversal.id), 6
        )
    finally:
        get_gateway().latency_ms = 0
    assert len(gateway_calls("refund")) == 1
    assert set(results) <= {"pending", "succeeded"}
    assert Transaction.objects.get(id=reversal.id).status == "succeeded"
