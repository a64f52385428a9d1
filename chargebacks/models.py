from django.conf import settings
from django.db import models

from merchants.models import Merchant


class Chargeback(models.Model):
    """A chargeback recorded on a payment (at most one per payment)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="chargebacks")
    payment = models.OneToOneField(
        "payments.Payment", on_delete=models.PROTECT, related_name="chargeback"
    )
    blacklisted_customer = models.BooleanField(default=False)
    applied_restrictions = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by_api_key = models.ForeignKey(
        "merchants.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["merchant", "-created_at"], name="chargeback_recent_idx")]

    def __str__(self) -> str:
        return f"Chargeback on {self.payment_id}"
