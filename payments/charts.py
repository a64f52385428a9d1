"""The overview's SVG bar charts, computed here so the template only places shapes:
bars (each a link to the payments list filtered to its day, currency and status), a
y axis with round ticks in the currency (or a count), and dates along the x axis."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from html import escape
from urllib.parse import urlencode

from django.urls import get_script_prefix, reverse
from django.utils.safestring import mark_safe

from core import money

from .dashboard_selectors import CurrencyOverview, DayTotals
from .models import DisplayStatus

# The drawing's own units (the SVG scales to its box, text with it).
WIDTH, HEIGHT = 360, 190
LEFT, RIGHT, TOP, BOTTOM = 64, 10, 12, 26
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
Y_TICKS = 4
X_LABELS = 5
# The list's status filter for refunds: none. A refunded payment shows "refunded" or
# "partially refunded" (or "chargeback"), and the list filters one status at a time, so
# a refund's bar opens all the payments of its day and currency, the refunded among them,
# rather than a list missing the partial refunds. Set it once the list can filter both.
REFUNDS_STATUS = ""
# Where the template draws the axes and their labels.
PLOT_FRAME = {
    "left": LEFT,
    "right": WIDTH - RIGHT,
    "top": TOP,
    "bottom": HEIGHT - BOTTOM,
    "y_label_x": LEFT - 6,
    "x_label_y": HEIGHT - 8,
}


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str
    url: str | None  # None for an empty day: nothing to open


@dataclass(frozen=True)
class Tick:
    position: float  # y (value axis) or x (day axis), in the drawing's units
    label: str


@dataclass(frozen=True)
class Chart:
    key: str  # "volume", "refunds", "disputes": its bars' colour
    title: str
    total_value: int  # 0: nothing to draw, the chart says `empty` instead
    empty: str
    description: str  # what an assistive technology reads for the whole chart
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]

    def bars_svg(self) -> str:
        """The bars with something to open, as SVG links: a few hundred shapes a page,
        written here in one pass rather than by the template engine tag by tag (the
        numbers are ours; the texts are escaped)."""
        return mark_safe(  # noqa: S308 - every text in it goes through escape()
            "\n".join(
                f'<a href="{escape(bar.url)}" aria-label="{escape(bar.title)}">'
                f'<rect class="chart-bar chart-bar-{escape(self.key)}" x="{bar.x}" y="{bar.y}" '
                f'width="{bar.width}" height="{bar.height}"><title>{escape(bar.title)}</title>'
                "</rect></a>"
                for bar in self.bars
                if bar.url
            )
        )


def payments_list_url(*, currency: str, first: date, last: date, status: str = "") -> str:
    """The payments list filtered as a bar or a figure counts: created between the two
    days (inclusive), in `currency`, and in `status` when given."""
    query = {"status": status, "from": first.isoformat(), "to": last.isoformat()}
    query["currency"] = currency
    path = _list_path(get_script_prefix())
    return f"{path}?{urlencode({k: v for k, v in query.items() if v})}"


@cache
def _list_path(script_prefix: str) -> str:
    # Asked for every bar (some hundreds a page): reversed once per prefix it is under.
    return reverse("payments:list")


def nice_step(peak: int, ticks: int = Y_TICKS) -> int:
    """A round step (1, 2 or 5 times a power of ten) so that `ticks` steps reach `peak`."""
    wanted = max(-(-peak // ticks), 1)  # ceil, in integers
    magnitude = 10 ** (len(str(wanted)) - 1)
    for multiple in (1, 2, 5, 10):
        if multiple * magnitude >= wanted:
            return multiple * magnitude
    raise AssertionError("unreachable")  # pragma: no cover


def bar_chart(
    series: CurrencyOverview,
    *,
    key: str,
    title: str,
    value: Callable[[DayTotals], int],
    show: Callable[[int], str],
    tell: Callable[[DayTotals], str],
    status: str = "",
    total: str,
    detail: str,
    empty: str,
) -> Chart:
    """One bar per day of `series`; `value` is what a bar measures, `show` formats a
    value (money or a count), `tell` says a whole day in words (a bar's tooltip)."""
    days = series.days
    values = [value(day) for day in days]
    step = nice_step(max(values, default=0))
    top = step * Y_TICKS
    slot = PLOT_WIDTH / max(len(days), 1)
    bars = []
    for index, (day, measured) in enumerate(zip(days, values, strict=True)):
        height = round(PLOT_HEIGHT * measured / top, 1) if measured else 0
        url = None
        if measured:
            url = payments_list_url(
                currency=series.currency, first=day.day, last=day.day, status=status
            )
        bars.append(
            Bar(
                x=round(LEFT + slot * index + slot * 0.15, 1),
                y=round(TOP + PLOT_HEIGHT - height, 1),
                width=round(max(slot * 0.7, 1), 1),
                height=height,
                title=f"{day.day:%b} {day.day.day}: {tell(day)}",
                url=url,
            )
        )
    y_ticks = [
        Tick(position=round(TOP + PLOT_HEIGHT - PLOT_HEIGHT * i / Y_TICKS, 1), label=show(step * i))
        for i in range(Y_TICKS + 1)
    ]
    every = max(-(-len(days) // X_LABELS), 1)
    shown = sorted({*range(0, len(days), every), len(days) - 1}) if days else []
    if len(shown) > 1 and shown[-1] - shown[-2] < every / 2:
        shown.pop(-2)  # the last day's label would collide with the one before
    x_ticks = [
        Tick(
            position=round(LEFT + slot * (i + 0.5), 1), label=f"{days[i].day:%b} {days[i].day.day}"
        )
        for i in shown
    ]
    first, last = (days[0].day, days[-1].day) if days else (None, None)
    description = (
        f"{title} per day in {series.currency}"
        + (f", {first:%b} {first.day} to {last:%b} {last.day}" if first else "")
        + f": {total}, {detail}"
    )
    return Chart(key, title, sum(values), empty, description, bars, y_ticks, x_ticks)


def _count(noun: str) -> Callable[[int], str]:
    return lambda n: f"{n:,} {noun}{'' if n == 1 else 's'}"


def currency_panel(series: CurrencyOverview, *, first: date, last: date) -> dict:
    """One currency of the overview: its figures, with links, and its three charts."""
    currency, total = series.currency, series.total

    def fmt(minor: int) -> str:
        return money.format_minor(minor, currency)

    payments, refunds, disputes = _count("payment"), _count("refund"), _count("dispute")
    rate = total.success_rate

    def link(status: str = "") -> str:
        return payments_list_url(currency=currency, first=first, last=last, status=status)

    return {
        "currency": currency,
        "figures": [
            {"label": "Volume (captured)", "value": fmt(total.captured_amount), "url": None},
            {"label": "Payments", "value": f"{total.payments:,}", "url": link()},
            {
                "label": "Success rate",
                "value": f"{rate}%" if rate is not None else "—",
                "note": f"{total.failed:,} failed" if total.failed else "none failed",
                "url": link(DisplayStatus.FAILED) if total.failed else None,
            },
            {
                "label": "Refunded",
                "value": fmt(total.refunded_amount),
                "note": refunds(total.refunds),
                "url": link(REFUNDS_STATUS) if total.refunds else None,
            },
            {
                "label": "Disputed",
                "value": fmt(total.chargeback_amount),
                "note": disputes(total.chargebacks),
                "url": link(DisplayStatus.CHARGEBACK) if total.chargebacks else None,
            },
        ],
        "charts": [
            bar_chart(
                series,
                key="volume",
                title="Volume (captured)",
                value=lambda d: d.captured_amount,
                show=fmt,
                tell=lambda d: f"{fmt(d.captured_amount)} captured, {payments(d.payments)}",
                total=fmt(total.captured_amount),
                detail=payments(total.payments),
                empty="Nothing captured of these payments.",
            ),
            bar_chart(
                series,
                key="refunds",
                title="Refunds",
                value=lambda d: d.refunded_amount,
                show=fmt,
                tell=lambda d: f"{fmt(d.refunded_amount)} refunded, {refunds(d.refunds)}",
                status=REFUNDS_STATUS,
                total=fmt(total.refunded_amount),
                detail=refunds(total.refunds),
                empty="None of these payments was refunded.",
            ),
            bar_chart(
                series,
                key="disputes",
                title="Disputes",
                value=lambda d: d.chargebacks,
                show=lambda n: f"{n:,}",
                tell=lambda d: f"{disputes(d.chargebacks)}, {fmt(d.chargeback_amount)}",
                status=DisplayStatus.CHARGEBACK,
                total=disputes(total.chargebacks),
                detail=fmt(total.chargeback_amount),
                empty="None of these payments was disputed.",
            ),
        ],
    }
