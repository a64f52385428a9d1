"""Webhooks to the merchant (SPEC 11): endpoints, the events of the outbox, and the
delivery of each event to each subscribed endpoint with every attempt logged."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.ids import new_id
from core.models import MerchantQuerySet, newest_first_index

# Every event type a merchant can subscribe to. Adding one is one line here and one
# `outbox.record(...)` call in the service that makes the change.
EVENT_TYPES: dict[str, str] = {
    "payment.created": "A payment was authorized (and captured, unless it was asked not to be)",
    "payment.captured": "An authorized payment was captured",
    "payment.failed": "A payment was declined or got no answer from the gateway",
    "payment.voided": "An authorization was voided",
    "refund.created": "A refund was asked for (pending until the gateway answers)",
    "refund.succeeded": "A refund succeeded",
    "refund.failed": "A refund was declined by the gateway",
    "customer.restricted": "A customer's payment restrictions changed",
    "customer.blacklisted": "A customer's email was blacklisted",
    "dispute.created": "A dispute was opened",
    "dispute.updated": "A dispute's evidence was submitted (under review)",
    "dispute.closed": "A dispute was closed",
}
# Sent only by "Send test event", only to the endpoint it was asked for.
TEST_EVENT_TYPE = "webhook.test"
MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 200
RESPONSE_KEPT_BYTES = 1024


def new_endpoint_id() -> str:
    return new_id("we")


def new_event_id() -> str:
    return new_id("evt")


def new_delivery_id() -> str:
    return new_id("whd")


class Endpoint(models.Model):
    """A URL of the merchant's that receives the events it subscribed to, signed with
    its secret. The secret must be kept in clear (we sign with it); it is shown once,
    at creation and at each rotation. After a rotation the previous secret keeps
    signing beside the new one until `previous_secret_expires_at`."""

    class DisabledReason(models.TextChoices):
        BY_MERCHANT = "by_merchant", "Disabled by a merchant admin"
        FAILING = "failing", "Disabled after every retry of a delivery failed"

    id = models.CharField(primary_key=True, max_length=40, default=new_endpoint_id)
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="webhook_endpoints"
    )
    url = models.CharField(max_length=MAX_URL_LENGTH)
    description = models.CharField(max_length=MAX_DESCRIPTION_LENGTH, blank=True)
    event_types = models.JSONField(default=list)
    secret = models.CharField(max_length=100, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(
        max_length=20, choices=DisabledReason.choices, blank=True, default=""
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = MerchantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        permissions = [("manage_webhooks", "Can manage the merchant's webhook endpoints")]
        indexes = [models.Index(fields=["merchant", "disabled_reason"], name="wh_endpoint_reason")]

    def __str__(self) -> str:
        return self.url

    @property
    def is_enabled(self) -> bool:
        return self.disabled_at is None

    @property
    def is_failing(self) -> bool:
        return self.disabled_reason == self.DisabledReason.FAILING

    def audit_summary(self) -> tuple[str, dict]:
        state = "enabled" if self.is_enabled else f"disabled ({self.disabled_reason})"
        return (
            f"webhook endpoint {self.url} ({', '.join(self.event_types)}): {state}",
            {
                "endpointId": self.id,
                "url": self.url,
                "eventTypes": self.event_types,
                "enabled": self.is_enabled,
            },
        )

    def subscribes_to(self, event_type: str) -> bool:
        return event_type in self.event_types

    def signing_secrets(self, *, now=None) -> list[str]:
        """The secrets a message is signed with now: the current one, and the previous
        one while its 24 hours after a rotation last."""
        now = now or timezone.now()
        secrets = [self.secret]
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and now < expires:
            secrets.append(self.previous_secret)
        return secrets


class Event(models.Model):
    """Something that happened to a merchant's object, written in the same database
    transaction as the change itself (a transactional outbox): never an event for a
    change that rolled back, never a change without its event."""

    id = models.CharField(primary_key=True, max_length=40, default=new_event_id)
    # Indexed by wh_event_newest, which leads with it.
    merchant = models.ForeignKey(
        "merchants.Merchant",
        on_delete=models.PROTECT,
        related_name="webhook_events",
        db_index=False,
    )
    type = models.CharField(max_length=50)
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = MerchantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            newest_first_index("merchant", name="wh_event_newest"),
            newest_first_index("merchant", "type", name="wh_event_type_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"

    def payload(self) -> dict:
        """What is POSTed to the endpoints (Standard Webhooks' shape)."""
        return {
            "id": self.id,
            "type": self.type,
            "timestamp": self.created_at.isoformat().replace("+00:00", "Z"),
            "data": self.data,
        }


class Delivery(models.Model):
    """One event to one endpoint: pending until an attempt answers 2xx (succeeded) or
    the retry schedule is exhausted (failed)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.CharField(primary_key=True, max_length=40, default=new_delivery_id)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    # Indexed by wh_delivery_newest, which leads with it.
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Attempts of the retry schedule (a manual resend is an attempt, not one of these).
    scheduled_attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    # Who may send it now: a worker holds it until then (never two at once).
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="wh_delivery_due",
                condition=models.Q(status="pending"),
            ),
            newest_first_index("endpoint", name="wh_delivery_newest"),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id}"


class Attempt(models.Model):
    """One POST of a delivery, as it went: the answer's status code, how long it took,
    the first 1 KB of the answer, or the error when none came."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="wh_attempt_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"
