"""Customer reads. Every read of a merchant's data starts from the merchant, so a foreign
id is never found; the blacklist is platform-wide."""

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from core.errors import found_or_not_found
from core.paging import Page, keyset_page
from merchants.models import Merchant

from .models import BlacklistEntry, Customer, email_spellings, normalize_email

# --- customers ---------------------------------------------------------------------------


def find_customer(*, merchant: Merchant, customer_id: str) -> Customer | None:
    """The merchant's customer, or None (also for another merchant's customer)."""
    return Customer.objects.for_merchant(merchant).filter(id=customer_id).first()


def find_customer_by_email(*, merchant: Merchant, email: str) -> Customer | None:
    """The merchant's customer with this email, compared as SPEC 5 says."""
    return (
        Customer.objects.for_merchant(merchant)
        .filter(email__lower__in=email_spellings(email))
        .first()
    )


def get_customer(*, merchant: Merchant, customer_id: str) -> Customer:
    """The merchant's customer, or NotFound (also for another merchant's customer)."""
    return found_or_not_found(Customer.objects.for_merchant(merchant), customer_id, name="customer")


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
        queryset = queryset.filter(Q(id=search) | Q(email__lower__startswith=search.lower()))
    return keyset_page(
        queryset,
        anchors=Customer.objects.for_merchant(merchant),
        limit=limit,
        starting_after=starting_after,
    )


# --- blacklist ----------------------------------------------------------------------------


def is_email_blacklisted(email: str) -> bool:
    return BlacklistEntry.objects.active().for_email(email).exists()


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
        "added_by", "added_by_api_key", "removed_by", "chargeback__merchant"
    )
    if not include_removed:
        queryset = queryset.active()
    if search := (search or "").strip().lower():
        queryset = queryset.filter(email__contains=search)
    return queryset.order_by("-created_at", "-id")
