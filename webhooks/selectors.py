"""Webhook reads: always from the merchant, so a foreign id is never found."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, prefetch_related_objects

from core.errors import found_or_not_found
from core.paging import Page, keyset_page

from .models import TEST_EVENT_TYPE, Delivery, Endpoint, Event


def list_endpoints(*, merchant) -> list[Endpoint]:
    """The merchant's endpoints, newest first (a handful: no paging)."""
    return list(Endpoint.objects.for_merchant(merchant).order_by("-created_at"))


def get_endpoint(*, merchant, endpoint_id: str) -> Endpoint | None:
    return Endpoint.objects.for_merchant(merchant).filter(id=endpoint_id).first()


def list_deliveries(
    *,
    endpoint: Endpoint,
    limit: int = 25,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> Page:
    """The endpoint's deliveries, newest first, each with its event and its attempts
    (newest first)."""
    deliveries = Delivery.objects.filter(endpoint=endpoint)
    page = keyset_page(
        deliveries.select_related("event"),
        anchors=deliveries,
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
        missing="delivery",
    )
    prefetch_related_objects(page.items, "attempt_log")
    return page


def failing_endpoint_column() -> Exists:
    """`has_failing_endpoint` of the signed-in member's merchant, as a column of the
    member's row (core.dashboard.member_extras)."""
    return Exists(
        Endpoint.objects.filter(
            merchant_id=OuterRef("merchant_id"), disabled_reason=Endpoint.DisabledReason.FAILING
        )
    )


def has_failing_endpoint(*, merchant_id: int) -> bool:
    """Whether an endpoint of the merchant was disabled after its retries ran out (the
    banner of every dashboard page for merchant admins): one indexed query."""
    return Endpoint.objects.filter(
        merchant_id=merchant_id, disabled_reason=Endpoint.DisabledReason.FAILING
    ).exists()


def pending_delivery_count() -> int:
    """Deliveries not yet delivered nor given up (the /metrics backlog): counted on the
    partial index of pending deliveries."""
    return Delivery.objects.filter(status=Delivery.Status.PENDING).count()


def _events(merchant):
    return Event.objects.for_merchant(merchant).exclude(type=TEST_EVENT_TYPE)


def list_events(
    *, merchant, type: str | None = None, limit: int = 10, starting_after: str | None = None
) -> Page:
    """The merchant's events (not the test events), newest first, keyset-paged."""
    events = _events(merchant)
    if type:
        events = events.filter(type=type)
    return keyset_page(
        events,
        anchors=_events(merchant),
        limit=limit,
        starting_after=starting_after,
        missing="event",
    )


def get_event(*, merchant, event_id: str) -> Event:
    return found_or_not_found(_events(merchant), event_id, name="event")
