"""Thin tasks: take ids, call a service, own the retries."""

import logging

from celery import shared_task

from . import idempotency

logger = logging.getLogger(__name__)


@shared_task
def purge_idempotency_records() -> int:
    """Periodic (beat): forget idempotency keys once they are 24 hours old (SPEC 7)."""
    deleted = idempotency.purge_expired()
    if deleted:
        logger.info("purged %d idempotency records", deleted)
    return deleted
