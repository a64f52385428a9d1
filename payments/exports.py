"""The payments list as a CSV download (SPEC 12): the rows the list's filters match,
newest first, streamed.

Constant memory at any size: the rows are read in keyset chunks (created_at, id below
the last row sent: each chunk is one range scan of the merchant's newest-first index),
only the columns the file needs, and each line is encoded as it is sent
(core.csv.csv_lines), so nothing holds the whole list. Cells are made safe for
spreadsheets there too.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Q, QuerySet

from core import money
from core.csv import csv_lines
from merchants.models import Merchant

from . import selectors
from .models import DisplayStatus, Payment

CHUNK_SIZE = 1000

HEADER = [
    "id",
    "created",
    "customer_email",
    "amount",
    "currency",
    "captured",
    "refunded",
    "disputed",
    "status",
    "order_id",
]

_FIELDS = [
    "id",
    "created_at",
    "customer__email",
    "amount",
    "currency",
    "amount_captured",
    "amount_reversed",
    "is_voided",
    "amount_disputed",
    "display_status",
    "order_id",
]


def _rows(queryset: QuerySet[Payment]) -> QuerySet:
    return queryset.order_by("-created_at", "-id").values_list(*_FIELDS)


def _chunks(queryset: QuerySet[Payment]) -> Iterator[tuple]:
    rows = _rows(queryset)
    last: tuple | None = None
    while True:
        chunk = rows
        if last is not None:
            created, payment_id = last
            # (created_at, id) before the last row, written so that the first term bounds
            # the index range: with the OR alone, each chunk would scan from the newest
            # row again (quadratic in the rows exported).
            chunk = rows.filter(created_at__lte=created).filter(
                Q(created_at__lt=created) | Q(id__lt=payment_id)
            )
        chunk = list(chunk[:CHUNK_SIZE])
        yield from chunk
        if len(chunk) < CHUNK_SIZE:
            return
        last = (chunk[-1][1], chunk[-1][0])


def _line(row: tuple) -> list:
    (pid, created, email, amount, currency, captured, reversed_, voided, disputed, status,
     order_id) = row  # fmt: skip

    def major(minor: int) -> str:
        return money.format_input(minor, currency)

    # A void releases an authorization: nothing was refunded.
    refunded = 0 if voided else reversed_
    return [
        pid,
        created.isoformat(),
        email or "",
        major(amount),
        currency,
        major(captured),
        major(refunded),
        major(disputed),
        DisplayStatus(status).label,
        order_id,
    ]


def payment_csv_lines(*, merchant: Merchant, **filters) -> Iterator[str]:
    """The CSV lines of the merchant's payments matching `filters` (the keyword
    arguments of selectors.payments_matching, as the list's filter form gives them).
    Invalid filters raise ValidationFailed before the first line."""
    queryset = selectors.payments_matching(merchant=merchant, **filters)
    return csv_lines(HEADER, (_line(row) for row in _chunks(queryset)))
