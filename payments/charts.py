"""SVG bar charts of the overview, computed here so the template only places rectangles."""

from __future__ import annotations

from dataclasses import dataclass

from core import money

from .dashboard_selectors import CurrencySeries

CHART_WIDTH = 600
CHART_HEIGHT = 120


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


def bar_chart(series: CurrencySeries, *, by: str) -> dict:
    """Geometry of an SVG bar chart (one bar per day), computed here so the template
    only places rectangles; `by` is "amount" or "count"."""
    values = [getattr(day, by) for day in series.days]
    peak = max(values, default=0) or 1
    slot = CHART_WIDTH / max(len(values), 1)
    bars = []
    for day, value in zip(series.days, values, strict=True):
        height = round(CHART_HEIGHT * value / peak, 1) if value else 0
        shown = money.format_minor(value, series.currency) if by == "amount" else str(value)
        bars.append(
            Bar(
                x=round(slot * len(bars) + slot * 0.15, 1),
                y=round(CHART_HEIGHT - height, 1),
                width=round(slot * 0.7, 1),
                height=height,
                title=f"{day.day:%b} {day.day.day}: {shown}",
            )
        )
    return {
        "bars": bars,
        "peak": money.format_minor(peak, series.currency) if by == "amount" else str(peak),
        "first_day": series.days[0].day if series.days else None,
        "last_day": series.days[-1].day if series.days else None,
    }


def chart_panels(all_series: list[CurrencySeries]) -> list[dict]:
    return [
        {
            "currency": s.currency,
            "count": s.count,
            "amount": money.format_minor(s.amount, s.currency),
            "chart": bar_chart(s, by="amount"),
        }
        for s in all_series
    ]
