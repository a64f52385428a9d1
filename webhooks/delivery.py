"""Sending deliveries, outside any request: a Celery task (webhooks.tasks) or the sweeper.

A delivery is claimed with a time-limited lease before it is sent, so two workers (a
task delivered twice, a task and the sweeper) never send it at the same time; the
outcome of each attempt is then recorded under the delivery's row lock.

The retry schedule (Standard Webhooks' recommended one, continued until three days
have passed): after a failed attempt the next comes 5 s, 5 min, 30 min, 2 h, 5 h, then
every 10 h: 13 attempts over 3 days and 5.6 hours. When the last one fails the
delivery is failed and the endpoint disabled (the merchant admins see a banner).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import sending
from .models import Attempt, Delivery, Endpoint

logger = logging.getLogger(__name__)

RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    *[timedelta(hours=10)] * 7,
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


def _enabled_endpoints():
    return Endpoint.objects.filter(disabled_at__isnull=True).values("id")


def _claim(delivery_id: str, *, now: datetime, manual: bool) -> bool:
    """Take the lease on a delivery that is due (or, `manual`, in any state). The
    conditions are on the delivery's own row, so of two concurrent claims PostgreSQL
    lets one update it and the other find the lease taken."""
    rows = Delivery.objects.filter(id=delivery_id, endpoint_id__in=_enabled_endpoints()).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )
    changes = {
        "lease_until": now + timedelta(seconds=settings.WEBHOOK_SEND_LEASE_SECONDS),
        "attempts": F("attempts") + 1,
    }
    if not manual:
        rows = rows.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        changes["scheduled_attempts"] = F("scheduled_attempts") + 1
    return rows.update(**changes) == 1


def send_delivery(
    *, delivery_id: str, now: datetime | None = None, manual: bool = False
) -> str | None:
    """Make one attempt of a due delivery (`manual`: a resend, whatever its state) and
    record it. Answers the delivery's status afterwards, or None when it was left
    alone: not due, of a disabled endpoint, or held by another worker."""
    now = now or timezone.now()
    if not _claim(delivery_id, now=now, manual=manual):
        return None
    delivery = Delivery.objects.select_related("event", "endpoint").get(id=delivery_id)
    event, endpoint = delivery.event, delivery.endpoint
    started_at = timezone.now()
    outcome = sending.post(
        url=endpoint.url,
        secrets=endpoint.signing_secrets(now=now),
        msg_id=event.id,
        payload=event.payload(),
        now=started_at,
    )
    return _record(delivery_id, outcome, started_at=started_at, now=now, manual=manual)


def _record(
    delivery_id: str, outcome: sending.Outcome, *, started_at: datetime, now: datetime, manual: bool
) -> str:
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(id=delivery_id)
        Attempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            started_at=started_at,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            response_body=outcome.response_body,
            error=outcome.error,
            succeeded=outcome.succeeded,
        )
        delivery.lease_until = None
        delivery.last_status_code = outcome.status_code
        if outcome.succeeded:
            delivery.status = Delivery.Status.SUCCEEDED
            delivery.next_attempt_at = None
            delivery.finished_at = now
        elif manual:
            pass  # a resend that failed leaves the delivery as it was
        elif delivery.scheduled_attempts < MAX_ATTEMPTS:
            delivery.next_attempt_at = now + RETRY_DELAYS[delivery.scheduled_attempts - 1]
        else:
            delivery.status = Delivery.Status.FAILED
            delivery.next_attempt_at = None
            delivery.finished_at = now
            disabled = Endpoint.objects.filter(
                id=delivery.endpoint_id, disabled_at__isnull=True
            ).update(disabled_at=now, disabled_reason=Endpoint.DisabledReason.FAILING)
            if disabled:
                logger.warning(
                    "webhook endpoint %s disabled: retries exhausted", delivery.endpoint_id
                )
        delivery.save(
            update_fields=[
                "lease_until",
                "last_status_code",
                "status",
                "next_attempt_at",
                "finished_at",
            ]
        )
    logger.info(
        "webhook delivery %s attempt %d: %s", delivery_id, delivery.attempts, delivery.status
    )
    return delivery.status


def retry_in(delivery_id: str, *, now: datetime | None = None) -> float | None:
    """Seconds until a pending delivery's next attempt, or None when it is not pending."""
    row = Delivery.objects.filter(id=delivery_id, status=Delivery.Status.PENDING).first()
    if row is None or row.next_attempt_at is None:
        return None
    return max(0.0, (row.next_attempt_at - (now or timezone.now())).total_seconds())


def due_delivery_ids(
    *, now: datetime | None = None, overdue_by: timedelta = timedelta(0), limit: int = 500
) -> list[str]:
    """Pending deliveries due at least `overdue_by` ago that nobody holds, of enabled
    endpoints, most overdue first."""
    now = now or timezone.now()
    return list(
        Delivery.objects.filter(
            status=Delivery.Status.PENDING, next_attempt_at__lte=now - overdue_by
        )
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(endpoint_id__in=_enabled_endpoints())
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
