"""What the payment gateway told us by webhook: one row per event id, so an event is
handled once however many times it is delivered (SPEC 10)."""

from django.db import models


class ReceivedEvent(models.Model):
    """An event the gateway sent and we handled (or knowingly ignored). Written in the
    transaction of its effect: an effect that rolled back leaves no row, so the gateway's
    next delivery is handled again; a committed one makes every later delivery a no-op."""

    class Gateway(models.TextChoices):
        STRIPE = "stripe", "Stripe"

    gateway = models.CharField(max_length=20, choices=Gateway.choices)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    livemode = models.BooleanField(default=False)
    # What the event did here, in words ("refund txn_… succeeded", "ignored: …").
    outcome = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "event_id"], name="received_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.event_id} {self.type}"
