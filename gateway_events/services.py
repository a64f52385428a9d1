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

Anything else (another type, a payment or refund we do not know) is acknowledged and
logged, and only the event id is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import IntegrityError, transaction

from payments import delivery
from payments.models import Transaction

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


HANDLERS: dict[str, Callable[[dict], str]] = {
    "charge.refund.updated": refund_updated,
}
