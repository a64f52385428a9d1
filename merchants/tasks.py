"""Thin tasks: call a service, own the schedule."""

import logging

from celery import shared_task

from core.models import FormSubmission

from .models import IdempotencyRecord

logger = logging.getLogger(__name__)


@shared_task
def purge_idempotency_records() -> int:
    """Periodic (beat): forget API idempotency keys (SPEC 7) and dashboard form tokens
    once they are 24 hours old."""
    deleted = IdempotencyRecord.objects.purge_expired() + FormSubmission.objects.purge_expired()
    if deleted:
        logger.info("purged %d idempotency records and form tokens", deleted)
    return deleted
