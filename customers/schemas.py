"""API schemas of customers (SPEC 5). `CustomerOut` is the customer object everywhere
the API shows one: embedded in a payment, and answered by the customer endpoints."""

from collections.abc import Iterable
from datetime import date, datetime

from ninja import Field

from core.api import NO_NUL, InputSchema, ListQuery, OutputSchema, PageOut, TextOrNull

from .models import MAX_EMAIL_LENGTH, MAX_NAME_LENGTH, MAX_REASON_LENGTH, Customer, normalize_email
from .selectors import blacklisted_emails, is_email_blacklisted


def mark_blacklisted(customers: Iterable[Customer | None]) -> None:
    """Set `is_blacklisted` on every customer of a page with one query, so a list of
    payments or customers never asks the blacklist once per row. `CustomerOut` reads
    the mark; an unmarked customer is looked up alone."""
    customers = [customer for customer in customers if customer is not None]
    blacklisted = blacklisted_emails(customer.email for customer in customers)
    for customer in customers:
        customer.is_blacklisted = normalize_email(customer.email) in blacklisted


class CustomerOut(OutputSchema):
    """A customer. Text fields never set are null."""

    id: str
    email: str
    name: TextOrNull
    restrict_cit: bool
    restrict_mit: bool
    restrict_reason: TextOrNull
    is_restricted: bool
    is_blacklisted: bool
    created_at: datetime

    @staticmethod
    def resolve_is_blacklisted(customer: Customer) -> bool:
        marked = getattr(customer, "is_blacklisted", None)
        if marked is not None:
            return marked
        return is_email_blacklisted(customer.email)


# --- the customers endpoints (customers.api) ---------------------------------------------


class CustomerCreateIn(InputSchema):
    email: str = Field(
        max_length=MAX_EMAIL_LENGTH, description="Trimmed; unique per merchant, any case"
    )
    name: str | None = Field(None, max_length=MAX_NAME_LENGTH)


class CustomerListQuery(ListQuery):
    search: str | None = Field(
        None,
        max_length=MAX_EMAIL_LENGTH,
        pattern=NO_NUL,
        description="In any case: the start of an email or a customer id, or any part of a name",
    )
    created_from: date | None = Field(None, description="Created on or after this day (UTC)")
    created_to: date | None = Field(None, description="Created on or before this day (UTC)")


class CustomerListOut(PageOut[CustomerOut]):
    """One page, newest first. Pass `nextCursor` as `startingAfter` for the next page."""


class RestrictionsIn(InputSchema):
    """Only the fields given change; null or absent leaves a field as it is."""

    restrict_cit: bool | None = Field(None, description="Refuse customer-initiated payments")
    restrict_mit: bool | None = Field(
        None,
        description="Refuse merchant-initiated payments; true also ends every active "
        "subscription of the customer at its current period's end",
    )
    restrict_reason: str | None = Field(
        None, max_length=MAX_REASON_LENGTH, description='Free text; "" clears it'
    )
