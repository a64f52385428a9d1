"""The webhook events of customers (SPEC 11), written in the transaction of the change
(webhooks.outbox); the data is the customer as GET /customers/{id} shows it."""

from __future__ import annotations

from core.api import answer_data
from webhooks import outbox

from .models import Customer
from .schemas import CustomerOut


def customer_json(customer: Customer) -> dict:
    return answer_data(CustomerOut.from_orm(customer))


def restrictions_changed(customer: Customer, changes: dict) -> None:
    """customer.restricted: its restrictions were set or lifted (the data says which
    are on now). A call that gave no field changed nothing, and is no event."""
    if changes:
        outbox.record(
            merchant_id=customer.merchant_id,
            types=["customer.restricted"],
            data=customer_json(customer),
        )


def blacklisted(customer: Customer) -> None:
    """customer.blacklisted, to the customer's merchant (the blacklist is platform-wide:
    every merchant with a customer of this email is told)."""
    customer.is_blacklisted = True  # what the event says: no need to ask the blacklist
    outbox.record(
        merchant_id=customer.merchant_id,
        types=["customer.blacklisted"],
        data=customer_json(customer),
    )
