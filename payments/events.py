"""The webhook events of payments (SPEC 11): which event a change is, and its data, the
payment as GET /payments/{id} shows it. Each function is called by payments.services
or payments.delivery inside the transaction that makes the change, and writes the
event there (webhooks.outbox): it commits or rolls back with the change."""

from __future__ import annotations

import json

from core.api import answer_text
from customers.selectors import is_email_blacklisted
from webhooks import outbox

from .models import Payment, Transaction
from .schemas import PaymentOut
from .selectors import with_ledger

Type = Transaction.Type

# A gateway's answer to a pending operation, as an event (none for the others).
OUTCOME_EVENTS = {
    (Type.CAPTURE, True): "payment.captured",
    (Type.REFUND, True): "refund.succeeded",
    (Type.REFUND, False): "refund.failed",
    (Type.VOID, True): "payment.voided",
}


def payment_answer(payment: Payment) -> str:
    """The payment as the API answers it (GET /payments/{id}), as JSON text: its
    customer and every transaction, written as ninja writes an answer (times to the
    millisecond). The customer's blacklist mark is kept on it: the one the payment was
    read with (services.locked_payment), else looked up once."""
    customer = payment.customer
    if customer is not None and getattr(customer, "is_blacklisted", None) is None:
        read = getattr(payment, "customer_blacklist_mark", None)
        customer.is_blacklisted = is_email_blacklisted(customer.email, mark=read)
    return answer_text(PaymentOut.from_orm(with_ledger(payment)))


def announced_answer(payment: Payment) -> str:
    """The text of the last event recorded for this payment object, else the payment
    encoded now: a reversal is answered with what its webhooks carry, encoded once."""
    return getattr(payment, "_announced", None) or payment_answer(payment)


def _record(payment: Payment, *event_types: str) -> None:
    """Each of `event_types`, with the payment as it is now (encoded once, kept on the
    object for the API's answer: the events and the answer are the same text)."""
    if not event_types:
        return
    payment._announced = payment_answer(payment)
    outbox.record(
        merchant_id=payment.merchant_id, types=event_types, data=json.loads(payment._announced)
    )


def payment_created(payment: Payment) -> None:
    """payment.created (authorized, and captured unless asked not to be), or
    payment.failed (declined, or no answer from the gateway)."""
    failed = payment.status == Payment.Status.FAILED
    _record(payment, "payment.failed" if failed else "payment.created")


def reversal_recorded(payment: Payment, reversal: Transaction) -> None:
    """refund.created for a refund (pending); one recorded as already done at the
    gateway (isExternal) has succeeded too: refund.succeeded, or payment.voided."""
    created = ["refund.created"] if reversal.type == Type.REFUND else []
    done = reversal.status == Transaction.Status.SUCCEEDED
    outcome = OUTCOME_EVENTS.get((Type(reversal.type), True)) if done else None
    _record(payment, *created, *([outcome] if outcome else []))


def gateway_answered(payment: Payment, txn: Transaction) -> None:
    """The gateway's answer to a capture, refund or void, when it is an event."""
    succeeded = txn.status == Transaction.Status.SUCCEEDED
    if event_type := OUTCOME_EVENTS.get((Type(txn.type), succeeded)):
        _record(payment, event_type)
