"""API schemas of subscriptions (SPEC 5)."""

from datetime import datetime
from typing import Annotated, Literal

from ninja import Field
from pydantic import Strict

from core import money
from core.api import InputSchema, ListQuery, OutputSchema, PageOut

from .models import Subscription

# The API's enumerations are the model's, in their order.
SubscriptionInterval = Literal[*Subscription.Interval.values]
SubscriptionStatus = Literal[*Subscription.Status.values]


class SubscriptionCreateIn(InputSchema):
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


class SubscriptionOut(OutputSchema):
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


class SubscriptionListQuery(ListQuery):
    customer_id: str | None = Field(None, max_length=40, description="Only this customer's")


class SubscriptionListOut(PageOut[SubscriptionOut]):
    """One page, newest first. Pass `nextCursor` as `startingAfter` for the next page."""
