"""Chargebacks API (SPEC 6): record a chargeback on a payment, answer the payment.

The rules live in chargebacks.services; authentication, idempotency and the error
shape are applied to every operation by config.api.
"""

from ninja import Field, Router

from core.api import InputSchema, api_actor, api_merchant, errors
from customers.models import MAX_REASON_LENGTH
from customers.schemas import RestrictionsIn
from payments.schemas import PaymentOut

from . import services

router = Router(tags=["chargebacks"])


class RecordChargebackIn(InputSchema):
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
    response={200: PaymentOut, **errors(400, 404, 409)},
    summary="Record a chargeback",
)
def record_chargeback(request, payment_id: str, payload: RecordChargebackIn | None = None):
    """Mark the payment chargebacked (`isChargebacked`, `chargebackRecordedAt`, a
    `chargeback` transaction), optionally blacklisting and/or restricting its customer,
    all in one database transaction. The body is optional.

    Refusals: 409 `conflict` when a chargeback is already recorded; 400
    `validation_error` (`param: blacklistCustomer` or `customerRestrictions`) when the
    payment has no customer to act on. Capture and reversal stay possible afterwards.
    The answer is the payment, its customer showing the new restrictions.
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
    )
