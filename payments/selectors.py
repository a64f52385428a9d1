"""Payment reads. Every read starts from the merchant, so a foreign id is never found."""

from django.db.models import Count, Min, Prefetch, Q

from core.errors import ValidationFailed, found_or_not_found
from core.paging import Page, check_limit, keyset_page
from customers.models import Customer, normalize_email
from merchants.models import Merchant

from .models import DisplayStatus, Payment, Transaction


def _with_details(queryset):
    return queryset.select_related("customer").prefetch_related(
        Prefetch(
            "transactions",
            queryset=Transaction.objects.select_related("created_by", "created_by_api_key"),
        )
    )


def get_payment(*, merchant: Merchant, payment_id: str) -> Payment:
    """The merchant's payment with its customer and transactions, or NotFound."""
    queryset = _with_details(Payment.objects.for_merchant(merchant))
    return found_or_not_found(queryset, payment_id, name="payment")


def list_payments(
    *,
    merchant: Merchant,
    display_status: str | None = None,
    search: str | None = None,
    customer: Customer | None = None,
    limit: int = 25,
    starting_after: str | None = None,
    with_transactions: bool = False,
) -> Page:
    """Newest first, keyset-paged: `starting_after` is the id of the last payment of
    the previous page, so every page is one index range scan, also at millions of rows."""
    check_limit(limit)
    queryset = Payment.objects.for_merchant(merchant).select_related("customer")
    if with_transactions:
        queryset = _with_details(queryset)
    if display_status:
        if display_status not in DisplayStatus.values:
            raise ValidationFailed(
                "Display status must be one of " + ", ".join(DisplayStatus.values),
                param="displayStatus",
            )
        queryset = queryset.filter(display_status=display_status)
    if customer is not None:
        queryset = queryset.filter(customer=customer)
    if search := (search or "").strip():
        # Resolved first, so the OR below is three index lookups the planner can combine.
        customer_ids = list(
            Customer.objects.for_merchant(merchant)
            .filter(email__lower=normalize_email(search))
            .values_list("id", flat=True)
        )
        queryset = queryset.filter(
            Q(id=search) | Q(order_id=search) | Q(customer_id__in=customer_ids)
        )
    return keyset_page(
        queryset,
        anchors=Payment.objects.for_merchant(merchant),
        limit=limit,
        starting_after=starting_after,
        missing="payment",
    )


# --- for monitoring (config.metrics) --------------------------------------------------------


def reversal_counts(*, pending: bool) -> list[tuple[str, str, int]]:
    """(type, status, rows) of refunds and voids, pending ones or settled ones. The
    pending ones come from the partial index on pending rows (a few rows); the settled
    ones need a scan, which the caller shares through the cache."""
    reversals = Transaction.objects.filter(type__in=Transaction.REVERSAL_TYPES).order_by()
    reversals = (
        reversals.filter(status=Transaction.Status.PENDING)
        if pending
        else reversals.exclude(status=Transaction.Status.PENDING)
    )
    return list(reversals.values_list("type", "status").annotate(rows=Count("id")))


def oldest_pending_reversal_at():
    """When the oldest pending refund or void was made, or None."""
    return Transaction.objects.filter(
        type__in=Transaction.REVERSAL_TYPES, status=Transaction.Status.PENDING
    ).aggregate(oldest=Min("created_at"))["oldest"]
