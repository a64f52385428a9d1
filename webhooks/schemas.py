"""API schemas of webhook events (SPEC 11)."""

from datetime import datetime
from typing import Any, Literal

from ninja import Field

from core.api import ListQuery, OutputSchema, PageOut

from .models import EVENT_TYPES

EventType = Literal[tuple(EVENT_TYPES)]


class EventOut(OutputSchema):
    """What happened, as POSTed to the endpoints: `data` is the object as the API
    shows it (a payment as GET /payments/{id} answers it, a customer as GET
    /customers/{id})."""

    id: str
    type: EventType
    data: dict[str, Any]
    created_at: datetime


class EventListOut(PageOut[EventOut]):
    """One page, newest first. Pass `nextCursor` as `startingAfter` for the next page."""


class EventListQuery(ListQuery):
    type: EventType | None = Field(None, description="Only events of this type")
