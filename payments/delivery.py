"""Delivery of pending captures, refunds and voids to the gateway, and their outcome.

Runs outside any request, in a Celery task (payments.tasks) or the sweeper. No gateway
call ever happens inside a database transaction: the operation was recorded `pending`
(and counted) by payments.services; here it is sent, then its outcome recorded under
the payment's row lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import dispute_ratio, events, rollup, selectors
from .gateways import GatewayDeclined, GatewayResult, GatewayTransientError, get_gateway
from .models import RELEASED, UNANSWERED, Payment, Transaction

logger = logging.getLogger(__name__)


def _claim_for_sending(transaction_id: str) -> bool:
    """Take a time-limited lease on a pending transaction, so that two deliveries of
    the same task (or a task and the sweeper) never send it at the same time."""
    now = timezone.now()
    claimed = (
        Transaction.objects.filter(id=transaction_id, status=Transaction.Status.PENDING)
        .filter(Q(send_lease_until__isnull=True) | Q(send_lease_until__lt=now))
        .update(
            send_lease_until=now + timedelta(seconds=settings.REVERSAL_SEND_LEASE_SECONDS),
            attempts=F("attempts") + 1,
            last_attempt_at=now,
        )
    )
    return claimed == 1


def send_pending_transaction(*, transaction_id: str) -> str:
    """Send one pending capture, refund or void to the gateway and record the outcome.

    Idempotent: a transaction that is no longer pending, or that another worker is
    sending right now, is left alone. The gateway key is derived from the
    transaction's id, so a re-send after a lost answer never moves money twice.
    Raises GatewayTransientError when the gateway did not answer (the caller retries).
    Answers the transaction's status afterwards.
    """
    return _under_lease(transaction_id, _send)


# What is ever pending, and the gateway's call that carries it out.
GATEWAY_CALLS = {
    Transaction.Type.CAPTURE: "capture",
    Transaction.Type.REFUND: "refund",
    Transaction.Type.VOID: "void",
}


def _send(txn: Transaction) -> GatewayResult:
    operation = getattr(get_gateway(), GATEWAY_CALLS[Transaction.Type(txn.type)])
    return operation(
        reference=txn.payment.gateway_reference,
        amount=txn.amount,
        idempotency_key=txn.gateway_idempotency_key,
    )


def _under_lease(transaction_id: str, ask: Callable[[Transaction], GatewayResult]) -> str:
    """Under the sending lease (none taken: the status as it is), `ask` the gateway
    about the pending transaction and record its answer: declined -> failed, done ->
    succeeded. Accepted but not finished (a Stripe refund `pending`): it stays pending,
    with the gateway's reference, until the gateway's webhook gives the outcome
    (gateway_events calls record_gateway_outcome) or it is asked again
    (ask_gateway_about); the sweeper never re-sends it. No answer: the lease is
    released and GatewayTransientError raised (the caller retries)."""
    if not _claim_for_sending(transaction_id):
        return Transaction.objects.values_list("status", flat=True).get(id=transaction_id)
    txn = Transaction.objects.select_related("payment").get(id=transaction_id)
    try:
        result = ask(txn)
    except GatewayDeclined as declined:
        return _finish(
            txn.id, payment_id=txn.payment_id, succeeded=False, failure_reason=declined.reason
        )
    except GatewayTransientError:
        Transaction.objects.filter(id=txn.id).update(send_lease_until=None)
        raise
    if result.pending:
        Transaction.objects.filter(id=txn.id, status=Transaction.Status.PENDING).update(
            gateway_reference=result.reference, send_lease_until=None
        )
        return Transaction.Status.PENDING
    return _finish(
        txn.id, payment_id=txn.payment_id, succeeded=True, gateway_reference=result.reference
    )


def unfinished_refund_ids(*, older_than: timedelta | None = None) -> list[str]:
    """Refunds the gateway accepted as pending (they carry its reference) whose outcome
    has not come by webhook since the last look, REFUND_RECONCILE_AFTER_SECONDS ago:
    the gateway is asked about them (`ask_gateway_about`), so a lost webhook never
    leaves a refund pending for good."""
    if older_than is None:
        older_than = timedelta(seconds=settings.REFUND_RECONCILE_AFTER_SECONDS)
    now = timezone.now()
    return list(
        Transaction.objects.filter(
            status=Transaction.Status.PENDING,
            type=Transaction.Type.REFUND,
            is_external=False,
            last_attempt_at__lt=now - older_than,
        )
        .exclude(gateway_reference="")
        .filter(Q(send_lease_until__isnull=True) | Q(send_lease_until__lt=now))
        .values_list("id", flat=True)[:1000]
    )


def ask_gateway_about(*, transaction_id: str) -> str:
    """Ask the gateway where a refund it accepted as pending stands, and record the
    outcome when it is final (as its webhook would have). Under the sending lease, so
    the webhook and this never finish it twice (record_gateway_outcome also leaves a
    refund no longer pending alone). Answers the refund's status afterwards."""
    return _under_lease(
        transaction_id,
        lambda txn: get_gateway().refund_outcome(reference=txn.gateway_reference),
    )


def record_gateway_outcome(
    *, transaction_id: str, succeeded: bool, gateway_reference: str = "", failure_reason: str = ""
) -> str:
    """Record the gateway's final answer about a pending capture, refund or void that
    arrived on its own (a webhook) rather than as the answer to our call: the same
    bookkeeping as that answer (SPEC 4 rule 6: succeeded, or failed with its reason and
    its amount reversible again, counters undone). A transaction no longer pending is
    left as it is. Answers its status afterwards."""
    return _finish(
        transaction_id,
        succeeded=succeeded,
        gateway_reference=gateway_reference,
        failure_reason=failure_reason,
    )


def _finish(
    transaction_id: str,
    *,
    succeeded: bool,
    gateway_reference: str = "",
    failure_reason: str = "",
    payment_id: str | None = None,
) -> str:
    with transaction.atomic():
        if payment_id is None:
            payment_id = Transaction.objects.values_list("payment_id", flat=True).get(
                id=transaction_id
            )
        payment = selectors.locked(Payment.objects.filter(id=payment_id)).get()
        # The ledger is read under the lock: the transaction to finish is one of its
        # rows, and the event's payment is answered from this same list.
        selectors.with_ledger(payment)
        txn = next(t for t in payment.transactions.all() if t.id == transaction_id)
        if txn.status != Transaction.Status.PENDING:
            return txn.status
        txn.processed_at = timezone.now()
        txn.send_lease_until = None
        changed_payment_fields = ["updated_at"]
        if txn.type == Transaction.Type.CAPTURE:
            payment.capture_pending = False
            changed_payment_fields.append("capture_pending")
        if succeeded:
            txn.status = Transaction.Status.SUCCEEDED
            txn.gateway_reference = gateway_reference or txn.gateway_reference
            if txn.is_reversal:
                payment.amount_reversal_pending -= txn.amount
                changed_payment_fields.append("amount_reversal_pending")
        else:
            rollup.record(payment, txn, undone=True)
            txn.status = Transaction.Status.FAILED
            txn.failure_reason = failure_reason
            if txn.is_reversal:
                # A declined reversal gives its amount back: it can be reversed again.
                payment.amount_reversal_pending -= txn.amount
                payment.amount_reversed -= txn.amount
                changed_payment_fields += ["amount_reversal_pending", "amount_reversed"]
                if txn.type == Transaction.Type.VOID:
                    payment.is_voided = False
                    changed_payment_fields.append("is_voided")
            else:  # a declined capture leaves the authorization uncaptured
                dispute_ratio.count_capture(payment, undone=True)
                payment.is_captured = False
                payment.amount_captured = 0
                payment.captured_at = None
                changed_payment_fields += ["is_captured", "amount_captured", "captured_at"]
        txn.save(
            update_fields=[
                "status",
                "processed_at",
                "send_lease_until",
                "gateway_reference",
                "failure_reason",
            ]
        )
        payment.save(update_fields=changed_payment_fields)
        events.gateway_answered(payment, txn)  # webhook event, in this transaction
    logger.info("%s %s %s", txn.type, txn.id, txn.status)
    return txn.status


def stale_pending_transaction_ids(*, older_than: timedelta | None = None) -> list[str]:
    """Pending gateway operations whose last attempt (or creation) is older than
    REVERSAL_RESEND_AFTER_SECONDS and that nobody holds a lease on."""
    if older_than is None:
        older_than = timedelta(seconds=settings.REVERSAL_RESEND_AFTER_SECONDS)
    now = timezone.now()
    cutoff = now - older_than
    return list(
        Transaction.objects.filter(status=Transaction.Status.PENDING, is_external=False)
        # With a gateway reference the gateway has it and will say how it ended.
        .filter(gateway_reference="")
        .filter(
            Q(last_attempt_at__lt=cutoff) | Q(last_attempt_at__isnull=True, created_at__lt=cutoff)
        )
        .filter(Q(send_lease_until__isnull=True) | Q(send_lease_until__lt=now))
        .values_list("id", flat=True)[:1000]
    )


# --- authorizations whose answer was lost ------------------------------------------------------

MAX_RESOLUTION_ATTEMPTS = 20


def unanswered_authorization_ids(*, older_than: timedelta | None = None) -> list[str]:
    """Failed payments whose authorization got no answer, due for another question to
    the gateway. A subscription's renewal asks again on its own (same key, per period)."""
    if older_than is None:
        older_than = timedelta(seconds=settings.REVERSAL_RESEND_AFTER_SECONDS)
    return list(
        Payment.objects.filter(
            status=Payment.Status.FAILED,
            failure_reason=UNANSWERED,
            subscription__isnull=True,
            resolution_attempts__lt=MAX_RESOLUTION_ATTEMPTS,
            updated_at__lt=timezone.now() - older_than,
        )
        .exclude(authorization_key="")
        .values_list("id", flat=True)[:100]
    )


def resolve_unanswered_authorization(*, payment_id: str) -> str:
    """Ask the gateway again, with the same key, about an authorization whose answer was
    lost. The checkout was told it failed, so whatever the gateway did is undone: an
    authorization is voided, a capture refunded (keys derived from the payment, so a
    repeat releases nothing twice). A decline is recorded as the decline. No answer
    again: asked again later, up to MAX_RESOLUTION_ATTEMPTS times. Answers the
    payment's failure reason afterwards."""
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(skip_locked=True)
            .filter(id=payment_id, status=Payment.Status.FAILED, failure_reason=UNANSWERED)
            .first()
        )
        if payment is None:  # resolved meanwhile, or another worker holds it
            return Payment.objects.values_list("failure_reason", flat=True).get(id=payment_id)
        payment.resolution_attempts += 1
        payment.save(update_fields=["resolution_attempts", "updated_at"])
    gateway = get_gateway()
    captured = payment.capture_requested
    try:
        result = gateway.authorize(
            amount=payment.amount,
            currency=payment.currency,
            capture=captured,
            idempotency_key=payment.authorization_key,
        )
        release = gateway.refund if captured else gateway.void
        release(
            reference=result.reference,
            amount=payment.amount,
            idempotency_key=f"backoffice-release-{payment.id}",
        )
    except GatewayDeclined as declined:
        outcome, reference, card = declined.reason, "", None
    except GatewayTransientError:
        logger.warning("authorization of %s still unanswered", payment.id)
        return UNANSWERED
    else:
        outcome, reference, card = RELEASED, result.reference, result.card
    changes = {"failure_reason": outcome, "updated_at": timezone.now()}
    if reference:
        changes |= {"gateway_reference": reference, "payment_method": card and card.as_json()}
    Payment.objects.filter(id=payment.id, failure_reason=UNANSWERED).update(**changes)
    Transaction.objects.filter(
        payment_id=payment.id, type=Transaction.Type.AUTHORIZATION, failure_reason=UNANSWERED
    ).update(failure_reason=outcome, gateway_reference=reference)
    logger.info("unanswered authorization of %s resolved: %s", payment.id, outcome)
    return outcome
