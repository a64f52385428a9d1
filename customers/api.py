"""Customers and subscriptions API (SPEC 5): schemas in, a service or selector call, the
customer or subscription out.

Every rule lives in customers.services and customers.selectors; a refusal is a domain
error that config.api_errors answers in the API's error shape. Authentication,
idempotency and the error shape are applied to every operation by config.api.
"""

from ninja import Query, Router

from config.api_errors import errors
from merchants.api_auth import request_actor, request_merchant
from merchants.errors import ValidationFailed

from . import selectors, services
from .models import Customer
from .schemas import (
    CustomerCreateIn,
    CustomerListOut,
    CustomerListQuery,
    CustomerOut,
    RestrictionsIn,
    SubscriptionCreateIn,
    SubscriptionListOut,
    SubscriptionListQuery,
    SubscriptionOut,
    mark_blacklisted,
)

router = Router(tags=["customers"])


# --- customers ----------------------------------------------------------------------------


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
        merchant=request_merchant(request),
        email=payload.email,
        name=payload.name or "",
        actor=request_actor(request),
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
        merchant=request_merchant(request),
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
    return selectors.get_customer(merchant=request_merchant(request), customer_id=customer_id)


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
        merchant=request_merchant(request),
        customer_id=customer_id,
        actor=request_actor(request),
        restrict_cit=payload.restrict_cit,
        restrict_mit=payload.restrict_mit,
        restrict_reason=payload.restrict_reason,
    )


# --- subscriptions ------------------------------------------------------------------------


@router.post(
    "/subscriptions",
    response={200: SubscriptionOut, **errors(400, 403)},
    summary="Create a subscription",
    operation_id="createSubscription",
    tags=["subscriptions"],
)
def create_subscription(request, payload: SubscriptionCreateIn):
    """Without `currentPeriodEnd` the first period is charged at once, as an MIT
    payment: a customer blacklisted or restricted from MIT payments answers 403
    `customer_restricted` and nothing is created; a declined first payment answers 400
    `invalid_request` naming the failed payment (the subscription is canceled). With
    `currentPeriodEnd` the first charge is at that time. A periodic task then charges
    each period as it ends."""
    return services.create_subscription(
        merchant=request_merchant(request),
        customer_id=payload.customer_id,
        amount=payload.amount,
        currency=payload.currency,
        interval=payload.interval,
        current_period_end=payload.current_period_end,
        actor=request_actor(request),
    )


@router.get(
    "/subscriptions",
    response={200: SubscriptionListOut, **errors(400)},
    summary="List subscriptions",
    operation_id="listSubscriptions",
    tags=["subscriptions"],
)
def list_subscriptions(request, filters: Query[SubscriptionListQuery]):
    """Newest first, one page at a time; `customerId` keeps one customer's."""
    merchant = request_merchant(request)
    customer = None
    if filters.customer_id:
        customer = Customer.objects.for_merchant(merchant).filter(id=filters.customer_id).first()
        if customer is None:
            raise ValidationFailed(f"No such customer: '{filters.customer_id}'", param="customerId")
    page = selectors.list_subscriptions(
        merchant=merchant,
        customer=customer,
        limit=filters.limit,
        starting_after=filters.starting_after,
    )
    return {"data": page.items, "has_more": page.has_more, "next_cursor": page.next_cursor}


@router.get(
    "/subscriptions/{subscription_id}",
    response={200: SubscriptionOut, **errors(404)},
    summary="Retrieve a subscription",
    operation_id="getSubscription",
    tags=["subscriptions"],
)
def get_subscription(request, subscription_id: str):
    return selectors.get_subscription(
        merchant=request_merchant(request), subscription_id=subscription_id
    )
