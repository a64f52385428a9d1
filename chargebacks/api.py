"""Chargebacks and disputes API (SPEC 6 and 10): record a chargeback on a payment (which
opens its dispute), then list, read and move the disputes.

The rules live in chargebacks.services; authentication, idempotency and the error
shape are applied to every operation by config.api.
"""

from django.http import FileResponse
from ninja import Field, File, Query
from ninja.files import UploadedFile

from core.api import ApiRouter, api_actor, api_merchant, errors
from customers.models import MAX_REASON_LENGTH
from customers.schemas import RestrictionsIn

from . import selectors, services
from .models import DisputeFile
from .schemas import (
    CloseIn,
    DisputeFileOut,
    DisputeListOut,
    DisputeListQuery,
    DisputeOut,
    DisputeTermsIn,
    EvidenceIn,
    PaymentWithDisputesOut,
)

router = ApiRouter(tags=["chargebacks"])
disputes_router = ApiRouter(tags=["disputes"])


class RecordChargebackIn(DisputeTermsIn):
    blacklist_customer: bool = Field(
        False,
        description="Blacklist the customer's email at every merchant (source: this "
        "chargeback): every later payment of that email is refused",
    )
    blacklist_reason: str | None = Field(
        None, max_length=MAX_REASON_LENGTH, description="Why; kept on the blacklist entry"
    )
    customer_restrictions: RestrictionsIn | None = Field(
        None, description="As POST /customers/{id}/restrictions, for the payment's customer"
    )


@router.post(
    "/payments/{payment_id}/record-chargeback",
    response={200: PaymentWithDisputesOut, **errors(400, 404, 409)},
    summary="Record a chargeback",
)
def record_chargeback(request, payment_id: str, payload: RecordChargebackIn | None = None):
    """Mark the payment chargebacked (`isChargebacked`, `chargebackRecordedAt`, a
    `chargeback` transaction) and open its dispute (`amount` default the captured
    amount, `network`, `reasonCode`, `reasonCategory`, `evidenceDueBy` default 14
    days), optionally blacklisting and/or restricting its customer, all in one
    database transaction. The body is optional.

    Refusals: 409 `conflict` when a chargeback is already recorded; 400
    `validation_error` (`param: blacklistCustomer` or `customerRestrictions`) when the
    payment has no customer to act on, (`param: amount`) for an amount over the
    captured amount. Capture and reversal stay possible afterwards. The answer is the
    payment, its customer showing the new restrictions, its `disputes` embedded.
    """
    payload = payload or RecordChargebackIn()
    restrictions = None
    if payload.customer_restrictions is not None:
        restrictions = payload.customer_restrictions.model_dump(exclude_none=True)
    return services.record_chargeback(
        merchant=api_merchant(request),
        payment_id=payment_id,
        actor=api_actor(request),
        blacklist_customer=payload.blacklist_customer,
        blacklist_reason=payload.blacklist_reason,
        customer_restrictions=restrictions,
        **payload.dispute_terms(),
    )


@disputes_router.list_page("/disputes", DisputeListOut, summary="List disputes")
def list_disputes(request, filters: Query[DisputeListQuery]):
    """Soonest evidence deadline first, one page at a time: `{"data", "hasMore",
    "nextCursor"}`; pass `nextCursor` as `startingAfter`. Filters combine: `status`,
    `overdue`, `dueBefore`."""
    return selectors.list_disputes(merchant=api_merchant(request), **filters.model_dump())


@disputes_router.retrieve("/disputes/{dispute_id}", DisputeOut, summary="Retrieve a dispute")
def get_dispute(request, dispute_id: str):
    return services.get_dispute(merchant=api_merchant(request), dispute_id=dispute_id)


@disputes_router.post(
    "/disputes/{dispute_id}/evidence",
    response={200: DisputeOut, **errors(400, 404, 409)},
    summary="Save or submit a dispute's evidence",
)
def stage_dispute_evidence(request, dispute_id: str, payload: EvidenceIn):
    """Save evidence fields (a merge: fields not sent stay as they are; "" clears one),
    each at most 20,000 characters. With `submit: true` the evidence goes to the
    network once: status `under_review`; afterwards any evidence answers 409. Refused
    with 409 unless the dispute needs a response (or, to submit, past its deadline)."""
    return services.stage_evidence(
        merchant=api_merchant(request),
        actor=api_actor(request),
        dispute_id=dispute_id,
        evidence=payload.evidence(),
        submit=payload.submit,
    )


@disputes_router.post(
    "/disputes/{dispute_id}/files",
    response={200: DisputeFileOut, **errors(400, 404, 409)},
    summary="Add an evidence file",
)
def add_dispute_file(request, dispute_id: str, file: File[UploadedFile]):
    """One file per request, `multipart/form-data` field `file`: a PDF, PNG or JPEG
    (recognised by its content, not its name), at most 5 MB, at most 10 files a
    dispute (400 `validation_error`, `param: file`). Only while the dispute needs a
    response (409). Answers the file: `{id, name, size, contentType}`."""
    return services.add_evidence_file(
        merchant=api_merchant(request),
        actor=api_actor(request),
        dispute_id=dispute_id,
        upload=file,
    )


BINARY = {"schema": {"type": "string", "format": "binary"}}


@disputes_router.get(
    "/disputes/{dispute_id}/files/{file_id}",
    response={200: None, **errors(404)},
    summary="Download an evidence file",
    url_name="download_dispute_file",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file",
                "content": {
                    "application/pdf": BINARY,
                    "image/png": BINARY,
                    "image/jpeg": BINARY,
                },
            }
        }
    },
)
def download_dispute_file(request, dispute_id: str, file_id: str):
    """The evidence file's bytes, as an attachment; only to the merchant's keys."""
    return file_response(
        selectors.get_dispute_file(
            merchant=api_merchant(request), dispute_id=dispute_id, file_id=file_id
        )
    )


def file_response(evidence_file: DisputeFile) -> FileResponse:
    response = FileResponse(
        evidence_file.file.open("rb"),
        as_attachment=True,
        filename=evidence_file.name,
        content_type=evidence_file.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@disputes_router.post(
    "/disputes/{dispute_id}/accept",
    response={200: DisputeOut, **errors(404, 409)},
    summary="Accept a dispute",
)
def accept_dispute(request, dispute_id: str):
    """Give up the dispute: `needs_response` → `accepted`; the amount stays disputed.
    Any other status answers 409."""
    return services.accept_dispute(
        merchant=api_merchant(request), actor=api_actor(request), dispute_id=dispute_id
    )


@disputes_router.post(
    "/disputes/{dispute_id}/close",
    response={200: DisputeOut, **errors(400, 404, 409)},
    summary="Record a dispute's outcome",
)
def close_dispute(request, dispute_id: str, payload: CloseIn):
    """Record the network's decision on a dispute under review: `won` gives the amount
    back (a `chargeback_reversal` transaction; `amountDisputed` shrinks) and `lost`
    keeps it out. A dispute left unanswered past its deadline can be `lost`. Any other
    status answers 409."""
    return services.close_dispute(
        merchant=api_merchant(request),
        actor=api_actor(request),
        dispute_id=dispute_id,
        outcome=payload.outcome,
    )
