"""Reads for the dashboard's overview: refunds and chargebacks per day and currency.

Each function is one aggregate query (GROUP BY day, currency), scoped to the merchant;
days without activity are filled with zeros here, not in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from merchants.models import Merchant

from .models import Payment, Transaction

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class DayTotal:
    day: date
    count: int
    amount: int  # minor units of the series' currency


@dataclass
class CurrencySeries:
    """One currency's daily totals over the window, oldest day first."""

    currency: str
    days: list[DayTotal] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(d.count for d in self.days)

    @property
    def amount(self) -> int:
        return sum(d.amount for d in self.days)


def window(*, days: int = DEFAULT_DAYS, today: date | None = None) -> tuple[date, date]:
    """The first and last day (inclusive, in the current time zone) of the window."""
    today = today or timezone.localdate()
    return today - timedelta(days=days - 1), today


def _since(first_day: date) -> datetime:
    return timezone.make_aware(datetime.combine(first_day, time.min))


def _series(rows, *, first_day: date, last_day: date) -> list[CurrencySeries]:
    by_currency: dict[str, dict[date, DayTotal]] = {}
    for row in rows:
        by_currency.setdefault(row["currency"], {})[row["day"]] = DayTotal(
            day=row["day"], count=row["count"], amount=row["amount"] or 0
        )
    span = (last_day - first_day).days + 1
    result = []
    for currency in sorted(by_currency):
        totals = by_currency[currency]
        result.append(
            CurrencySeries(
                currency=currency,
                days=[
                    totals.get(day, DayTotal(day=day, count=0, amount=0))
                    for day in (first_day + timedelta(days=i) for i in range(span))
                ],
            )
        )
    return result


def refunds_by_day(
    *, merchant: Merchant, days: int = DEFAULT_DAYS, today: date | None = None
) -> list[CurrencySeries]:
    """Refunds created per day (pending or succeeded; failed ones returned nothing)."""
    first_day, last_day = window(days=days, today=today)
    rows = (
        Transaction.objects.for_merchant(merchant)
        .filter(type=Transaction.Type.REFUND, created_at__gte=_since(first_day))
        .exclude(status=Transaction.Status.FAILED)
        .annotate(day=TruncDate("created_at"))
        .values("day", "payment__currency")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by()
    )
    rows = [
        {**row, "currency": row["payment__currency"]}
        for row in rows
        if first_day <= row["day"] <= last_day
    ]
    return _series(rows, first_day=first_day, last_day=last_day)


def chargebacks_by_day(
    *, merchant: Merchant, days: int = DEFAULT_DAYS, today: date | None = None
) -> list[CurrencySeries]:
    """Chargebacks recorded per day, with the charged-back payments' amounts."""
    first_day, last_day = window(days=days, today=today)
    rows = (
        Payment.objects.for_merchant(merchant)
        .filter(is_chargebacked=True, chargeback_recorded_at__gte=_since(first_day))
        .annotate(day=TruncDate("chargeback_recorded_at"))
        .values("day", "currency")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by()
    )
    rows = [row for row in rows if first_day <= row["day"] <= last_day]
    return _series(rows, first_day=first_day, last_day=last_day)
