"""Thin tasks: take ids, call the delivery, own the retries."""

import logging

from celery import shared_task

from core.tasks import queue_after_commit, queue_each

from . import approvals, delivery
from .gateways import GatewayTransientError

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    autoretry_for=(GatewayTransientError,),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def send_to_gateway(transaction_id: str) -> str:
    """Send a pending capture, refund or void. Timeouts and 5xx retry with exponential
    backoff; what is still pending after the retries is re-sent by the sweeper."""
    return delivery.send_pending_transaction(transaction_id=transaction_id)


def enqueue_send(transaction_id: str) -> None:
    """Send this pending operation once the current transaction commits. The sending
    is already recorded (pending, and counted), so a broker that cannot take the message
    must not fail the request that made it: the sweeper re-sends what stays pending."""

    queue_after_commit(
        send_to_gateway, transaction_id, failure="could not enqueue %s; the sweeper will send it"
    )


@shared_task
def reconcile_unfinished_refunds() -> int:
    """Periodic (beat): ask the gateway about refunds it accepted as pending and whose
    webhook has not come (payments.delivery.unfinished_refund_ids), and record those
    that ended. One the gateway cannot answer now is asked again next time."""
    ids = delivery.unfinished_refund_ids()
    for transaction_id in ids:
        try:
            delivery.ask_gateway_about(transaction_id=transaction_id)
        except GatewayTransientError:
            logger.warning("could not ask the gateway about refund %s; next time", transaction_id)
    return len(ids)


@shared_task
def resolve_unanswered_authorizations() -> int:
    """Periodic (beat): ask the gateway again about authorizations whose answer was lost,
    and release whatever it had authorized (the checkout was told they failed)."""
    ids = delivery.unanswered_authorization_ids()
    for payment_id in ids:
        delivery.resolve_unanswered_authorization(payment_id=payment_id)
    return len(ids)


@shared_task
def resend_stale_reversals() -> int:
    """Periodic (beat): re-send what stayed pending, e.g. when a queue message was lost."""
    ids = delivery.stale_pending_transaction_ids()
    return queue_each(send_to_gateway, ids, done="re-sent %d stale pending transactions")


@shared_task
def expire_refund_approvals() -> int:
    """Periodic (beat): cancel the refunds held for approval and left unanswered for
    72 hours, releasing their amounts (SPEC 13)."""
    expired = approvals.expire_due()
    if expired:
        logger.info("expired %d refunds left waiting for approval", expired)
    return expired
