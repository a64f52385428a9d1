"""API schemas of customers (SPEC 5). `CustomerOut` is the customer object everywhere
the API shows one: embedded in a payment, and answered by the customer endpoints."""

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import ConfigDict, Strict
from pydantic.alias_generators import to_camel

from payments import money

from .models import BlacklistEntry, Customer, Subscription, normalize_email
from .services import is_email_blacklisted


def mark_blacklisted(customers: Iterable[Customer | None]) -> None:
    """Set `is_blacklisted` on every customer of a page with one query, so a list of
    payments or customers never asks the blacklist once per row. `CustomerOut` reads
    the mark; an unmarked customer is looked up alone."""
    customers = [customer for customer in customers if customer is not None]
    if not customers:
        return
    emails = {normalize_email(customer.email) for customer in customers}
    blacklisted = set(
        BlacklistEntry.objects.active().filter(email__in=emails).values_list("email", flat=True)
    )
    for customer in customers:
        customer.is_blacklisted = normalize_email(customer.email) in blacklisted


class CustomerOut(Schema):
    """A customer. Text fields never set are null."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    id: str
    email: str
    name: str | None
    restrict_cit: bool
    restrict_mit: bool
    restrict_reason: str | None
    is_restricted: bool
    is_blacklisted: bool
    created_at: datetime

    @staticmethod
    def resolve_name(customer: Customer) -> str | None:
        return customer.name or None

    @staticmethod
    def resolve_restrict_reason(customer: Customer) -> str | None:
        return customer.restrict_reason or None

    @staticmethod
    def resolve_is_blacklisted(customer: Customer) -> bool:
        marked = getattr(customer, "is_blacklisted", None)
        if marked is not None:
            return marked
        return is_email_blacklisted(customer.email)


# --- the customers and subscriptions endpoints (customers.api) -----------------------------
# Input schemas are strict like the payments API's (payments.schemas, which imports this
# module, so they are restated here): JSON types are never coerced, unknown fields are
# refused, and every rule that needs the database is left to customers.services.

_MAX_PAGE_SIZE = 100


class _StrictIn(Schema):
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", strict=True)


class _Out(Schema):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class CustomerCreateIn(_StrictIn):
    email: str = Field(max_length=254, description="Trimmed; unique per merchant, any case")
    name: str | None = Field(None, max_length=200)


class CustomerListQuery(Schema):
    """Query parameters of the customers list (parsed from text, so not strict)."""

    model_config = ConfigDict(alias_generator=to_camel)

    limit: int = Field(10, ge=1, le=_MAX_PAGE_SIZE, description=f"1 to {_MAX_PAGE_SIZE}")
    starting_after: str | None = Field(
        None, description="The `nextCursor` of the previous page (a customer id)"
    )
    search: str | None = Field(
        None, max_length=254, description="A customer id, or the start of an email address"
    )


class CustomerListOut(_Out):
    """One page, newest first. Pass `nextCursor` as `startingAfter` for the next page."""

    data: list[CustomerOut]
    has_more: bool
    next_cursor: str | None = Field(description="Null on the last page")


class RestrictionsIn(_StrictIn):
    """Only the fields given change; null or absent leaves a field as it is."""

    restrict_cit: bool | None = Field(None, description="Refuse customer-initiated payments")
    restrict_mit: bool | None = Field(
        None,
        description="Refuse merchant-initiated payments; true also ends every active "
        "subscription of the customer at its current period's end",
    )
    restrict_reason: str | None = Field(None, max_length=500, description='Free text; "" clears it')


SubscriptionInterval = Literal["day", "week", "month"]
SubscriptionStatus = Literal["active", "canceled"]
assert set(SubscriptionInterval.__args__) == set(Subscription.Interval.values)
assert set(SubscriptionStatus.__args__) == set(Subscription.Status.values)


class SubscriptionCreateIn(_StrictIn):
    customer_id: str = Field(max_length=40)
    amount: int = Field(gt=0, le=money.MAX_AMOUNT, description="Minor units, each period")
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["USD"])
    interval: SubscriptionInterval
    # ISO 8601 text in JSON, so this one field is parsed, not strict.
    current_period_end: Annotated[datetime, Strict(False)] | None = Field(
        None,
        description="Omitted: the first period is charged at once (an MIT payment) and "
        "ends one interval from now. Given (in the future): the current period counts "
        "as paid, e.g. a trial, and the first charge is at this time.",
    )


class SubscriptionOut(_Out):
    id: str
    customer_id: str
    amount: int
    currency: str
    interval: SubscriptionInterval
    current_period_end: datetime
    status: SubscriptionStatus
    cancel_at_period_end: bool
    canceled_at: datetime | None
    created_at: datetime


class SubscriptionListQuery(Schema):
    """Query parameters of the subscriptions list (parsed from text, so not strict)."""

    model_config = ConfigDict(alias_generator=to_camel)

    limit: int = Field(10, ge=1, le=_MAX_PAGE_SIZE, description=f"1 to {_MAX_PAGE_SIZE}")
    starting_after: str | None = Field(
        None, description="The `nextCursor` of the previous page (a subscription id)"
    )
    customer_id: str | None = Field(None, max_length=40, description="Only this customer's")


class SubscriptionListOut(_Out):
    """One page, newest first. Pass `nextCursor` as `startingAfter` for the next page."""

    data: list[SubscriptionOut]
    has_more: bool
    next_cursor: str | None = Field(description="Null on the last page")
