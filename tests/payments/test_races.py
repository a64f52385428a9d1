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


def test_concurrent_void_and_capture_never_both(merchant):
    """A capture and a reverse race on one authorization; whoever locks the row first
    decides. Reverse first: a void, and the capture is refused. Capture first and
    still pending at the gateway: the reverse is refused. Capture first and already
    done: the reverse legitimately becomes a full refund, and both succeed. So the
    invariant is not "exactly one succeeds" but: at least one does, never both a
    capture and a void, and the payment's sums agree with its transactions."""
    for _ in range(5):
        payment = PaymentFactory(merchant=merchant, amount=2500, capture=False)

        def act(i, payment_id=payment.id):
            if i == 0:
                return services.capture_payment(
                    merchant=merchant, payment_id=payment_id, actor=SYSTEM
                )
            return services.reverse_payment(merchant=merchant, payment_id=payment_id, actor=SYSTEM)

        captured, reversed_ = run_concurrently(act, 2)
        errors = [r for r in (captured, reversed_) if isinstance(r, Exception)]
        assert len(errors) <= 1, (captured, reversed_)
        assert all(isinstance(e, DomainError) for e in errors), errors
        payment.refresh_from_db()
        ledger = payment.transactions.exclude(status="failed")
        captures = list(ledger.filter(type="capture"))
        voids = list(ledger.filter(type="void"))
        refunds = list(ledger.filter(type="refund"))
        assert not (captures and voids), (captures, voids)
        assert payment.amount_reversed == sum(t.amount for t in voids + refunds)
        assert payment.amount_reversal_pending == sum(
            t.amount for t in voids + refunds if t.status == "pending"
        )
        if payment.is_captured:
            assert isinstance(captured, Payment), captured
            assert not payment.is_voided and "voided" not in payment.display_status
            assert len(captures) == 1 and payment.amount_captured == 2500
            if isinstance(reversed_, Transaction):  # the capture had finished first
                assert (reversed_.type, reversed_.amount) == ("refund", 2500)
                assert payment.amount_reversed == 2500 and len(refunds) == 1
            else:
                assert payment.amount_reversed == 0 and not refunds
        else:
            assert isinstance(captured, DomainError), captured
            assert isinstance(reversed_, Transaction) and reversed_.type == "void"
            assert payment.is_voided and payment.amount_reversed == 2500
            assert len(voids) == 1 and not captures and not refunds


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
