"""Bulk refund reads, always from the merchant."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count

from core import money
from core.csv import csv_lines
from core.errors import found_or_not_found
from merchants.models import Merchant

from .models import RefundBatch

# refund_status: the refund's own state as it is now (pending at the gateway, succeeded,
# failed when the gateway declined it later, or waiting for an approval).
RESULT_HEADER = [
    "row", "payment_id", "outcome", "amount", "currency", "refund_id", "refund_status", "error"
]  # fmt: skip


def recent_batches(*, merchant: Merchant, limit: int = 50) -> list[RefundBatch]:
    return list(RefundBatch.objects.for_merchant(merchant).select_related("created_by")[:limit])


def get_batch(*, merchant: Merchant, batch_id: str) -> RefundBatch:
    queryset = RefundBatch.objects.for_merchant(merchant).select_related(
        "created_by", "confirmed_by"
    )
    return found_or_not_found(queryset, batch_id, name="refund batch")


@dataclass(frozen=True)
class Progress:
    """Where a batch stands: its rows per outcome (RefundRow.Outcome), and how far the
    job is."""

    rows_ok: int
    pending: int = 0
    refused: int = 0
    refunded: int = 0
    failed: int = 0
    canceled: int = 0

    @property
    def done(self) -> int:
        return self.refunded + self.failed + self.canceled

    @property
    def percent(self) -> int:
        return 100 if not self.rows_ok else min(100, self.done * 100 // self.rows_ok)


def progress(batch: RefundBatch) -> Progress:
    rows = batch.rows.order_by().values_list("outcome").annotate(n=Count("id"))
    return Progress(rows_ok=batch.rows_ok, **dict(rows))


def rows_to_show(batch: RefundBatch, *, outcome: str | None = None, limit: int = 200):
    """The first rows of the batch (of one outcome), for the page; the whole of it is
    in the CSV."""
    rows = batch.rows.select_related("refund").order_by("number")
    if outcome:
        rows = rows.filter(outcome=outcome)
    return list(rows[:limit])


def result_lines(batch: RefundBatch) -> Iterator[str]:
    """The batch's rows as CSV lines, in file order, read in chunks."""

    def rows():
        # The amount refunded; before that, the dry run's plan; for a refused row, what
        # the file said.
        queryset = batch.rows.order_by("number").values_list(
            "number", "payment_id", "outcome", "amount_text", "planned_amount", "currency",
            "refund_id", "refund__amount", "refund__status", "error",
        )  # fmt: skip
        for row in queryset.iterator(chunk_size=1000):
            number, payment_id, outcome, text, planned, currency = row[:6]
            refund_id, refunded, refund_status, error = row[6:]
            minor = refunded if refund_id else planned
            amount = money.format_input(minor, currency) if minor and currency else text
            yield [
                number, payment_id, outcome, amount, currency, refund_id or "",
                refund_status or "", error,
            ]  # fmt: skip

    return csv_lines(RESULT_HEADER, rows())
