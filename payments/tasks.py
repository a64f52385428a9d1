"""Thin tasks: take ids, call a service, own the retries."""

import logging

from celery import shared_task

from . import services
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
    return services.send_pending_transaction(transaction_id=transaction_id)


@shared_task
def resend_stale_reversals() -> int:
    """Periodic (beat): re-send what stayed pending, e.g. when a queue message was lost."""
    ids = services.stale_pending_transaction_ids()
    for transaction_id in ids:
        send_to_gateway.delay(transaction_id)
    if ids:
        logger.info("re-sent %d stale pending transactions", len(ids))
    return len(ids)
