"""Customers API (SPEC 5): schemas in, a service or selector call, the customer out.

Every rule lives in customers.services and customers.selectors; a refusal is a domain
error that the API answers in its error shape. Authentication, idempotency and the
error shape are applied to every operation by config.api.
"""

from ninja import Query

from core.api import ApiRouter, api_actor, api_merchant, errors

from . import schemas, selectors, services
from .schemas import mark_blacklisted

router = ApiRouter(tags=["customers"])


@router.create("/customers", schemas.CustomerOut, 409, summary="Create a customer")
def create_customer(request, payload: schemas.CustomerCreateIn):
    """One customer per email per merchant, compared case-insensitively: an email the
    merchant already has answers 409 `conflict` naming the existing customer."""
    return services.create_customer(
        merchant=api_merchant(request),
        email=payload.email,
        name=payload.name or "",
        actor=api_actor(request),
    )


@router.list_page("/customers", schemas.CustomerListOut, summary="List customers")
def list_customers(request, filters: Query[schemas.CustomerListQuery]):
    """Newest first, one page at a time: `{"data": [...], "hasMore", "nextCursor"}`.
    `search` (in any case) matches the start of an email or a customer id, or any part
    of a name; `createdFrom`/`createdTo` are days, both included."""
    page = selectors.list_customers(merchant=api_merchant(request), **filters.model_dump())
    mark_blacklisted(page.items)
    return page


@router.retrieve("/customers/{customer_id}", schemas.CustomerOut, summary="Retrieve a customer")
def get_customer(request, customer_id: str):
    return selectors.get_customer(merchant=api_merchant(request), customer_id=customer_id)


@router.post(
    "/customers/{customer_id}/restrictions",
    response={200: schemas.CustomerOut, **errors(400, 404)},
    summary="Change a customer's restrictions",
)
def update_customer_restrictions(request, customer_id: str, payload: schemas.RestrictionsIn):
    """Only the fields given change. `restrictCit` refuses later customer-initiated
    payments and `restrictMit` merchant-initiated ones (403 `customer_restricted`);
    setting `restrictMit` also sets `cancelAtPeriodEnd` on the customer's active
    subscriptions."""
    return services.update_restrictions(
        merchant=api_merchant(request),
        customer_id=customer_id,
        actor=api_actor(request),
        **payload.model_dump(),
    )
