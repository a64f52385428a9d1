"""The record-chargeback flow (SPEC 6, seed 004)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.models import AuditEntry
from audit.trail import audit_trail
from core.actors import Actor
from core.errors import Conflict, InvalidRequest, ValidationFailed, found_or_not_found
from customers import services as customer_services
from merchants.models import Merchant
from payments import rollup
from payments import selectors as payment_selectors
from payments.models import Payment, Transaction

from .models import Chargeback

RESTRICTION_KEYS = ("restrict_cit", "restrict_mit", "restrict_reason")


def record_chargeback(
    *,
    merchant: Merchant,
    payment_id: str,
    actor: Actor,
    blacklist_customer: bool = False,
    blacklist_reason: str | None = None,
    customer_restrictions: dict | None = None,
) -> Payment:
    """Record that the cardholder's bank took a payment back; answers the payment with
    its customer and transactions.

    Rules:
    - The payment is the merchant's (a foreign or missing one is NotFound) and its
      authorization succeeded (a failed payment moved no money: invalid_request).
    - At most once: a payment already chargebacked is Conflict (409).
    - Sets isChargebacked and chargebackRecordedAt, adds a succeeded `chargeback`
      transaction of the captured amount (the authorized amount when not captured),
      and a Chargeback record; both keep who recorded it.
    - `blacklist_customer` blacklists the customer's email platform-wide, with this
      chargeback as the source and `blacklist_reason` (default: the chargeback) as
      why; `customer_restrictions` (restrict_cit, restrict_mit, restrict_reason; only
      the keys given change) acts as
      customers.services.update_restrictions. Either on a payment without a customer
      is validation_error (param blacklistCustomer / customerRestrictions).
    - All of it happens in one transaction with the payment row locked, or not at all.
    - It does not prevent a later capture or reversal.
    """
    with audit_trail(
        AuditEntry.Action.PAYMENT_CHARGEBACK,
        actor=actor,
        merchant=merchant,
        target=("payment", payment_id),
        arguments={"blacklist_customer": blacklist_customer},
    ) as trail:
        if not isinstance(blacklist_customer, bool):
            raise ValidationFailed(
                "blacklistCustomer must be true or false", param="blacklistCustomer"
            )
        restrictions = _clean_restrictions(customer_restrictions)

        with transaction.atomic():
            queryset = (
                Payment.objects.for_merchant(merchant)
                .select_related("customer")
                .select_for_update(of=("self",))
            )
            payment = found_or_not_found(queryset, payment_id, name="payment")
            if payment.is_chargebacked:
                raise Conflict(
                    f"A chargeback was already recorded on payment '{payment.id}' "
                    f"at {payment.chargeback_recorded_at:%Y-%m-%d %H:%M:%S} UTC"
                )
            if why := payment.chargeback_refusal():
                raise InvalidRequest(f"Payment cannot be chargebacked: {why}")
            if payment.customer_id is None:
                if blacklist_customer:
                    raise ValidationFailed(
                        "The payment has no customer to blacklist", param="blacklistCustomer"
                    )
                if restrictions.changes():
                    raise ValidationFailed(
                        "The payment has no customer to restrict", param="customerRestrictions"
                    )

            now = timezone.now()
            payment.is_chargebacked = True
            payment.chargeback_recorded_at = now
            payment.save(update_fields=["is_chargebacked", "chargeback_recorded_at", "updated_at"])
            Transaction.objects.create(
                merchant=merchant,
                payment=payment,
                type=Transaction.Type.CHARGEBACK,
                amount=payment.amount_captured or payment.amount,
                status=Transaction.Status.SUCCEEDED,
                order_id=payment.order_id,
                processed_at=now,
                **actor.as_fields(),
            )
            chargeback = Chargeback.objects.create(
                merchant=merchant,
                payment=payment,
                blacklisted_customer=blacklist_customer,
                applied_restrictions=restrictions.changes(),
                **actor.as_fields(),
            )
            if restrictions.changes():
                customer_services.update_restrictions(
                    merchant=merchant,
                    customer_id=payment.customer_id,
                    actor=actor,
                    **restrictions.changes(),
                )
            if blacklist_customer:
                customer_services.add_to_blacklist(
                    email=payment.customer.email,
                    reason=blacklist_reason or f"Chargeback on payment {payment.id}",
                    actor=actor,
                    chargeback=chargeback,
                )
            rollup.record(payment, payment.transactions.get(type=Transaction.Type.CHARGEBACK))
            trail.succeeded(chargeback)
    return payment_selectors.get_payment(merchant=merchant, payment_id=payment.id)


def _clean_restrictions(restrictions: dict | None) -> customer_services.Restrictions:
    if restrictions is None:
        return customer_services.Restrictions()
    if not isinstance(restrictions, dict):
        raise ValidationFailed(
            "customerRestrictions must be an object", param="customerRestrictions"
        )
    unknown = set(restrictions) - set(RESTRICTION_KEYS)
    if unknown:
        raise ValidationFailed(
            f"Unknown customer restriction: {', '.join(sorted(unknown))}",
            param="customerRestrictions",
        )
    return customer_services.clean_restrictions(
        **restrictions, param_prefix="customerRestrictions."
    )
