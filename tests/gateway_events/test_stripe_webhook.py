"""POST /webhooks/stripe: signature, once per event id, and refunds Stripe finishes later."""

import time
from datetime import timedelta

import pytest
from django.test import Client

from core.actors import SYSTEM
from gateway_events.models import ReceivedEvent
from payments import delivery, services
from payments.gateways import GatewayResult
from payments.models import DailyTotals, Payment, Transaction
from tests.conftest import require_postgres, run_concurrently
from tests.factories import PaymentFactory

from .stripe_events import SECRET, event, post, refund_object, sign

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET


class StripeAcceptsRefundsAsPending:
    """What Stripe answers for a refund it finishes later (status `pending`)."""

    name = "stripe"

    def refund(self, *, reference, amount, idempotency_key):
        return GatewayResult(reference=f"re_{idempotency_key[-12:]}", pending=True)


@pytest.fixture
def refund_pending_at_stripe(merchant, monkeypatch):
    """A refund of 10.00 of a 25.00 payment, sent to the gateway, which accepted it as
    pending: it waits here, pending, with Stripe's refund id."""
    payment = PaymentFactory(merchant=merchant, amount=2500)
    # Not committed (this test's transaction), so no task has sent it yet.
    reversal = services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=SYSTEM, amount=1000
    )
    monkeypatch.setattr(delivery, "get_gateway", StripeAcceptsRefundsAsPending)
    assert delivery.send_pending_transaction(transaction_id=reversal.id) == "pending"
    reversal.refresh_from_db()
    assert reversal.gateway_reference.startswith("re_")
    return reversal


def refunds_counted(merchant) -> int:
    return sum(DailyTotals.objects.filter(merchant=merchant).values_list("refunds", flat=True))


def test_a_refund_stripe_accepted_as_pending_stays_pending_and_is_not_resent(
    refund_pending_at_stripe,
):
    refund = refund_pending_at_stripe
    assert refund.status == "pending"
    payment = Payment.objects.get(id=refund.payment_id)
    assert (payment.amount_reversed, payment.amount_reversal_pending) == (1000, 1000)
    stale = delivery.stale_pending_transaction_ids(older_than=timedelta(seconds=-3600))
    assert refund.id not in stale


def test_stripe_saying_the_refund_succeeded_finishes_it(client, refund_pending_at_stripe):
    refund = refund_pending_at_stripe
    body = event(
        "charge.refund.updated",
        refund_object(refund.gateway_reference, status="succeeded"),
        previous={"status": "pending"},
    )

    answer = post(client, body)

    assert answer.status_code == 200
    assert answer.json()["outcome"] == f"refund {refund.id} succeeded"
    refund.refresh_from_db()
    payment = Payment.objects.get(id=refund.payment_id)
    assert refund.status == "succeeded"
    assert (payment.amount_reversed, payment.amount_reversal_pending) == (1000, 0)
    assert payment.amount_reversible == 1500


def test_stripe_saying_the_refund_failed_makes_its_amount_refundable_again(
    client, merchant, refund_pending_at_stripe
):
    refund = refund_pending_at_stripe
    assert refunds_counted(merchant) == 1
    body = event(
        "charge.refund.updated",
        refund_object(
            refund.gateway_reference, status="failed", failure_reason="expired_or_canceled_card"
        ),
    )

    assert post(client, body).status_code == 200

    refund.refresh_from_db()
    payment = Payment.objects.get(id=refund.payment_id)
    assert refund.status == "failed"
    assert refund.failure_reason == "expired_or_canceled_card"
    assert refund.failure_message  # words for people, never the code
    assert (payment.amount_reversed, payment.amount_reversal_pending) == (0, 0)
    assert payment.amount_reversible == 2500
    assert refunds_counted(merchant) == 0  # the overview no longer counts it


def test_a_refund_still_pending_at_stripe_changes_nothing(client, refund_pending_at_stripe):
    refund = refund_pending_at_stripe
    body = event("charge.refund.updated", refund_object(refund.gateway_reference, status="pending"))

    assert post(client, body).status_code == 200

    refund.refresh_from_db()
    assert refund.status == "pending"


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "t=123,v1=00",
        "garbage",
        sign("{}", secret="whsec_someone_else"),
    ],
    ids=["missing", "empty", "wrong", "malformed", "other-body"],
)
def test_a_bad_or_missing_signature_answers_400_and_stores_nothing(
    client, refund_pending_at_stripe, signature
):
    refund = refund_pending_at_stripe
    body = event("charge.refund.updated", refund_object(refund.gateway_reference, status="failed"))

    answer = post(client, body, signature=signature)

    assert answer.status_code == 400
    assert answer.json()["error"]["type"] == "invalid_request"
    assert not ReceivedEvent.objects.exists()
    refund.refresh_from_db()
    assert refund.status == "pending"


def test_a_body_signed_with_another_secret_is_refused(client, refund_pending_at_stripe):
    body = event(
        "charge.refund.updated",
        refund_object(refund_pending_at_stripe.gateway_reference, status="failed"),
    )

    assert post(client, body, secret="whsec_attacker").status_code == 400
    assert not ReceivedEvent.objects.exists()


def test_a_replayed_old_signature_is_refused(client):
    import json

    body = json.dumps(event("charge.refund.updated", refund_object("re_x", status="succeeded")))
    old = sign(body, timestamp=int(time.time()) - 3600)

    assert post(client, body, signature=old).status_code == 400
    assert not ReceivedEvent.objects.exists()


def test_without_a_configured_secret_every_webhook_is_refused(client, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    body = event("charge.refund.updated", refund_object("re_x", status="succeeded"))

    assert post(client, body).status_code == 400
    assert not ReceivedEvent.objects.exists()


def test_only_post_is_answered(client):
    assert client.get("/webhooks/stripe").status_code == 405


def test_the_same_event_delivered_twice_is_handled_once(client, refund_pending_at_stripe):
    refund = refund_pending_at_stripe
    body = event("charge.refund.updated", refund_object(refund.gateway_reference, status="failed"))

    first, second = post(client, body), post(client, body)

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["outcome"].startswith("duplicate")
    assert ReceivedEvent.objects.get().event_id == body["id"]
    payment = Payment.objects.get(id=refund.payment_id)
    assert payment.amount_reversed == 0


def test_an_unknown_event_type_is_acknowledged_and_only_its_id_kept(client):
    body = event("customer.created", {"id": "cus_1", "object": "customer"})

    answer = post(client, body)

    assert answer.status_code == 200
    received = ReceivedEvent.objects.get()
    assert (received.event_id, received.type) == (body["id"], "customer.created")
    assert received.outcome.startswith("ignored")


def test_a_refund_we_do_not_know_is_acknowledged_and_changes_nothing(
    client, refund_pending_at_stripe
):
    unknown = refund_object("re_made_in_the_dashboard", status="failed")
    body = event("charge.refund.updated", unknown)

    answer = post(client, body)

    assert answer.status_code == 200
    assert "ignored" in answer.json()["outcome"]
    refund_pending_at_stripe.refresh_from_db()
    assert refund_pending_at_stripe.status == "pending"


def test_a_refund_already_final_here_is_left_as_it_is(client, merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    external = services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=SYSTEM, amount=500, is_external=True
    )
    Transaction.objects.filter(id=external.id).update(gateway_reference="re_final")
    body = event("charge.refund.updated", refund_object("re_final", status="failed"))

    assert post(client, body).status_code == 200

    external.refresh_from_db()
    assert external.status == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_three_concurrent_deliveries_of_one_event_have_one_effect(merchant, monkeypatch):
    require_postgres()
    payment = PaymentFactory(merchant=merchant, amount=2500)
    monkeypatch.setattr(delivery, "get_gateway", StripeAcceptsRefundsAsPending)
    refund = services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=SYSTEM, amount=1000
    )  # committed: the task sent it at once, and Stripe accepted it as pending
    refund.refresh_from_db()
    assert (refund.status, refund.gateway_reference[:3]) == ("pending", "re_")
    body = event("charge.refund.updated", refund_object(refund.gateway_reference, status="failed"))

    answers = run_concurrently(lambda _: post(Client(), body), 3)

    assert [a.status_code for a in answers] == [200, 200, 200], answers
    outcomes = sorted(a.json()["outcome"] for a in answers)
    assert outcomes == [DUP, DUP, f"refund {refund.id} failed"]
    assert ReceivedEvent.objects.count() == 1
    payment.refresh_from_db()
    assert (payment.amount_reversed, payment.amount_reversal_pending) == (0, 0)
    assert refunds_counted(merchant) == 0


DUP = "duplicate: already handled"
