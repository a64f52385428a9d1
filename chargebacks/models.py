from django.db import models

from merchants.models import Merchant, RecordedBy


class Chargeback(RecordedBy):
    """A chargeback recorded on a payment (at most one per payment)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="chargebacks")
    payment = models.OneToOneField(
        "payments.Payment", on_delete=models.PROTECT, related_name="chargeback"
    )
    blacklisted_customer = models.BooleanField(default=False)
    applied_restrictions = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["merchant", "-created_at"], name="chargeback_recent_idx")]

    def __str__(self) -> str:
        return f"Chargeback on {self.payment_id}"

    def audit_summary(self) -> tuple[str, dict]:
        payment = self.payment
        amount = payment.amount_captured or payment.amount
        return (
            f"chargeback on {self.payment_id}: blacklisted={self.blacklisted_customer}, "
            f"restrictions={self.applied_restrictions}; amount {payment.format_amount(amount)}",
            {
                **payment.audit_summary()[1],
                "chargebackId": self.pk,
                "blacklistedCustomer": self.blacklisted_customer,
                "appliedRestrictions": self.applied_restrictions,
            },
        )
