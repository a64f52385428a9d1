"""What an API endpoint module needs (the plumbing that every operation gets lives in
config/api/): the schema bases, the error shape to declare in `response=`, the router
whose create, list and retrieve operations declare their answers, and the request's
merchant and actor, both decided by its API key."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import NinjaJSONEncoder
from pydantic import BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

from .actors import Actor
from .paging import MAX_PAGE_SIZE


class InputSchema(Schema):
    """Request bodies: camelCase, strict JSON types (5.5, "5" and true are refused for an
    integer, never coerced), unknown fields refused. Rules that need the database are
    left to the services, which raise domain errors."""

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", strict=True)


class OutputSchema(Schema):
    """Answers: read from the model by attribute name, written out in camelCase. Reading
    by name only matters for speed: ninja resolves a missing attribute through Django's
    template lookup, so trying each camelCase alias first costs a failed lookup per field."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=False
    )


def answer_text(answer: OutputSchema) -> str:
    """An answer's JSON as the API writes it (ninja's encoder: times to the
    millisecond). Webhook events carry the same, so that an event and a GET of the same
    object read alike (SPEC 11)."""
    return json.dumps(answer.model_dump(by_alias=True), cls=NinjaJSONEncoder)


def answer_data(answer: OutputSchema) -> dict:
    """`answer_text` as the JSON object an event stores."""
    return json.loads(answer_text(answer))


class PageOut[Item](OutputSchema):
    """One page of a list (a `core.paging.Page`): `class CustomerListOut(PageOut[CustomerOut])`.
    The subclass's docstring says the list's order."""

    data: list[Item]
    has_more: bool
    next_cursor: str | None = Field(description="Null on the last page")


# What a model keeps blank when it was never set ("" or {}), the API answers as null:
# `order_id: TextOrNull`, or `Annotated[PaymentMethodOut | None, BLANK_IS_NULL]`.
BLANK_IS_NULL = BeforeValidator(lambda value: value or None)
TextOrNull = Annotated[str | None, BLANK_IS_NULL]


# A text query parameter never holds a NUL (PostgreSQL cannot compare one).
NO_NUL = r"^[^\x00]*$"


class ListQuery(Schema):
    """Query parameters of a list (parsed from text, so not strict)."""

    model_config = ConfigDict(alias_generator=to_camel)

    limit: int = Field(10, ge=1, le=MAX_PAGE_SIZE, description=f"1 to {MAX_PAGE_SIZE}")
    starting_after: str | None = Field(
        None, description="The `nextCursor` of the previous page (the last item's id)"
    )


ErrorType = Literal[
    "invalid_request",
    "validation_error",
    "authentication_error",
    "permission_error",
    "customer_restricted",
    "not_found",
    "conflict",
    "idempotency_error",
    "api_error",
]


class ErrorDetail(Schema):
    type: ErrorType
    message: str
    param: str | None = None
    rule: str | None = None


class ErrorOut(Schema):
    """Every error answer: `param` names the offending field (camelCase path) when
    there is one; `rule` names the refusing rule of a `customer_restricted` answer."""

    error: ErrorDetail


def errors(*statuses: int) -> dict:
    """`response=` entries declaring these error statuses with the error shape."""
    return dict.fromkeys(statuses, ErrorOut)


class ApiRouter(Router):
    """A router with the operations every resource has, each declaring the answers of
    its kind: `@router.retrieve("/customers/{customer_id}", CustomerOut, summary=...)`.
    Any other operation is declared with `get`/`post` as usual."""

    def create(self, path: str, out, *refusals: int, summary: str):
        """POST that makes an object: `out`, 400 for bad input, or `refusals` (403
        for a restricted customer, 409 for a conflict)."""
        return self.post(path, response={200: out, **errors(400, *refusals)}, summary=summary)

    def list_page(self, path: str, page, *, summary: str):
        """GET of one page of a list (a PageOut): 400 for a bad filter."""
        return self.get(path, response={200: page, **errors(400)}, summary=summary)

    def retrieve(self, path: str, out, *, summary: str):
        """GET of one object: 404 when the merchant has none with that id."""
        return self.get(path, response={200: out, **errors(404)}, summary=summary)


def api_merchant(request: HttpRequest):
    """The merchant whose API key authenticated the request: it scopes every lookup."""
    return request.auth.merchant


def api_actor(request: HttpRequest) -> Actor:
    """The API key, recorded as the actor of every write."""
    return Actor(api_key=request.auth)
