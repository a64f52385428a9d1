"""The overview's daily totals are kept by the services in the transaction of each
change, and always equal what the payments themselves say."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from chargebacks.services import record_chargeback
from core.actors import SYSTEM, Actor
from core.errors import DomainError
from merchants import roles
from payments import approvals, delivery, rollup, services
from payments.models import DailyTotals, Payment, Transaction
from tests.conftest import require_postgres, run_concurrently
from tests.factories import MerchantFactory, PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db


def kept(merchant) -> dict:
    return {
        (row.day, row.currency): {name: getattr(row, name) for name in DailyTotals.COUNTERS}
        for row in DailyTotals.objects.for_merchant(merchant)
    }


def recomputed(merchant) -> dict:
    totals = rollup.totals_from_payments(merchant_id=merchant.id)
    return {
        (day, currency): {name: counts.get(name, 0) for name in DailyTotals.COUNTERS}
        for (_, day, currency), counts in totals.items()
    }


def reverse(payment, **kwargs):
    return services.reverse_payment(
        merchant=payment.merchant, payment_id=payment.id, actor=SYSTEM, **kwargs
    )


def test_every_write_keeps_the_totals_equal_to_the_payments(merchant):
    today = timezone.localdate()
    usd = PaymentFactory(merchant=merchant, amount=5000)
    sent = reverse(usd, amount=1200)
    delivery.send_pending_transaction(transaction_id=sent.id)  # succeeds
    reverse(usd, amount=300, is_external=True)
    declined = PaymentFactory(merchant=merchant, amount=667)  # its refunds are declined
    delivery.send_pending_transaction(transaction_id=reverse(declined).id)
    PaymentFactory(merchant=merchant, amount=666)  # the authorization fails
    authorized = PaymentFactory(merchant=merchant, amount=4000, capture=False)
    services.capture_payment(merchant=merchant, payment_id=authorized.id, actor=SYSTEM, amount=2500)
    refused_capture = PaymentFactory(merchant=merchant, amount=4000, capture=False)
    services.capture_payment(
        merchant=merchant, payment_id=refused_capture.id, actor=SYSTEM, amount=666
    )
    voided = PaymentFactory(merchant=merchant, amount=900, currency="JPY", capture=False)
    reverse(voided)
    yen = PaymentFactory(merchant=merchant, amount=12000, currency="JPY")
    record_chargeback(merchant=merchant, payment_id=yen.id, actor=SYSTEM)

    assert kept(merchant) == recomputed(merchant)
    assert kept(merchant)[(today, "USD")] == {
        "payments": 5,
        "succeeded": 4,
        "captured_amount": 5000 + 667 + 2500,
        "refunds": 2,  # the declined one is taken back
        "refunded_amount": 1500,
        "chargebacks": 0,
        "chargeback_amount": 0,
    }
    assert kept(merchant)[(today, "JPY")] == {
        "payments": 2,
        "succeeded": 2,
        "captured_amount": 12000,
        "refunds": 0,
        "refunded_amount": 0,
        "chargebacks": 1,
        "chargeback_amount": 12000,
    }


def test_a_refund_held_for_approval_counts_once_sent_and_never_when_canceled(merchant):
    admin, approver = (UserFactory(merchant=merchant, role=roles.MERCHANT_ADMIN) for _ in range(2))
    approvals.set_threshold(merchant=merchant, currency="USD", amount=100, actor=Actor(user=admin))
    payment = PaymentFactory(merchant=merchant, amount=5000)

    def ask(amount):
        return services.reverse_payment(
            merchant=merchant, payment_id=payment.id, actor=Actor(user=admin), amount=amount
        )

    approved, rejected, expired, _waiting = ask(1000), ask(700), ask(500), ask(300)
    approvals.approve_refund(
        merchant=merchant, transaction_id=approved.id, actor=Actor(user=approver)
    )
    approvals.reject_refund(
        merchant=merchant, transaction_id=rejected.id, actor=Actor(user=approver)
    )
    approvals.expire_refund(
        transaction_id=expired.id, now=timezone.now() + approvals.APPROVAL_WINDOW
    )

    assert kept(merchant) == recomputed(merchant)
    today = kept(merchant)[(timezone.localdate(), "USD")]
    assert (today["refunds"], today["refunded_amount"]) == (1, 1000)


def test_a_refused_write_counts_nothing(merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    before = kept(merchant)
    with pytest.raises(DomainError):
        reverse(payment, amount=99_999)
    with pytest.raises(DomainError):
        services.capture_payment(merchant=merchant, payment_id=payment.id, actor=SYSTEM)
    assert kept(merchant) == before


def test_a_later_change_counts_on_the_day_its_payment_was_made(merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    made = timezone.now() - timedelta(days=3)
    Payment.objects.filter(pk=payment.pk).update(created_at=made)
    rollup.rebuild(merchant_id=merchant.id)
    reverse(payment, amount=500)
    assert kept(merchant) == recomputed(merchant)
    assert kept(merchant)[(timezone.localdate(made), "USD")]["refunded_amount"] == 500
    assert (timezone.localdate(), "USD") not in kept(merchant)


def test_rebuild_replaces_the_totals_of_one_merchant_or_all(merchant, other_merchant):
    PaymentFactory(merchant=merchant, amount=1000)
    PaymentFactory(merchant=other_merchant, amount=2000)
    DailyTotals.objects.update(payments=99)
    assert rollup.rebuild(merchant_id=merchant.id) == 1
    assert kept(merchant) == recomputed(merchant)
    assert kept(other_merchant) != recomputed(other_merchant)
    call_command("rebuild_daily_totals", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert kept(other_merchant) == recomputed(other_merchant)


@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_never_lose_an_increment():
    require_postgres()
    merchant = MerchantFactory()

    def pay(i):
        return services.create_payment(
            merchant=merchant, amount=100 + i, currency="EUR", actor=SYSTEM
        )

    results = run_concurrently(pay, 8)
    assert all(isinstance(r, Payment) for r in results), results
    [row] = DailyTotals.objects.for_merchant(merchant)
    assert row.payments == 8
    assert row.captured_amount == sum(100 + i for i in range(8))
    assert Transaction.objects.filter(merchant=merchant, type="capture").count() == 8
