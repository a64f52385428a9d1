"""Customer reads. Every read of a merchant's data starts from the merchant, so a foreign
id is never found; the blacklist is platform-wide."""

from collections.abc import Iterable
from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Lower

from core.errors import ValidationFailed, found_or_not_found
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


def get_customer(*, merchant: Merchant, customer_id: str, marked: bool = False) -> Customer:
    """The merchant's customer, or NotFound (also for another merchant's customer).
    `marked`: its blacklist mark read with it, as `customer.blacklist_mark`."""
    customers = Customer.objects.for_merchant(merchant)
    if marked:
        customers = customers.annotate(blacklist_mark=blacklist_mark("email"))
    return found_or_not_found(customers, customer_id, name="customer")


def _search(term: str) -> Q:
    """What a customer search matches, in any case (SPEC 8.1): the start of an email or
    of a customer id, any part of a name ("kowal" finds Ben Kowalski). Each has its
    index (customers migration 0005)."""
    lowered = term.strip().lower()  # a prefix: not the full canonical form of an email
    match = Q(email__lower__startswith=lowered) | Q(name__icontains=term)
    if lowered.startswith("cus_"):
        match |= Q(id__lower__startswith=lowered)
    return match


def list_customers(
    *,
    merchant: Merchant,
    limit: int = 25,
    starting_after: str | None = None,
    ending_before: str | None = None,
    count_up_to: int | None = None,
    **filters,
) -> Page:
    """The merchant's customers matching `filters` (see `customers_matching`), newest
    first, keyset-paged. With `count_up_to`, the page counts the matches."""
    return keyset_page(
        customers_matching(merchant=merchant, **filters),
        anchors=Customer.objects.for_merchant(merchant),
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
        count_up_to=count_up_to,
        missing="customer",
    )


def customers_matching(
    *,
    merchant: Merchant,
    search: str | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
) -> QuerySet[Customer]:
    """The merchant's customers found by `search` (in any case: an email or a customer
    id by its start, a name by any part) and created between two days (both included)."""
    queryset = Customer.objects.for_merchant(merchant).created_between(created_from, created_to)
    if term := (search or "").strip():
        queryset = queryset.filter(_search(term))
    return queryset


def customer_ids_matching(*, merchant: Merchant, search: str, at_most: int) -> list[str]:
    """The ids of the merchant's customers a search means, so that a list of their
    payments can look them up by index. More than `at_most` is refused: the search is
    then too short to mean anyone, and a part of them would leave out matches."""
    matching = customers_matching(merchant=merchant, search=search).order_by()
    ids = list(matching.values_list("id", flat=True)[: at_most + 1])
    if len(ids) > at_most:
        raise ValidationFailed(
            f"More than {at_most:,} customers match “{search.strip()}”: type more of the "
            "email or name",
            param="search",
        )
    return ids


def customer_since(customer: Customer, *, every_payment: list | None = None):
    """When the customer started: the earlier of its record's creation and its first
    payment (payments can be older than the record, e.g. imported ones).
    `every_payment`: all of the customer's payments when they are in hand already."""
    if every_payment is not None:
        first = min((payment.created_at for payment in every_payment), default=None)
    else:
        times = customer.payments.order_by("created_at").values_list("created_at", flat=True)
        first = times.first()
    return min(customer.created_at, first) if first else customer.created_at


# --- blacklist ----------------------------------------------------------------------------


def blacklist_mark(email_path: str) -> Exists:
    """Whether the email at `email_path` (a field path of the row being read) is on the
    blacklist, as a column of that row: no statement of its own. It compares the email
    lower-cased, which is all the normalising most addresses need; hand it to
    `is_email_blacklisted(email, mark=...)`, which trusts it only for those."""
    return Exists(BlacklistEntry.objects.active().filter(email=Lower(OuterRef(email_path))))


def is_email_blacklisted(email: str, *, mark: bool | None = None) -> bool:
    """Whether this email, normalised, is blacklisted. `mark`: what `blacklist_mark`
    read beside it, the answer when lower-casing normalises the email (ASCII, no quoted
    local part); for any other spelling the blacklist is asked."""
    if mark is not None and email.isascii() and normalize_email(email) == email.lower():
        return mark
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


def blacklist_page(
    *,
    search: str | None = None,
    removed: bool = False,
    limit: int = 25,
    starting_after: int | None = None,
    ending_before: int | None = None,
    count_up_to: int | None = None,
) -> Page:
    """A page of the blacklisted emails (or, with `removed`, of the removed entries
    kept as history), newest first, keyset-paged; `search` matches part of the email."""
    queryset = list_blacklist(search=search, include_removed=removed)
    if removed:
        queryset = queryset.filter(removed_at__isnull=False)
    return keyset_page(
        queryset,
        anchors=BlacklistEntry.objects.all(),
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
        count_up_to=count_up_to,
        missing="blacklist entry",
    )
