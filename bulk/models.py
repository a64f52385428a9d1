"""A bulk refund: a CSV of refunds checked row by row (the dry run), confirmed by an
agent, then run by a Celery job, each row through payments.services.reverse_payment
exactly once (SPEC 12)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from core import money
from core.ids import new_id
from core.models import MerchantQuerySet, optional_reference
from merchants.models import Merchant
from payments.models import MAX_NOTE_LENGTH, Transaction

MAX_PAYMENT_ID_LENGTH = 255
MAX_AMOUNT_TEXT_LENGTH = 64


def new_batch_id() -> str:
    return new_id("rfb")


class RefundBatch(models.Model):
    """One uploaded file. Draft (the dry run) until an agent confirms it; then running
    until every good row is done, or canceled."""

    class State(models.TextChoices):
        DRAFT = "draft", "Dry run, awaiting confirmation"
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        CANCELED = "canceled", "Canceled"

    id = models.CharField(primary_key=True, max_length=40, default=new_batch_id, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="refund_batches")
    filename = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    rows_total = models.PositiveIntegerField(default=0)
    rows_ok = models.PositiveIntegerField(default=0)
    # What the dry run found refundable, per currency: {"USD": 12500, ...} (minor units).
    totals = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_by = optional_reference(settings.AUTH_USER_MODEL)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The job's last sign of life: a running batch silent for long is resumed.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    objects = MerchantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["merchant", "-created_at"], name="refund_batch_recent_idx"),
            models.Index(
                fields=["heartbeat_at"],
                name="refund_batch_running_idx",
                condition=Q(state="running"),
            ),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def is_active(self) -> bool:
        return self.state in (self.State.DRAFT, self.State.RUNNING)

    def totals_display(self) -> list[tuple[str, str]]:
        return [
            (code, money.format_minor(amount, code)) for code, amount in sorted(self.totals.items())
        ]

    def audit_summary(self) -> tuple[str, dict]:
        totals = ", ".join(text for _, text in self.totals_display()) or "nothing"
        return (
            f"refund batch {self.id} ({self.filename or 'upload'}): {self.state}; "
            f"{self.rows_ok} of {self.rows_total} rows good, totalling {totals}",
            {
                "batchId": self.id,
                "state": self.state,
                "rowsTotal": self.rows_total,
                "rowsOk": self.rows_ok,
                "totals": self.totals,
            },
        )


class BatchRow(models.Model):
    """One row of the file (its `number` counts data rows from 1, the header not
    included) with its dry-run verdict, then what the job did with it."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "To refund"  # good in the dry run, not run yet
        REFUSED = "refused", "Refused in the dry run"
        REFUNDED = "refunded", "Refunded"
        FAILED = "failed", "Failed"  # the service refused it when the job ran
        CANCELED = "canceled", "Canceled"

    batch = models.ForeignKey(RefundBatch, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField()
    payment_id = models.CharField(max_length=MAX_PAYMENT_ID_LENGTH, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    amount_text = models.CharField(max_length=MAX_AMOUNT_TEXT_LENGTH, blank=True)
    # What the file asked (None: everything refundable when the row runs) and what the
    # dry run expects it to refund.
    amount = models.BigIntegerField(null=True, blank=True)
    planned_amount = models.BigIntegerField(default=0)
    reason = models.CharField(max_length=30, blank=True)
    note = models.CharField(max_length=MAX_NOTE_LENGTH, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    error = models.TextField(blank=True)
    # Set in the transaction that made the refund: the row's idempotency record.
    refund = models.OneToOneField(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["batch", "number"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "number"], name="batch_row_number_unique"),
            models.CheckConstraint(
                condition=Q(outcome="refunded", refund__isnull=False)
                | (~Q(outcome="refunded") & Q(refund__isnull=True)),
                name="batch_row_refunded_has_refund",
            ),
        ]
        indexes = [
            models.Index(fields=["batch", "outcome", "number"], name="batch_row_outcome_idx")
        ]

    def __str__(self) -> str:
        return f"{self.batch_id} row {self.number}"

    @property
    def reason_label(self) -> str:
        if self.reason in Transaction.Reason.values:
            return Transaction.Reason(self.reason).label
        return self.reason

    @property
    def amount_display(self) -> str:
        """What the row refunds (or would): the refund's amount once made, else the
        dry run's plan, else what the file said."""
        if self.currency and self.refund_id:
            return money.format_minor(self.refund.amount, self.currency)
        if self.currency and self.planned_amount:
            return money.format_minor(self.planned_amount, self.currency)
        return self.amount_text
