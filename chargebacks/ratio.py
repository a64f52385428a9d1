"""Rebuilding the dispute ratio monitor's monthly totals (payments.MonthlyTotals) from
the payments and the disputes: the data migration that fills them, and the
`rebuild_monthly_totals` command after a deploy or to check the counters. The monitor
itself lives in payments.dispute_ratio (the overview, below this app, reads it)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncMonth

from payments import dispute_ratio
from payments.models import MonthlyTotals, Payment

from .models import Dispute


def disputes_by_month(*, dispute_model: Any = Dispute, merchant_id=None) -> dict:
    """Disputes opened per (merchant, month of creation, UTC): one aggregate query."""
    disputes = dispute_model.objects.all()
    if merchant_id is not None:
        disputes = disputes.filter(merchant_id=merchant_id)
    rows = (
        disputes.annotate(the_month=TruncMonth("created_at", tzinfo=UTC))
        .values("merchant_id", "the_month")
        .annotate(count=Count("id"))
        .order_by()
    )
    return {(r["merchant_id"], _as_date(r["the_month"])): r["count"] for r in rows}


def _as_date(value) -> date:
    return value.date() if isinstance(value, datetime) else value


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
