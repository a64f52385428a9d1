"""Races, for real: threads with their own PostgreSQL connections."""

import pytest

from chargebacks import services
from chargebacks.models import Chargeback
from core.actors import SYSTEM
from core.errors import Conflict
from customers.models import BlacklistEntry
from payments.models import Payment, Transaction
from tests.conftest import require_postgres, run_concurrently
from tests.factories import CustomerFactory, MerchantFactory, PaymentFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only():
    require_postgres()


def test_concurrent_chargebacks_on_one_payment_record_one(merchant):
    payment = PaymentFactory(merchant=merchant, customer=CustomerFactory(merchant=merchant))

    def record(_):
        return services.record_chargeback(
            merchant=merchant, payment_id=payment.id, actor=SYSTEM, blacklist_customer=True
        )

    results = run_concurrently(record, 6)

    assert sum(isinstance(r, Payment) for r in results) == 1, results
    assert sum(isinstance(r, Conflict) for r in results) == 5, results
    assert Chargeback.objects.count() == 1
    assert Transaction.objects.filter(type="chargeback").count() == 1
    assert BlacklistEntry.objects.count() == 1


def test_concurrent_chargebacks_blacklisting_one_email_share_one_entry(merchant, other_merchant):
    payments = [
        PaymentFactory(
            merchant=shop, customer=CustomerFactory(merchant=shop, email=f"{case}@example.test")
        )
        for shop, case in (
            (merchant, "same"),
            (other_merchant, "SAME"),
            (MerchantFactory(name="Third Shop"), "Same"),
        )
    ]

    def record(i):
        return services.record_chargeback(
            merchant=payments[i].merchant,
            payment_id=payments[i].id,
            actor=SYSTEM,
            blacklist_customer=True,
        )

    results = run_concurrently(record, len(payments))

    assert all(isinstance(r, Payment) for r in results), results
    assert all(r.is_chargebacked for r in results)
    assert BlacklistEntry.objects.active().get().email == "same@example.test"
    assert Chargeback.objects.filter(blacklisted_customer=True).count() == 3
