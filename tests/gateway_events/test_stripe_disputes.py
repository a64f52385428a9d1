"""charge.dispute.* from Stripe onto our disputes, through the disputes' own services."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from chargebacks.models import Dispute
from gateway_events.models import ReceivedEvent
from payments import dispute_ratio
from payments.models import MonthlyTotals, Payment
from tests.conftest import require_postgres, run_concurrently
from tests.factories import PaymentFactory

from .stripe_events import SECRET, dispute_object, event, post

pytestmark = pytest.mark.django_db

DUE_BY = int(datetime(2030, 1, 15, 23, 59, 59, tzinfo=UTC).timestamp())


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET


@pytest.fixture
def payment(merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    # As the Stripe gateway records it: the PaymentIntent's id.
    Payment.objects.filter(id=payment.id).update(gateway_reference="pi_3Pq0000000000001")
    payment.refresh_from_db()
    return payment


def created(payment, **kwargs):
    return event(
        "charge.dispute.created", dispute_object(payment.gateway_reference, due_by=DUE_BY, **kwargs)
    )


def test_a_created_dispute_opens_one_on_the_payment(client, merchant, payment):
    answer = post(client, created(payment, amount=2000, reason="product_not_received"))

    assert answer.status_code == 200
    dispute = Dispute.objects.get()
    assert (dispute.payment_id, dispute.merchant_id) == (payment.id, merchant.id)
    assert (dispute.amount, dispute.currency, dispute.status) == (2000, "USD", "needs_response")
    assert dispute.reason_category == "product_not_received"
    assert (dispute.network, dispute.reason_code) == ("visa", "10.4")
    assert dispute.evidence_due_by == datetime(2030, 1, 15, 23, 59, 59, tzinfo=UTC)
    assert dispute.gateway_reference == "du_1Pq0000000000000"
    payment.refresh_from_db()
    assert (payment.is_chargebacked, payment.amount_disputed) == (True, 2000)
    assert answer.json()["outcome"] == f"dispute {dispute.id} opened on {payment.id}"


def test_a_dispute_on_the_charge_id_finds_the_payment_too(client, payment):
    body = created(payment)
    body["data"]["object"]["payment_intent"] = None
    Payment.objects.filter(id=payment.id).update(gateway_reference="ch_3Pq0000000000000")

    assert post(client, body).status_code == 200
    assert Dispute.objects.get().payment_id == payment.id


def test_an_unknown_reason_or_network_falls_back_to_general_and_other(client, payment):
    body = created(payment, reason="bank_cannot_process", network="unionpay")

    post(client, body)

    dispute = Dispute.objects.get()
    assert (dispute.reason_category, dispute.network) == ("general", "other")


def test_an_opened_dispute_counts_in_the_dispute_ratio(client, merchant, payment):
    post(client, created(payment))

    dispute = Dispute.objects.get()
    row = MonthlyTotals.objects.get(
        merchant=merchant, month=dispute_ratio.month_of(dispute.created_at)
    )
    assert row.disputes_opened == 1


def test_an_inquiry_opens_nothing(client, payment):
    answer = post(client, created(payment, status="warning_needs_response"))

    assert answer.status_code == 200
    assert not Dispute.objects.exists()
    assert "inquiry" in answer.json()["outcome"]


def test_an_escalated_inquiry_opens_on_its_update(client, payment):
    post(client, created(payment, status="warning_needs_response"))
    escalated = event(
        "charge.dispute.updated",
        dispute_object(payment.gateway_reference, status="needs_response"),
        previous={"status": "warning_needs_response"},
    )

    post(client, escalated)

    assert Dispute.objects.get().status == "needs_response"


def test_a_dispute_on_a_payment_we_do_not_know_is_acknowledged(client, payment):
    body = event("charge.dispute.created", dispute_object("pi_someone_elses"))

    answer = post(client, body)

    assert answer.status_code == 200
    assert answer.json()["outcome"].startswith("ignored: no payment")
    assert not Dispute.objects.exists()
    assert ReceivedEvent.objects.get().event_id == body["id"]


def test_under_review_at_stripe_submits_ours(client, payment):
    post(client, created(payment))
    body = event(
        "charge.dispute.updated",
        dispute_object(payment.gateway_reference, status="under_review"),
        previous={"status": "needs_response"},
    )

    assert post(client, body).status_code == 200

    dispute = Dispute.objects.get()
    assert dispute.status == "under_review"
    assert dispute.evidence_submitted_at is not None
    assert "Stripe's dashboard" in dispute.uncategorized_text


def test_won_at_stripe_gives_the_money_back(client, payment):
    post(client, created(payment))
    reference = payment.gateway_reference
    post(client, event("charge.dispute.updated", dispute_object(reference, status="under_review")))

    post(client, event("charge.dispute.closed", dispute_object(reference, status="won")))

    dispute = Dispute.objects.get()
    payment.refresh_from_db()
    assert dispute.status == "won"
    assert payment.amount_disputed == 0
    assert payment.transactions.filter(type="chargeback_reversal").count() == 1


def test_won_at_stripe_after_our_deadline_still_gives_the_money_back(client, payment):
    post(client, created(payment))
    # Our deadline passed with no evidence here (it was answered at Stripe).
    Dispute.objects.update(evidence_due_by=timezone.now() - timedelta(days=1))
    reference = payment.gateway_reference

    post(client, event("charge.dispute.closed", dispute_object(reference, status="won")))

    payment.refresh_from_db()
    assert Dispute.objects.get().status == "won"
    assert payment.amount_disputed == 0


def test_lost_at_stripe_after_review_is_lost(client, payment):
    post(client, created(payment))
    reference = payment.gateway_reference
    post(client, event("charge.dispute.updated", dispute_object(reference, status="under_review")))

    post(client, event("charge.dispute.closed", dispute_object(reference, status="lost")))

    payment.refresh_from_db()
    assert Dispute.objects.get().status == "lost"
    assert payment.amount_disputed == 2500


def test_lost_while_awaiting_evidence_means_the_merchant_accepted_it_at_stripe(client, payment):
    post(client, created(payment))

    closed = dispute_object(payment.gateway_reference, status="lost")
    post(client, event("charge.dispute.closed", closed))

    assert Dispute.objects.get().status == "accepted"


def test_a_closed_dispute_stays_closed(client, payment):
    post(client, created(payment))
    reference = payment.gateway_reference
    post(client, event("charge.dispute.closed", dispute_object(reference, status="lost")))

    answer = post(client, event("charge.dispute.closed", dispute_object(reference, status="won")))

    assert answer.status_code == 200
    assert "already accepted" in answer.json()["outcome"]
    assert Dispute.objects.get().status == "accepted"


@pytest.mark.django_db(transaction=True)
def test_three_concurrent_deliveries_of_a_created_dispute_open_one(merchant):
    require_postgres()
    payment = PaymentFactory(merchant=merchant, amount=2500)
    Payment.objects.filter(id=payment.id).update(gateway_reference="pi_race")
    body = event("charge.dispute.created", dispute_object("pi_race"))

    answers = run_concurrently(lambda _: post(Client(), body), 3)

    assert [a.status_code for a in answers] == [200, 200, 200], answers
    outcomes = [a.json()["outcome"] for a in answers]
    assert sum(o.startswith("duplicate") for o in outcomes) == 2, outcomes
    assert Dispute.objects.count() == 1
    assert ReceivedEvent.objects.count() == 1
    assert MonthlyTotals.objects.get(merchant=merchant).disputes_opened == 1
