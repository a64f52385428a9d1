"""Thin tasks: take ids, call the delivery, schedule what comes next."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from core.tasks import queue_each

from . import delivery

logger = logging.getLogger(__name__)

# A retry due this soon is queued with a countdown; later ones are left to the sweeper
# (a Redis ETA longer than the visibility timeout would be delivered twice).
COUNTDOWN_UP_TO_SECONDS = 600


@shared_task(acks_late=True)
def send_delivery(delivery_id: str) -> str | None:
    """One attempt of a due delivery. The attempt that failed queues its near retry;
    the sweeper (send_due_deliveries) sends every due delivery in any case. In-process
    (eager) Celery has no countdown: the retries are the sweeper's."""
    status = delivery.send_delivery(delivery_id=delivery_id)
    if status != "pending" or settings.CELERY_TASK_ALWAYS_EAGER:
        return status
    wait = delivery.retry_in(delivery_id)
    if wait is not None and 0 < wait <= COUNTDOWN_UP_TO_SECONDS:
        try:
            send_delivery.apply_async((delivery_id,), countdown=wait)
        except Exception:
            logger.exception("could not queue the retry of %s; the sweeper will", delivery_id)
    return status


@shared_task(acks_late=True)
def resend_delivery(delivery_id: str) -> str | None:
    """A resend asked in the dashboard: one attempt now, whatever the delivery's state."""
    return delivery.send_delivery(delivery_id=delivery_id, manual=True)


@shared_task
def send_due_deliveries() -> int:
    """Periodic (beat): queue every due delivery, e.g. when the broker was down at
    commit or a retry's time has come. Those due only just now are left a moment to
    the task already queued for them (a second one would find the lease taken, or the
    delivery done, and do nothing; this only spares the queue)."""
    grace = timedelta(seconds=settings.WEBHOOK_SWEEP_GRACE_SECONDS)
    ids = delivery.due_delivery_ids(overdue_by=grace)
    return queue_each(send_delivery, ids, done="queued %d due webhook deliveries")
