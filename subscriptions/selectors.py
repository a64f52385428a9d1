"""Subscription reads: every read starts from the merchant."""

from core.errors import found_or_not_found
from core.paging import Page, keyset_page
from customers.models import Customer
from merchants.models import Merchant

from .models import Subscription


def get_subscription(*, merchant: Merchant, subscription_id: str) -> Subscription:
    queryset = Subscription.objects.for_merchant(merchant).select_related("customer")
    return found_or_not_found(queryset, subscription_id, name="subscription")


def list_subscriptions(
    *,
    merchant: Merchant,
    customer: Customer | None = None,
    limit: int = 25,
    starting_after: str | None = None,
) -> Page:
    """The merchant's subscriptions (of one customer, when given), newest first,
    keyset-paged."""
    queryset = Subscription.objects.for_merchant(merchant).select_related("customer")
    if customer is not None:
        queryset = queryset.filter(customer=customer)
    return keyset_page(
        queryset,
        anchors=Subscription.objects.for_merchant(merchant),
        limit=limit,
        starting_after=starting_after,
    )
