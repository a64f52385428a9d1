"""The dispute ratio monitor (SPEC 10): per merchant and calendar month (UTC), disputes
opened ÷ payments captured, against the card schemes' monitoring programmes.

Counting (MonthlyTotals, in the transaction of the change it counts, like
payments.rollup's daily totals):

    payments/services.py     create_payment (captured at once), capture_payment
                             count_capture(payment)
    payments/delivery.py     _finish, a declined capture     count_capture(payment, undone=True)
    chargebacks/services.py  opening a dispute               count_dispute_opened(dispute)

Reading (`monitor`): one query of at most eight rows, whatever the number of payments.

The programmes (thresholds are settings, DISPUTE_RATIO_*):

- Visa VAMP: the month's disputes ÷ the same month's captured payments; excessive at
  1.5% or more with at least 1,500 disputes that month. (VAMP also counts fraud reports,
  TC40s, which no gateway here reports: only disputes are counted.)
- Mastercard ECP: the month's chargebacks ÷ the previous month's captured payments;
  excessive at 1.5% or more with at least 100 chargebacks that month.

Status of one programme for a month: `excessive` when the month's actual figures meet
both its thresholds (ratio and minimum count); else `early_warning` when the figures
projected to the month's end meet two thirds of both (ratio ≥ ⅔ of the threshold and
disputes ≥ ⅔ of the minimum, rounded up: 1,000 for VAMP, 67 for ECP); else `ok`. A
month's status is the worse of the two programmes'. A finished month's projection is
what happened.

The projection is linear: each count divided by the elapsed fraction of the month
(UTC), once a full day has elapsed (before that the month-to-date figures stand for the
projection, since a few hours say little about a month). Projecting both counts leaves
the VAMP ratio unchanged; the ECP ratio grows, since its denominator is already final.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.db.models import CharField, Count, OuterRef, StringAgg, Subquery, Value
from django.db.models.functions import Cast, Concat, TruncMonth
from django.utils import timezone

from . import counters
from .models import MonthlyTotals, Payment

OK, EARLY_WARNING, EXCESSIVE = "ok", "early_warning", "excessive"
STATUSES = (OK, EARLY_WARNING, EXCESSIVE)  # in order of severity
STATUS_LABELS = {OK: "OK", EARLY_WARNING: "Early warning", EXCESSIVE: "Excessive"}
EARLY_WARNING_FRACTION = Fraction(2, 3)
HISTORY_MONTHS = 6
MIN_ELAPSED_FOR_PROJECTION = timedelta(days=1)


# --- months ------------------------------------------------------------------------------


def month_of(moment: datetime) -> date:
    """The first day of the calendar month (UTC) of an aware datetime."""
    moment = moment.astimezone(UTC)
    return date(moment.year, moment.month, 1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of a month, in UTC."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    following = add_months(month, 1)
    return start, datetime(following.year, following.month, 1, tzinfo=UTC)


# --- counting ----------------------------------------------------------------------------


def count_capture(payment: Payment, *, undone: bool = False) -> None:
    """Count a payment captured (in the month of its `captured_at`), or, `undone`, take
    back a capture the gateway declined (call it before `captured_at` is cleared)."""
    if payment.captured_at is None:
        return
    add(
        merchant_id=payment.merchant_id,
        month=month_of(payment.captured_at),
        counts={"captured_payments": -1 if undone else 1},
    )


def count_dispute_opened(*, merchant_id: int, opened_at: datetime) -> None:
    """Count a dispute opened at `opened_at` (its creation time)."""
    add(merchant_id=merchant_id, month=month_of(opened_at), counts={"disputes_opened": 1})


def add(*, merchant_id: int, month: date, counts: dict[str, int]) -> None:
    """Add to one month's row, creating it (never losing a concurrent increment)."""
    counters.add_counts(
        MonthlyTotals, key={"merchant_id": merchant_id, "month": month}, counts=counts
    )


def count_by_month(rows, *, at: str, merchant_id=None) -> dict[tuple[int, date], int]:
    """`rows` (a queryset) counted per (merchant, UTC month of the `at` field), in one
    aggregate query: for rebuilding MonthlyTotals (also from a migration's models)."""
    if merchant_id is not None:
        rows = rows.filter(merchant_id=merchant_id)
    counts = (
        rows.annotate(the_month=TruncMonth(at, tzinfo=UTC))
        .values("merchant_id", "the_month")
        .annotate(count=Count("id"))
        .order_by()
    )
    return {(r["merchant_id"], _as_date(r["the_month"])): r["count"] for r in counts}


def captured_by_month(*, payment_model=Payment, merchant_id=None) -> dict[tuple[int, date], int]:
    """Captured payments per (merchant, month) as the payments say."""
    captured = payment_model.objects.filter(is_captured=True, captured_at__isnull=False)
    return count_by_month(captured, at="captured_at", merchant_id=merchant_id)


def _as_date(value) -> date:
    return value.date() if isinstance(value, datetime) else value


# --- reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Programme:
    """A card scheme's monitoring programme, as settings define it."""

    scheme: str  # "visa", "mastercard"
    name: str
    threshold_percent: Decimal
    minimum_disputes: int
    against_previous_month: bool

    @property
    def early_warning_percent(self) -> Decimal:
        return (self.threshold_percent * 2 / 3).quantize(Decimal("0.01"))

    @property
    def early_warning_minimum(self) -> int:
        return math.ceil(self.minimum_disputes * EARLY_WARNING_FRACTION)


def programmes() -> list[Programme]:
    return [
        Programme(
            scheme="visa",
            name="Visa VAMP",
            threshold_percent=Decimal(str(settings.DISPUTE_RATIO_VISA_PERCENT)),
            minimum_disputes=settings.DISPUTE_RATIO_VISA_MINIMUM,
            against_previous_month=False,
        ),
        Programme(
            scheme="mastercard",
            name="Mastercard ECP",
            threshold_percent=Decimal(str(settings.DISPUTE_RATIO_MASTERCARD_PERCENT)),
            minimum_disputes=settings.DISPUTE_RATIO_MASTERCARD_MINIMUM,
            against_previous_month=True,
        ),
    ]


def ratio_percent(disputes: Fraction | int, captured: Fraction | int) -> Decimal | None:
    """disputes ÷ captured in percent, to 0.001 (None without captured payments)."""
    if not captured:
        return None
    exact = Fraction(disputes) * 100 / Fraction(captured)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.001"))


def _meets(disputes, captured, *, percent: Fraction, minimum: Fraction) -> bool:
    """disputes ÷ captured ≥ percent % and disputes ≥ minimum, in exact arithmetic (no
    captured payments at all: any dispute is over every ratio)."""
    disputes, captured = Fraction(disputes), Fraction(captured)
    if disputes <= 0 or disputes < minimum:
        return False
    return disputes * 100 >= percent * captured


@dataclass(frozen=True)
class ProgrammeFigures:
    programme: Programme
    disputes: int
    captured_payments: int  # the denominator: this month's, or the previous month's
    ratio_percent: Decimal | None
    projected_disputes: int
    projected_captured_payments: int
    projected_ratio_percent: Decimal | None
    status: str


@dataclass(frozen=True)
class MonthFigures:
    month: date
    disputes: int
    captured_payments: int
    ratio_percent: Decimal | None
    is_complete: bool
    elapsed_percent: Decimal  # of the month (100 once it is over)
    projected_disputes: int
    projected_captured_payments: int
    projected_ratio_percent: Decimal | None
    programmes: list[ProgrammeFigures]

    @property
    def status(self) -> str:
        return max((p.status for p in self.programmes), key=STATUSES.index, default=OK)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def label(self) -> str:
        return f"{self.month:%b %Y}"

    @property
    def worst(self) -> ProgrammeFigures | None:
        """The programme that decides the status (the first, when all are ok)."""
        ranked = sorted(self.programmes, key=lambda p: -STATUSES.index(p.status))
        return ranked[0] if ranked else None


@dataclass(frozen=True)
class RatioReport:
    month: MonthFigures
    previous: list[MonthFigures]  # newest first
    as_of: datetime


def elapsed_fraction(month: date, now: datetime) -> Fraction:
    start, end = month_bounds(month)
    if now >= end:
        return Fraction(1)
    if now <= start:
        return Fraction(0)
    return Fraction(int((now - start).total_seconds()), int((end - start).total_seconds()))


def month_figures(month: date, counts: dict[date, tuple[int, int]], now: datetime) -> MonthFigures:
    """One month's figures from {month: (captured, disputes)}; months absent count 0."""
    captured, disputes = counts.get(month, (0, 0))
    previous_captured, _ = counts.get(add_months(month, -1), (0, 0))
    elapsed = elapsed_fraction(month, now)
    start, _ = month_bounds(month)
    if elapsed == 1 or now - start < MIN_ELAPSED_FOR_PROJECTION:
        projected_disputes, projected_captured = Fraction(disputes), Fraction(captured)
    else:
        projected_disputes, projected_captured = disputes / elapsed, captured / elapsed
    figures = []
    for programme in programmes():
        denominator = previous_captured if programme.against_previous_month else captured
        projected_denominator = (
            previous_captured if programme.against_previous_month else projected_captured
        )
        percent = Fraction(programme.threshold_percent)
        minimum = Fraction(programme.minimum_disputes)
        if _meets(disputes, denominator, percent=percent, minimum=minimum):
            status = EXCESSIVE
        elif _meets(
            projected_disputes,
            projected_denominator,
            percent=percent * EARLY_WARNING_FRACTION,
            minimum=minimum * EARLY_WARNING_FRACTION,
        ):
            status = EARLY_WARNING
        else:
            status = OK
        figures.append(
            ProgrammeFigures(
                programme=programme,
                disputes=disputes,
                captured_payments=denominator,
                ratio_percent=ratio_percent(disputes, denominator),
                projected_disputes=round(projected_disputes),
                projected_captured_payments=round(projected_denominator),
                projected_ratio_percent=ratio_percent(projected_disputes, projected_denominator),
                status=status,
            )
        )
    return MonthFigures(
        month=month,
        disputes=disputes,
        captured_payments=captured,
        ratio_percent=ratio_percent(disputes, captured),
        is_complete=elapsed == 1,
        elapsed_percent=Decimal(round(float(elapsed) * 100, 1)).quantize(Decimal("0.1")),
        projected_disputes=round(projected_disputes),
        projected_captured_payments=round(projected_captured),
        projected_ratio_percent=ratio_percent(projected_disputes, projected_captured),
        programmes=figures,
    )


def monitor(
    *, merchant_id: int, month: date | None = None, now: datetime | None = None, history: int = 6
) -> RatioReport:
    """A month's ratio (default: the current one), month to date and projected, with the
    `history` months before it: one query on MonthlyTotals."""
    now = now or timezone.now()
    month = month or month_of(now)
    rows = MonthlyTotals.objects.filter(
        merchant_id=merchant_id, month__range=(_first_read(month, history), month)
    )
    counts = {
        row["month"]: (row["captured_payments"], row["disputes_opened"])
        for row in rows.values("month", "captured_payments", "disputes_opened")
    }
    return _report(counts, month=month, now=now, history=history)


def _first_read(month: date, history: int) -> date:
    return add_months(month, -history - 1)  # the oldest shown month's previous month


def _report(counts: dict, *, month: date, now: datetime, history: int) -> RatioReport:
    return RatioReport(
        month=month_figures(month, counts, now),
        previous=[month_figures(add_months(month, -i), counts, now) for i in range(1, history + 1)],
        as_of=now,
    )


BANNER_HISTORY = 1


def banner_figures(
    *, merchant_id: int, now: datetime | None = None, months: str | None = None
) -> MonthFigures | None:
    """For the dashboard's banner: the worse of this month (projected) and the last
    month (final, since early in a month the new one says little), when it is an early
    warning or worse; else None. One query of at most three rows, or none when `months`
    is the member's `banner_months_column`."""
    now = now or timezone.now()
    if months is None:
        report = monitor(merchant_id=merchant_id, now=now, history=BANNER_HISTORY)
    else:
        counts = {}
        for line in months.split("\n") if months else []:
            month, captured, disputes = line.split()
            counts[date.fromisoformat(month)] = (int(captured), int(disputes))
        report = _report(counts, month=month_of(now), now=now, history=BANNER_HISTORY)
    worst = max([report.month, *report.previous], key=lambda m: STATUSES.index(m.status))
    return worst if worst.status != OK else None


def banner_months_column() -> Subquery:
    """The MonthlyTotals rows `banner_figures` reads, for the signed-in member's merchant,
    as one text column of the member's row (core.dashboard.member_extras): a line
    "YYYY-MM-DD captured disputes" a month."""
    month = month_of(timezone.now())
    line = Concat(
        Cast("month", CharField()),
        Value(" "),
        Cast("captured_payments", CharField()),
        Value(" "),
        Cast("disputes_opened", CharField()),
        output_field=CharField(),
    )
    rows = MonthlyTotals.objects.filter(
        merchant_id=OuterRef("merchant_id"),
        month__range=(_first_read(month, BANNER_HISTORY), month),
    )
    grouped = rows.order_by().values("merchant_id").annotate(all=StringAgg(line, Value("\n")))
    return Subquery(grouped.values("all"))
