"""The dispute ratio monitor (SPEC 10): the monthly counters kept with each write, the
month boundary in UTC, and the card schemes' thresholds with their early warning."""

from datetime import UTC, date, datetime

import pytest

from core.actors import SYSTEM
from payments import dispute_ratio, services
from payments.dispute_ratio import EARLY_WARNING, EXCESSIVE, OK, month_figures
from payments.models import MonthlyTotals
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db

NOV = date(2026, 11, 1)
OCT = date(2026, 10, 1)
AFTER_NOVEMBER = datetime(2026, 12, 5, tzinfo=UTC)  # November is over: actual figures


def totals(merchant) -> dict[date, tuple[int, int]]:
    return {
        row.month: (row.captured_payments, row.disputes_opened)
        for row in MonthlyTotals.objects.filter(merchant=merchant)
    }


# --- counting -----------------------------------------------------------------------------


def test_a_payment_captured_at_once_counts_in_its_month(merchant):
    payment = PaymentFactory(merchant=merchant)
    assert totals(merchant) == {dispute_ratio.month_of(payment.captured_at): (1, 0)}


def test_an_authorization_counts_only_once_captured(merchant):
    payment = PaymentFactory(merchant=merchant, capture=False)
    assert totals(merchant) == {}
    services.capture_payment(merchant=merchant, payment_id=payment.id, actor=SYSTEM)
    assert list(totals(merchant).values()) == [(1, 0)]


def test_a_capture_the_gateway_declines_is_taken_back(merchant):
    payment = PaymentFactory(merchant=merchant, amount=1000, capture=False)
    # The sandbox refuses captures of this amount for good.
    services.capture_payment(merchant=merchant, payment_id=payment.id, actor=SYSTEM, amount=666)
    payment.refresh_from_db()
    assert not payment.is_captured
    assert list(totals(merchant).values()) == [(0, 0)]


def test_failed_payments_are_not_counted(merchant):
    PaymentFactory(merchant=merchant, amount=666)  # the sandbox declines it
    assert totals(merchant) == {}


def test_a_dispute_at_the_last_second_of_a_month_counts_in_that_month(merchant):
    dispute_ratio.count_dispute_opened(
        merchant_id=merchant.id, opened_at=datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)
    )
    dispute_ratio.count_dispute_opened(
        merchant_id=merchant.id, opened_at=datetime(2026, 11, 1, 0, 0, 0, tzinfo=UTC)
    )
    assert totals(merchant) == {OCT: (0, 1), NOV: (0, 1)}


def test_the_month_is_utc_whatever_the_offset_of_the_moment(merchant):
    from zoneinfo import ZoneInfo

    # 20:00 on Oct 31 in New York is already 00:00 on Nov 1 in UTC.
    new_york = datetime(2026, 10, 31, 20, 0, tzinfo=ZoneInfo("America/New_York"))
    assert dispute_ratio.month_of(new_york) == NOV


def test_the_monitor_reads_one_query(merchant, django_assert_num_queries):
    PaymentFactory(merchant=merchant)
    with django_assert_num_queries(1):
        report = dispute_ratio.monitor(merchant_id=merchant.id)
    assert report.month.captured_payments == 1
    assert len(report.previous) == 6


def test_one_merchants_counts_never_reach_another(merchant, other_merchant):
    PaymentFactory(merchant=merchant)
    report = dispute_ratio.monitor(merchant_id=other_merchant.id)
    assert report.month.captured_payments == 0


# --- thresholds ---------------------------------------------------------------------------


def status_of(*, disputes, captured, previous_captured=None, now=AFTER_NOVEMBER):
    counts = {NOV: (captured, disputes)}
    if previous_captured is not None:
        counts[OCT] = (previous_captured, 0)
    figures = month_figures(NOV, counts, now)
    return {p.programme.scheme: p.status for p in figures.programmes}, figures


@pytest.mark.parametrize(
    ("disputes", "captured", "expected"),
    [
        (1500, 100_001, EARLY_WARNING),  # 1.49998%: just below the ratio
        (1500, 100_000, EXCESSIVE),  # 1.5% with 1,500 disputes: at both
        (1600, 100_000, EXCESSIVE),  # above
        (1499, 99_000, EARLY_WARNING),  # 1.514% but one dispute short of the minimum
        (999, 50_000, OK),  # 2%, but under two thirds of the minimum (1,000)
        (1000, 100_000, EARLY_WARNING),  # 1.0% with 1,000: at two thirds of both
        (1000, 100_001, OK),  # just below two thirds of the ratio
    ],
)
def test_visa_vamp_thresholds(disputes, captured, expected):
    # The previous month is large, so Mastercard's programme stays out of the way.
    statuses, _ = status_of(disputes=disputes, captured=captured, previous_captured=10**9)
    assert statuses["visa"] == expected


@pytest.mark.parametrize(
    ("disputes", "previous_captured", "expected"),
    [
        (100, 6_667, EARLY_WARNING),  # 1.49993% of last month's: just below
        (100, 6_666, EXCESSIVE),  # 1.50015%: above
        (150, 10_000, EXCESSIVE),  # exactly 1.5%
        (99, 1_000, EARLY_WARNING),  # 9.9%, one chargeback short of the minimum
        (66, 1_000, OK),  # under two thirds of the minimum (67)
        (67, 6_700, EARLY_WARNING),  # 1.0% with 67: at two thirds of both
        (67, 6_701, OK),  # just below two thirds of the ratio
    ],
)
def test_mastercard_ecp_counts_against_the_previous_months_payments(
    disputes, previous_captured, expected
):
    # This month's own payments do not matter to Mastercard's programme.
    statuses, _ = status_of(disputes=disputes, captured=10**9, previous_captured=previous_captured)
    assert statuses["mastercard"] == expected


def test_the_months_status_is_the_worse_programmes(merchant):
    _, figures = status_of(disputes=150, captured=10**9, previous_captured=10_000)
    assert figures.status == EXCESSIVE
    assert figures.worst.programme.scheme == "mastercard"


def test_thresholds_are_settings(settings):
    settings.DISPUTE_RATIO_VISA_PERCENT = "0.9"
    settings.DISPUTE_RATIO_VISA_MINIMUM = 10
    statuses, _ = status_of(disputes=10, captured=1000, previous_captured=10**9)
    assert statuses["visa"] == EXCESSIVE


def test_disputes_without_any_captured_payment_are_over_every_ratio():
    statuses, figures = status_of(disputes=1500, captured=0, previous_captured=0)
    assert statuses == {"visa": EXCESSIVE, "mastercard": EXCESSIVE}
    assert figures.ratio_percent is None


def test_no_disputes_is_ok_even_without_payments():
    statuses, figures = status_of(disputes=0, captured=0)
    assert figures.status == OK
    assert statuses == {"visa": OK, "mastercard": OK}


# --- the projection -----------------------------------------------------------------------


def test_the_current_month_projects_its_counts_linearly():
    # Nov 16 00:00 UTC: half of November's 30 days have passed.
    figures = month_figures(NOV, {NOV: (40_000, 700)}, datetime(2026, 11, 16, tzinfo=UTC))
    assert not figures.is_complete
    assert figures.elapsed_percent == 50
    assert (figures.projected_disputes, figures.projected_captured_payments) == (1400, 80_000)
    assert figures.projected_ratio_percent == figures.ratio_percent  # VAMP's ratio unchanged


def test_an_early_warning_from_the_projection_before_the_month_ends():
    # 700 disputes by mid-month at 1.75%: on course for 1,400, over two thirds of 1,500.
    now = datetime(2026, 11, 16, tzinfo=UTC)
    figures = month_figures(NOV, {NOV: (40_000, 700), OCT: (10**9, 0)}, now)
    assert figures.status == EARLY_WARNING


def test_the_first_day_of_a_month_is_not_projected():
    now = datetime(2026, 11, 1, 6, tzinfo=UTC)
    figures = month_figures(NOV, {NOV: (100, 10)}, now)
    assert (figures.projected_disputes, figures.projected_captured_payments) == (10, 100)


def test_a_finished_month_is_what_happened():
    figures = month_figures(OCT, {OCT: (1000, 5)}, AFTER_NOVEMBER)
    assert figures.is_complete
    assert (figures.projected_disputes, figures.projected_captured_payments) == (5, 1000)
    assert figures.ratio_percent == 0.5
