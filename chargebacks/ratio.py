"""Rebuilding the dispute ratio monitor's monthly totals (payments.MonthlyTotals) from
the payments and the disputes: the data migration that fills them, and the
`rebuild_monthly_totals` command after a deploy or to check the counters. The monitor
itself lives in payments.dispute_ratio (the overview, below this app, reads it)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from payments import dispute_ratio
from payments.models import MonthlyTotals, Payment

from .models import Dispute


def disputes_by_month(*, dispute_model: Any = Dispute, merchant_id=None) -> dict:
    """Disputes opened per (merchant, month of creation, UTC): one aggregate query."""
    return dispute_ratio.count_by_month(
        dispute_model.objects.all(), at="created_at", merchant_id=merchant_id
    )


def rebuild_monthly_totals(
    *,
    merchant_id=None,
    payment_model: Any = Payment,
    dispute_model: Any = Dispute,
    totals_model: Any = MonthlyTotals,
) -> int:
    """Replace the monthly totals (of one merchant, or all) with what the payments and
    disputes say; answers how many rows were written. Idempotent; run it while nothing
    writes (a deploy) or run it again."""
    captured = dispute_ratio.captured_by_month(payment_model=payment_model, merchant_id=merchant_id)
    opened = disputes_by_month(dispute_model=dispute_model, merchant_id=merchant_id)
    keys = sorted(set(captured) | set(opened))
    with transaction.atomic():
        existing = totals_model.objects.all()
        if merchant_id is not None:
            existing = existing.filter(merchant_id=merchant_id)
        existing.delete()
        totals_model.objects.bulk_create(
            [
                totals_model(
                    merchant_id=merchant,
                    month=month,
                    captured_payments=captured.get((merchant, month), 0),
                    disputes_opened=opened.get((merchant, month), 0),
                )
                for merchant, month in keys
            ],
            batch_size=1000,
        )
    return len(keys)
