"""Races, for real: threads with their own PostgreSQL connections."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.actors import SYSTEM
from core.errors import Conflict
from customers import services
from customers.models import BlacklistEntry, Customer
from payments.models import Payment
from subscriptions import services as subscription_services
from subscriptions.models import Subscription
from tests.conftest import require_postgres, run_concurrently
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only():
    require_postgres()


def test_overlapping_renewal_runs_charge_each_period_once(merchant, gateway_calls):
    subscriptions = [
        subscription_services.create_subscription(
            merchant=merchant,
            customer_id=CustomerFactory(merchant=merchant).id,
            amount=1000 + i,
            currency="USD",
            interval=("day", "week", "month")[i % 3],
            actor=SYSTEM,
            current_period_end=timezone.now() + timedelta(minutes=1),
        )
        for i in range(12)
    ]
    now = timezone.now() + timedelta(minutes=2)

    results = run_concurrently(lambda _: subscription_services.renew_due_subscriptions(now=now), 4)

    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == len(subscriptions)
    for subscription in subscriptions:
        payments = Payment.objects.filter(subscription=subscription)
        assert payments.count() == 1, subscription.id
        subscription.refresh_from_db()
        assert subscription.current_period_end > now
        assert subscription.charge_pending_since is None
        assert payments.get().order_id == subscription_services.renewal_order_id(subscription)
    assert len(gateway_calls("authorize")) == len(subscriptions)


def test_concurrent_blacklisting_of_one_email_makes_one_entry():
    def add(i):
        return services.add_to_blacklist(email="Race@Example.test", reason=f"r{i}", actor=SYSTEM)

    results = run_concurrently(add, 6)

    assert all(isinstance(r, BlacklistEntry) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert BlacklistEntry.objects.active().count() == 1


def test_concurrent_creation_of_one_customer_makes_one(merchant):
    def create(i):
        email = "race@example.test" if i % 2 else "RACE@example.test"
        return services.create_customer(merchant=merchant, email=email, actor=SYSTEM)

    results = run_concurrently(create, 6)

    created = [r for r in results if isinstance(r, Customer)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(created) == 1 and len(conflicts) == 5, results
    assert all(created[0].id in c.message for c in conflicts)
    assert Customer.objects.count() == 1


def test_a_subscription_is_not_charged_while_restrict_mit_is_being_set(merchant):
    """Either the restriction lands first (the renewal cancels without a charge, or
    the payment is refused and the subscription canceled) or the renewal does (one
    charge, then cancel at the next period's end)."""
    for _ in range(5):
        customer = CustomerFactory(merchant=merchant)
        subscription = subscription_services.create_subscription(
            merchant=merchant,
            customer_id=customer.id,
            amount=1000,
            currency="USD",
            interval="day",
            actor=SYSTEM,
            current_period_end=timezone.now() + timedelta(seconds=30),
        )
        now = timezone.now() + timedelta(minutes=1)

        def act(i, customer_id=customer.id, now=now):
            if i == 0:
                return services.update_restrictions(
                    merchant=merchant, customer_id=customer_id, actor=SYSTEM, restrict_mit=True
                )
            return subscription_services.renew_due_subscriptions(now=now)

        results = run_concurrently(act, 2)
        assert not any(isinstance(r, Exception) for r in results), results
        # A run skips a subscription whose row the restriction change holds locked; the
        # next run handles it.
        subscription_services.renew_due_subscriptions(now=now)
        subscription.refresh_from_db()
        charged = Payment.objects.filter(subscription=subscription, status="succeeded").count()
        if subscription.status == Subscription.Status.CANCELED:
            assert charged == 0
        else:
            assert charged == 1 and subscription.cancel_at_period_end
