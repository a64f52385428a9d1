"""Subscriptions (SPEC 5): creation, the first charge, and renewal by the periodic task."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from core.actors import SYSTEM, Actor
from core.errors import ValidationFailed
from customers import services as customer_services
from customers.services import CustomerRestricted
from payments.models import Payment
from subscriptions import services, tasks
from subscriptions.models import Subscription
from subscriptions.services import SubscriptionPaymentFailed
from tests.factories import CustomerFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def subscribe(customer, **kwargs) -> Subscription:
    return services.create_subscription(
        merchant=customer.merchant,
        customer_id=customer.id,
        amount=kwargs.pop("amount", 1000),
        currency=kwargs.pop("currency", "USD"),
        interval=kwargs.pop("interval", "month"),
        actor=kwargs.pop("actor", SYSTEM),
        **kwargs,
    )


def prepaid(customer, *, ends_in=timedelta(hours=1), **kwargs) -> Subscription:
    """A subscription whose current period is paid and ends `ends_in` from now."""
    return subscribe(customer, current_period_end=timezone.now() + ends_in, **kwargs)


def later(delta: timedelta) -> datetime:
    return timezone.now() + delta


# --- period arithmetic -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "interval", "anchor", "expected"),
    [
        (datetime(2030, 1, 31, 9, tzinfo=UTC), "day", None, datetime(2030, 2, 1, 9, tzinfo=UTC)),
        (datetime(2030, 1, 31, 9, tzinfo=UTC), "week", None, datetime(2030, 2, 7, 9, tzinfo=UTC)),
        (datetime(2030, 1, 15, 9, tzinfo=UTC), "month", 15, datetime(2030, 2, 15, 9, tzinfo=UTC)),
        (datetime(2030, 1, 31, 9, tzinfo=UTC), "month", 31, datetime(2030, 2, 28, 9, tzinfo=UTC)),
        (datetime(2030, 2, 28, 9, tzinfo=UTC), "month", 31, datetime(2030, 3, 31, 9, tzinfo=UTC)),
        (datetime(2032, 1, 30, 9, tzinfo=UTC), "month", 30, datetime(2032, 2, 29, 9, tzinfo=UTC)),
        (datetime(2030, 12, 31, 9, tzinfo=UTC), "month", 31, datetime(2031, 1, 31, 9, tzinfo=UTC)),
        (datetime(2030, 3, 31, 9, tzinfo=UTC), "month", None, datetime(2030, 4, 30, 9, tzinfo=UTC)),
    ],
)
def test_next_period_end(end, interval, anchor, expected):
    assert services.next_period_end(end, interval, anchor_day=anchor) == expected


# --- creation ----------------------------------------------------------------------------


def test_creating_a_subscription_charges_the_first_period_as_mit(merchant, agent, gateway_calls):
    customer = CustomerFactory(merchant=merchant)
    before = timezone.now()
    subscription = subscribe(customer, amount=1500, interval="week", actor=Actor(user=agent))

    assert subscription.id.startswith("sub_")
    assert subscription.status == "active" and not subscription.cancel_at_period_end
    assert before + timedelta(weeks=1) <= subscription.current_period_end
    assert subscription.current_period_end <= timezone.now() + timedelta(weeks=1)
    assert subscription.charge_pending_since is None
    payment = Payment.objects.get(subscription=subscription)
    assert (payment.amount, payment.currency, payment.initiator) == (1500, "USD", "MIT")
    assert payment.status == "succeeded" and payment.is_captured
    assert payment.customer == customer
    assert payment.order_id == services.renewal_order_id(subscription)
    assert payment.transactions.first().created_by == agent
    assert len(gateway_calls("authorize")) == 1


def test_a_subscription_with_a_period_end_is_first_charged_then(merchant, gateway_calls):
    end = later(timedelta(days=14))
    subscription = subscribe(CustomerFactory(merchant=merchant), current_period_end=end)
    assert subscription.current_period_end == end
    assert subscription.billing_anchor_day == end.astimezone(UTC).day
    assert not Payment.objects.exists()
    assert gateway_calls() == []


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": 10.5}, "amount"),
        ({"currency": "usd"}, "currency"),
        ({"currency": "XXX"}, "currency"),
        ({"interval": "year"}, "interval"),
        ({"current_period_end": datetime(2020, 1, 1, tzinfo=UTC)}, "currentPeriodEnd"),
        ({"current_period_end": datetime(2099, 1, 1)}, "currentPeriodEnd"),
    ],
)
def test_create_subscription_validates_its_input(merchant, kwargs, param):
    with pytest.raises(ValidationFailed) as refused:
        subscribe(CustomerFactory(merchant=merchant), **kwargs)
    assert refused.value.param == param
    assert not Subscription.objects.exists()


def test_create_subscription_for_another_merchants_customer_is_refused(merchant, other_merchant):
    foreign = CustomerFactory(merchant=other_merchant)
    with pytest.raises(ValidationFailed) as refused:
        services.create_subscription(
            merchant=merchant,
            customer_id=foreign.id,
            amount=1000,
            currency="USD",
            interval="month",
            actor=SYSTEM,
        )
    assert refused.value.param == "customerId"
    assert not Subscription.objects.exists()


@pytest.mark.parametrize("with_period_end", [False, True])
def test_an_mit_restricted_customer_cannot_subscribe(merchant, gateway_calls, with_period_end):
    customer = CustomerFactory(merchant=merchant, restrict_mit=True)
    kwargs = {"current_period_end": later(timedelta(days=1))} if with_period_end else {}
    with pytest.raises(CustomerRestricted) as refused:
        subscribe(customer, **kwargs)
    assert refused.value.rule == "restrict_mit"
    assert not Subscription.objects.exists()
    assert gateway_calls() == []
    customer.refresh_from_db()
    assert customer.refused_payment_attempts == 1


def test_a_blacklisted_customer_cannot_subscribe(merchant, gateway_calls):
    customer = CustomerFactory(merchant=merchant, email="Bad@Example.test")
    customer_services.add_to_blacklist(email="bad@example.test", reason="fraud", actor=SYSTEM)
    with pytest.raises(CustomerRestricted) as refused:
        subscribe(customer)
    assert refused.value.rule == "blacklisted"
    assert not Subscription.objects.exists()


def test_a_declined_first_payment_cancels_the_new_subscription(merchant):
    customer = CustomerFactory(merchant=merchant)
    with pytest.raises(SubscriptionPaymentFailed) as refused:
        subscribe(customer, amount=666)  # the sandbox declines it
    subscription = Subscription.objects.get()
    assert subscription.status == "canceled" and subscription.canceled_at is not None
    assert subscription.charge_pending_since is None
    payment = Payment.objects.get(subscription=subscription)
    assert payment.status == "failed"
    assert payment.id in refused.value.message
    assert refused.value.type == "invalid_request"

    # The renewal task never picks it up.
    assert services.renew_due_subscriptions(now=later(timedelta(days=400))) == 0


def test_an_unexpected_error_while_charging_the_first_period_cancels_it(merchant, monkeypatch):
    from payments import services as payment_services

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(payment_services, "create_payment", broken)
    with pytest.raises(RuntimeError):
        subscribe(CustomerFactory(merchant=merchant))
    subscription = Subscription.objects.get()
    assert subscription.status == "canceled"
    assert subscription.charge_pending_since is None


# --- renewal --------------------------------------------------------------------------------


def test_renewal_charges_due_subscriptions_as_mit_and_advances_their_period(
    merchant, gateway_calls
):
    customer = CustomerFactory(merchant=merchant)
    due = prepaid(customer, ends_in=timedelta(minutes=30), interval="month")
    not_due = prepaid(customer, ends_in=timedelta(days=2), interval="day")
    period_end = due.current_period_end

    assert services.renew_due_subscriptions(now=later(timedelta(hours=1))) == 1

    due.refresh_from_db()
    assert due.current_period_end == services.next_period_end(
        period_end, "month", anchor_day=due.billing_anchor_day
    )
    assert due.status == "active" and due.charge_pending_since is None
    payment = Payment.objects.get(subscription=due)
    assert payment.initiator == "MIT" and payment.status == "succeeded"
    assert payment.amount == 1000 and payment.customer == customer
    assert payment.order_id == services.renewal_order_id(due)
    not_due.refresh_from_db()
    assert not Payment.objects.filter(subscription=not_due).exists()
    assert len(gateway_calls("authorize")) == 1


def test_a_second_run_does_not_charge_the_same_period_again(merchant, gateway_calls):
    subscription = prepaid(CustomerFactory(merchant=merchant), ends_in=timedelta(minutes=1))
    now = later(timedelta(minutes=2))
    assert services.renew_due_subscriptions(now=now) == 1
    assert services.renew_due_subscriptions(now=now) == 0
    assert Payment.objects.filter(subscription=subscription).count() == 1
    assert len(gateway_calls("authorize")) == 1


def test_missed_periods_are_skipped_not_charged_one_by_one(merchant):
    subscription = prepaid(
        CustomerFactory(merchant=merchant), ends_in=timedelta(minutes=1), interval="day"
    )
    now = later(timedelta(days=5, hours=1))
    services.renew_due_subscriptions(now=now)
    subscription.refresh_from_db()
    assert now < subscription.current_period_end <= now + timedelta(days=1)
    assert Payment.objects.filter(subscription=subscription).count() == 1


def test_cancel_at_period_end_cancels_instead_of_charging(merchant, gateway_calls):
    subscription = prepaid(CustomerFactory(merchant=merchant), ends_in=timedelta(minutes=5))
    Subscription.objects.filter(pk=subscription.pk).update(cancel_at_period_end=True)
    period_end = subscription.current_period_end

    assert services.renew_due_subscriptions(now=later(timedelta(minutes=1))) == 0  # not yet
    assert services.renew_due_subscriptions(now=later(timedelta(minutes=10))) == 1

    subscription.refresh_from_db()
    assert subscription.status == "canceled"
    assert subscription.canceled_at == period_end
    assert not Payment.objects.filter(subscription=subscription).exists()
    assert gateway_calls() == []


def test_restrict_mit_stops_renewal_at_period_end_while_cit_payments_pass(merchant, gateway_calls):
    customer = CustomerFactory(merchant=merchant)
    subscription = prepaid(customer, ends_in=timedelta(minutes=5))
    customer_services.update_restrictions(
        merchant=merchant, customer_id=customer.id, actor=SYSTEM, restrict_mit=True
    )

    services.renew_due_subscriptions(now=later(timedelta(minutes=10)))

    subscription.refresh_from_db()
    assert subscription.status == "canceled"
    assert not Payment.objects.filter(subscription=subscription).exists()
    with pytest.raises(CustomerRestricted):
        PaymentFactory(merchant=merchant, customer=customer, initiator="MIT")
    assert PaymentFactory(merchant=merchant, customer=customer, initiator="CIT").status == (
        "succeeded"
    )


def test_a_renewal_refused_by_the_customer_checks_cancels_the_subscription(merchant, gateway_calls):
    # A restriction that arrives without cancelAtPeriodEnd (e.g. set between the claim
    # and the charge): the payment is refused before the gateway, and counted.
    customer = CustomerFactory(merchant=merchant)
    subscription = prepaid(customer, ends_in=timedelta(minutes=5))
    customer.__class__.objects.filter(pk=customer.pk).update(restrict_mit=True)

    assert services.renew_due_subscriptions(now=later(timedelta(minutes=10))) == 1

    subscription.refresh_from_db()
    assert subscription.status == "canceled" and subscription.charge_pending_since is None
    assert not Payment.objects.filter(subscription=subscription).exists()
    assert gateway_calls() == []
    customer.refresh_from_db()
    assert customer.refused_payment_attempts == 1


def test_a_declined_renewal_cancels_the_subscription_and_keeps_the_failed_payment(merchant):
    subscription = prepaid(
        CustomerFactory(merchant=merchant), ends_in=timedelta(minutes=5), amount=666
    )
    services.renew_due_subscriptions(now=later(timedelta(minutes=10)))
    subscription.refresh_from_db()
    assert subscription.status == "canceled"
    payment = Payment.objects.get(subscription=subscription)
    assert payment.status == "failed" and payment.failure_reason == "card_declined"


def test_a_renewal_the_gateway_never_answered_is_retried_then_given_up(merchant, gateway_calls):
    subscription = prepaid(
        CustomerFactory(merchant=merchant), ends_in=timedelta(minutes=5), amount=408
    )
    start = later(timedelta(minutes=10))

    services.renew_due_subscriptions(now=start)
    subscription.refresh_from_db()
    assert subscription.status == "active" and subscription.charge_pending_since == start
    period_end = subscription.current_period_end

    # Not before RENEWAL_RETRY_AFTER; then again with the same order id.
    assert services.renew_due_subscriptions(now=start + timedelta(minutes=1)) == 0
    services.renew_due_subscriptions(now=start + timedelta(minutes=6))
    services.renew_due_subscriptions(now=start + timedelta(minutes=12))
    assert len(gateway_calls("authorize")) == services.MAX_RENEWAL_ATTEMPTS
    services.renew_due_subscriptions(now=start + timedelta(minutes=18))

    subscription.refresh_from_db()
    assert subscription.status == "canceled" and subscription.current_period_end == period_end
    attempts = Payment.objects.filter(subscription=subscription)
    assert attempts.count() == services.MAX_RENEWAL_ATTEMPTS
    assert {p.order_id for p in attempts} == {services.renewal_order_id(subscription)}
    assert len(gateway_calls("authorize")) == services.MAX_RENEWAL_ATTEMPTS


def test_a_run_that_died_after_charging_is_not_charged_again(merchant, gateway_calls):
    subscription = prepaid(CustomerFactory(merchant=merchant), ends_in=timedelta(minutes=5))
    now = later(timedelta(minutes=10))
    services.renew_due_subscriptions(now=now)
    # As if the run had died between the payment and clearing its mark.
    Subscription.objects.filter(pk=subscription.pk).update(charge_pending_since=now)

    assert services.renew_due_subscriptions(now=now + timedelta(minutes=6)) == 1

    subscription.refresh_from_db()
    assert subscription.charge_pending_since is None and subscription.status == "active"
    assert Payment.objects.filter(subscription=subscription).count() == 1
    assert len(gateway_calls("authorize")) == 1


def test_a_run_that_died_before_charging_is_charged_by_a_later_run(merchant, gateway_calls):
    subscription = prepaid(CustomerFactory(merchant=merchant), ends_in=timedelta(minutes=5))
    now = later(timedelta(minutes=10))
    # As if a run had advanced the period, committed, and died before the payment.
    services._claim_next_due(now=now)
    assert not Payment.objects.exists()

    assert services.renew_due_subscriptions(now=now + timedelta(minutes=1)) == 0  # not stale
    assert services.renew_due_subscriptions(now=now + timedelta(minutes=6)) == 1

    subscription.refresh_from_db()
    payment = Payment.objects.get(subscription=subscription)
    assert payment.order_id == services.renewal_order_id(subscription)
    assert subscription.charge_pending_since is None


def test_the_renewal_task_runs_the_service(merchant):
    subscription = prepaid(CustomerFactory(merchant=merchant), ends_in=timedelta(seconds=1))
    Subscription.objects.filter(pk=subscription.pk).update(
        current_period_end=timezone.now() - timedelta(seconds=1)
    )
    assert tasks.renew_subscriptions.delay().get() == 1
    assert Payment.objects.filter(subscription=subscription).count() == 1
