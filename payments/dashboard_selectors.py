"""Reads for the dashboard's overview: per currency and day, the payments made that day
and what became of them (captured volume, success, refunds, disputes).

One query on the daily totals (payments.rollup keeps them), whatever the number of
payments: a row per day and currency of the range. Days without payments are filled
with zeros here, not in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from merchants.models import Merchant

from .models import DailyTotals

DEFAULT_DAYS = 30
RANGES = (7, 30, 90)
MAX_DAYS = 366


@dataclass(frozen=True)
class DayTotals:
    """One day's payments in one currency (or a range's, summed); amounts in its minor
    units."""

    day: date | None
    payments: int = 0
    succeeded: int = 0
    captured_amount: int = 0
    refunds: int = 0
    refunded_amount: int = 0
    chargebacks: int = 0
    chargeback_amount: int = 0

    @property
    def failed(self) -> int:
        return self.payments - self.succeeded

    @property
    def success_rate(self) -> Decimal | None:
        """Succeeded authorizations in percent of those attempted (None: no payment)."""
        if not self.payments:
            return None
        return (Decimal(self.succeeded * 100) / self.payments).quantize(Decimal("0.1"))


@dataclass
class CurrencyOverview:
    """One currency over the range: its days, oldest first, and their sum."""

    currency: str
    days: list[DayTotals] = field(default_factory=list)

    @property
    def total(self) -> DayTotals:
        counters = DailyTotals.COUNTERS
        return DayTotals(
            None, **{name: sum(getattr(d, name) for d in self.days) for name in counters}
        )


def window(*, days: int = DEFAULT_DAYS, today: date | None = None) -> tuple[date, date]:
    """The first and last day (inclusive, in the current time zone) of the last `days`."""
    today = today or timezone.localdate()
    return today - timedelta(days=days - 1), today


def overview(*, merchant: Merchant, first_day: date, last_day: date) -> list[CurrencyOverview]:
    """Each currency the merchant took payments in between the two days (inclusive),
    its main currency first: the most payments, then the most volume; then by code."""
    rows = DailyTotals.objects.for_merchant(merchant).filter(day__range=(first_day, last_day))
    by_currency: dict[str, dict[date, DayTotals]] = {}
    for row in rows.values("day", "currency", *DailyTotals.COUNTERS):
        currency = row.pop("currency")
        by_currency.setdefault(currency, {})[row["day"]] = DayTotals(**row)
    span = (last_day - first_day).days + 1
    every_day = [first_day + timedelta(days=i) for i in range(span)]
    result = [
        CurrencyOverview(
            currency=currency, days=[totals.get(day, DayTotals(day=day)) for day in every_day]
        )
        for currency, totals in by_currency.items()
    ]
    result.sort(key=lambda c: (-c.total.payments, -c.total.captured_amount, c.currency))
    return result
