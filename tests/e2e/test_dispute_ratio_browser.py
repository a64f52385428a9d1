"""The dispute ratio in a real browser: the banner a merchant admin sees from an early
warning on, and the overview's ratio card with its chart (no CSP violation, no error)."""

import re

import pytest
from playwright.sync_api import expect

from demo.dispute_ratio import ADMIN_EMAIL, seed_dispute_ratio_demo
from tests.e2e.conftest import PASSWORD, login, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_merchant_admin_at_an_early_warning_sees_it_everywhere(page, roles_ready):
    seed_dispute_ratio_demo(password=PASSWORD)
    login(page, ADMIN_EMAIL)

    page.goto("/payments/")
    banner = page.get_by_test_id("dispute-ratio-banner")
    expect(banner).to_contain_text("Dispute ratio early warning")
    expect(banner).to_contain_text("Mastercard ECP")

    banner.get_by_role("link", name="See the overview").click()
    card = page.locator("section.dispute-ratio")
    expect(card.get_by_role("heading", name="Dispute ratio")).to_contain_text("Early warning")
    expect(card.locator("rect.chart-bar")).to_have_count(7)
    chart = card.get_by_role("img")
    expect(chart).to_have_attribute("aria-label", re.compile(r"^Dispute ratio per month"))
    screenshot(page, "dispute-ratio-overview")
