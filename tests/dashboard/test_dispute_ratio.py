"""The dispute ratio on the overview, and the banner merchant admins see on every
dashboard page from an early warning on (SPEC 10)."""

from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from payments import dispute_ratio
from tests.factories import PaymentFactory

from .conftest import client_for

pytestmark = pytest.mark.django_db

OVERVIEW = "/overview/"
PAYMENTS = "/payments/"
BANNER = 'data-testid="dispute-ratio-banner"'


def this_month(merchant, *, captured: int, disputes: int) -> None:
    dispute_ratio.add(
        merchant_id=merchant.id,
        month=dispute_ratio.month_of(timezone.now()),
        counts={"captured_payments": captured, "disputes_opened": disputes},
    )


def last_month(merchant, *, captured: int, disputes: int = 0) -> None:
    dispute_ratio.add(
        merchant_id=merchant.id,
        month=dispute_ratio.add_months(dispute_ratio.month_of(timezone.now()), -1),
        counts={"captured_payments": captured, "disputes_opened": disputes},
    )


def test_the_overview_shows_the_ratio_its_status_and_the_months(agent_client, merchant):
    PaymentFactory(merchant=merchant)

    html = agent_client.get(OVERVIEW).content.decode()

    assert "Dispute ratio" in html
    assert "badge-ratio-ok" in html
    assert "Visa VAMP" in html and "Mastercard ECP" in html
    assert html.count('class="chart-bar chart-bar-ratio-') == 7  # six months and this one
    assert "1.5% threshold" in html and "1% early warning" in html


def test_the_overview_says_excessive_when_a_programme_is(agent_client, merchant):
    last_month(merchant, captured=5_000)
    this_month(merchant, captured=5_000, disputes=120)  # 2.4% of last month's, 120 ≥ 100

    html = agent_client.get(OVERVIEW).content.decode()

    assert "badge-ratio-excessive" in html


def test_a_merchant_admin_sees_the_banner_on_every_page_from_early_warning(
    merchant_admin_client, merchant
):
    last_month(merchant, captured=6_000)
    this_month(merchant, captured=100, disputes=70)  # 70 of 6,000: 1.17%, ≥ 67 chargebacks

    for page in (PAYMENTS, OVERVIEW, "/customers/"):
        html = merchant_admin_client.get(page).content.decode()
        assert BANNER in html, page
        assert "Dispute ratio early warning" in html


def test_an_excessive_ratio_banner_reads_as_an_error(merchant_admin_client, merchant):
    last_month(merchant, captured=5_000)
    this_month(merchant, captured=5_000, disputes=120)

    html = merchant_admin_client.get(PAYMENTS).content.decode()

    assert "Dispute ratio excessive" in html
    assert "alert-error ratio-banner" in html


def test_last_months_excessive_ratio_still_shows_early_in_the_new_month(
    merchant_admin_client, merchant
):
    month = dispute_ratio.add_months(dispute_ratio.month_of(timezone.now()), -1)
    dispute_ratio.add(
        merchant_id=merchant.id,
        month=dispute_ratio.add_months(month, -1),
        counts={"captured_payments": 5_000},
    )
    dispute_ratio.add(
        merchant_id=merchant.id,
        month=month,
        counts={"captured_payments": 5_000, "disputes_opened": 150},
    )

    html = merchant_admin_client.get(PAYMENTS).content.decode()

    assert "Dispute ratio excessive" in html
    assert f"{month:%B %Y}" in html


def test_no_banner_while_the_ratio_is_ok(merchant_admin_client, merchant):
    this_month(merchant, captured=100_000, disputes=10)
    assert BANNER not in merchant_admin_client.get(PAYMENTS).content.decode()


def test_support_agents_see_no_banner(agent_client, merchant):
    last_month(merchant, captured=5_000)
    this_month(merchant, captured=5_000, disputes=120)
    assert BANNER not in agent_client.get(PAYMENTS).content.decode()


def test_the_banners_come_with_the_member_and_cost_no_query_of_their_own(
    client, merchant, merchant_admin, agent
):
    last_month(merchant, captured=5_000)
    this_month(merchant, captured=5_000, disputes=120)

    def page_of(user) -> tuple[str, list[str]]:
        client_for(client, user)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(PAYMENTS)
        assert response.status_code == 200
        return response.content.decode(), [q["sql"] for q in captured.captured_queries]

    agent_html, agent_queries = page_of(agent)
    admin_html, admin_queries = page_of(merchant_admin)

    # Both banners (this one, and the webhooks' endpoint disabled after its retries) are
    # asked in the statement that loads the member: a merchant admin's list page is as
    # many statements as an agent's, within five.
    assert BANNER in admin_html and BANNER not in agent_html
    assert len(admin_queries) == len(agent_queries) <= 5
    [member] = [q for q in admin_queries if "payments_monthlytotals" in q]
    assert "webhooks_endpoint" in member and "auth_group" in member
    assert "payments_payment" not in member


def test_a_process_that_runs_into_a_new_month_reads_the_new_month(merchant_admin_client, merchant):
    """The member's statement, banner figures included, is built once a day per process
    (core.dashboard.members): past midnight on the 1st it reads the new month."""
    october, november = date(2025, 10, 1), date(2025, 11, 1)
    dispute_ratio.add(merchant_id=merchant.id, month=october, counts={"captured_payments": 5_000})
    dispute_ratio.add(
        merchant_id=merchant.id,
        month=november,
        counts={"captured_payments": 100, "disputes_opened": 150},
    )
    before = datetime(2025, 10, 31, 23, 59, tzinfo=UTC)
    with mock.patch("django.utils.timezone.now", return_value=before):
        assert BANNER not in merchant_admin_client.get(PAYMENTS).content.decode()
    with mock.patch("django.utils.timezone.now", return_value=before + timedelta(minutes=2)):
        html = merchant_admin_client.get(PAYMENTS).content.decode()
    assert "Dispute ratio excessive" in html
