"""Customer writes (SPEC 5): the payment checks, customers and their restrictions, the
platform-wide email blacklist, and subscriptions with their renewal.

Every decision is taken inside one transaction with the deciding row locked
(SELECT ... FOR UPDATE). No gateway call ever happens inside one of these
transactions: a subscription's period is advanced and committed first, and its
payment is taken afterwards through payments.services.create_payment.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.hooks import audit_blacklist_add, audit_blacklist_remove, audit_customer_restrict
from merchants.actors import SYSTEM, Actor
from merchants.errors import Conflict, DomainError, InvalidRequest, NotFound, ValidationFailed
from merchants.models import Merchant

from .models import BlacklistEntry, Customer, Subscription, normalize_email

if TYPE_CHECKING:
    from chargebacks.models import Chargeback
    from payments.models import Payment

logger = logging.getLogger(__name__)

MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 200
MAX_REASON_LENGTH = 500
# A renewal whose payment got no answer from the gateway is tried again this much
# later (also: a run that died mid-charge is taken over), at most this many times.
RENEWAL_RETRY_AFTER = timedelta(minutes=5)
MAX_RENEWAL_ATTEMPTS = 3
# One run renews at most this many subscriptions; the next beat goes on.
MAX_RENEWALS_PER_RUN = 1000


class CustomerRestricted(DomainError):
    type = "customer_restricted"
    status = 403

    def __init__(self, message: str, *, rule: str):
        super().__init__(message)
        self.rule = rule


class SubscriptionPaymentFailed(InvalidRequest):
    """The first payment of a new subscription failed (declined, or no answer from the
    gateway): the subscription is canceled at once; the failed payment stays on record."""

    def __init__(self, payment: Payment):
        super().__init__(
            f"The subscription's first payment failed ({payment.failure_reason}): "
            f"payment '{payment.id}'; the subscription was canceled"
        )
        self.payment = payment


def _with_history(instance, actor: Actor, reason: str) -> None:
    """Who and why for django-simple-history's record of this save (SPEC 9)."""
    instance._history_user = actor.user
    instance._change_reason = f"{reason} by {actor.label}"


# --- payment checks ---------------------------------------------------------------------


def is_email_blacklisted(email: str) -> bool:
    return BlacklistEntry.objects.active().for_email(email).exists()


def payment_refusal(
    *, email: str, customer: Customer | None, initiator: str
) -> CustomerRestricted | None:
    """The rule that refuses this payment, or None (see check_payment_allowed)."""
    if email and is_email_blacklisted(email):
        return CustomerRestricted(
            "Payment refused: the customer's email is blacklisted", rule="blacklisted"
        )
    if customer is not None and initiator == "CIT" and customer.restrict_cit:
        return CustomerRestricted(
            "Payment refused: the customer is restricted from customer-initiated payments",
            rule="restrict_cit",
        )
    if customer is not None and initiator == "MIT" and customer.restrict_mit:
        return CustomerRestricted(
            "Payment refused: the customer is restricted from merchant-initiated payments",
            rule="restrict_mit",
        )
    return None


def check_payment_allowed(*, email: str, customer: Customer | None, initiator: str) -> None:
    """SPEC 5, before any gateway call: a blacklisted email is refused at every
    merchant; restrictCit refuses CIT payments; restrictMit refuses MIT payments.
    A refusal is counted on the customer (in its own transaction, so the count stays
    although the payment is never created)."""
    refusal = payment_refusal(email=email, customer=customer, initiator=initiator)
    if refusal is None:
        return
    if customer is not None:
        with transaction.atomic():
            Customer.objects.filter(pk=customer.pk).update(
                refused_payment_attempts=F("refused_payment_attempts") + 1
            )
    raise refusal


# --- customers --------------------------------------------------------------------------


def clean_email(email: object, *, param: str = "email") -> str:
    """A trimmed, valid email address (its letter case kept)."""
    if not isinstance(email, str) or not email.strip():
        raise ValidationFailed("An email address is required", param=param)
    email = email.strip()
    if len(email) > MAX_EMAIL_LENGTH:
        raise ValidationFailed(
            f"An email address has at most {MAX_EMAIL_LENGTH} characters", param=param
        )
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationFailed("Enter a valid email address", param=param) from None
    return email


def _clean_text(value: object, *, param: str, label: str, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{label} must be a string", param=param)
    value = value.strip()
    if len(value) > max_length:
        raise ValidationFailed(f"{label} has at most {max_length} characters", param=param)
    return value


def find_customer_by_email(*, merchant: Merchant, email: str) -> Customer | None:
    return (
        Customer.objects.for_merchant(merchant).filter(email__iexact=normalize_email(email)).first()
    )


def get_or_create_customer(*, merchant: Merchant, email: str, name: str = "") -> Customer:
    """The merchant's customer with this email (case-insensitive), created if new."""
    email = (email or "").strip()
    if not email:
        raise ValidationFailed("Customer email is required", param="customer.email")
    existing = find_customer_by_email(merchant=merchant, email=email)
    if existing is not None:
        return existing
    customer, _ = Customer.objects.get_or_create(
        merchant=merchant, email__iexact=email, defaults={"email": email, "name": name}
    )
    return customer


def create_customer(*, merchant: Merchant, email: str, name: str = "", actor: Actor) -> Customer:
    """Create a customer of the merchant.

    Rules: a valid email address, trimmed (its letter case is kept, but emails are
    compared case-insensitively); a name of at most 200 characters. One customer per
    email per merchant: an email the merchant already has (in any letter case)
    answers Conflict naming the existing customer, also when two requests race (the
    database's unique index decides).
    """
    email = clean_email(email)
    name = _clean_text(name, param="name", label="Name", max_length=MAX_NAME_LENGTH)
    with transaction.atomic():
        existing = find_customer_by_email(merchant=merchant, email=email)
        if existing is not None:
            raise _duplicate_customer(existing)
        customer = Customer(merchant=merchant, email=email, name=name)
        _with_history(customer, actor, "Created")
        try:
            with transaction.atomic():
                customer.save(force_insert=True)
        except IntegrityError:
            existing = find_customer_by_email(merchant=merchant, email=email)
            if existing is None:  # pragma: no cover - only the unique index can refuse
                raise
            raise _duplicate_customer(existing) from None
    return customer


def _duplicate_customer(existing: Customer) -> Conflict:
    return Conflict(f"A customer with this email already exists: '{existing.id}'", param="email")


@dataclass(frozen=True)
class Restrictions:
    """Validated restriction changes: None means "leave as it is"."""

    restrict_cit: bool | None = None
    restrict_mit: bool | None = None
    restrict_reason: str | None = None

    def changes(self) -> dict:
        return {name: value for name, value in asdict(self).items() if value is not None}


def clean_restrictions(
    *,
    restrict_cit: object = None,
    restrict_mit: object = None,
    restrict_reason: object = None,
    param_prefix: str = "",
) -> Restrictions:
    """Check restriction changes before anything is locked or written."""
    for value, param in ((restrict_cit, "restrictCit"), (restrict_mit, "restrictMit")):
        if value is not None and not isinstance(value, bool):
            raise ValidationFailed(f"{param} must be true or false", param=param_prefix + param)
    if restrict_reason is not None:
        restrict_reason = _clean_text(
            restrict_reason,
            param=param_prefix + "restrictReason",
            label="Restrict reason",
            max_length=MAX_REASON_LENGTH,
        )
    return Restrictions(restrict_cit, restrict_mit, restrict_reason)


def _lock_customer(*, merchant: Merchant, customer_id: str) -> Customer:
    customer = (
        Customer.objects.for_merchant(merchant).select_for_update().filter(id=customer_id).first()
    )
    if customer is None:
        raise NotFound(f"No such customer: '{customer_id}'", param="id")
    return customer


def _apply_restrictions(customer: Customer, restrictions: Restrictions, actor: Actor) -> None:
    """Under the customer's row lock: change the given fields, and stop the recurring
    charges of an MIT-restricted customer at the end of their current periods."""
    changes = restrictions.changes()
    for name, value in changes.items():
        setattr(customer, name, value)
    if changes:
        _with_history(customer, actor, "Restrictions changed")
        customer.save(update_fields=list(changes))
    if restrictions.restrict_mit:
        Subscription.objects.active().filter(customer=customer).update(cancel_at_period_end=True)


@audit_customer_restrict
def update_restrictions(
    *,
    merchant: Merchant,
    customer_id: str,
    actor: Actor,
    restrict_cit: bool | None = None,
    restrict_mit: bool | None = None,
    restrict_reason: str | None = None,
) -> Customer:
    """Change a customer's payment restrictions (SPEC 5); answers the customer.

    Rules: only the fields given (not None) change; restrictCit refuses later CIT
    payments, restrictMit later MIT payments; the reason is trimmed, at most 500
    characters. Setting restrictMit also sets cancelAtPeriodEnd on every active
    subscription of the customer: each ends at its current period's end, without
    another charge. Lifting restrictMit later does not restart them. A foreign or
    missing customer is NotFound. The change is kept in the customer's history.
    """
    restrictions = clean_restrictions(
        restrict_cit=restrict_cit, restrict_mit=restrict_mit, restrict_reason=restrict_reason
    )
    with transaction.atomic():
        customer = _lock_customer(merchant=merchant, customer_id=customer_id)
        _apply_restrictions(customer, restrictions, actor)
    return customer


# --- blacklist --------------------------------------------------------------------------


@audit_blacklist_add
def add_to_blacklist(
    *, email: str, reason: str, actor: Actor, chargeback: Chargeback | None = None
) -> BlacklistEntry:
    """Block an email at every merchant (SPEC 5); answers its active entry.

    Rules: a valid email, stored trimmed and lower-cased (matching is
    case-insensitive); a reason of 1 to 500 characters. Idempotent: an email already
    blacklisted answers its existing entry, unchanged (also when two requests race:
    the unique index on active entries decides). The source is the chargeback when
    one is given, otherwise a person; who added it is kept (user or API key). Every
    active subscription of every customer with this email, at every merchant, gets
    cancelAtPeriodEnd. Runs inside the caller's transaction when there is one (the
    record-chargeback flow), so it all commits or rolls back together.
    """
    email = normalize_email(clean_email(email))
    reason = _clean_text(reason, param="reason", label="Reason", max_length=MAX_REASON_LENGTH)
    if not reason:
        raise ValidationFailed("A reason is required", param="reason")
    with transaction.atomic():
        entry = BlacklistEntry.objects.active().filter(email=email).first()
        if entry is None:
            entry = BlacklistEntry(
                email=email,
                reason=reason,
                source=(
                    BlacklistEntry.Source.CHARGEBACK
                    if chargeback is not None
                    else BlacklistEntry.Source.PERSON
                ),
                chargeback=chargeback,
                added_by=actor.user,
                added_by_api_key=actor.api_key,
            )
            _with_history(entry, actor, "Added")
            try:
                with transaction.atomic():
                    entry.save(force_insert=True)
            except IntegrityError:
                # Added by a concurrent request, which has committed: answer its entry.
                entry = BlacklistEntry.objects.active().get(email=email)
        Subscription.objects.active().filter(customer__email__lower=email).update(
            cancel_at_period_end=True
        )
    return entry


@audit_blacklist_remove
def remove_from_blacklist(*, entry_id: int, actor: Actor, reason: str = "") -> BlacklistEntry:
    """Lift a blacklist entry. The removal is recorded (when, who, why), never erased.

    Rules: a missing entry is NotFound; an entry already removed is Conflict; the
    reason is at most 500 characters. Subscriptions already set to cancel at their
    period's end stay so.
    """
    reason = _clean_text(reason, param="reason", label="Reason", max_length=MAX_REASON_LENGTH)
    with transaction.atomic():
        entry = BlacklistEntry.objects.select_for_update().filter(pk=entry_id).first()
        if entry is None:
            raise NotFound(f"No such blacklist entry: '{entry_id}'", param="id")
        if entry.removed_at is not None:
            raise Conflict(f"{entry.email} was already removed from the blacklist")
        entry.removed_at = timezone.now()
        entry.removed_by = actor.user
        entry.removal_reason = reason
        _with_history(entry, actor, "Removed")
        entry.save(update_fields=["removed_at", "removed_by", "removal_reason"])
    return entry


# --- subscriptions ------------------------------------------------------------------------


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
    from payments import services as payment_services

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
    from payments import services as payment_services
    from payments.models import Payment

    order_id = renewal_order_id(subscription)
    attempts = list(Payment.objects.filter(subscription=subscription, order_id=order_id))
    paid = next((p for p in attempts if p.status == Payment.Status.SUCCEEDED), None)
    if paid is not None:
        return _settle(subscription, _ChargeOutcome(_Charge.PAID, paid), now=now)
    declined = next((p for p in attempts if p.failure_reason != "gateway_unavailable"), None)
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
    elif payment.failure_reason == "gateway_unavailable" and retry_unanswered:
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
