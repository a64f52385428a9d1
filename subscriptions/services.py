"""Subscriptions (SPEC 5): created with their first charge, renewed by a periodic task
as MIT payments through payments.services, and ended at a period's end.

No gateway call ever happens inside a transaction: a subscription's period is advanced
and committed first, and its payment taken afterwards.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.actors import SYSTEM, Actor
from core.errors import InvalidRequest, ValidationFailed
from customers.models import Customer
from customers.services import CustomerRestricted, check_payment_allowed
from merchants.models import Merchant
from payments import services as payment_services
from payments.models import UNANSWERED, Payment

from .models import Subscription

logger = logging.getLogger(__name__)

# A renewal whose payment got no answer from the gateway is tried again this much
# later (also: a run that died mid-charge is taken over), at most this many times.
RENEWAL_RETRY_AFTER = timedelta(minutes=5)
MAX_RENEWAL_ATTEMPTS = 3
# One run renews at most this many subscriptions; the next beat goes on.
MAX_RENEWALS_PER_RUN = 1000


class SubscriptionPaymentFailed(InvalidRequest):
    """The first payment of a new subscription failed (declined, or no answer from the
    gateway): the subscription is canceled at once; the failed payment stays on record."""

    def __init__(self, payment: Payment):
        super().__init__(
            f"The subscription's first payment failed ({payment.failure_reason}): "
            f"payment '{payment.id}'; the subscription was canceled"
        )
        self.payment = payment


def next_period_end(end: datetime, interval: str, *, anchor_day: int | None = None) -> datetime:
    """The end of the period after the one ending at `end`: a day or a week later, or
    the same day of the next month at the same time (UTC), clamped to the month's
    last day: Jan 31 -> Feb 28 (29) -> Mar 31 with anchor_day 31."""
    if interval == Subscription.Interval.DAY:
        return end + timedelta(days=1)
    if interval == Subscription.Interval.WEEK:
        return end + timedelta(weeks=1)
    if interval != Subscription.Interval.MONTH:
        raise ValueError(f"Unknown interval {interval!r}")
    end = end.astimezone(UTC)
    year, month = (end.year + 1, 1) if end.month == 12 else (end.year, end.month + 1)
    day = min(anchor_day or end.day, calendar.monthrange(year, month)[1])
    return end.replace(year=year, month=month, day=day)


def renewal_order_id(subscription: Subscription) -> str:
    """The order id of the payment for the subscription's current period: the same
    for every attempt at that period, so a retry can see what was already charged."""
    end = subscription.current_period_end.astimezone(UTC)
    return f"{subscription.id}:{end:%Y-%m-%dT%H:%M:%SZ}"


def create_subscription(
    *,
    merchant: Merchant,
    customer_id: str,
    amount: int,
    currency: str,
    interval: str,
    actor: Actor,
    current_period_end: datetime | None = None,
) -> Subscription:
    """Start a subscription of the merchant's customer (SPEC 5).

    Rules: amount and currency as for payments; interval day, week or month; the
    customer must be the merchant's (else validation_error on customerId); a
    customer that is blacklisted or restricted from MIT payments is refused
    (customer_restricted), and nothing is created.

    Without `current_period_end` (like Stripe) the first period is charged at once,
    as an MIT payment of the subscription, and ends one interval from now. A refused
    or declined first payment cancels the subscription at once and is raised
    (CustomerRestricted, or SubscriptionPaymentFailed naming the failed payment).
    With `current_period_end` (in the future) the current period is taken as
    already paid, e.g. a trial: the first charge is at that time.
    """
    amount = payment_services.validate_amount(amount)
    currency = payment_services.validate_currency(currency)
    if interval not in Subscription.Interval.values:
        raise ValidationFailed(
            "Interval must be one of " + ", ".join(Subscription.Interval.values), param="interval"
        )
    now = timezone.now()
    if current_period_end is not None:
        if timezone.is_naive(current_period_end):
            raise ValidationFailed(
                "currentPeriodEnd needs a time zone, e.g. 2030-01-31T00:00:00Z",
                param="currentPeriodEnd",
            )
        if current_period_end <= now:
            raise ValidationFailed(
                "currentPeriodEnd must be in the future", param="currentPeriodEnd"
            )
    customer = Customer.objects.for_merchant(merchant).filter(id=customer_id).first()
    if customer is None:
        raise ValidationFailed(f"No such customer: '{customer_id}'", param="customerId")
    check_payment_allowed(email=customer.email, customer=customer, initiator="MIT")

    charge_now = current_period_end is None
    period_end = current_period_end or next_period_end(now, interval)
    subscription = Subscription.objects.create(
        merchant=merchant,
        customer=customer,
        amount=amount,
        currency=currency,
        interval=interval,
        current_period_end=period_end,
        # Monthly periods come back to the day they started from: Jan 31, Feb 28, Mar 31.
        billing_anchor_day=(now if charge_now else period_end).astimezone(UTC).day,
        # Marked before the charge: should this process die before it is taken, the
        # renewal task takes it over.
        charge_pending_since=now if charge_now else None,
    )
    if not charge_now:
        return subscription
    try:
        outcome = _charge_current_period(subscription, actor=actor, now=now, retry_unanswered=False)
    except Exception:
        # Nothing was charged (create_payment writes last): the caller gets the error,
        # and must not find a subscription that the renewal task would charge later.
        _settle(subscription, _ChargeOutcome(_Charge.CANCELED), now=now)
        raise
    subscription.refresh_from_db()
    if outcome.refusal is not None:
        raise outcome.refusal
    if outcome.status == _Charge.CANCELED:
        raise SubscriptionPaymentFailed(outcome.payment)
    return subscription


class _Charge(StrEnum):
    PAID = "paid"
    CANCELED = "canceled"
    RETRY = "retry"


@dataclass(frozen=True)
class _ChargeOutcome:
    status: _Charge
    payment: Payment | None = None
    refusal: CustomerRestricted | None = None


def _charge_current_period(
    subscription: Subscription, *, actor: Actor, now: datetime, retry_unanswered: bool
) -> _ChargeOutcome:
    """Take the payment for the subscription's current period (already advanced and
    marked charge_pending by the caller), then settle the mark.

    The payments with this period's order id are the record of what was tried: one
    that succeeded means the period is paid (a run that died after charging is not
    charged again); a definite decline cancels the subscription; a payment the
    gateway never answered is retried by a later run, at most MAX_RENEWAL_ATTEMPTS
    times, when `retry_unanswered`. A payment refused by the customer checks (SPEC 5)
    cancels the subscription: its period would stay unpaid.
    """
    order_id = renewal_order_id(subscription)
    attempts = list(Payment.objects.filter(subscription=subscription, order_id=order_id))
    paid = next((p for p in attempts if p.status == Payment.Status.SUCCEEDED), None)
    if paid is not None:
        return _settle(subscription, _ChargeOutcome(_Charge.PAID, paid), now=now)
    declined = next((p for p in attempts if p.failure_reason != UNANSWERED), None)
    if declined is not None or len(attempts) >= MAX_RENEWAL_ATTEMPTS:
        return _settle(subscription, _ChargeOutcome(_Charge.CANCELED, declined), now=now)

    try:
        payment = payment_services.create_payment(
            merchant=subscription.merchant,
            amount=subscription.amount,
            currency=subscription.currency,
            actor=actor,
            customer_id=subscription.customer_id,
            initiator=Payment.Initiator.MIT,
            capture=True,
            order_id=order_id,
            subscription=subscription,
            # The same key for every attempt at this period: a retry after the gateway
            # did not answer can never charge the period twice.
            gateway_idempotency_key=f"backoffice-renewal-{order_id}",
        )
    except CustomerRestricted as refusal:
        return _settle(subscription, _ChargeOutcome(_Charge.CANCELED, refusal=refusal), now=now)
    if payment.status == Payment.Status.SUCCEEDED:
        status = _Charge.PAID
    elif payment.failure_reason == UNANSWERED and retry_unanswered:
        status = _Charge.RETRY
    else:
        status = _Charge.CANCELED
    return _settle(subscription, _ChargeOutcome(status, payment), now=now)


def _settle(subscription: Subscription, outcome: _ChargeOutcome, *, now: datetime):
    """Clear the charge-pending mark of the period just charged (or leave it for a
    retry), and cancel the subscription when its period could not be paid."""
    if outcome.status == _Charge.RETRY:
        logger.warning("renewal of %s got no answer; retried later", subscription.id)
        return outcome
    changes = {"charge_pending_since": None}
    if outcome.status == _Charge.CANCELED:
        changes |= {"status": Subscription.Status.CANCELED, "canceled_at": now}
        logger.info("subscription %s canceled: its period could not be paid", subscription.id)
    Subscription.objects.filter(
        id=subscription.id, current_period_end=subscription.current_period_end
    ).update(**changes)
    return outcome


def _claim_next_due(*, now: datetime) -> tuple[Subscription, bool] | None:
    """In one short transaction: take the next subscription that needs work, skipping
    rows another run holds, and commit its new state before any payment is taken.

    Answers (subscription, must_charge), or None when nothing is left. A due
    subscription with cancelAtPeriodEnd is canceled at its period's end; any other
    due one has its period advanced (past `now`: missed periods are skipped, not
    charged) and is marked charge-pending; one whose charge is pending since long
    (its run died, or the gateway did not answer) is taken over as it is.
    """
    stale = now - RENEWAL_RETRY_AFTER
    with transaction.atomic():
        subscription = (
            Subscription.objects.active()
            .filter(
                Q(current_period_end__lte=now, charge_pending_since__isnull=True)
                | Q(charge_pending_since__lt=stale)
            )
            .select_for_update(skip_locked=True)
            .order_by("current_period_end", "id")
            .first()
        )
        if subscription is None:
            return None
        if subscription.charge_pending_since is not None:
            subscription.charge_pending_since = now
            subscription.save(update_fields=["charge_pending_since"])
            return subscription, True
        if subscription.cancel_at_period_end:
            subscription.status = Subscription.Status.CANCELED
            subscription.canceled_at = subscription.current_period_end
            subscription.save(update_fields=["status", "canceled_at"])
            return subscription, False
        end = subscription.current_period_end
        while end <= now:
            end = next_period_end(
                end, subscription.interval, anchor_day=subscription.billing_anchor_day
            )
        subscription.current_period_end = end
        subscription.charge_pending_since = now
        subscription.save(update_fields=["current_period_end", "charge_pending_since"])
        return subscription, True


def renew_due_subscriptions(*, now: datetime | None = None) -> int:
    """Charge every due active subscription (current_period_end <= now) for its next
    period as an MIT payment, or cancel it when it has cancelAtPeriodEnd (SPEC 5).
    Answers how many subscriptions were handled (renewed, canceled or retried).

    Safe when runs overlap: each subscription is claimed with FOR UPDATE SKIP LOCKED
    and its period advanced and committed before its payment is taken, so no other
    run can take the same period; the payment's order id names the period, and a run
    that takes over an unfinished charge first looks for a payment already made.
    A renewal refused by the customer checks (restrictMit or a blacklisted email set
    since) or definitely declined cancels the subscription at once; the refusal is
    counted on the customer. Normally restrictMit and blacklisting have already set
    cancelAtPeriodEnd, so such a subscription ends without a charge attempt.
    """
    now = now or timezone.now()
    handled = 0
    while handled < MAX_RENEWALS_PER_RUN:
        claimed = _claim_next_due(now=now)
        if claimed is None:
            break
        subscription, must_charge = claimed
        handled += 1
        if not must_charge:
            continue
        try:
            _charge_current_period(subscription, actor=SYSTEM, now=now, retry_unanswered=True)
        except Exception:
            # Left charge-pending: a later run takes it over after RENEWAL_RETRY_AFTER.
            logger.exception("renewal of %s failed", subscription.id)
    return handled
