"""Webhook endpoint writes (SPEC 11), for merchant admins: register, edit, disable and
enable, delete, rotate the secret; resend a delivery; send a test event.

Every write is one transaction with the endpoint's row locked, and is in the audit
trail (never the secret). The URL is checked (webhooks.targets) at registration and on
every change, and again before each send.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import NotRequired, TypedDict, Unpack

from django.db import transaction
from django.utils import timezone

from audit.models import AuditEntry
from audit.trail import Trail, audit_trail
from core.actors import SYSTEM, Actor
from core.errors import InvalidRequest, ValidationFailed, found_or_not_found

from . import outbox, targets
from .models import (
    EVENT_TYPES,
    MAX_DESCRIPTION_LENGTH,
    MAX_URL_LENGTH,
    TEST_EVENT_TYPE,
    Delivery,
    Endpoint,
    Event,
)

Action = AuditEntry.Action
SECRET_BYTES = 32
# After a rotation the previous secret keeps signing beside the new one this long.
PREVIOUS_SECRET_LASTS = timedelta(hours=24)


def new_secret() -> str:
    """A signing secret as Standard Webhooks writes it: whsec_ and base64 of 32 bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def clean_url(url: object) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ValidationFailed("A URL is required", param="url")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise ValidationFailed(f"A URL has at most {MAX_URL_LENGTH} characters", param="url")
    targets.resolve(url)
    return url


def clean_event_types(event_types: object) -> list[str]:
    if not isinstance(event_types, list | tuple) or not event_types:
        raise ValidationFailed("Choose at least one event type", param="eventTypes")
    unknown = [name for name in event_types if name not in EVENT_TYPES]
    if unknown:
        raise ValidationFailed(f"Unknown event type: {unknown[0]}", param="eventTypes")
    return [name for name in EVENT_TYPES if name in event_types]


def clean_description(description: object) -> str:
    description = (description or "").strip() if isinstance(description, str | None) else None
    if description is None or len(description) > MAX_DESCRIPTION_LENGTH:
        raise ValidationFailed(
            f"A description has at most {MAX_DESCRIPTION_LENGTH} characters", param="description"
        )
    return description


def _locked(*, merchant, endpoint_id: str) -> Endpoint:
    queryset = Endpoint.objects.for_merchant(merchant).select_for_update()
    return found_or_not_found(queryset, endpoint_id, name="webhook endpoint")


@contextmanager
def _changing(
    action: str, endpoint_id: str, *, merchant, actor: Actor
) -> Iterator[tuple[Endpoint, Trail]]:
    """Around one change of an endpoint: its audit entry (a refusal too), one
    transaction, and the endpoint's row locked in it. The caller says `succeeded`."""
    with (
        audit_trail(
            action, actor=actor, merchant=merchant, target=("endpoint", endpoint_id)
        ) as trail,
        transaction.atomic(),
    ):
        yield _locked(merchant=merchant, endpoint_id=endpoint_id), trail


class EndpointSettings(TypedDict):
    """What an endpoint is registered with, and what editing it changes (the
    `clean_*` functions say the rules)."""

    url: str
    event_types: list[str]
    description: NotRequired[str]


@contextmanager
def _settings_change(
    action: str,
    endpoint_id: str | None,
    *,
    merchant,
    actor: Actor,
    url: object,
    event_types: object,
    description: object = "",
) -> Iterator[tuple[dict, Trail]]:
    """Around registering or editing an endpoint: its audit entry (a refusal too), and
    the settings it is given checked before any transaction (the URL's host is looked
    up). Yields those settings, as Endpoint fields, for the caller to save."""
    with audit_trail(
        action,
        actor=actor,
        merchant=merchant,
        target=("endpoint", endpoint_id),
        arguments={"url": url, "event_types": event_types},
    ) as trail:
        checked = {
            "url": clean_url(url),
            "event_types": clean_event_types(event_types),
            "description": clean_description(description),
        }
        yield checked, trail


def create_endpoint(
    *,
    merchant,
    created_by=None,
    actor: Actor | None = None,
    **settings: Unpack[EndpointSettings],
) -> tuple[Endpoint, str]:
    """Register an endpoint; answers it and its signing secret (shown once)."""
    actor = actor or (Actor(user=created_by) if created_by is not None else SYSTEM)
    with _settings_change(
        Action.WEBHOOK_ENDPOINT_CREATE, None, merchant=merchant, actor=actor, **settings
    ) as (checked, trail):
        secret = new_secret()
        with transaction.atomic():
            endpoint = Endpoint.objects.create(
                merchant=merchant, secret=secret, created_by=created_by, **checked
            )
            trail.succeeded(endpoint)
    return endpoint, secret


def update_endpoint(
    *, merchant, endpoint_id: str, actor: Actor = SYSTEM, **settings: Unpack[EndpointSettings]
) -> Endpoint:
    """Change an endpoint's URL, event types and description (the secret stays)."""
    with (
        _settings_change(
            Action.WEBHOOK_ENDPOINT_UPDATE, endpoint_id, merchant=merchant, actor=actor, **settings
        ) as (checked, trail),
        transaction.atomic(),
    ):
        endpoint = _locked(merchant=merchant, endpoint_id=endpoint_id)
        for field, value in checked.items():
            setattr(endpoint, field, value)
        endpoint.save(update_fields=[*checked, "updated_at"])
        trail.succeeded(endpoint)
    return endpoint


def set_endpoint_enabled(
    *, merchant, endpoint_id: str, enabled: bool, actor: Actor = SYSTEM
) -> Endpoint:
    """Disable an endpoint (nothing is sent to it; what it missed stays pending), or
    enable it again: its pending deliveries are sent, at once when they are due."""
    action = Action.WEBHOOK_ENDPOINT_ENABLE if enabled else Action.WEBHOOK_ENDPOINT_DISABLE
    with _changing(action, endpoint_id, merchant=merchant, actor=actor) as (endpoint, trail):
        if enabled and not endpoint.is_enabled:
            endpoint.disabled_at, endpoint.disabled_reason = None, ""
            pending = list(
                # Those due now; later ones are the sweeper's when their time comes.
                endpoint.deliveries.filter(
                    status=Delivery.Status.PENDING, next_attempt_at__lte=timezone.now()
                ).values_list("id", flat=True)[:500]
            )
            outbox.enqueue_after_commit(pending)
        elif not enabled and endpoint.is_enabled:
            endpoint.disabled_at = timezone.now()
            endpoint.disabled_reason = Endpoint.DisabledReason.BY_MERCHANT
        endpoint.save(update_fields=["disabled_at", "disabled_reason", "updated_at"])
        trail.succeeded(endpoint)
    return endpoint


def delete_endpoint(*, merchant, endpoint_id: str, actor: Actor = SYSTEM) -> None:
    """Delete an endpoint and its delivery log (the events stay, in GET /events)."""
    action = Action.WEBHOOK_ENDPOINT_DELETE
    with _changing(action, endpoint_id, merchant=merchant, actor=actor) as (endpoint, trail):
        trail.succeeded(endpoint)
        endpoint.delete()


def rotate_secret(*, merchant, endpoint_id: str, actor: Actor = SYSTEM) -> tuple[Endpoint, str]:
    """A new signing secret, answered once. The one it replaces keeps signing beside
    it (two signatures in `webhook-signature`) for 24 hours, so receivers can switch
    without losing a message; a second rotation within them drops the oldest."""
    action = Action.WEBHOOK_SECRET_ROTATE
    with _changing(action, endpoint_id, merchant=merchant, actor=actor) as (endpoint, trail):
        secret = new_secret()
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + PREVIOUS_SECRET_LASTS
        endpoint.secret = secret
        endpoint.save(
            update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
        )
        trail.succeeded(endpoint)
    return endpoint, secret


def resend_delivery(*, merchant, endpoint_id: str, delivery_id: str) -> Delivery:
    """Send a delivery again now (one attempt, whatever its state; the retry schedule
    is unchanged). Refused for a disabled endpoint: enable it first."""
    queryset = Delivery.objects.filter(
        endpoint__merchant=merchant, endpoint_id=endpoint_id
    ).select_related("endpoint")
    delivery = found_or_not_found(queryset, delivery_id, name="delivery")
    if not delivery.endpoint.is_enabled:
        raise InvalidRequest("The endpoint is disabled: enable it to send to it again")
    outbox.enqueue_after_commit([delivery.id], resend=True)
    return delivery


def send_test_event(*, merchant, endpoint_id: str) -> Delivery:
    """A `webhook.test` event to this endpoint only, delivered as any other."""
    with transaction.atomic():
        endpoint = _locked(merchant=merchant, endpoint_id=endpoint_id)
        if not endpoint.is_enabled:
            raise InvalidRequest("The endpoint is disabled: enable it to send a test event")
        event = Event.objects.create(
            merchant=merchant,
            type=TEST_EVENT_TYPE,
            data={"message": "A test event from the back office", "endpointId": endpoint.id},
        )
        delivery = Delivery.objects.create(
            event=event, endpoint=endpoint, next_attempt_at=event.created_at
        )
        outbox.enqueue_after_commit([delivery.id])
    return delivery
