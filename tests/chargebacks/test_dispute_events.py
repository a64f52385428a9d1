"""Disputes tell the merchant's webhook endpoints (SPEC 11): each event is written in the
transaction of the change, with the dispute as GET /disputes/{id} shows it; a refused
transition writes none."""

import pytest

from chargebacks import services
from chargebacks.models import Dispute
from core.actors import SYSTEM
from core.errors import Conflict
from tests.factories import CustomerFactory, PaymentFactory
from webhooks.models import Delivery, Event
from webhooks.services import create_endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(merchant):
    endpoint, _secret = create_endpoint(
        merchant=merchant,
        url="http://127.0.0.1:9/hooks",  # private targets are allowed in the tests
        event_types=["dispute.created", "dispute.updated", "dispute.closed"],
    )
    return endpoint


@pytest.fixture
def dispute(merchant, endpoint) -> Dispute:
    payment = PaymentFactory(
        merchant=merchant, customer=CustomerFactory(merchant=merchant), amount=2500
    )
    services.record_chargeback(merchant=merchant, payment_id=payment.id, actor=SYSTEM)
    return Dispute.objects.get(payment=payment)


def events() -> list[tuple[str, str]]:
    disputes = Event.objects.filter(type__startswith="dispute.").order_by("created_at", "id")
    return [(event.type, event.data["status"]) for event in disputes]


def test_a_recorded_chargeback_announces_the_dispute_it_opened(dispute, endpoint):
    [event] = Event.objects.filter(type__startswith="dispute.")
    assert event.type == "dispute.created"
    assert event.data["id"] == dispute.id
    assert event.data["amount"] == 2500 and event.data["status"] == "needs_response"
    # The endpoint subscribes to disputes only: one delivery, of this event.
    assert list(Delivery.objects.values_list("event", "endpoint")) == [(event.id, endpoint.id)]


def test_submitting_evidence_then_winning_are_announced_in_order(dispute):
    services.stage_evidence(
        merchant=dispute.merchant,
        actor=SYSTEM,
        dispute_id=dispute.id,
        evidence={"product_description": "Draft"},
    )
    services.stage_evidence(
        merchant=dispute.merchant, actor=SYSTEM, dispute_id=dispute.id, evidence={}, submit=True
    )
    services.close_dispute(
        merchant=dispute.merchant, actor=SYSTEM, dispute_id=dispute.id, outcome="won"
    )

    # A saved draft is no event; the submission and the decision are.
    assert events() == [
        ("dispute.created", "needs_response"),
        ("dispute.updated", "under_review"),
        ("dispute.closed", "won"),
    ]


def test_accepting_is_announced_as_closed_and_a_refused_transition_is_not(dispute):
    services.accept_dispute(merchant=dispute.merchant, actor=SYSTEM, dispute_id=dispute.id)
    with pytest.raises(Conflict):
        services.accept_dispute(merchant=dispute.merchant, actor=SYSTEM, dispute_id=dispute.id)

    assert events() == [("dispute.created", "needs_response"), ("dispute.closed", "accepted")]
