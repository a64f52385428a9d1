"""The API and refund approvals (SPEC 13): API keys are never held; a refund held in the
dashboard shows in the payment's answer and is not refundable meanwhile."""

import pytest

from core.actors import Actor
from payments import approvals, services
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def threshold(merchant, merchant_admin):
    return approvals.set_threshold(
        merchant=merchant, currency="USD", amount=10_000, actor=Actor(user=merchant_admin)
    )


def test_an_api_refund_over_the_threshold_is_not_held(api, merchant, threshold, gateway_calls):
    payment = PaymentFactory(merchant=merchant, amount=50_000)
    response = api.post(f"/payments/{payment.id}/reverse", {"amount": 30_000})
    assert response.status_code == 200
    body = response.json()
    refund = body["transactions"][-1]
    assert refund["type"] == "refund" and refund["status"] in ("pending", "succeeded")
    assert body["amountReversed"] == 30_000 and body["amountAwaitingApproval"] == 0


def test_a_held_refund_shows_in_the_answer_and_is_not_refundable(api, merchant, agent, threshold):
    payment = PaymentFactory(merchant=merchant, amount=50_000)
    services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=Actor(user=agent), amount=45_000
    )
    body = api.get(f"/payments/{payment.id}").json()
    assert body["transactions"][-1]["status"] == "requires_approval"
    assert body["amountAwaitingApproval"] == 45_000
    assert body["amountReversed"] == 0 and body["isFullyReversed"] is False

    refused = api.post(f"/payments/{payment.id}/reverse", {"amount": 5_001})
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "amount"
    assert api.post(f"/payments/{payment.id}/reverse", {"amount": 5_000}).status_code == 200
    rest_held = api.post(f"/payments/{payment.id}/reverse")
    assert rest_held.status_code == 400
    assert "waiting for approval" in rest_held.json()["error"]["message"]
