"""API schemas of payments (SPEC 3 and 4): camelCase in and out.

Input schemas are strict: an amount is a JSON integer (5.5, "5" and true are refused,
never rounded or coerced), unknown fields are refused, and every rule that needs the
database is left to payments.services, which raises the domain errors.
"""

from datetime import date, datetime
from typing import Annotated, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Field
from pydantic import ConfigDict, StringConstraints, field_validator

from core import money
from core.api import (
    BLANK_IS_NULL,
    NO_NUL,
    InputSchema,
    ListQuery,
    OutputSchema,
    PageOut,
    TextOrNull,
)
from customers.schemas import CustomerOut

from .models import (
    MAX_METADATA_KEY_LENGTH,
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_ORDER_ID_LENGTH,
    DisplayStatus,
    Payment,
    Transaction,
)

Amount = Annotated[int, Field(gt=0, le=money.MAX_AMOUNT, description="Minor units")]
Currency = Annotated[
    str, Field(pattern=r"^[A-Z]{3}$", description="Upper-case ISO 4217 code", examples=["USD"])
]
OrderId = Annotated[str, Field(max_length=MAX_ORDER_ID_LENGTH)]
MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=MAX_METADATA_KEY_LENGTH)]
MetadataValue = Annotated[str, StringConstraints(max_length=MAX_METADATA_VALUE_LENGTH)]
Metadata = Annotated[
    dict[MetadataKey, MetadataValue],
    Field(max_length=MAX_METADATA_KEYS, description="String keys to string values"),
]

# The API's enumerations are the model's (one home: the models' choices), in their order.
PaymentStatus = Literal[*Payment.Status.values]
Initiator = Literal[*Payment.Initiator.values]
DisplayStatusName = Literal[*DisplayStatus.values]
TransactionType = Literal[*Transaction.Type.values]
TransactionStatus = Literal[*Transaction.Status.values]
ReversalReason = Literal[*Transaction.Reason.values]


# --- in ---------------------------------------------------------------------------------


class CustomerDetailsIn(InputSchema):
    """The payment's customer by email: the merchant's customer with this email
    (compared case-insensitively), created when new."""

    email: str = Field(max_length=254)
    name: str | None = Field(None, max_length=200)

    @field_validator("email")
    @classmethod
    def email_is_an_address(cls, email: str) -> str:
        email = email.strip()
        try:
            validate_email(email)
        except DjangoValidationError:
            raise ValueError("Enter a valid email address") from None
        return email


class PaymentCreateIn(InputSchema):
    amount: Amount
    currency: Currency
    customer_id: str | None = Field(None, max_length=40, description="An existing customer")
    customer: CustomerDetailsIn | None = Field(
        None, description="Or a customer by email; give customerId or customer, not both"
    )
    initiator: Initiator = "CIT"
    capture: bool = Field(True, description="Capture at once (default) or only authorize")
    order_id: OrderId | None = None
    metadata: Metadata | None = None

    @field_validator("customer")
    @classmethod
    def not_both_customer_fields(cls, customer, info):
        if customer is not None and info.data.get("customer_id"):
            raise ValueError("Give customerId or customer, not both")
        return customer


class CaptureIn(InputSchema):
    amount: Amount | None = Field(None, description="At most the authorized amount; default all")


class ReverseIn(InputSchema):
    amount: Amount | None = Field(None, description="Default: everything still reversible")
    is_external: bool = Field(
        False, description="Record a reversal already done at the gateway; no gateway call"
    )
    reason: ReversalReason | None = Field(None, description="Default requested_by_customer")
    note: str | None = Field(
        None, max_length=MAX_NOTE_LENGTH, description="Required when the reason is other"
    )
    order_id: OrderId | None = Field(None, description="Default: the payment's orderId")
    metadata: Metadata | None = None
    currency: Currency | None = Field(None, description="When given, the payment's currency")


# --- out --------------------------------------------------------------------------------


class TransactionOut(OutputSchema):
    """One ledger entry of a payment. Text fields never set are null."""

    id: str
    type: TransactionType
    amount: int
    status: TransactionStatus
    is_external: bool
    reason: Annotated[ReversalReason | None, BLANK_IS_NULL]
    note: TextOrNull
    order_id: TextOrNull
    metadata: dict[str, str]
    gateway_reference: TextOrNull
    failure_reason: TextOrNull
    created_by: str = Field(
        description='Who acted: a user\'s email, "API key sk_test_abc…" or "system"'
    )
    created_at: datetime
    processed_at: datetime | None

    @staticmethod
    def resolve_created_by(txn: Transaction) -> str:
        return txn.actor_label


class ProcessorOut(OutputSchema):
    name: str | None = Field(description="The gateway: sandbox or stripe")
    reference: str | None = Field(description="The gateway's id for the payment")


class PaymentMethodOut(OutputSchema):
    """As the gateway reports it; never a full card number. Read from the JSON the
    payment stores, which is already in camelCase."""

    model_config = ConfigDict(validate_by_alias=True)

    type: Literal["card"]
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None
    country: str | None


class StatusReasonOut(OutputSchema):
    code: str = Field(description="Stable, e.g. card_declined")
    message: str = Field(description="For people")


class PaymentOut(OutputSchema):
    """A payment (SPEC 3) with its customer and its transactions, oldest first."""

    id: str
    order_id: TextOrNull
    amount: int
    currency: str
    status: PaymentStatus
    initiator: Initiator
    is_captured: bool
    amount_captured: int
    amount_reversed: int
    amount_reversal_pending: int
    amount_awaiting_approval: int = Field(
        description="Refunds asked in the dashboard waiting for a second admin's approval: "
        "not part of amountReversed, but no longer refundable"
    )
    is_reversed: bool
    is_fully_reversed: bool
    is_voided: bool
    is_chargebacked: bool
    chargeback_recorded_at: datetime | None
    amount_disputed: int = Field(
        description="The sum of the payment's disputes not won (SPEC 10), minor units"
    )
    display_status: DisplayStatusName
    processor: ProcessorOut
    payment_method: Annotated[PaymentMethodOut | None, BLANK_IS_NULL]
    status_reason: StatusReasonOut | None
    customer: CustomerOut | None
    metadata: dict[str, str]
    transactions: list[TransactionOut]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_processor(payment: Payment) -> dict:
        return {
            "name": payment.processor or None,
            "reference": payment.gateway_reference or None,
        }

    @staticmethod
    def resolve_transactions(payment: Payment) -> list[Transaction]:
        return list(payment.transactions.all())


class PaymentListOut(PageOut[PaymentOut]):
    """One page, newest first. Pass `nextCursor` as `startingAfter` for the next page."""


class PaymentListQuery(ListQuery):
    """Filters combine (SPEC 8.1)."""

    display_status: DisplayStatusName | None = Field(None, description="Only this status")
    search: str | None = Field(
        None,
        max_length=MAX_ORDER_ID_LENGTH,
        pattern=NO_NUL,
        description="In any case: the start of a payment id, an order id, a customer's "
        "email or customer id, or any part of a customer's name. A text that more than 1,000 "
        "customers or order ids match is refused (400 validation_error, param search); an "
        "order id typed whole is still found",
    )
    created_from: date | None = Field(None, description="Created on or after this day (UTC)")
    created_to: date | None = Field(None, description="Created on or before this day (UTC)")
    currency: Currency | None = Field(None, description="Only this currency")
    amount_min: int | None = Field(
        None, ge=0, le=money.MAX_AMOUNT, description="At least this, in minor units; needs currency"
    )
    amount_max: int | None = Field(
        None, ge=0, le=money.MAX_AMOUNT, description="At most this, in minor units; needs currency"
    )
