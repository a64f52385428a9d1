"""Races, for real: threads with their own PostgreSQL connections."""

import pytest
from django.db import transaction

from core.actors import SYSTEM
from core.errors import DomainError
from payments import services
from payments.models import Payment, Transaction
from tests.conftest import require_postgres, run_concurrently
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only():
    require_postgres()


def test_partial_refunds_never_exceed_captured_under_race(merchant, gateway_calls):
    payment = PaymentFactory(merchant=merchant, amount=25)

    def refund_one_unit(_):
        return services.reverse_payment(
            merchant=merchant, payment_id=payment.id, actor=SYSTEM, amount=1
        )

    results = run_concurrently(refund_one_unit, 40)

    succeeded = [r for r in results if isinstance(r, Transaction)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(succeeded) == 25
    assert len(refused) == 15
    assert all(r.type in ("validation_error", "invalid_request") for r in refused)
    payment.refresh_from_db()
    assert payment.amount_reversed == 25
    stored = Transaction.objects.filter(payment=payment, type="refund").exclude(status="failed")
    assert sum(stored.values_list("amount", flat=True)) == 25
    assert len(gateway_calls("refund")) == 25


def test_concurrent_void_and_capture_exactly_one_wins(merchant):
    for _ in range(5):
        payment = PaymentFactory(merchant=merchant, amount=2500, capture=False)

        def act(i, payment_id=payment.id):
            if i == 0:
                return services.capture_payment(
                    merchant=merchant, payment_id=payment_id, actor=SYSTEM
                )
            return services.reverse_payment(merchant=merchant, payment_id=payment_id, actor=SYSTEM)

        results = run_concurrently(act, 2)
        errors = [r for r in results if isinstance(r, Exception)]
        assert len(errors) == 1, results
        assert isinstance(errors[0], DomainError)
        payment.refresh_from_db()
        if payment.is_captured:
            assert not payment.is_voided and payment.amount_reversed == 0
            assert "voided" not in payment.display_status
        else:
            assert payment.is_voided and payment.amount_reversed == 2500
            assert not payment.transactions.filter(type="capture").exists()


def test_refund_in_a_transaction_that_rolls_back_sends_nothing(merchant, gateway_calls):
    payment = PaymentFactory(merchant=merchant, amount=2500)

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        services.reverse_payment(merchant=merchant, payment_id=payment.id, actor=SYSTEM)
        raise Abort

    payment.refresh_from_db()
    assert payment.amount_reversed == 0
    assert not Transaction.objects.filter(payment=payment, type="refund").exists()
    assert gateway_calls("refund") == []


def test_concurrent_full_refunds_one_wins(merchant, gateway_calls):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    results = run_concurrently(
        lambda _: services.reverse_payment(merchant=merchant, payment_id=payment.id, actor=SYSTEM),
        8,
    )
    assert sum(isinstance(r, Transaction) for r in results) == 1
    assert Payment.objects.get(id=payment.id).amount_reversed == 2500
    assert len(gateway_calls("refund")) == 1
