"""The overview's dispute ratio chart: one bar per month (the oldest first, the current
month last), its height the ratio, its colour the month's status, with the schemes'
threshold and the early warning drawn as lines. Computed here so the template only
places shapes (as payments.charts does for the daily charts)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from . import dispute_ratio
from .charts import HEIGHT, LEFT, PLOT_HEIGHT, PLOT_WIDTH, TOP, WIDTH, Y_TICKS, Tick, nice_step


@dataclass(frozen=True)
class RatioBar:
    x: float
    y: float
    width: float
    height: float
    status: str
    title: str


@dataclass(frozen=True)
class Line:
    y: float
    label: str


@dataclass(frozen=True)
class RatioChart:
    description: str
    bars: list[RatioBar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    threshold: Line
    early_warning: Line
    width: int = WIDTH
    height: int = HEIGHT


def _bps(percent: Decimal | None) -> int:
    """A percent as hundredths of a percent (basis points), for integer axes."""
    return int((percent or 0) * 100)


def _percent(bps: int) -> str:
    return f"{Decimal(bps) / 100:.2f}".rstrip("0").rstrip(".") + "%"


def ratio_chart(report: dispute_ratio.RatioReport) -> RatioChart:
    months = [*reversed(report.previous), report.month]
    programme = dispute_ratio.programmes()[0]
    threshold = _bps(programme.threshold_percent)
    early = _bps(programme.early_warning_percent)
    values = [_bps(m.ratio_percent) for m in months]
    step = nice_step(max([*values, threshold]), Y_TICKS)
    top = step * Y_TICKS
    slot = PLOT_WIDTH / len(months)

    def y_of(bps: int) -> float:
        return round(TOP + PLOT_HEIGHT - PLOT_HEIGHT * min(bps, top) / top, 1)

    bars = []
    for index, (month, value) in enumerate(zip(months, values, strict=True)):
        ratio = f"{month.ratio_percent}%" if month.ratio_percent is not None else "no payments"
        so_far = "" if month.is_complete else " so far"
        bars.append(
            RatioBar(
                x=round(LEFT + slot * index + slot * 0.2, 1),
                y=y_of(value),
                width=round(slot * 0.6, 1),
                height=round(TOP + PLOT_HEIGHT - y_of(value), 1),
                status=month.status,
                title=(
                    f"{month.label}: {ratio}{so_far} ({month.disputes:,} disputes of "
                    f"{month.captured_payments:,} payments), {month.status_label.lower()}"
                ),
            )
        )
    y_ticks = [Tick(position=y_of(step * i), label=_percent(step * i)) for i in range(Y_TICKS + 1)]
    x_ticks = [
        Tick(position=round(LEFT + slot * (i + 0.5), 1), label=f"{m.month:%b}")
        for i, m in enumerate(months)
    ]
    description = "Dispute ratio per month: " + "; ".join(bar.title for bar in bars)
    return RatioChart(
        description=description,
        bars=bars,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        threshold=Line(y=y_of(threshold), label=f"{_percent(threshold)} threshold"),
        early_warning=Line(y=y_of(early), label=f"{_percent(early)} early warning"),
    )
