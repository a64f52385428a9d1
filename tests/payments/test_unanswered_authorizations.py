"""An authorization whose answer was lost is never forgotten (found by a hostile run):
it is recorded failed, said honestly, asked again with the same key, and whatever the
gateway had authorized is released."""

import pytest

from core.actors import SYSTEM
from payments import delivery, services, tasks
from payments.gateways import get_gateway
from payments.models import RELEASED, UNANSWERED, Payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger():
    gateway = get_gateway()
    gateway.ledger.clear()
    return gateway.ledger


def resolve(payment, tries=8) -> str:
    for _ in range(tries):
        outcome = delivery.resolve_unanswered_authorization(payment_id=payment.id)
        if outcome != UNANSWERED:
            return outcome
    return outcome


@pytest.mark.parametrize(("capture", "release_op"), [(True, "refund"), (False, "void")])
def test_an_unanswered_authorization_is_asked_again_and_released(
    merchant, ledger, capture, release_op
):
    # 503: the sandbox answers 503 twice to one key, then does what it was asked.
    payment = services.create_payment(
        merchant=merchant, amount=503, currency="USD", actor=SYSTEM, capture=capture
    )
    assert (payment.status, payment.failure_reason) == ("failed", UNANSWERED)
    assert payment.status_reason["message"].startswith("The gateway did not answer")

    assert resolve(payment) == RELEASED
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED  # the checkout was told so
    assert payment.status_reason["code"] == RELEASED
    assert "released automatically" in payment.status_reason["message"]
    assert payment.gateway_reference.startswith("sbx_pi_")
    calls = ledger.calls()
    # Always the same key: the gateway made one authorization, and released it once.
    assert {c["idempotency_key"] for c in calls if c["op"] == "authorize"} == {
        payment.authorization_key
    }
    releases = [c for c in calls if c["op"] == release_op]
    assert releases and {c["idempotency_key"] for c in releases} == {
        f"backoffice-release-{payment.id}"
    }
    assert not [c for c in calls if c["op"] == ("void" if capture else "refund")]
    # Resolved: asked no more.
    assert delivery.resolve_unanswered_authorization(payment_id=payment.id) == RELEASED
    assert len(ledger.calls()) == len(calls)


def test_the_sweeper_asks_only_about_due_unanswered_payments(merchant, ledger, settings):
    settings.REVERSAL_RESEND_AFTER_SECONDS = 0
    unanswered = services.create_payment(
        merchant=merchant, amount=503, currency="USD", actor=SYSTEM
    )
    services.create_payment(merchant=merchant, amount=666, currency="USD", actor=SYSTEM)
    services.create_payment(merchant=merchant, amount=1200, currency="USD", actor=SYSTEM)
    assert delivery.unanswered_authorization_ids(
        older_than=__import__("datetime").timedelta(0)
    ) == [unanswered.id]
    for _ in range(6):
        tasks.resolve_unanswered_authorizations()
    unanswered.refresh_from_db()
    assert unanswered.failure_reason == RELEASED
