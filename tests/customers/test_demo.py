"""The customers demo data: made once, whatever the number of runs."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Min

from chargebacks.models import Chargeback, Dispute
from customers.models import BlacklistEntry, Customer
from demo.customers import seed_customer_demo
from merchants.models import Merchant
from payments.models import Payment, Transaction
from subscriptions.models import Subscription
from tests.factories import CustomerFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def counts() -> dict:
    return {
        "customers": Customer.objects.count(),
        "restricted_cit": Customer.objects.filter(restrict_cit=True).count(),
        "restricted_mit": Customer.objects.filter(restrict_mit=True).count(),
        "blacklist": BlacklistEntry.objects.count(),
        "subscriptions": Subscription.objects.count(),
        "ending": Subscription.objects.filter(cancel_at_period_end=True).count(),
        "chargebacks": Chargeback.objects.count(),
        "payments": Payment.objects.count(),
        "transactions": Transaction.objects.count(),
    }


def seed(merchant, agent, platform_admin):
    seed_customer_demo(
        merchant=merchant,
        platform_user=platform_admin,
        agent_user=agent,
        customers=list(Customer.objects.for_merchant(merchant)),
        payments=list(Payment.objects.for_merchant(merchant).order_by("created_at")),
    )


def test_seed_customer_demo_is_idempotent(merchant, agent, platform_admin):
    shoppers = [CustomerFactory(merchant=merchant) for _ in range(3)]
    for shopper in shoppers:
        PaymentFactory(merchant=merchant, customer=shopper)

    seed(merchant, agent, platform_admin)
    first = counts()
    seed(merchant, agent, platform_admin)

    assert counts() == first
    assert first["restricted_cit"] >= 1 and first["restricted_mit"] >= 1
    assert first["blacklist"] == 2
    assert BlacklistEntry.objects.filter(source="chargeback").count() == 1
    assert first["subscriptions"] >= 4 and first["ending"] == 1
    assert first["chargebacks"] == 3
    # seed_demo's own customers are never blacklisted or restricted from CIT payments.
    for shopper in shoppers:
        shopper.refresh_from_db()
        assert not shopper.restrict_cit


def test_seed_demo_command_runs_twice(db):
    call_command("seed_demo", payments=12, stdout=StringIO())
    first = counts()
    call_command("seed_demo", payments=12, stdout=StringIO())
    assert counts() == first
    merchant = Merchant.objects.get(name="Demo Store")
    # The customers' demo records three chargebacks; the disputes' demo (SPEC 10) more,
    # each chargeback with its dispute.
    chargebacks = Chargeback.objects.filter(merchant=merchant).count()
    assert chargebacks >= 3
    assert Dispute.objects.filter(merchant=merchant).count() == chargebacks


def test_seeded_customers_start_no_later_than_their_first_payment(db):
    call_command("seed_demo", payments=12, stdout=StringIO())
    firsts = Customer.objects.annotate(first_payment=Min("payments__created_at"))
    assert firsts.filter(first_payment__isnull=False).count() >= 5
    assert not [c.email for c in firsts if c.first_payment and c.first_payment < c.created_at]
