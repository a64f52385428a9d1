"""A refund the gateway accepted as pending, whose webhook never came: the beat task asks
the gateway about it, and records how it ended (payments.delivery.ask_gateway_about)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.actors import SYSTEM
from gateway_events.models import ReceivedEvent
from payments import delivery, services, tasks
from payments.gateways import GatewayDeclined, GatewayResult, GatewayTransientError
from payments.models import DailyTotals, Payment, Transaction
from tests.conftest import require_postgres, run_concurrently
from tests.factories import PaymentFactory
from tests.gateway_events.stripe_events import SECRET, event, post, refund_object
from webhooks.models import Event

LONG_AGO = timedelta(hours=2)


class Stripe:
    """Stripe as these tests need it: refunds accepted as pending; asked later, each
    refund stands where `outcomes` says (pending when absent). Counts the questions."""

    name = "stripe"
    outcomes: dict[str, object] = {}
    asked: list[str] = []

    def refund(self, *, reference, amount, idempotency_key):
        return GatewayResult(reference=f"re_{idempotency_key[-12:]}", pending=True)

    def refund_outcome(self, *, reference):
        Stripe.asked.append(reference)
        outcome = Stripe.outcomes.get(reference, "pending")
        if isinstance(outcome, Exception):
            raise outcome
        return GatewayResult(reference=reference, pending=outcome == "pending")


@pytest.fixture
def stripe(monkeypatch, settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    Stripe.outcomes, Stripe.asked = {}, []
    monkeypatch.setattr(delivery, "get_gateway", Stripe)
    return Stripe


def pending_refund(merchant, *, amount=1000, sent_ago=LONG_AGO) -> Transaction:
    """A refund of `amount` of a 25.00 payment, sent and accepted as pending by Stripe
    `sent_ago`; no webhook came since."""
    payment = PaymentFactory(merchant=merchant, amount=2500)
    refund = services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=SYSTEM, amount=amount
    )
    assert delivery.send_pending_transaction(transaction_id=refund.id) == "pending"
    Transaction.objects.filter(id=refund.id).update(last_attempt_at=timezone.now() - sent_ago)
    refund.refresh_from_db()
    assert refund.gateway_reference.startswith("re_")
    return refund


def amounts(refund) -> tuple[str, int, int]:
    refund.refresh_from_db()
    payment = Payment.objects.get(id=refund.payment_id)
    return refund.status, payment.amount_reversed, payment.amount_reversal_pending


def refunds_counted(merchant) -> int:
    return sum(DailyTotals.objects.filter(merchant=merchant).values_list("refunds", flat=True))


@pytest.mark.django_db
def test_a_refund_whose_webhook_never_came_is_finished_by_asking_stripe(merchant, stripe):
    refund = pending_refund(merchant)
    stripe.outcomes[refund.gateway_reference] = "succeeded"

    assert tasks.reconcile_unfinished_refunds() == 1

    assert amounts(refund) == ("succeeded", 1000, 0)
    assert Event.objects.filter(type="refund.succeeded").count() == 1
    # Finished: never asked about again.
    assert tasks.reconcile_unfinished_refunds() == 0
    assert stripe.asked == [refund.gateway_reference]


@pytest.mark.django_db
def test_a_refund_stripe_failed_makes_its_amount_refundable_again(merchant, stripe):
    refund = pending_refund(merchant)
    stripe.outcomes[refund.gateway_reference] = GatewayDeclined("expired_or_canceled_card")

    tasks.reconcile_unfinished_refunds()

    assert amounts(refund) == ("failed", 0, 0)
    refund.refresh_from_db()
    assert refund.failure_reason == "expired_or_canceled_card"
    assert refunds_counted(merchant) == 0
    assert Event.objects.filter(type="refund.failed").count() == 1


@pytest.mark.django_db
def test_a_refund_is_not_asked_about_before_its_webhook_had_time_to_come(merchant, stripe):
    pending_refund(merchant, sent_ago=timedelta(minutes=5))

    assert tasks.reconcile_unfinished_refunds() == 0
    assert stripe.asked == []


@pytest.mark.django_db
def test_a_refund_still_pending_at_stripe_is_asked_again_only_after_the_delay(merchant, stripe):
    refund = pending_refund(merchant)

    assert tasks.reconcile_unfinished_refunds() == 1
    assert amounts(refund) == ("pending", 1000, 1000)
    # Just asked: not again until REFUND_RECONCILE_AFTER_SECONDS have passed.
    assert tasks.reconcile_unfinished_refunds() == 0
    Transaction.objects.filter(id=refund.id).update(last_attempt_at=timezone.now() - LONG_AGO)
    stripe.outcomes[refund.gateway_reference] = "succeeded"
    assert tasks.reconcile_unfinished_refunds() == 1
    assert amounts(refund) == ("succeeded", 1000, 0)


@pytest.mark.django_db
def test_stripe_unreachable_for_one_refund_does_not_stop_the_others(merchant, stripe):
    unlucky, lucky = pending_refund(merchant), pending_refund(merchant)
    stripe.outcomes[unlucky.gateway_reference] = GatewayTransientError("stripe: 503")
    stripe.outcomes[lucky.gateway_reference] = "succeeded"

    assert tasks.reconcile_unfinished_refunds() == 2

    assert amounts(unlucky) == ("pending", 1000, 1000)
    assert amounts(lucky) == ("succeeded", 1000, 0)
    unlucky.refresh_from_db()
    assert unlucky.send_lease_until is None  # free to be asked again next time


@pytest.mark.django_db
def test_a_refund_the_webhook_finished_meanwhile_is_left_as_it_is(merchant, stripe):
    refund = pending_refund(merchant)
    body = event("charge.refund.updated", refund_object(refund.gateway_reference, status="failed"))
    assert post(Client(), body).status_code == 200
    stripe.outcomes[refund.gateway_reference] = "succeeded"  # Stripe would not say so

    assert delivery.ask_gateway_about(transaction_id=refund.id) == "failed"
    assert amounts(refund) == ("failed", 0, 0)
    assert stripe.asked == []


@pytest.mark.django_db(transaction=True)
def test_the_webhook_and_the_question_racing_finish_the_refund_once(merchant, stripe):
    require_postgres()
    refund = pending_refund(merchant)
    stripe.outcomes[refund.gateway_reference] = "succeeded"
    body = event(
        "charge.refund.updated", refund_object(refund.gateway_reference, status="succeeded")
    )

    def finish(i: int):
        if i % 2:
            return post(Client(), body).status_code
        return delivery.ask_gateway_about(transaction_id=refund.id)

    results = run_concurrently(finish, 4)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert amounts(refund) == ("succeeded", 1000, 0)
    assert refunds_counted(merchant) == 1
    assert Event.objects.filter(type="refund.succeeded").count() == 1
    assert ReceivedEvent.objects.count() == 1
