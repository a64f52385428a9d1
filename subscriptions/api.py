"""Subscriptions API (SPEC 5): schemas in, a service or selector call, the subscription
out. Authentication, idempotency and the error shape are applied by config.api."""

from ninja import Query

from core.api import ApiRouter, api_actor, api_merchant
from core.errors import ValidationFailed
from customers import selectors as customer_selectors

from . import schemas, selectors, services

router = ApiRouter(tags=["subscriptions"])


@router.create("/subscriptions", schemas.SubscriptionOut, 403, summary="Create a subscription")
def create_subscription(request, payload: schemas.SubscriptionCreateIn):
    """Without `currentPeriodEnd` the first period is charged at once, as an MIT
    payment: a customer blacklisted or restricted from MIT payments answers 403
    `customer_restricted` and nothing is created; a declined first payment answers 400
    `invalid_request` naming the failed payment (the subscription is canceled). With
    `currentPeriodEnd` the first charge is at that time. A periodic task then charges
    each period as it ends."""
    return services.create_subscription(
        merchant=api_merchant(request),
        customer_id=payload.customer_id,
        amount=payload.amount,
        currency=payload.currency,
        interval=payload.interval,
        current_period_end=payload.current_period_end,
        actor=api_actor(request),
    )


@router.list_page("/subscriptions", schemas.SubscriptionListOut, summary="List subscriptions")
def list_subscriptions(request, filters: Query[schemas.SubscriptionListQuery]):
    """Newest first, one page at a time; `customerId` keeps one customer's."""
    merchant = api_merchant(request)
    customer = None
    if filters.customer_id:
        customer = customer_selectors.find_customer(
            merchant=merchant, customer_id=filters.customer_id
        )
        if customer is None:
            raise ValidationFailed(f"No such customer: '{filters.customer_id}'", param="customerId")
    return selectors.list_subscriptions(
        merchant=merchant,
        customer=customer,
        limit=filters.limit,
        starting_after=filters.starting_after,
    )


@router.retrieve(
    "/subscriptions/{subscription_id}", schemas.SubscriptionOut, summary="Retrieve a subscription"
)
def get_subscription(request, subscription_id: str):
    return selectors.get_subscription(
        merchant=api_merchant(request), subscription_id=subscription_id
    )
