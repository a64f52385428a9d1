"""Payments API (SPEC 3 and 4): schemas in, a service or selector call, the payment out.

Every rule lives in payments.services and payments.selectors; a refusal is a domain
error that the API answers in its error shape. Authentication, idempotency and the
error shape are applied to every operation by config.api.
"""

from django.http import HttpResponse
from ninja import Query

from core.api import ApiRouter, api_actor, api_merchant, errors
from customers.schemas import mark_blacklisted
from merchants.models import Merchant

from . import events, schemas, selectors, services
from .models import Payment

router = ApiRouter(tags=["payments"])


def _answer(*, merchant: Merchant, payment_id: str) -> Payment:
    """The payment as every endpoint answers it: read again after a write, with its
    customer and every transaction."""
    return selectors.get_payment(merchant=merchant, payment_id=payment_id)


@router.create("", schemas.PaymentOut, 403, summary="Create a payment")
def create_payment(request, payload: schemas.PaymentCreateIn):
    """Authorize (and capture, unless `capture` is false) a payment, synchronously.

    The customer checks come first: a blacklisted email, or a customer restricted for
    this initiator, answers 403 `customer_restricted` naming the `rule`, and creates
    nothing. A gateway decline answers 200 with `status: failed`.
    """
    merchant = api_merchant(request)
    customer = payload.customer
    payment = services.create_payment(
        merchant=merchant,
        actor=api_actor(request),
        amount=payload.amount,
        currency=payload.currency,
        customer_id=payload.customer_id,
        customer_email=customer.email if customer else None,
        customer_name=(customer.name or "") if customer else "",
        initiator=payload.initiator,
        capture=payload.capture,
        order_id=payload.order_id,
        metadata=payload.metadata,
    )
    return _answer(merchant=merchant, payment_id=payment.id)


@router.list_page("", schemas.PaymentListOut, summary="List payments")
def list_payments(request, filters: Query[schemas.PaymentListQuery]):
    """Newest first, one page at a time: `{"data": [...], "hasMore", "nextCursor"}`.
    For the next page pass `nextCursor` as `startingAfter`; it is null on the last.
    Filters combine: `search`, `displayStatus`, `createdFrom`/`createdTo` (days, both
    included), `currency`, and `amountMin`/`amountMax` (minor units, with `currency`)."""
    page = selectors.list_payments(
        merchant=api_merchant(request), with_transactions=True, **filters.model_dump()
    )
    mark_blacklisted(payment.customer for payment in page.items)
    return page


@router.retrieve("/{payment_id}", schemas.PaymentOut, summary="Retrieve a payment")
def get_payment(request, payment_id: str):
    return _answer(merchant=api_merchant(request), payment_id=payment_id)


@router.post(
    "/{payment_id}/capture",
    response={200: schemas.PaymentOut, **errors(400, 404)},
    summary="Capture a payment",
)
def capture_payment(request, payment_id: str, payload: schemas.CaptureIn | None = None):
    """Capture an authorization once, for `amount` (at most the authorized amount) or
    all of it. Refused (400 invalid_request) for a failed, voided or captured payment."""
    merchant = api_merchant(request)
    services.capture_payment(
        merchant=merchant,
        payment_id=payment_id,
        actor=api_actor(request),
        amount=payload.amount if payload else None,
    )
    return _answer(merchant=merchant, payment_id=payment_id)


@router.post(
    "/{payment_id}/reverse",
    response={200: schemas.PaymentOut, **errors(400, 404)},
    summary="Refund or void a payment",
)
def reverse_payment(request, payment_id: str, payload: schemas.ReverseIn | None = None):
    """Void an uncaptured payment (whole authorization only), or refund a captured one:
    `amount`, or everything still refundable when omitted. The body is optional.

    Refusals: 400 invalid_request when the payment failed or is fully reversed ("Payment
    cannot be reversed: …"); 400 validation_error (`param: amount`) for a partial void
    or a refund over what is left. The answer is the payment, the new reversal last in
    `transactions`: `pending` until the gateway answers, `succeeded` at once when
    `isExternal`.
    """
    merchant = api_merchant(request)
    payload = payload or schemas.ReverseIn()
    reversal = services.reverse_payment(
        merchant=merchant,
        payment_id=payment_id,
        actor=api_actor(request),
        amount=payload.amount,
        is_external=payload.is_external,
        reason=payload.reason,
        note=payload.note or "",
        order_id=payload.order_id,
        metadata=payload.metadata,
        currency=payload.currency,
    )
    # Answered from the row the service locked and updated, not read again, with the
    # text its webhook events carry: the payment is encoded once for both.
    answer = events.announced_answer(reversal.payment)
    return HttpResponse(answer, content_type="application/json; charset=utf-8")
