"""Thin tasks: call a service, own the schedule."""

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task
def renew_subscriptions() -> int:
    """Periodic (beat): charge the due subscriptions for their next period, or cancel
    those set to cancel at period end. Overlapping runs are safe (see the service)."""
    handled = services.renew_due_subscriptions()
    if handled:
        logger.info("renewed or canceled %d subscriptions", handled)
    return handled
