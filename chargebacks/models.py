from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils import timezone

from core import money
from core.ids import new_id
from core.models import MerchantQuerySet, optional_reference
from merchants.models import Merchant, RecordedBy

# Limits of a dispute's evidence (SPEC 10), defined once.
MAX_EVIDENCE_TEXT_LENGTH = 20_000
MAX_REASON_CODE_LENGTH = 20
MAX_EVIDENCE_FILES = 10
MAX_EVIDENCE_FILE_SIZE = 5 * 1024 * 1024
EVIDENCE_TEXT_FIELDS = (
    "product_description",
    "customer_communication",
    "refund_policy",
    "shipping_tracking_number",
    "uncategorized_text",
)


def new_dispute_id() -> str:
    return new_id("dp")


def new_dispute_file_id() -> str:
    return new_id("dpf")


def evidence_storage():
    """Where evidence files live: the `dispute_evidence` entry of settings.STORAGES
    (local files by default, any django-storages backend by setting)."""
    return storages[settings.DISPUTE_EVIDENCE_STORAGE]


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
        dispute = self.disputes.order_by("created_at").first()
        amount = dispute.amount if dispute else (payment.amount_captured or payment.amount)
        summary = {
            **payment.audit_summary()[1],
            "chargebackId": self.pk,
            "blacklistedCustomer": self.blacklisted_customer,
            "appliedRestrictions": self.applied_restrictions,
        }
        if dispute is not None:
            summary |= {
                "disputeId": dispute.id,
                "disputeAmount": dispute.amount,
                "reasonCategory": dispute.reason_category,
                "network": dispute.network,
            }
        return (
            f"chargeback on {self.payment_id}: blacklisted={self.blacklisted_customer}, "
            f"restrictions={self.applied_restrictions}; amount {payment.format_amount(amount)}",
            summary,
        )


class DisputeQuerySet(MerchantQuerySet):
    def overdue(self, *, now=None):
        return self.filter(
            status=Dispute.Status.NEEDS_RESPONSE, evidence_due_by__lt=now or timezone.now()
        )

    def not_overdue(self, *, now=None):
        return self.exclude(
            status=Dispute.Status.NEEDS_RESPONSE, evidence_due_by__lt=now or timezone.now()
        )


def queue_rank() -> Case:
    """The disputes queue's first key: 0 for a dispute that needs a response, 1 for the
    others. Indexed (dispute_queue_idx): the queue's first page reads 26 index entries
    instead of sorting all of a merchant's disputes."""
    return Case(
        When(status="needs_response", then=Value(0)), default=Value(1), output_field=IntegerField()
    )


class Dispute(RecordedBy):
    """A chargeback's lifecycle (SPEC 10): an amount taken back by the cardholder's bank,
    a reason, a deadline for evidence and the network's outcome.

    needs_response → under_review (evidence submitted) → won | lost;
    needs_response → accepted (the merchant gives up). The transitions live in
    chargebacks.services, each under the payment's row lock.
    """

    class Status(models.TextChoices):
        NEEDS_RESPONSE = "needs_response", "Needs response"
        UNDER_REVIEW = "under_review", "Under review"
        WON = "won", "Won"
        LOST = "lost", "Lost"
        ACCEPTED = "accepted", "Accepted"

    class Network(models.TextChoices):
        VISA = "visa", "Visa"
        MASTERCARD = "mastercard", "Mastercard"
        AMEX = "amex", "American Express"
        DISCOVER = "discover", "Discover"
        OTHER = "other", "Other"

        @classmethod
        def of_card_brand(cls, brand: object) -> str:
            """The network of a card brand as a gateway reports it ("Visa",
            "american_express"), else other: the one map of brands to networks."""
            brand = str(brand or "").lower()
            brand = {"american express": "amex", "american_express": "amex"}.get(brand, brand)
            return brand if brand in cls.values else cls.OTHER

    class ReasonCategory(models.TextChoices):
        FRAUDULENT = "fraudulent", "Fraudulent"
        PRODUCT_NOT_RECEIVED = "product_not_received", "Product not received"
        PRODUCT_UNACCEPTABLE = "product_unacceptable", "Product unacceptable"
        DUPLICATE = "duplicate", "Duplicate"
        SUBSCRIPTION_CANCELED = "subscription_canceled", "Subscription canceled"
        CREDIT_NOT_PROCESSED = "credit_not_processed", "Credit not processed"
        GENERAL = "general", "General"

    CLOSED_STATUSES = (Status.WON, Status.LOST, Status.ACCEPTED)

    id = models.CharField(primary_key=True, max_length=40, default=new_dispute_id, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="disputes")
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.PROTECT, related_name="disputes"
    )
    chargeback = optional_reference(Chargeback, related_name="disputes")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    network = models.CharField(max_length=20, choices=Network.choices, default=Network.OTHER)
    reason_code = models.CharField(max_length=MAX_REASON_CODE_LENGTH, blank=True)
    reason_category = models.CharField(
        max_length=30, choices=ReasonCategory.choices, default=ReasonCategory.GENERAL
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEEDS_RESPONSE)
    evidence_due_by = models.DateTimeField()

    product_description = models.TextField(blank=True)
    customer_communication = models.TextField(blank=True)
    refund_policy = models.TextField(blank=True)
    shipping_tracking_number = models.TextField(blank=True)
    uncategorized_text = models.TextField(blank=True)

    evidence_submitted_at = models.DateTimeField(null=True, blank=True)
    outcome_recorded_at = models.DateTimeField(null=True, blank=True)
    # The gateway's own id of the dispute (Stripe's du_…), when it came from the gateway.
    gateway_reference = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DisputeQuerySet.as_manager()

    class Meta:
        ordering = ["evidence_due_by", "id"]
        indexes = [
            models.Index(fields=["merchant", "evidence_due_by", "id"], name="dispute_due_idx"),
            models.Index(
                fields=["merchant", "status", "evidence_due_by", "id"],
                name="dispute_status_due_idx",
            ),
            models.Index(fields=["merchant", "-created_at"], name="dispute_recent_idx"),
            models.Index(
                F("merchant"), queue_rank(), F("evidence_due_by"), F("id"), name="dispute_queue_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="dispute_amount_positive"),
            models.CheckConstraint(
                condition=Q(
                    status__in=["needs_response", "under_review", "won", "lost", "accepted"]
                ),
                name="dispute_status_known",
            ),
            # Under review: the evidence was submitted. (A gateway may report a win on a
            # dispute answered in its own dashboard, so won does not require it here.)
            models.CheckConstraint(
                condition=~Q(status="under_review") | Q(evidence_submitted_at__isnull=False),
                name="dispute_review_follows_evidence",
            ),
            # Won, lost or accepted: when that was recorded is known.
            models.CheckConstraint(
                condition=Q(status__in=["needs_response", "under_review"])
                | Q(outcome_recorded_at__isnull=False),
                name="dispute_closed_has_outcome_time",
            ),
            models.UniqueConstraint(
                fields=["merchant", "gateway_reference"],
                condition=~Q(gateway_reference=""),
                name="dispute_gateway_reference_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def is_overdue(self) -> bool:
        return self.status == self.Status.NEEDS_RESPONSE and self.evidence_due_by < timezone.now()

    @property
    def is_closed(self) -> bool:
        return self.status in self.CLOSED_STATUSES

    @property
    def evidence(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in EVIDENCE_TEXT_FIELDS}

    @property
    def has_evidence(self) -> bool:
        return any(self.evidence.values())

    @property
    def days_left(self) -> int:
        """Whole days until the deadline (negative once past it)."""
        return (self.evidence_due_by - timezone.now()).days

    @property
    def amount_display(self) -> str:
        return money.format_minor(self.amount, self.currency)

    # --- why a transition cannot happen now (the one home of each rule) ---------------

    def evidence_refusal(self) -> str | None:
        if self.status != self.Status.NEEDS_RESPONSE:
            return f"the dispute is {self.get_status_display().lower()}, evidence is closed"
        return None

    def submit_refusal(self) -> str | None:
        if why := self.evidence_refusal():
            return why
        if self.is_overdue:
            return "the deadline for evidence has passed"
        return None

    def accept_refusal(self) -> str | None:
        if self.status != self.Status.NEEDS_RESPONSE:
            return f"the dispute is already {self.get_status_display().lower()}"
        return None

    def close_refusal(self, outcome: str, *, reported_by_gateway: bool = False) -> str | None:
        if self.status == self.Status.UNDER_REVIEW:
            return None
        if self.status == self.Status.NEEDS_RESPONSE:
            # The network rules a dispute left without answer past its deadline as lost;
            # and the gateway's word on a decision is the decision, whatever we saw.
            if reported_by_gateway or (outcome == self.Status.LOST and self.is_overdue):
                return None
            return "the dispute is waiting for evidence; submit it first"
        return f"the dispute is already {self.get_status_display().lower()}"

    def audit_summary(self) -> tuple[str, dict]:
        return (
            f"dispute {self.id} on {self.payment_id}: {self.status}, amount {self.amount_display}",
            {
                "disputeId": self.id,
                "paymentId": self.payment_id,
                "customerId": self.payment.customer_id,
                "amount": self.amount,
                "currency": self.currency,
                "status": self.status,
                "network": self.network,
                "reasonCategory": self.reason_category,
                "reasonCode": self.reason_code,
                "evidenceDueBy": self.evidence_due_by.isoformat(),
                "amountDisputed": self.payment.amount_disputed,
            },
        )


def evidence_upload_to(instance: "DisputeFile", filename: str) -> str:
    # Never the uploader's name on disk: only our ids (the name is kept on the row).
    extension = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}
    suffix = extension.get(instance.content_type, "bin")
    return f"disputes/{instance.merchant_id}/{instance.dispute_id}/{instance.id}.{suffix}"


class DisputeFile(RecordedBy):
    """One evidence file of a dispute (PDF, PNG or JPEG, checked by content)."""

    id = models.CharField(
        primary_key=True, max_length=40, default=new_dispute_file_id, editable=False
    )
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="files")
    file = models.FileField(upload_to=evidence_upload_to, storage=evidence_storage, max_length=255)
    name = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    content_type = models.CharField(max_length=50)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MerchantQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(size__gt=0, size__lte=MAX_EVIDENCE_FILE_SIZE),
                name="dispute_file_size_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(content_type__in=["application/pdf", "image/png", "image/jpeg"]),
                name="dispute_file_type_allowed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    def audit_summary(self) -> tuple[str, dict]:
        dispute = self.dispute
        return (
            f"evidence file {self.name} ({self.content_type}, {self.size} bytes) "
            f"on dispute {dispute.id}",
            {
                **dispute.audit_summary()[1],
                "fileId": self.id,
                "fileName": self.name,
                "size": self.size,
                "contentType": self.content_type,
            },
        )
