"""Payment writes: create (authorize, capture), capture, reverse (refund or void).

Every decision about money is taken inside one transaction with the payment row
locked (SELECT ... FOR UPDATE), so concurrent requests are serialized per payment.
No gateway call ever happens inside a database transaction: an operation is first
recorded `pending` (and counted at once), and sent to the gateway after commit
(payments.delivery, through payments.tasks). Each service records its audit entry.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from audit.models import AuditEntry
from audit.trail import audit_trail
from core import money
from core.actors import Actor
from core.errors import InvalidRequest, ValidationFailed, found_or_not_found
from customers import services as customer_services
from customers.models import Customer
from merchants.models import Merchant

from . import approvals, delivery, dispute_ratio, events, rollup, selectors, tasks
from .gateways import GatewayDeclined, GatewayTransientError, get_gateway
from .models import (
    MAX_METADATA_KEY_LENGTH,
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_LENGTH,
    MAX_ORDER_ID_LENGTH,
    UNANSWERED,
    Payment,
    Transaction,
    new_payment_id,
)

logger = logging.getLogger(__name__)


class PaymentNotReversible(InvalidRequest):
    def __init__(self, why: str):
        super().__init__(f"Payment cannot be reversed: {why}")


class PaymentNotCapturable(InvalidRequest):
    def __init__(self, why: str):
        super().__init__(f"Payment cannot be captured: {why}")


# --- input checks shared by every write ---------------------------------------------


def validate_amount(amount: object, *, param: str = "amount") -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationFailed("Amount must be an integer of minor units", param=param)
    if amount <= 0:
        raise ValidationFailed("Amount must be greater than 0", param=param)
    if amount > money.MAX_AMOUNT:
        raise ValidationFailed(f"Amount must be at most {money.MAX_AMOUNT}", param=param)
    return amount


def validate_currency(currency: object, *, param: str = "currency") -> str:
    if not isinstance(currency, str) or not money.is_currency(currency):
        raise ValidationFailed(
            "Currency must be an upper-case ISO 4217 code we support, such as USD",
            param=param,
        )
    return currency


def validate_metadata(metadata: object, *, param: str = "metadata") -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ValidationFailed("Metadata must be an object of strings", param=param)
    if len(metadata) > MAX_METADATA_KEYS:
        raise ValidationFailed(f"Metadata has at most {MAX_METADATA_KEYS} keys", param=param)
    for key, value in metadata.items():
        if not isinstance(key, str) or not key or len(key) > MAX_METADATA_KEY_LENGTH:
            raise ValidationFailed(
                f"Metadata keys are strings of 1 to {MAX_METADATA_KEY_LENGTH} characters",
                param=param,
            )
        if not isinstance(value, str) or len(value) > MAX_METADATA_VALUE_LENGTH:
            raise ValidationFailed(
                f"Metadata values are strings of at most {MAX_METADATA_VALUE_LENGTH} characters",
                param=f"{param}.{key}",
            )
    return dict(metadata)


def validate_order_id(order_id: object, *, param: str = "orderId") -> str:
    if order_id is None:
        return ""
    if not isinstance(order_id, str) or len(order_id) > MAX_ORDER_ID_LENGTH:
        raise ValidationFailed(
            f"Order id must be a string of at most {MAX_ORDER_ID_LENGTH} characters",
            param=param,
        )
    return order_id.strip()


def locked_payment(*, merchant: Merchant, payment_id: str) -> Payment:
    """The merchant's payment, its row locked until the transaction ends (the customer
    comes along, unlocked, with its blacklist mark: answers embed both), or NotFound.
    Every decision about its money starts here."""
    queryset = selectors.locked(Payment.objects.for_merchant(merchant))
    return found_or_not_found(queryset, payment_id, name="payment")


# --- create -------------------------------------------------------------------------


def create_payment(
    *,
    merchant: Merchant,
    amount: int,
    currency: str,
    actor: Actor,
    customer_id: str | None = None,
    customer_email: str | None = None,
    customer_name: str = "",
    initiator: str = Payment.Initiator.CIT,
    capture: bool = True,
    order_id: str | None = None,
    metadata: dict | None = None,
    subscription=None,
    gateway_idempotency_key: str | None = None,
) -> Payment:
    """Authorize (and capture when `capture`) synchronously, since a checkout waits.

    Rules: amount > 0, a supported currency, CIT or MIT; the customer checks of SPEC 5
    come first, and a refused payment creates nothing and calls no gateway. A gateway
    decline is recorded as a failed payment. A gateway that does not answer is
    recorded as failed too (`gateway_unavailable`), since nothing was authorized
    that we know of; the sweeper asks the gateway again with the same key and releases
    whatever it had authorized (payments.delivery.resolve_unanswered_authorizations).
    A caller that may retry the same charge (a subscription renewal)
    passes its own `gateway_idempotency_key`, so a retry after an unanswered attempt
    can never authorize twice at the gateway.
    """
    with audit_trail(
        AuditEntry.Action.PAYMENT_CREATE,
        actor=actor,
        merchant=merchant,
        target=("payment", None),
        arguments={"amount": amount, "currency": currency, "initiator": initiator},
        customer_id=customer_id,
    ) as trail:
        amount = validate_amount(amount)
        currency = validate_currency(currency)
        metadata = validate_metadata(metadata)
        order_id = validate_order_id(order_id)
        if initiator not in Payment.Initiator.values:
            raise ValidationFailed("Initiator must be CIT or MIT", param="initiator")

        customer: Customer | None = None
        if customer_id:
            customer = Customer.objects.for_merchant(merchant).filter(id=customer_id).first()
            if customer is None:
                raise ValidationFailed(f"No such customer: '{customer_id}'", param="customerId")
            customer_email = customer.email
        elif customer_email is not None:
            customer_email = customer_email.strip()
            if not customer_email:
                raise ValidationFailed("Customer email is required", param="customer.email")
            customer = customer_services.find_customer_by_email(
                merchant=merchant, email=customer_email
            )
        customer_services.check_payment_allowed(
            email=customer_email or "", customer=customer, initiator=initiator
        )

        payment_id = new_payment_id()
        status, failure_reason, reference, card = Payment.Status.SUCCEEDED, "", "", None
        gateway = get_gateway()
        authorization_key = gateway_idempotency_key or f"backoffice-{payment_id}"
        try:
            result = gateway.authorize(
                amount=amount, currency=currency, capture=capture, idempotency_key=authorization_key
            )
            reference, card = result.reference, result.card
        except GatewayDeclined as declined:
            status, failure_reason = Payment.Status.FAILED, declined.reason
        except GatewayTransientError as error:
            # The gateway may have authorized it all the same: recorded failed (nothing
            # we know of was authorized), and asked again later with the same key.
            logger.warning("authorization of %s got no answer: %s", payment_id, error)
            status, failure_reason = Payment.Status.FAILED, UNANSWERED

        captured = capture and status == Payment.Status.SUCCEEDED
        now = timezone.now()
        with transaction.atomic():
            if customer is None and customer_email:
                customer = customer_services.get_or_create_customer(
                    merchant=merchant, email=customer_email, name=customer_name
                )
            payment = Payment.objects.create(
                id=payment_id,
                merchant=merchant,
                customer=customer,
                subscription=subscription,
                order_id=order_id,
                amount=amount,
                currency=currency,
                status=status,
                failure_reason=failure_reason,
                initiator=initiator,
                gateway_reference=reference,
                processor=gateway.name,
                authorization_key=authorization_key,
                capture_requested=capture,
                payment_method=card.as_json() if card else None,
                is_captured=captured,
                amount_captured=amount if captured else 0,
                captured_at=now if captured else None,
                metadata=metadata,
            )
            both = {
                "merchant": merchant,
                "payment": payment,
                "amount": amount,
                "order_id": order_id,
                "gateway_reference": reference,
                "processed_at": now,
                **actor.as_fields(),
            }
            ledger = [
                Transaction(
                    type=Transaction.Type.AUTHORIZATION,
                    status=Transaction.Status(status),
                    failure_reason=failure_reason,
                    **both,
                )
            ]
            if captured:
                ledger.append(
                    Transaction(
                        type=Transaction.Type.CAPTURE, status=Transaction.Status.SUCCEEDED, **both
                    )
                )
            Transaction.objects.bulk_create(ledger)
            trail.succeeded(payment)
            rollup.record(payment)
            dispute_ratio.count_capture(payment)
            events.payment_created(payment)  # webhook event, in this transaction
    return payment


# --- capture ------------------------------------------------------------------------


def capture_payment(
    *, merchant: Merchant, payment_id: str, actor: Actor, amount: int | None = None
) -> Payment:
    """Capture an authorization, once, for at most the authorized amount (default all).

    Refused for a failed, voided or already captured payment. The capture is
    recorded pending under the row lock (so a concurrent void sees it and is refused),
    then sent to the gateway right away, outside the transaction; a gateway that
    does not answer leaves it pending for the task and the sweeper to finish.
    """
    with audit_trail(
        AuditEntry.Action.PAYMENT_CAPTURE,
        actor=actor,
        merchant=merchant,
        target=("payment", payment_id),
        arguments={"amount": amount},
    ) as trail:
        if amount is not None:
            amount = validate_amount(amount)
        with transaction.atomic():
            payment = locked_payment(merchant=merchant, payment_id=payment_id)
            if why := payment.capture_refusal():
                raise PaymentNotCapturable(why)
            if amount is None:
                amount = payment.amount
            if amount > payment.amount:
                raise ValidationFailed(
                    "Capture amount exceeds the authorized amount", param="amount"
                )
            payment.is_captured = True
            payment.capture_pending = True
            payment.amount_captured = amount
            payment.captured_at = timezone.now()
            payment.save(
                update_fields=[
                    "is_captured",
                    "capture_pending",
                    "amount_captured",
                    "captured_at",
                    "updated_at",
                ]
            )
            capture = Transaction.objects.create(
                merchant=merchant,
                payment=payment,
                type=Transaction.Type.CAPTURE,
                amount=amount,
                status=Transaction.Status.PENDING,
                order_id=payment.order_id,
                **actor.as_fields(),
            )
            rollup.record(payment, capture)
            dispute_ratio.count_capture(payment)
        try:
            delivery.send_pending_transaction(transaction_id=capture.id)
        except GatewayTransientError:
            tasks.enqueue_send(capture.id)
        payment.refresh_from_db()
        trail.succeeded(payment)
    return payment


# --- reverse ------------------------------------------------------------------------


def reverse_payment(
    *,
    merchant: Merchant,
    payment_id: str,
    actor: Actor,
    amount: int | None = None,
    is_external: bool = False,
    reason: str | None = None,
    note: str = "",
    order_id: str | None = None,
    metadata: dict | None = None,
    currency: str | None = None,
) -> Transaction:
    """Refund or void a payment (SPEC 4); answers the new reversal.

    1. The payment must have succeeded and not be fully reversed
       (Payment.reversal_refusal says why not).
    2. Not captured: a void of the whole authorization (amount omitted or equal).
    3. Captured: a refund of `amount`, or of everything still refundable; never more.
    4. The payment row is locked while deciding, so concurrent reversals can never
       add up to more than was captured.
    5. `is_external`: recorded succeeded at once, never sent to the gateway.
    6. Otherwise recorded pending, counted at once, and sent after commit.
    7. A person's refund over the merchant's approval threshold is held instead:
       recorded `requires_approval`, reserved, not sent (payments.approvals, SPEC 13).
    """
    Action = AuditEntry.Action
    with audit_trail(
        Action.PAYMENT_REFUND_EXTERNAL if is_external else Action.PAYMENT_REFUND,
        actor=actor,
        merchant=merchant,
        target=("payment", payment_id),
        arguments={"amount": amount, "is_external": is_external, "reason": reason},
    ) as trail:
        if amount is not None:
            amount = validate_amount(amount)
        reason = reason or Transaction.Reason.REQUESTED_BY_CUSTOMER
        note = (note or "").strip()
        if refused := Transaction.details_refusal(reason=reason, note=note):
            field, sentence = refused
            raise ValidationFailed(sentence, param=field)
        metadata = validate_metadata(metadata)
        if order_id is not None:
            order_id = validate_order_id(order_id)
        if currency is not None:
            validate_currency(currency)

        with transaction.atomic():
            payment = locked_payment(merchant=merchant, payment_id=payment_id)
            if not payment.is_captured and not is_external:
                trail.action = Action.PAYMENT_VOID
            if why := payment.reversal_refusal():
                raise PaymentNotReversible(why)
            if currency is not None and currency != payment.currency:
                raise ValidationFailed(
                    f"Currency must be the payment's currency ({payment.currency})",
                    param="currency",
                )
            if not payment.is_captured:
                kind = Transaction.Type.VOID
                if amount is not None and amount != payment.amount:
                    raise ValidationFailed(
                        "An uncaptured payment can only be voided in full: omit the amount or "
                        f"send the authorized amount ({payment.amount})",
                        param="amount",
                    )
                amount = payment.amount
                payment.is_voided = True
            else:
                kind = Transaction.Type.REFUND
                available = payment.amount_reversible
                if amount is None:
                    amount = available
                if amount > available:
                    raise ValidationFailed(
                        "Refund amount exceeds the amount available for refund: at most "
                        f"{payment.format_amount(available)} can be refunded",
                        param="amount",
                    )

            # SPEC 13: a person's refund over the threshold waits for a second admin.
            held = kind == Transaction.Type.REFUND and approvals.needs_approval(
                merchant=merchant,
                currency=payment.currency,
                amount=amount,
                actor=actor,
                is_external=is_external,
            )
            if held:
                trail.action = Action.REFUND_APPROVAL_ASK
                payment.amount_awaiting_approval += amount
                status = Transaction.Status.REQUIRES_APPROVAL
            else:
                payment.count_reversal(amount, external=is_external)
                status = Transaction.Status.SUCCEEDED if is_external else Transaction.Status.PENDING
            payment.save(
                update_fields=[
                    "amount_reversed",
                    "amount_reversal_pending",
                    "amount_awaiting_approval",
                    "is_voided",
                    "updated_at",
                ]
            )
            reversal = Transaction.objects.create(
                merchant=merchant,
                payment=payment,
                type=kind,
                amount=amount,
                status=status,
                is_external=is_external,
                reason=reason,
                note=note,
                order_id=payment.order_id if order_id is None else order_id,
                metadata=metadata,
                processed_at=timezone.now() if is_external else None,
                **actor.as_fields(),
            )
            if held:  # counted and sent once approved (payments.approvals)
                approvals.hold(reversal)
                trail.succeeded(reversal)
                return reversal
            trail.succeeded(reversal)
            approvals.proceed(payment, reversal)
    return reversal
