"""The webhook events of disputes (SPEC 11), written in the transaction of the change
(webhooks.outbox); the data is the dispute as GET /disputes/{id} shows it.

    dispute.created   a dispute was opened (a chargeback recorded, or Stripe's webhook)
    dispute.updated   its evidence was submitted: under_review
    dispute.closed    it was decided: won, lost, or accepted by the merchant

Drafts of evidence and files added are not events: a receiver hears of the evidence
once, when it is submitted."""

from __future__ import annotations

from core.api import answer_data
from webhooks import outbox

from .models import Dispute
from .schemas import DisputeOut


def dispute_json(dispute: Dispute) -> dict:
    return answer_data(DisputeOut.from_orm(dispute))


def _record(dispute: Dispute, event_type: str) -> None:
    outbox.record(merchant_id=dispute.merchant_id, types=[event_type], data=dispute_json(dispute))


def dispute_opened(dispute: Dispute) -> None:
    _record(dispute, "dispute.created")


def evidence_submitted(dispute: Dispute) -> None:
    _record(dispute, "dispute.updated")


def dispute_decided(dispute: Dispute) -> None:
    _record(dispute, "dispute.closed")
