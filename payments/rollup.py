"""The overview's daily totals (DailyTotals), kept in the same transaction as the change
they count, so they commit or roll back with it and the overview never scans payments.

One call per write, at the end of its transaction (the row it bumps is a per-merchant,
per-day hot spot: locked as briefly as possible):

    payments/services.py   create_payment   rollup.record(payment)
                           capture_payment  rollup.record(payment, capture)
                           reverse_payment  rollup.record(payment, reversal)
    payments/approvals.py  approve_refund   rollup.record(payment, refund)  (held, approved)
    payments/delivery.py   _finish          rollup.record(payment, txn, undone=True)  (declined)
    chargebacks/services.py                 rollup.record(payment, <its chargeback entry>)
                           close_dispute    rollup.record(payment, <chargeback_reversal>)

A won dispute's chargeback_reversal takes its amount off `chargeback_amount` (the money
the disputes kept from the merchant), while `chargebacks` still counts the chargeback:
a dispute opened is one, whatever its outcome.

Everything counts on the payment's creation day. `rebuild()` recomputes the totals
from the payments and their ledger (the data migration, and the `rebuild_daily_totals`
command after a deploy or to check the counters).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from . import counters
from .models import DailyTotals, Payment, Transaction

COUNTERS = DailyTotals.COUNTERS


def record(payment: Payment, change: Transaction | None = None, *, undone: bool = False) -> None:
    """Count in the payment's day: the payment itself, just created (with what it
    captured at once), or one change of its ledger (a capture, a refund, a chargeback;
    a void moves no captured money and counts nothing). `undone`: the change was
    declined by the gateway and is taken back."""
    if change is None:
        counts = {
            "payments": 1,
            "succeeded": int(payment.status == Payment.Status.SUCCEEDED),
            "captured_amount": payment.amount_captured,
        }
    elif change.type == Transaction.Type.CAPTURE:
        counts = {"captured_amount": change.amount}
    elif change.type == Transaction.Type.REFUND:
        counts = {"refunds": 1, "refunded_amount": change.amount}
    elif change.type == Transaction.Type.CHARGEBACK:
        counts = {"chargebacks": 1, "chargeback_amount": change.amount}
    elif change.type == Transaction.Type.CHARGEBACK_REVERSAL:
        counts = {"chargeback_amount": -change.amount}
    else:
        return
    sign = -1 if undone else 1
    add(
        merchant_id=payment.merchant_id,
        day=timezone.localdate(payment.created_at),
        currency=payment.currency,
        counts={name: sign * value for name, value in counts.items()},
    )


def add(*, merchant_id: int, day: date, currency: str, counts: dict[str, int]) -> None:
    """Add `counts` to one day's row, creating it (never losing a concurrent increment)."""
    counters.add_counts(
        DailyTotals,
        key={"merchant_id": merchant_id, "day": day, "currency": currency},
        counts=counts,
    )


# --- rebuilding from the payments ------------------------------------------------------------


def totals_from_payments(
    *, payment_model: Any = Payment, transaction_model: Any = Transaction, merchant_id=None
) -> dict[tuple[int, date, str], dict[str, int]]:
    """The daily totals as the payments and their ledger say, in four aggregate queries
    (also for a migration's historical models): {(merchant_id, day, currency): counts}."""
    payments = payment_model.objects.all()
    ledger = transaction_model.objects.all()
    if merchant_id is not None:
        payments = payments.filter(merchant_id=merchant_id)
        ledger = ledger.filter(merchant_id=merchant_id)
    key = {"day": TruncDate("created_at"), "the_currency": F("currency")}
    rows = [
        *payments.values("merchant_id", **key).annotate(
            payments=Count("id"),
            succeeded=Count("id", filter=Q(status="succeeded")),
            captured_amount=Sum("amount_captured"),
        ),
    ]
    ledger_key = {"day": TruncDate("payment__created_at"), "the_currency": F("payment__currency")}
    # What was declined, and refunds held for approval or canceled there, were never sent
    # (a held refund is counted when it is approved: payments.approvals).
    kept = ledger.exclude(status__in=["failed", "requires_approval", "canceled"])
    rows += (
        kept.filter(type="refund")
        .values("merchant_id", **ledger_key)
        .annotate(refunds=Count("id"), refunded_amount=Sum("amount"))
    )
    rows += (
        kept.filter(type="chargeback")
        .values("merchant_id", **ledger_key)
        .annotate(chargebacks=Count("id"), chargeback_amount=Sum("amount"))
    )
    totals: dict[tuple[int, date, str], dict[str, int]] = defaultdict(dict)
    for row in rows:
        counts = totals[(row["merchant_id"], row["day"], row["the_currency"])]
        for name in COUNTERS:
            if name in row:
                counts[name] = row[name] or 0
    given_back = (
        kept.filter(type="chargeback_reversal")
        .values("merchant_id", **ledger_key)
        .annotate(given_back=Sum("amount"))
    )
    for row in given_back:
        counts = totals[(row["merchant_id"], row["day"], row["the_currency"])]
        counts["chargeback_amount"] = counts.get("chargeback_amount", 0) - (row["given_back"] or 0)
    return dict(totals)


def rebuild(*, merchant_id=None, totals_model: Any = DailyTotals, **models: Any) -> int:
    """Replace the daily totals (of one merchant, or all) with what the payments say;
    answers how many rows were written. Run it while nothing writes payments (a deploy),
    or run it again: it is idempotent."""
    totals = totals_from_payments(merchant_id=merchant_id, **models)
    rows = [
        totals_model(merchant_id=merchant, day=day, currency=currency, **counts)
        for (merchant, day, currency), counts in totals.items()
    ]
    counters.replace_rows(totals_model, rows, merchant_id=merchant_id)
    return len(totals)
