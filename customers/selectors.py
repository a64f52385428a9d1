"""Customer reads. Every read of a merchant's data starts from the merchant, so a foreign
id is never found; the blacklist is platform-wide."""

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from merchants.errors import NotFound, ValidationFailed
from merchants.models import Merchant
from payments.selectors import MAX_PAGE_SIZE, Page

from .models import BlacklistEntry, Customer, Subscription, normalize_email


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"Limit must be between 1 and {MAX_PAGE_SIZE}", param="limit")


def _keyset_page(queryset: QuerySet, *, anchors: QuerySet, limit: int, starting_after) -> Page:
    """Newest first: `starting_after` is the id of the last row of the previous page,
    looked up among `anchors` (the merchant's rows), so a page is one index range."""
    _check_limit(limit)
    if starting_after:
        anchor = anchors.filter(id=starting_after).values("created_at", "id").first()
        if anchor is None:
            raise ValidationFailed(f"No such cursor: '{starting_after}'", param="startingAfter")
        # (created_at, id) < anchor, written so the first term bounds the index range.
        queryset = queryset.filter(created_at__lte=anchor["created_at"]).filter(
            Q(created_at__lt=anchor["created_at"]) | Q(id__lt=anchor["id"])
        )
    rows = list(queryset.order_by("-created_at", "-id")[: limit + 1])
    return Page(items=rows[:limit], has_more=len(rows) > limit)


# --- customers ---------------------------------------------------------------------------


def get_customer(*, merchant: Merchant, customer_id: str) -> Customer:
    """The merchant's customer, or NotFound (also for another merchant's customer)."""
    customer = Customer.objects.for_merchant(merchant).filter(id=customer_id).first()
    if customer is None:
        raise NotFound(f"No such customer: '{customer_id}'", param="id")
    return customer


def list_customers(
    *,
    merchant: Merchant,
    search: str | None = None,
    limit: int = 25,
    starting_after: str | None = None,
) -> Page:
    """The merchant's customers, newest first, keyset-paged. `search` matches a
    customer id exactly or the start of an email address (case-insensitive)."""
    queryset = Customer.objects.for_merchant(merchant)
    if search := (search or "").strip():
        queryset = queryset.filter(
            Q(id=search) | Q(email__lower__startswith=normalize_email(search))
        )
    return _keyset_page(
        queryset,
        anchors=Customer.objects.for_merchant(merchant),
        limit=limit,
        starting_after=starting_after,
    )


# --- blacklist ----------------------------------------------------------------------------


def blacklisted_emails(emails: Iterable[str]) -> set[str]:
    """Which of these emails are blacklisted, normalised (trimmed, lower-case); one
    query whatever their number, so a page of customers never asks once per row."""
    normalized = {normalize_email(email) for email in emails if email}
    if not normalized:
        return set()
    return set(
        BlacklistEntry.objects.active().filter(email__in=normalized).values_list("email", flat=True)
    )


def list_blacklist(
    *, search: str | None = None, include_removed: bool = False
) -> QuerySet[BlacklistEntry]:
    """Blacklist entries, newest first; `search` matches part of the email. Removed
    entries (kept for the record) only with `include_removed`."""
    queryset = BlacklistEntry.objects.select_related(
        "added_by", "added_by_api_key", "removed_by", "chargeback"
    )
    if not include_removed:
        queryset = queryset.active()
    if search := normalize_email(search or ""):
        queryset = queryset.filter(email__contains=search)
    return queryset.order_by("-created_at", "-id")


# --- subscriptions ------------------------------------------------------------------------


def get_subscription(*, merchant: Merchant, subscription_id: str) -> Subscription:
    subscription = (
        Subscription.objects.for_merchant(merchant)
        .select_related("customer")
        .filter(id=subscription_id)
        .first()
    )
    if subscription is None:
        raise NotFound(f"No such subscription: '{subscription_id}'", param="id")
    return subscription


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
    return _keyset_page(
        queryset,
        anchors=Subscription.objects.for_merchant(merchant),
        limit=limit,
        starting_after=starting_after,
    )
