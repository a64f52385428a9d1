"""The overview: per currency (the main one first), volume, success rate, refunds and
disputes of the payments made in a date range, each bar a link to its filtered list;
one query on the daily totals whatever the number of payments."""

import re
from datetime import date, timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from chargebacks.services import record_chargeback
from core.actors import SYSTEM
from payments import charts, dashboard_selectors, rollup, services
from payments.forms import OverviewRangeForm
from payments.models import Payment
from tests.factories import PaymentFactory

OVERVIEW = reverse("payments:overview")


def refund(payment, amount):
    return services.reverse_payment(
        merchant=payment.merchant, payment_id=payment.id, actor=SYSTEM, amount=amount
    )


def made_days_ago(payment, days):
    Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(days=days))
    rollup.rebuild(merchant_id=payment.merchant_id)


@pytest.fixture
def shop(merchant, other_merchant):
    """USD: 3 payments (one failed), a refund and a chargeback; EUR: 1 payment; JPY: 2
    payments, one made 40 days ago; another merchant's payment."""
    usd = PaymentFactory(merchant=merchant, amount=5000)
    refund(usd, 1500)
    PaymentFactory(merchant=merchant, amount=2500)
    PaymentFactory(merchant=merchant, amount=666)  # declined by the sandbox
    disputed = PaymentFactory(merchant=merchant, amount=1200, currency="EUR")
    record_chargeback(merchant=merchant, payment_id=disputed.id, actor=SYSTEM)
    PaymentFactory(merchant=merchant, amount=700, currency="JPY")
    PaymentFactory(merchant=merchant, amount=800, currency="JPY")
    made_days_ago(PaymentFactory(merchant=merchant, amount=900, currency="JPY"), 40)
    PaymentFactory(merchant=other_merchant, amount=99_999)
    return usd


def test_the_main_currency_comes_first_with_its_success_rate(merchant, shop):
    first, last = dashboard_selectors.window(days=30)
    usd, jpy, eur = dashboard_selectors.overview(merchant=merchant, first_day=first, last_day=last)
    assert [usd.currency, jpy.currency, eur.currency] == ["USD", "JPY", "EUR"]
    total = usd.total
    assert (total.payments, total.succeeded, total.failed) == (3, 2, 1)
    assert str(total.success_rate) == "66.7"
    assert (total.captured_amount, total.refunds, total.refunded_amount) == (7500, 1, 1500)
    assert (eur.total.chargebacks, eur.total.chargeback_amount) == (1, 1200)
    assert jpy.total.payments == 2  # the one made 40 days ago is outside the range
    assert len(usd.days) == 30 and usd.days[-1].day == timezone.localdate()


def test_the_overview_is_one_query(merchant, shop, django_assert_num_queries):
    first, last = dashboard_selectors.window(days=90)
    with django_assert_num_queries(1):
        dashboard_selectors.overview(merchant=merchant, first_day=first, last_day=last)


def test_the_page_shows_the_figures_and_links_them(agent_client, shop):
    html = unescape(agent_client.get(OVERVIEW).content.decode())
    assert html.index('id="currency-USD"') < html.index('id="currency-JPY"')
    assert html.index('id="currency-JPY"') < html.index('id="currency-EUR"')
    assert "Main currency" in html
    today = timezone.localdate().isoformat()
    first = (timezone.localdate() - timedelta(days=29)).isoformat()
    usd = html[html.index('id="currency-USD"') : html.index('id="currency-JPY"')]
    assert "$75.00" in usd and "66.7%" in usd and "1 failed" in usd
    assert f'href="/payments/?status=failed&from={first}&to={today}&currency=USD">66.7%' in usd
    assert f'href="/payments/?from={first}&to={today}&currency=USD">3</a>' in usd
    assert "$15.00" in usd and "1 refund" in usd
    eur = html[html.index('id="currency-EUR"') :]
    assert f'href="/payments/?status=chargeback&from={first}&to={today}&currency=EUR"' in eur
    assert "style=" not in html  # CSP: no inline styles


def test_each_bar_links_to_its_days_filtered_list(agent_client, shop):
    html = unescape(agent_client.get(OVERVIEW).content.decode())
    today = timezone.localdate().isoformat()
    usd = html[html.index('id="currency-USD"') : html.index('id="currency-JPY"')]
    volume, refunds = re.findall(r"<svg.*?</svg>", usd, re.S)
    assert "None of these payments was disputed." in usd  # no chart, no bar to open
    assert re.findall(r'<a href="([^"]+)"', volume) == [
        f"/payments/?from={today}&to={today}&currency=USD"
    ]
    # All the payments of that day (a refunded one may read "partially refunded").
    assert re.findall(r'<a href="([^"]+)"', refunds) == [
        f"/payments/?from={today}&to={today}&currency=USD"
    ]
    # Axes with labelled ticks: money on the value axis, dates along the days.
    assert volume.count('class="chart-axis"') == 2
    assert re.findall(r'text-anchor="end"[^>]*>([^<]+)<', volume) == [
        "$0.00",
        "$20.00",
        "$40.00",
        "$60.00",
        "$80.00",
    ]
    assert f"{timezone.localdate():%b} {timezone.localdate().day}</text>" in volume
    assert re.search(r'aria-label="Volume \(captured\) per day in USD, [^"]+: \$75\.00', volume)


def test_a_bar_says_its_day_in_words(merchant, shop):
    [usd, *_] = dashboard_selectors.overview(
        merchant=merchant, first_day=timezone.localdate(), last_day=timezone.localdate()
    )
    panel = charts.currency_panel(usd, first=usd.days[0].day, last=usd.days[-1].day)
    [bar] = panel["charts"][0].bars
    assert bar.title.endswith(": $75.00 captured, 3 payments")
    assert bar.height == charts.PLOT_HEIGHT * 7500 / 8000


@pytest.mark.parametrize(
    ("query", "days"),
    [({}, 30), ({"days": "7"}, 7), ({"days": "90"}, 90), ({"days": ""}, 30)],
)
def test_preset_ranges(agent_client, query, days):
    response = agent_client.get(OVERVIEW, query)
    assert response.status_code == 200
    first, last = response.context["first_day"], response.context["last_day"]
    assert last == timezone.localdate() and (last - first).days + 1 == days


def test_a_custom_range_shows_those_days_only(agent_client, merchant, shop):
    day = timezone.localdate() - timedelta(days=40)
    response = agent_client.get(OVERVIEW, {"from": day.isoformat(), "to": day.isoformat()})
    [jpy] = response.context["panels"]
    assert jpy["currency"] == "JPY" and "¥900" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"from": "2026-01-10", "to": "2026-01-01"}, "The range starts after it ends."),
        ({"from": "2026-01-10"}, "Give both dates of the range"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "Choose at most 366 days."),
        ({"from": "today", "to": "2026-01-01"}, "Enter a valid date."),
        ({"days": "12"}, "Select a valid choice"),
    ],
)
def test_an_invalid_range_says_why_and_shows_the_last_30_days(agent_client, query, error):
    response = agent_client.get(OVERVIEW, query)
    html = response.content.decode()
    assert response.status_code == 200
    assert error in unescape(html) and "Showing the last 30 days instead." in html
    assert (response.context["last_day"] - response.context["first_day"]).days == 29


def test_a_range_cannot_end_in_the_future():
    today = date(2026, 3, 1)
    form = OverviewRangeForm({"from": "2026-02-25", "to": "2026-03-02"}, today=today)
    assert not form.is_valid() and form.errors["to"] == ["The range cannot end in the future."]
    assert form.window() == (date(2026, 1, 31), today)


def test_no_payments_in_the_range_says_so(agent_client):
    html = agent_client.get(OVERVIEW, {"days": "7"}).content.decode()
    assert "No payments between" in html and "Choose a longer range" in html


def test_the_page_does_not_query_more_with_more_payments(
    agent_client, merchant, django_assert_max_num_queries
):
    PaymentFactory(merchant=merchant, amount=1000)
    # The session, the user with its merchant, permissions and roles; the overview's.
    with django_assert_max_num_queries(5) as captured:
        agent_client.get(OVERVIEW, {"days": "90"})
    for currency in ("USD", "EUR", "JPY", "KWD"):
        for amount in (1000, 2000, 3000):
            refund(PaymentFactory(merchant=merchant, amount=amount, currency=currency), 100)
    with django_assert_max_num_queries(len(captured)):
        agent_client.get(OVERVIEW, {"days": "90"})
    assert not any("payments_payment" in q["sql"] for q in captured.captured_queries)


@pytest.mark.parametrize(
    ("peak", "step"), [(0, 1), (3, 1), (7, 2), (8000, 2000), (7501, 2000), (12345, 5000)]
)
def test_round_ticks(peak, step):
    assert charts.nice_step(peak) == step
