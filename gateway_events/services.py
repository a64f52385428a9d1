"""Stripe's webhook events, mapped onto our payments (SPEC 10, "From the gateway").

`receive_stripe_event` takes an event whose signature the view has verified and handles
it once: the event id is inserted (unique per gateway) in the same transaction as the
event's effect, so of concurrent deliveries of one event only the first does anything,
and a delivery whose effect failed leaves no trace and is handled again on Stripe's retry.

Events and what they do:

    charge.refund.updated     the pending refund with that gateway reference (re_…)
                              succeeds or fails, through payments.delivery's own code
                              for a gateway's answer (SPEC 4 rule 6: a failure makes its
                              amount refundable again and undoes the counters)
    charge.dispute.created    a dispute opens on the payment (chargebacks.open_dispute):
                              amount, network, reason, evidence_details.due_by
    charge.dispute.updated    under_review: the evidence was submitted (in Stripe's
                              dashboard when not here); an unknown dispute that became a
                              chargeback (an escalated inquiry) opens
    charge.dispute.closed     won / lost (chargebacks.close_dispute); lost while still
                              awaiting evidence and before its deadline: the merchant
                              accepted it in Stripe (chargebacks.accept_dispute)

The payment is the one whose gateway reference is the dispute's `payment_intent` (what
the Stripe gateway stores), else its `charge`. Inquiries and early fraud warnings
(`warning_*` statuses) are not chargebacks: they open nothing.

Anything else (another type, a payment or refund we do not know) is acknowledged and
logged, and only the event id is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from django.db import IntegrityError, transaction

from chargebacks import services as dispute_services
from chargebacks.models import MAX_REASON_CODE_LENGTH, Dispute
from core.actors import SYSTEM
from core.errors import DomainError
from payments import delivery
from payments.models import Payment, Transaction

from .models import ReceivedEvent

logger = logging.getLogger(__name__)

DUPLICATE = "duplicate: already handled"
# Stripe's refund statuses that end a refund without money returned.
REFUND_REFUSED_STATUSES = {"failed", "canceled"}
MAX_OUTCOME_LENGTH = 255


def receive_stripe_event(event: dict) -> str:
    """Handle one verified Stripe event, once per event id; answers what it did, in words."""
    event_id, event_type = str(event.get("id") or ""), str(event.get("type") or "")
    with transaction.atomic():
        try:
            with transaction.atomic():
                received = ReceivedEvent.objects.create(
                    gateway=ReceivedEvent.Gateway.STRIPE,
                    event_id=event_id,
                    type=event_type[:100],
                    livemode=bool(event.get("livemode")),
                )
        except IntegrityError:
            logger.info("stripe event %s (%s) was already handled", event_id, event_type)
            return DUPLICATE
        handler = HANDLERS.get(event_type)
        data = event.get("data") or {}
        obj = data.get("object") if isinstance(data, dict) else None
        if handler is None:
            outcome = f"ignored: no use for {event_type or 'an event without a type'}"
        elif not isinstance(obj, dict):
            outcome = "ignored: the event carries no object"
        else:
            outcome = handler(obj)
        received.outcome = outcome[:MAX_OUTCOME_LENGTH]
        received.save(update_fields=["outcome"])
    logger.info("stripe event %s (%s): %s", event_id, event_type, outcome)
    return outcome


# --- refunds -----------------------------------------------------------------------------


def refund_updated(refund: dict) -> str:
    """A refund Stripe finished on its side: succeeded, or failed/canceled with its
    reason. Only a refund still pending here changes; one already final stays as it is
    (Stripe may tell us again what its answer to our call already said)."""
    reference = str(refund.get("id") or "")
    status = refund.get("status")
    txn = (
        Transaction.objects.filter(type=Transaction.Type.REFUND, gateway_reference=reference)
        .only("id", "status")
        .first()
        if reference
        else None
    )
    if txn is None:
        logger.warning("stripe refund %s is no refund of ours", reference or "(no id)")
        return f"ignored: no refund with gateway reference {reference or '(none)'}"
    if txn.status != Transaction.Status.PENDING:
        return f"ignored: refund {txn.id} is already {txn.status}"
    if status == "succeeded":
        final = delivery.record_gateway_outcome(
            transaction_id=txn.id, succeeded=True, gateway_reference=reference
        )
    elif status in REFUND_REFUSED_STATUSES:
        final = delivery.record_gateway_outcome(
            transaction_id=txn.id,
            succeeded=False,
            failure_reason=refund_failure_reason(refund),
        )
    else:  # pending, requires_action: not finished yet
        return f"refund {txn.id} still {status or 'unknown'} at Stripe"
    return f"refund {txn.id} {final}"


def refund_failure_reason(refund: dict) -> str:
    """The failure code as the gateway's answer would have given it (payments.reasons
    turns it into words): Stripe's failure_reason, or refund_failed / refund_canceled."""
    return str(refund.get("failure_reason") or f"refund_{refund.get('status')}")[:255]


# --- disputes ----------------------------------------------------------------------------

# Stripe's reasons that are ours too; any other (general, unrecognized, bank_cannot_process,
# customer_initiated, debit_not_authorized, incorrect_account_details, ...) is `general`.
REASON_CATEGORIES = set(Dispute.ReasonCategory.values)
INQUIRY_PREFIX = "warning_"


def _payment_of(dispute: dict) -> Payment | None:
    for key in ("payment_intent", "charge"):
        reference = dispute.get(key)
        if isinstance(reference, dict):  # expanded
            reference = reference.get("id")
        if isinstance(reference, str) and reference:
            payment = (
                Payment.objects.exclude(gateway_reference="")
                .filter(gateway_reference=reference)
                .select_related("merchant")
                .first()
            )
            if payment is not None:
                return payment
    return None


def _our_dispute(payment: Payment, reference: str) -> Dispute | None:
    if not reference:
        return None
    return (
        Dispute.objects.for_merchant(payment.merchant).filter(gateway_reference=reference).first()
    )


def _unknown_payment(dispute: dict) -> str:
    references = dispute.get("payment_intent") or dispute.get("charge") or "(none)"
    logger.warning("stripe dispute %s is on no payment of ours (%s)", dispute.get("id"), references)
    return f"ignored: no payment with gateway reference {references}"


def _refused(what: str, error: DomainError) -> str:
    logger.warning("stripe %s refused: %s", what, error)
    return f"refused: {error}"


def dispute_created(dispute: dict) -> str:
    payment = _payment_of(dispute)
    if payment is None:
        return _unknown_payment(dispute)
    return _open(payment, dispute)


def _open(payment: Payment, dispute: dict) -> str:
    reference = str(dispute.get("id") or "")
    status = str(dispute.get("status") or "")
    if status.startswith(INQUIRY_PREFIX):
        return f"ignored: {reference} is an inquiry ({status}), not a chargeback"
    if (existing := _our_dispute(payment, reference)) is not None:
        return f"ignored: dispute {existing.id} is already open for {reference}"
    card = (dispute.get("payment_method_details") or {}).get("card") or {}
    reason = str(dispute.get("reason") or "")
    due_by = (dispute.get("evidence_details") or {}).get("due_by")
    amount = dispute.get("amount")
    try:
        opened = dispute_services.open_dispute(
            merchant=payment.merchant,
            payment_id=payment.id,
            actor=SYSTEM,
            amount=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
            network=Dispute.Network.of_card_brand(card.get("brand")),
            reason_code=str(card.get("network_reason_code") or "")[:MAX_REASON_CODE_LENGTH],
            reason_category=reason if reason in REASON_CATEGORIES else "general",
            evidence_due_by=(
                datetime.fromtimestamp(due_by, tz=UTC) if isinstance(due_by, int) else None
            ),
            gateway_reference=reference,
        )
    except DomainError as error:
        return _refused(f"dispute {reference} on {payment.id}", error)
    return f"dispute {opened.id} opened on {payment.id}"


def dispute_updated(dispute: dict) -> str:
    payment = _payment_of(dispute)
    if payment is None:
        return _unknown_payment(dispute)
    reference = str(dispute.get("id") or "")
    ours = _our_dispute(payment, reference)
    if ours is None:  # an inquiry that became a chargeback, or a created event we missed
        return _open(payment, dispute)
    status = dispute.get("status")
    if status == "under_review":
        return _under_review(ours)
    if status in ("won", "lost"):
        return dispute_closed(dispute)
    return f"dispute {ours.id}: nothing to change ({status})"


def _under_review(ours: Dispute) -> str:
    if ours.status != Dispute.Status.NEEDS_RESPONSE:
        return f"dispute {ours.id} is already {ours.status}"
    # Submitted through Stripe's dashboard when nothing was staged here: say so in the
    # evidence, rather than leave it looking empty.
    has_files = ours.files.exists()
    evidence = {} if ours.has_evidence or has_files else {"uncategorized_text": SUBMITTED_AT_STRIPE}
    try:
        dispute_services.stage_evidence(
            merchant=ours.merchant, actor=SYSTEM, dispute_id=ours.id, evidence=evidence, submit=True
        )
    except DomainError as error:
        return _refused(f"submission of {ours.id}", error)
    return f"dispute {ours.id} under_review"


SUBMITTED_AT_STRIPE = "Evidence was submitted in Stripe's dashboard."


def dispute_closed(dispute: dict) -> str:
    payment = _payment_of(dispute)
    if payment is None:
        return _unknown_payment(dispute)
    reference = str(dispute.get("id") or "")
    status = dispute.get("status")
    ours = _our_dispute(payment, reference)
    if ours is None:
        logger.warning("stripe closed dispute %s we never opened", reference)
        return f"ignored: no dispute with gateway reference {reference} ({status})"
    if status not in ("won", "lost"):
        return f"ignored: dispute {ours.id} closed as {status}"
    if ours.is_closed:
        return f"ignored: dispute {ours.id} is already {ours.status}"
    try:
        if ours.status == Dispute.Status.NEEDS_RESPONSE:
            if status == "lost" and not ours.is_overdue:
                # Closed by the merchant in Stripe's dashboard: Stripe calls it lost.
                closed = dispute_services.accept_dispute(
                    merchant=payment.merchant, actor=SYSTEM, dispute_id=ours.id
                )
                return f"dispute {closed.id} {closed.status}"
            if status == "won":
                _under_review(ours)  # won means evidence was submitted, at Stripe
        # The gateway's decision is the decision, even on a dispute we saw past its
        # deadline without evidence (its submission may have happened at Stripe).
        closed = dispute_services.close_dispute(
            merchant=payment.merchant,
            actor=SYSTEM,
            dispute_id=ours.id,
            outcome=status,
            reported_by_gateway=True,
        )
    except DomainError as error:
        return _refused(f"closing of {ours.id}", error)
    return f"dispute {closed.id} {closed.status}"


HANDLERS: dict[str, Callable[[dict], str]] = {
    "charge.refund.updated": refund_updated,
    "charge.dispute.created": dispute_created,
    "charge.dispute.updated": dispute_updated,
    "charge.dispute.closed": dispute_closed,
}
