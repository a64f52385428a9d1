"""Customer writes (SPEC 5): the payment checks, customers and their restrictions, and
the platform-wide email blacklist.

Every decision is taken inside one transaction with the deciding row locked
(SELECT ... FOR UPDATE); each service records its audit entry.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from audit.models import AuditEntry
from audit.trail import audit_trail
from core.actors import Actor
from core.errors import Conflict, DomainError, ValidationFailed, found_or_not_found
from merchants.models import Merchant

from . import events
from .models import (
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MAX_REASON_LENGTH,
    BlacklistEntry,
    Customer,
    email_spellings,
    normalize_email,
)
from .selectors import find_customer_by_email, is_email_blacklisted

logger = logging.getLogger(__name__)


class CustomerRestricted(DomainError):
    type = "customer_restricted"
    status = 403

    def __init__(self, message: str, *, rule: str):
        super().__init__(message)
        self.rule = rule


def _with_history(instance, actor: Actor, reason: str) -> None:
    """Who and why for django-simple-history's record of this save (SPEC 9)."""
    instance._history_user = actor.user
    instance._change_reason = f"{reason} by {actor.label}"


# --- payment checks ---------------------------------------------------------------------


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
    queryset = Customer.objects.for_merchant(merchant).select_for_update()
    return found_or_not_found(queryset, customer_id, name="customer")


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
        _end_subscriptions_at_period_end(customer)


def _end_subscriptions_at_period_end(customer: Customer) -> None:
    """SPEC 5: restricting MIT payments or blacklisting a customer ends each of its
    active subscriptions at its current period's end (through the reverse relation:
    subscriptions depend on customers, never the reverse)."""
    customer.subscriptions.active().update(cancel_at_period_end=True)


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
    arguments = {
        "restrict_cit": restrict_cit,
        "restrict_mit": restrict_mit,
        "restrict_reason": restrict_reason,
    }
    with audit_trail(
        AuditEntry.Action.CUSTOMER_RESTRICT,
        actor=actor,
        merchant=merchant,
        target=("customer", customer_id),
        arguments=arguments,
        customer_id=customer_id,
    ) as trail:
        restrictions = clean_restrictions(**arguments)
        with transaction.atomic():
            customer = _lock_customer(merchant=merchant, customer_id=customer_id)
            _apply_restrictions(customer, restrictions, actor)
            events.restrictions_changed(customer, restrictions.changes())  # webhook event
            trail.succeeded(customer)
    return customer


# --- blacklist --------------------------------------------------------------------------


def add_to_blacklist(
    *, email: str, reason: str, actor: Actor, chargeback: Any = None
) -> BlacklistEntry:
    """Block an email at every merchant (SPEC 5); answers its active entry, with
    `entry.newly_added` saying whether this call added it.

    Rules: a valid email, stored trimmed and lower-cased (matching is
    case-insensitive); a reason of 1 to 500 characters. Idempotent: an email already
    blacklisted answers its existing entry, unchanged (also when two requests race:
    the unique index on active entries decides). The source is the chargeback when
    one is given, otherwise a person; who added it is kept (user or API key). Every
    active subscription of every customer with this email, at every merchant, gets
    cancelAtPeriodEnd. Runs inside the caller's transaction when there is one (the
    record-chargeback flow), so it all commits or rolls back together.
    """
    # The blacklist is platform-wide: the merchant is the chargeback's, if it came from one.
    with audit_trail(
        AuditEntry.Action.BLACKLIST_ADD,
        actor=actor,
        merchant=chargeback.merchant if chargeback is not None else None,
        target=("blacklistentry", None),
        arguments={"email": email, "reason": reason},
        customer_id=chargeback.payment.customer_id if chargeback is not None else None,
    ) as trail:
        email = normalize_email(clean_email(email))
        reason = _clean_text(reason, param="reason", label="Reason", max_length=MAX_REASON_LENGTH)
        if not reason:
            raise ValidationFailed("A reason is required", param="reason")
        with transaction.atomic():
            entry = BlacklistEntry.objects.active().filter(email=email).first()
            newly_blacklisted = entry is None
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
                    newly_blacklisted = False
            for customer in Customer.objects.filter(email__lower__in=email_spellings(email)):
                _end_subscriptions_at_period_end(customer)
                if newly_blacklisted:
                    events.blacklisted(customer)  # webhook event, in this transaction
            trail.succeeded(entry)
    entry.newly_added = newly_blacklisted
    return entry


def remove_from_blacklist(*, entry_id: int, actor: Actor, reason: str = "") -> BlacklistEntry:
    """Lift a blacklist entry. The removal is recorded (when, who, why), never erased.

    Rules: a missing entry is NotFound; an entry already removed is Conflict; the
    reason is at most 500 characters. Subscriptions already set to cancel at their
    period's end stay so.
    """
    with audit_trail(
        AuditEntry.Action.BLACKLIST_REMOVE,
        actor=actor,
        target=("blacklistentry", entry_id),
        arguments={"reason": reason},
    ) as trail:
        reason = _clean_text(reason, param="reason", label="Reason", max_length=MAX_REASON_LENGTH)
        with transaction.atomic():
            entry = found_or_not_found(
                BlacklistEntry.objects.select_for_update(), entry_id, name="blacklist entry"
            )
            if entry.removed_at is not None:
                raise Conflict(f"{entry.email} was already removed from the blacklist")
            entry.removed_at = timezone.now()
            entry.removed_by = actor.user
            entry.removal_reason = reason
            _with_history(entry, actor, "Removed")
            entry.save(update_fields=["removed_at", "removed_by", "removal_reason"])
            trail.succeeded(entry)
    return entry
