"""The transactional outbox: `record(...)` is called by a service inside its own
transaction, beside the change it reports:

    with transaction.atomic():
        ...                                                   # lock, decide, write
        outbox.record(merchant_id=merchant.id, types=["refund.created"], data=payment_json)

The event and one delivery per subscribed, enabled endpoint are rows of that same
transaction: a rollback takes them away with the change, a commit keeps them. After
the commit the deliveries are queued for Celery; a broker that cannot take them
fails nothing (the sweeper sends what is due, webhooks.tasks.send_due_deliveries).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import transaction

from . import tasks
from .models import EVENT_TYPES, Delivery, Endpoint, Event

logger = logging.getLogger(__name__)


def record(*, merchant_id: int, types: Sequence[str], data: dict) -> list[Event]:
    """Write an event of each of `types` for the merchant with `data` (the API's JSON of
    the object, the same for all), and their deliveries, in the caller's transaction:
    the merchant's endpoints are read once for all of them."""
    for event_type in types:
        if event_type not in EVENT_TYPES:
            raise ValueError(f"Unknown webhook event type {event_type!r}")
    if not types:
        return []
    # One INSERT for all of them (their ids and times are made here, not by the database).
    events = Event.objects.bulk_create(
        Event(merchant_id=merchant_id, type=t, data=data) for t in types
    )
    endpoints = list(Endpoint.objects.for_merchant(merchant_id).filter(disabled_at__isnull=True))
    deliveries = Delivery.objects.bulk_create(
        Delivery(event=event, endpoint=endpoint, next_attempt_at=event.created_at)
        for event in events
        for endpoint in endpoints
        if endpoint.subscribes_to(event.type)
    )
    enqueue_after_commit([delivery.id for delivery in deliveries])
    return events


def enqueue_after_commit(delivery_ids: list[str], *, resend: bool = False) -> None:
    """Queue these deliveries once the current transaction commits (at once outside
    one); `resend`: one attempt now whatever their state. A broker that is down is
    logged, never raised: the rows are committed and the sweeper sends them when they
    are due (a resend that could not be queued is not made: it can be asked again)."""
    if not delivery_ids:
        return
    task = tasks.resend_delivery if resend else tasks.send_delivery

    def publish() -> None:
        for delivery_id in delivery_ids:
            try:
                task.delay(delivery_id)
            except Exception:
                logger.exception("could not enqueue delivery %s; the sweeper will", delivery_id)

    transaction.on_commit(publish)
