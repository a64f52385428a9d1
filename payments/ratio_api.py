"""GET /api/v1/dispute-ratio (SPEC 10): the dispute ratio monitor's figures for a month,
as the overview shows them. Read from payments.dispute_ratio (one query)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal

from django.utils import timezone
from ninja import Field, Query, Router, Schema

from core.api import OutputSchema, api_merchant, errors
from core.errors import ValidationFailed

from . import dispute_ratio

router = Router(tags=["disputes"])

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
EARLIEST_YEAR = 2000
Status = Literal["ok", "early_warning", "excessive"]


class RatioQuery(Schema):
    month: str | None = Field(
        None,
        description="A calendar month (UTC) as YYYY-MM, not after the current one; "
        "default: the current month",
        examples=["2026-11"],
    )


class ProgrammeOut(OutputSchema):
    scheme: Literal["visa", "mastercard"]
    name: str = Field(description="Visa VAMP or Mastercard ECP")
    status: Status
    disputes: int
    captured_payments: int = Field(
        description="The denominator: the month's captured payments (Visa), or the "
        "previous month's (Mastercard)"
    )
    ratio_percent: float | None = Field(description="Month to date; null: no payments")
    projected_disputes: int
    projected_ratio_percent: float | None
    threshold_percent: float
    minimum_disputes: int
    early_warning_percent: float
    early_warning_minimum_disputes: int


class MonthOut(OutputSchema):
    month: str = Field(description="YYYY-MM")
    status: Status
    is_complete: bool
    elapsed_percent: float = Field(description="How much of the month has passed (UTC)")
    disputes: int = Field(description="Disputes opened in the month (UTC)")
    captured_payments: int = Field(description="Payments captured in the month (UTC)")
    ratio_percent: float | None = Field(
        description="disputes ÷ captured payments, in percent; null without payments"
    )
    projected_disputes: int = Field(
        description="Linear projection to the month's end (counts ÷ elapsed fraction, once "
        "a day has passed); the actual figure for a finished month"
    )
    projected_captured_payments: int
    projected_ratio_percent: float | None
    programmes: list[ProgrammeOut]


class DisputeRatioOut(OutputSchema):
    as_of: datetime
    month: MonthOut
    previous_months: list[MonthOut] = Field(description="The six months before, newest first")


def parse_month(value: str | None, *, today: date) -> date | None:
    """YYYY-MM to the month's first day; a malformed, too old or future month is a
    validation error on `month`."""
    if value is None:
        return None
    if not re.fullmatch(MONTH_PATTERN, value):
        raise ValidationFailed("Month must be a calendar month as YYYY-MM", param="month")
    month = date(int(value[:4]), int(value[5:]), 1)
    if month.year < EARLIEST_YEAR:
        raise ValidationFailed(f"Month must be {EARLIEST_YEAR}-01 or later", param="month")
    if month > today.replace(day=1):
        raise ValidationFailed("Month must not be after the current month", param="month")
    return month


def month_out(figures: dispute_ratio.MonthFigures) -> dict:
    return {
        "month": f"{figures.month:%Y-%m}",
        "status": figures.status,
        "is_complete": figures.is_complete,
        "elapsed_percent": figures.elapsed_percent,
        "disputes": figures.disputes,
        "captured_payments": figures.captured_payments,
        "ratio_percent": figures.ratio_percent,
        "projected_disputes": figures.projected_disputes,
        "projected_captured_payments": figures.projected_captured_payments,
        "projected_ratio_percent": figures.projected_ratio_percent,
        "programmes": [
            {
                "scheme": p.programme.scheme,
                "name": p.programme.name,
                "status": p.status,
                "disputes": p.disputes,
                "captured_payments": p.captured_payments,
                "ratio_percent": p.ratio_percent,
                "projected_disputes": p.projected_disputes,
                "projected_ratio_percent": p.projected_ratio_percent,
                "threshold_percent": p.programme.threshold_percent,
                "minimum_disputes": p.programme.minimum_disputes,
                "early_warning_percent": p.programme.early_warning_percent,
                "early_warning_minimum_disputes": p.programme.early_warning_minimum,
            }
            for p in figures.programmes
        ],
    }


@router.get(
    "/dispute-ratio",
    response={200: DisputeRatioOut, **errors(400)},
    summary="Dispute ratio of a month",
)
def get_dispute_ratio(request, query: Query[RatioQuery]):
    """Disputes opened ÷ payments captured in a calendar month (UTC), month to date and
    projected to the month's end, with its status under Visa's VAMP and Mastercard's ECP
    (`ok`, `early_warning` at two thirds of both the ratio and the minimum count of
    disputes, `excessive`), and the six months before. A bad `month` answers 400
    validation_error (`param: month`)."""
    now = timezone.now()
    month = parse_month(query.month, today=now.date())
    report = dispute_ratio.monitor(merchant_id=api_merchant(request).id, month=month, now=now)
    return {
        "as_of": report.as_of,
        "month": month_out(report.month),
        "previous_months": [month_out(m) for m in report.previous],
    }
