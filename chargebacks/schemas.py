"""API schemas of disputes (SPEC 10): camelCase in and out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.urls import reverse
from ninja import Field
from pydantic import AwareDatetime

from core.api import InputSchema, ListQuery, OutputSchema, PageOut, TextOrNull
from payments.schemas import Amount, PaymentOut

from .models import (
    EVIDENCE_TEXT_FIELDS,
    MAX_EVIDENCE_TEXT_LENGTH,
    MAX_REASON_CODE_LENGTH,
    Dispute,
    DisputeFile,
)

# The API's enumerations are the model's (one home: Dispute's choices), in their order.
DisputeStatus = Literal[*Dispute.Status.values]
Network = Literal[*Dispute.Network.values]
ReasonCategory = Literal[*Dispute.ReasonCategory.values]
Outcome = Literal["won", "lost"]

# A date and time with its offset ("2026-12-01T00:00:00Z"), read from JSON text.
Deadline = Annotated[AwareDatetime, Field(strict=False)]
EvidenceText = Annotated[str, Field(max_length=MAX_EVIDENCE_TEXT_LENGTH)]


# --- in ---------------------------------------------------------------------------------


class DisputeTermsIn(InputSchema):
    """What record-chargeback accepts about the dispute it opens (SPEC 10)."""

    amount: Amount | None = Field(
        None, description="Default: the captured amount; at most the captured amount"
    )
    network: Network | None = Field(None, description="Default other")
    reason_code: str | None = Field(
        None, max_length=MAX_REASON_CODE_LENGTH, description='The network\'s code, e.g. "10.4"'
    )
    reason_category: ReasonCategory | None = Field(None, description="Default general")
    evidence_due_by: Deadline | None = Field(
        None, description="Default: now + DISPUTE_RESPONSE_DAYS (14)"
    )

    def dispute_terms(self) -> dict:
        """The terms as the services take them (services.record_chargeback's keywords)."""
        return {name: getattr(self, name) for name in DisputeTermsIn.model_fields}


class EvidenceIn(InputSchema):
    """Evidence fields to save (the others stay as they are; "" clears one); `submit`
    sends all of it to the network, after which nothing can change."""

    product_description: EvidenceText | None = None
    customer_communication: EvidenceText | None = None
    refund_policy: EvidenceText | None = None
    shipping_tracking_number: EvidenceText | None = None
    uncategorized_text: EvidenceText | None = None
    submit: bool = Field(False, description="Submit the evidence (once) after saving")

    def evidence(self) -> dict[str, str]:
        return {
            name: getattr(self, name)
            for name in EVIDENCE_TEXT_FIELDS
            if getattr(self, name) is not None
        }


class CloseIn(InputSchema):
    outcome: Outcome = Field(description="The network's decision")


class DisputeListQuery(ListQuery):
    status: DisputeStatus | None = Field(None, description="Only this status")
    overdue: bool | None = Field(
        None, description="true: needs a response and past its deadline; false: the others"
    )
    due_before: Deadline | None = Field(None, description="Evidence due before this time")


# --- out --------------------------------------------------------------------------------


class DisputeFileOut(OutputSchema):
    """An evidence file (PDF, PNG or JPEG, checked by content)."""

    id: str
    name: str
    size: int = Field(description="Bytes")
    content_type: Literal["application/pdf", "image/png", "image/jpeg"]
    url: str = Field(description="Where the merchant's keys download it")
    created_at: datetime

    @staticmethod
    def resolve_url(evidence_file: DisputeFile) -> str:
        return reverse(
            "api:download_dispute_file",
            kwargs={"dispute_id": evidence_file.dispute_id, "file_id": evidence_file.id},
        )


class EvidenceOut(OutputSchema):
    product_description: str
    customer_communication: str
    refund_policy: str
    shipping_tracking_number: str
    uncategorized_text: str
    files: list[str] = Field(description="Ids of the evidence files")


class DisputeOut(OutputSchema):
    """A dispute (SPEC 10)."""

    id: str
    payment_id: str
    amount: int
    currency: str
    network: Network
    reason_code: TextOrNull
    reason_category: ReasonCategory
    status: DisputeStatus
    evidence_due_by: datetime
    is_overdue: bool
    evidence: EvidenceOut
    evidence_files: list[DisputeFileOut]
    evidence_submitted_at: datetime | None
    outcome_recorded_at: datetime | None
    gateway_reference: TextOrNull
    created_by: str = Field(
        description='Who recorded it: a user\'s email, "API key sk_test_abc…" or "system"'
    )
    created_at: datetime

    @staticmethod
    def resolve_evidence(dispute: Dispute) -> dict:
        return {**dispute.evidence, "files": [f.id for f in dispute.files.all()]}

    @staticmethod
    def resolve_evidence_files(dispute: Dispute) -> list[DisputeFile]:
        return list(dispute.files.all())

    @staticmethod
    def resolve_created_by(dispute: Dispute) -> str:
        return dispute.actor_label


class DisputeListOut(PageOut[DisputeOut]):
    """One page, soonest deadline first. Pass `nextCursor` as `startingAfter`."""


class PaymentWithDisputesOut(PaymentOut):
    """The payment, with its disputes (oldest first)."""

    disputes: list[DisputeOut]

    @staticmethod
    def resolve_disputes(payment) -> list[Dispute]:
        return list(payment.disputes.prefetch_related("files").order_by("created_at", "id"))
