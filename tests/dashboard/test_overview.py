"""The overview: refunds and chargebacks of the last 30 days per currency, as SVG bars."""

import re
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.actors import SYSTEM
from payments import dashboard_selectors, services
from payments.models import Payment, Transaction
from tests.factories import PaymentFactory

OVERVIEW = reverse("payments:overview")


def refund(payment, amount):
    return services.reverse_payment(
        merchant=payment.merchant, payment_id=payment.id, actor=SYSTEM, amount=amount
    )


def test_refunds_by_day_sums_per_currency_and_day(merchant, other_merchant):
    usd = PaymentFactory(merchant=merchant, amount=5000)
    eur = PaymentFactory(merchant=merchant, amount=5000, currency="EUR")
    refund(usd, 100)
    refund(usd, 250)
    refund(eur, 700)
    old = refund(usd, 1)
    Transaction.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    failed = refund(usd, 2)
    Transaction.objects.filter(pk=failed.pk).update(status="failed")
    refund(PaymentFactory(merchant=other_merchant, amount=5000), 999)

    series = dashboard_selectors.refunds_by_day(merchant=merchant)
    assert [s.currency for s in series] == ["EUR", "USD"]
    usd_series = series[1]
    assert len(usd_series.days) == 30
    assert usd_series.days[-1].day == timezone.localdate()
    assert (usd_series.count, usd_series.amount) == (2, 350)
    assert (series[0].count, series[0].amount) == (1, 700)


def test_chargebacks_by_day(merchant):
    payment = PaymentFactory(merchant=merchant, amount=1234)
    Payment.objects.filter(pk=payment.pk).update(
        is_chargebacked=True, chargeback_recorded_at=timezone.now() - timedelta(days=2)
    )
    [usd] = dashboard_selectors.chargebacks_by_day(merchant=merchant)
    assert usd.count == 1 and usd.amount == 1234
    assert usd.days[-3].count == 1


def test_each_series_is_one_query(merchant, django_assert_num_queries):
    for _ in range(3):
        refund(PaymentFactory(merchant=merchant), 100)
    with django_assert_num_queries(1):
        dashboard_selectors.refunds_by_day(merchant=merchant)
    with django_assert_num_queries(1):
        dashboard_selectors.chargebacks_by_day(merchant=merchant)


def test_overview_page_draws_svg_bars(agent_client, merchant):
    refund(PaymentFactory(merchant=merchant, amount=5000), 1500)
    html = agent_client.get(OVERVIEW).content.decode()
    assert "$15.00" in html
    assert "1 refund ·" in html
    assert "No chargebacks in the last 30 days." in html
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert len(re.findall(r"<rect ", svg)) == 30
    assert re.search(r'height="120\.0"', svg)  # today's bar is the peak
    assert "style=" not in html  # CSP: no inline styles


def test_overview_query_count_does_not_grow(agent_client, merchant, django_assert_max_num_queries):
    with CaptureQueriesContext(connection) as queries:
        agent_client.get(OVERVIEW)
    for currency in ("USD", "EUR", "JPY"):
        refund(PaymentFactory(merchant=merchant, amount=5000, currency=currency), 100)
    with django_assert_max_num_queries(len(queries)):
        agent_client.get(OVERVIEW)
