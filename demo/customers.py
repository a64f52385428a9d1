"""Demo data for customers, restrictions, the blacklist, subscriptions and chargebacks.

Called by `manage.py seed_demo` after its payments. Safe to run again: every step first
looks for what it would make, and nothing is made twice. Restrictions and blacklisting
are put on customers of this module's own (emails at example.org), so that the random
CIT payments seed_demo adds on a later run never meet a refusal; `customers` (seed_demo's
own) are therefore left as they are.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from chargebacks.services import record_chargeback
from core.actors import Actor
from customers import selectors, services
from customers.models import Customer
from merchants.models import Merchant, User
from payments import services as payment_services
from payments.models import Payment
from subscriptions import services as subscription_services
from subscriptions.models import Subscription

CHARGEBACK_CUSTOMER = ("quinn.reyes@example.org", "Quinn Reyes")
CIT_RESTRICTED = ("riley.stone@example.org", "Riley Stone")
MIT_RESTRICTED = ("sam.ortega@example.org", "Sam Ortega")
# (email, name, amount, currency, interval, first period end from now or None to charge now)
SUBSCRIBERS = [
    ("taylor.brooks@example.org", "Taylor Brooks", 1500, "USD", "month", None),
    ("uma.patel@example.org", "Uma Patel", 499, "EUR", "week", timedelta(hours=2)),
    ("victor.lind@example.org", "Victor Lind", 99, "USD", "day", timedelta(minutes=30)),
    ("wren.hale@example.org", "Wren Hale", 120000, "JPY", "month", timedelta(hours=6)),
]
MIT_SUBSCRIPTION = (*MIT_RESTRICTED, 2900, "USD", "month", None)
FRAUD_EMAIL = "card.testing@fraud-ring.example.net"
CHARGEBACK_ORDER_ID = "DEMO-CHARGEBACK-1"
PLAIN_CHARGEBACKS = 2


def seed_customer_demo(
    *,
    merchant: Merchant,
    platform_user: User,
    agent_user: User,
    customers: list[Customer],
    payments: list[Payment],
) -> None:
    agent = Actor(user=agent_user)
    platform = Actor(user=platform_user)
    now = timezone.now()

    # A blacklisted email that is no customer yet: its first payment will be refused.
    services.add_to_blacklist(
        email=FRAUD_EMAIL, reason="Card testing from a known fraud ring", actor=platform
    )

    # A customer restricted from one-off purchases.
    _restrict(
        merchant,
        agent,
        CIT_RESTRICTED,
        restrict_cit=True,
        restrict_reason="Disputed two one-off purchases in March",
    )

    # Subscriptions: one charged at creation, others due within hours; the last one,
    # of a subscriber restricted from recurring charges below.
    for email, name, amount, currency, interval, first_end in [*SUBSCRIBERS, MIT_SUBSCRIPTION]:
        subscriber = _customer(merchant, email, name)
        if not Subscription.objects.filter(customer=subscriber).exists():
            subscription_services.create_subscription(
                merchant=merchant,
                customer_id=subscriber.id,
                amount=amount,
                currency=currency,
                interval=interval,
                actor=agent,
                current_period_end=now + first_end if first_end else None,
            )

    # A subscriber restricted from recurring charges: the subscription ends at its
    # period's end (cancelAtPeriodEnd).
    _restrict(
        merchant,
        agent,
        MIT_RESTRICTED,
        restrict_mit=True,
        restrict_reason="Asked us to stop the recurring charges",
    )

    # A chargeback that blacklists its customer's email at every merchant and
    # restricts the customer here.
    quinn = _customer(merchant, *CHARGEBACK_CUSTOMER)
    disputed = Payment.objects.for_merchant(merchant).filter(order_id=CHARGEBACK_ORDER_ID).first()
    if disputed is None and not selectors.is_email_blacklisted(quinn.email):
        disputed = payment_services.create_payment(
            merchant=merchant,
            amount=8900,
            currency="USD",
            actor=agent,
            customer_id=quinn.id,
            order_id=CHARGEBACK_ORDER_ID,
            metadata={"channel": "web"},
        )
    if disputed is not None and not disputed.is_chargebacked:
        record_chargeback(
            merchant=merchant,
            payment_id=disputed.id,
            actor=agent,
            blacklist_customer=True,
            customer_restrictions={
                "restrict_cit": True,
                "restrict_mit": True,
                "restrict_reason": "Chargeback: card reported stolen",
            },
        )

    # Plain chargebacks on a few of seed_demo's captured payments; the second also
    # stops the customer's recurring charges (seed_demo's payments are CIT).
    payments = [payment for payment in payments if payment.order_id != CHARGEBACK_ORDER_ID]
    recorded = sum(1 for payment in payments if payment.is_chargebacked)
    eligible = [
        payment
        for payment in payments
        if payment.status == Payment.Status.SUCCEEDED
        and payment.is_captured
        and not payment.is_chargebacked
        and payment.customer_id is not None
    ]
    for payment in eligible[: max(0, PLAIN_CHARGEBACKS - recorded)]:
        restrictions = None
        if recorded == 1:
            restrictions = {"restrict_mit": True, "restrict_reason": "Chargeback on a renewal"}
        record_chargeback(
            merchant=merchant,
            payment_id=payment.id,
            actor=agent,
            customer_restrictions=restrictions,
        )
        recorded += 1


def _customer(merchant: Merchant, email: str, name: str) -> Customer:
    return services.get_or_create_customer(merchant=merchant, email=email, name=name)


def _restrict(merchant: Merchant, agent: Actor, who: tuple[str, str], **restrictions) -> None:
    """Restrict the demo customer `who` (email, name) as given, through the service."""
    customer = _customer(merchant, *who)
    services.update_restrictions(
        merchant=merchant, customer_id=customer.id, actor=agent, **restrictions
    )
