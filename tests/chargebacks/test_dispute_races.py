"""Dispute transitions racing on one dispute, for real: threads with their own
PostgreSQL connections; the payment's row lock lets exactly one win."""

import pytest

from chargebacks import services
from chargebacks.models import Dispute
from core.actors import SYSTEM
from core.errors import Conflict
from payments.models import Payment, Transaction
from tests.conftest import require_postgres, run_concurrently
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only():
    require_postgres()


@pytest.fixture
def dispute(merchant):
    payment = PaymentFactory(merchant=merchant, amount=5000)
    services.record_chargeback(merchant=merchant, payment_id=payment.id, actor=SYSTEM)
    return Dispute.objects.get(payment=payment)


def test_accept_and_submit_at_once_one_wins(dispute):
    def act(i):
        if i % 2:
            return services.accept_dispute(
                merchant=dispute.merchant, actor=SYSTEM, dispute_id=dispute.id
            )
        return services.stage_evidence(
            merchant=dispute.merchant,
            actor=SYSTEM,
            dispute_id=dispute.id,
            evidence={"uncategorized_text": f"attempt {i}"},
            submit=True,
        )

    results = run_concurrently(act, 4)

    assert sum(isinstance(r, Dispute) for r in results) == 1, results
    assert sum(isinstance(r, Conflict) for r in results) == 3, results
    winner = next(r for r in results if isinstance(r, Dispute))
    dispute.refresh_from_db()
    assert dispute.status == winner.status


def test_two_outcomes_at_once_give_the_amount_back_at_most_once(dispute):
    services.stage_evidence(
        merchant=dispute.merchant,
        actor=SYSTEM,
        dispute_id=dispute.id,
        evidence={"product_description": "Delivered"},
        submit=True,
    )

    def win(_):
        return services.close_dispute(
            merchant=dispute.merchant, actor=SYSTEM, dispute_id=dispute.id, outcome="won"
        )

    results = run_concurrently(win, 4)

    assert sum(isinstance(r, Dispute) for r in results) == 1, results
    assert sum(isinstance(r, Conflict) for r in results) == 3, results
    assert Payment.objects.get(pk=dispute.payment_id).amount_disputed == 0
    assert Transaction.objects.filter(type="chargeback_reversal").count() == 1
