"""Customers API (SPEC 5): schemas in, a service or selector call, the customer out.

Every rule lives in customers.services and customers.selectors; a refusal is a domain
error that the API answers in its error shape. Authentication, idempotency and the
error shape are applied to every operation by config.api.
"""

from ninja import Query, Router

from core.api import api_actor, api_merchant, errors

from . import selectors, services
from .schemas import (
    CustomerCreateIn,
    CustomerListOut,
    CustomerListQuery,
    CustomerOut,
    RestrictionsIn,
    mark_blacklisted,
)

router = Router(tags=["customers"])


@router.post(
    "/customers",
    response={200: CustomerOut, **errors(400, 409)},
    summary="Create a customer",
    operation_id="createCustomer",
)
def create_customer(request, payload: CustomerCreateIn):
    """One customer per email per merchant, compared case-insensitively: an email the
    merchant already has answers 409 `conflict` naming the existing customer."""
    return services.create_customer(
        merchant=api_merchant(request),
        email=payload.email,
        name=payload.name or "",
        actor=api_actor(request),
    )


@router.get(
    "/customers",
    response={200: CustomerListOut, **errors(400)},
    summary="List customers",
    operation_id="listCustomers",
)
def list_customers(request, filters: Query[CustomerListQuery]):
    """Newest first, one page at a time: `{"data": [...], "hasMore", "nextCursor"}`.
    `search` matches a customer id or the start of an email address."""
    page = selectors.list_customers(
        merchant=api_merchant(request),
        search=filters.search,
        limit=filters.limit,
        starting_after=filters.starting_after,
    )
    mark_blacklisted(page.items)
    return {"data": page.items, "has_more": page.has_more, "next_cursor": page.next_cursor}


@router.get(
    "/customers/{customer_id}",
    response={200: CustomerOut, **errors(404)},
    summary="Retrieve a customer",
    operation_id="getCustomer",
)
def get_customer(request, customer_id: str):
    return selectors.get_customer(merchant=api_merchant(request), customer_id=customer_id)


@router.post(
    "/customers/{customer_id}/restrictions",
    response={200: CustomerOut, **errors(400, 404)},
    summary="Change a customer's restrictions",
    operation_id="updateCustomerRestrictions",
)
def update_restrictions(request, customer_id: str, payload: RestrictionsIn):
    """Only the fields given change. `restrictCit` refuses later customer-initiated
    payments and `restrictMit` merchant-initiated ones (403 `customer_restricted`);
    setting `restrictMit` also sets `cancelAtPeriodEnd` on the customer's active
    subscriptions."""
    return services.update_restrictions(
        merchant=api_merchant(request),
        customer_id=customer_id,
        actor=api_actor(request),
        restrict_cit=payload.restrict_cit,
        restrict_mit=payload.restrict_mit,
        restrict_reason=payload.restrict_reason,
    )
