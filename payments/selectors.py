"""Payment reads. Every read starts from the merchant, so a foreign id is never found."""

from datetime import date

from django.db.models import Count, Exists, Min, Prefetch, Q, QuerySet, prefetch_related_objects

from core import money
from core.errors import ValidationFailed, found_or_not_found
from core.paging import Page, check_limit, keyset_page
from customers.models import Customer
from customers.selectors import blacklist_mark, customer_ids_matching
from merchants.models import Merchant

from .models import DisplayStatus, Payment, RefundApproval, Transaction

AMOUNT_NEEDS_CURRENCY = "An amount range needs a currency: choose one"
# A search meaning more customers than this is too short to mean anyone (it is
# refused with a word to type more, never answered with part of the matches).
MAX_CUSTOMERS_PER_SEARCH = 1000
# The same for the start of an order id. Order ids grow with time, so "ORD-1" can mean
# a million payments, all old, which no index lists newest first without sorting them
# all (2.3 s at 10M payments). Over this many, the search means the order id typed
# whole, if a payment has exactly that one; else it is refused with a word to type more.
MAX_ORDERS_PER_SEARCH = 1000


def _ledger(*, approvals: bool = False) -> Prefetch:
    related = ["created_by", "created_by_api_key"]
    if approvals:  # the payment page: a held refund's approval, and who decided it
        related.append("approval__decided_by")
    return Prefetch("transactions", queryset=Transaction.objects.select_related(*related))


def _with_details(queryset, *, approvals: bool = False):
    return queryset.select_related("customer").prefetch_related(_ledger(approvals=approvals))


def with_ledger(payment: Payment) -> Payment:
    """A payment already in hand (the locked, updated row a service answered) with its
    ledger: one query for the transactions, not a second read of the payment."""
    prefetch_related_objects([payment], _ledger())
    return payment


def locked(queryset: QuerySet[Payment]) -> QuerySet[Payment]:
    """These payments, each row locked until the transaction ends, with its customer
    (unlocked) and the customer's blacklist mark: what an answer or a webhook event
    embeds comes with the lock, not in statements of its own."""
    return _marked(queryset.select_related("customer")).select_for_update(of=("self",))


def _marked(queryset: QuerySet[Payment]) -> QuerySet[Payment]:
    """With each payment's customer's blacklist mark, as `payment.customer_blacklist_mark`
    (hand it to customers.selectors.is_email_blacklisted as `mark`)."""
    return queryset.annotate(customer_blacklist_mark=blacklist_mark("customer__email"))


def get_payment(
    *, merchant: Merchant, payment_id: str, approvals: bool = False, marked: bool = False
) -> Payment:
    """The merchant's payment with its customer and transactions (`approvals`: each
    held refund's approval too, as `txn.approval`; `marked`: the customer's blacklist
    mark read with it, as `payment.customer_blacklist_mark`), or NotFound."""
    queryset = _with_details(Payment.objects.for_merchant(merchant), approvals=approvals)
    if marked:
        queryset = _marked(queryset)
    return found_or_not_found(queryset, payment_id, name="payment")


def list_payments(
    *,
    merchant: Merchant,
    limit: int = 25,
    starting_after: str | None = None,
    ending_before: str | None = None,
    count_up_to: int | None = None,
    with_transactions: bool = False,
    **filters,
) -> Page:
    """The payments matching `filters` (see `payments_matching`), newest first,
    keyset-paged: `starting_after` is the id of the last payment of the previous page
    (`ending_before` the first of the next), so every page is one index range scan,
    also at millions of rows. With `count_up_to`, the page counts the matches."""
    check_limit(limit)
    queryset = payments_matching(merchant=merchant, **filters).select_related("customer")
    if with_transactions:
        queryset = _with_details(queryset)
    return keyset_page(
        queryset,
        anchors=Payment.objects.for_merchant(merchant),
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
        count_up_to=count_up_to,
        missing="payment",
        # A search's matches (a customer's or an order id's) come in no useful order:
        # their keys are sorted from payment_customer_recent_idx, then 25 rows read.
        narrow=bool((filters.get("search") or "").strip()),
    )


def payments_matching(
    *,
    merchant: Merchant,
    display_status: str | None = None,
    search: str | None = None,
    customer: Customer | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    currency: str | None = None,
    amount_min: int | None = None,
    amount_max: int | None = None,
) -> QuerySet[Payment]:
    """The merchant's payments that match every filter given (SPEC 8.1). `search`, in
    any case: a payment id or an order id by its start, or the payments of the
    customers it means (`customer_ids_matching`: an email or a customer id by its
    start, a name by any part). Created between two days (both included); an amount
    range (minor units, both included) needs a currency. Every filter has an index
    (payments migrations 0001 and 0005, customers 0005)."""
    queryset = Payment.objects.for_merchant(merchant).created_between(created_from, created_to)
    if display_status:
        if display_status not in DisplayStatus.values:
            raise ValidationFailed(
                "Display status must be one of " + ", ".join(DisplayStatus.values),
                param="displayStatus",
            )
        queryset = queryset.filter(display_status=display_status)
    if customer is not None:
        queryset = queryset.filter(customer=customer)
    if currency:
        if not money.is_currency(currency):
            raise ValidationFailed(f"Unsupported currency '{currency}'", param="currency")
        queryset = queryset.filter(currency=currency)
    queryset = queryset.filter(_amount_between(amount_min, amount_max, currency=currency))
    if term := (search or "").strip():
        queryset = queryset.filter(_search(merchant, term))
    return queryset


def _amount_between(least: int | None, most: int | None, *, currency: str | None) -> Q:
    if least is None and most is None:
        return Q()
    # Minor units mean nothing without their currency (100 is $1.00 but ¥100).
    if not currency:
        raise ValidationFailed(AMOUNT_NEEDS_CURRENCY, param="currency")
    if least is not None and most is not None and least > most:
        raise ValidationFailed("The smallest amount is more than the largest", param="amountMin")
    match = Q()
    if least is not None:
        match &= Q(amount__gte=least)
    if most is not None:
        match &= Q(amount__lte=most)
    return match


def _search(merchant: Merchant, term: str) -> Q:
    # The customers are resolved first (a bounded list of ids), and whether any order
    # id starts with the term, so that the page's statement holds only the branches
    # that can match: a name or an email is then index-only walks of
    # payment_customer_recent_idx (the count, and the page's keys: list_payments
    # narrows), not an OR with an order-id prefix that the planner can only answer with
    # a bitmap scan of the table (payment and order id prefixes have their lower(...)
    # text_pattern_ops indexes).
    lowered = term.lower()
    customer_ids = customer_ids_matching(
        merchant=merchant, search=term, at_most=MAX_CUSTOMERS_PER_SEARCH
    )
    match = _order_id_match(merchant, term)
    if customer_ids:
        match |= Q(customer_id__any_of=customer_ids)
    if lowered.startswith("pay_"):
        match |= Q(id__lower__startswith=lowered)
    return match or Q(pk__in=[])


def _order_id_match(merchant: Merchant, term: str) -> Q:
    """The payments whose order id starts with `term` (any case), when at most
    MAX_ORDERS_PER_SEARCH do; else those whose order id is `term` itself, if one is;
    else the search is refused. An empty Q when no order id starts with `term`. The
    questions are one statement: index-only walks of payment_order_prefix_idx
    (payments migration 0014), of at most that many entries."""
    lowered = term.lower()
    payments = Payment.objects.for_merchant(merchant).order_by()
    starting = payments.filter(order_id__lower__startswith=lowered)
    some, too_many, whole = (
        Merchant.objects.filter(pk=merchant.pk)
        .values_list(
            Exists(starting),
            Exists(starting[MAX_ORDERS_PER_SEARCH : MAX_ORDERS_PER_SEARCH + 1]),
            Exists(payments.filter(order_id__lower=lowered)),
        )
        .get()
    )
    if not some:
        return Q()
    if not too_many:
        return Q(order_id__lower__startswith=lowered)
    if whole:
        return Q(order_id__lower=lowered)
    raise ValidationFailed(
        f"More than {MAX_ORDERS_PER_SEARCH:,} payments have an order id starting with "
        f"“{term}”: type more of it",
        param="search",
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


# --- refunds held for approval (SPEC 13) -------------------------------------------------------

APPROVAL_QUEUE_LIMIT = 200


def waiting_refund_approvals(*, merchant: Merchant, limit: int = APPROVAL_QUEUE_LIMIT) -> list:
    """The merchant's refunds waiting for approval, those expiring first on top (the
    queue stays short: each expires within 72 hours)."""
    return list(
        RefundApproval.objects.for_merchant(merchant)
        .filter(status=RefundApproval.Status.WAITING)
        .select_related("refund__created_by", "refund__created_by_api_key", "payment__customer")
        .order_by("created_at")[:limit]
    )


def count_waiting_refund_approvals(*, merchant: Merchant) -> int:
    return (
        RefundApproval.objects.for_merchant(merchant)
        .filter(status=RefundApproval.Status.WAITING)
        .count()
    )


def get_refund_approval(*, merchant: Merchant, refund_id: str) -> RefundApproval:
    """One held refund's approval (whatever its state), scoped to the merchant."""
    queryset = RefundApproval.objects.for_merchant(merchant).select_related(
        "refund__created_by", "payment__customer", "decided_by"
    )
    return found_or_not_found(queryset, refund_id, name="refund waiting for approval")
