"""A merchant admin in a real browser: reads the Activity trail and filters it by a
customer; creates an API key, copies its secret and revokes it; opens the overview and
follows a bar to the payments list it counts."""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from chargebacks.services import record_chargeback
from core.actors import SYSTEM, Actor
from core.errors import DomainError
from merchants import roles
from merchants.models import ApiKey
from merchants.services import authenticate_api_key
from payments import rollup, services
from payments.models import Payment
from tests.e2e.conftest import login, screenshot
from tests.factories import CustomerFactory, MerchantFactory, PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(roles_ready):
    merchant = MerchantFactory(name="Acme Shop")
    admin = UserFactory(email="admin@acme.test", merchant=merchant, role=roles.MERCHANT_ADMIN)
    agent = UserFactory(email="agent@acme.test", merchant=merchant, role=roles.SUPPORT_AGENT)
    jane = CustomerFactory(merchant=merchant, email="jane@example.test", name="Jane Roe")
    others = [CustomerFactory(merchant=merchant) for _ in range(3)]
    as_agent = Actor(user=agent)
    # Six weeks of payments in three currencies, some refunded, a few disputed. Each on
    # its day whatever the time of the run (noon; today, a moment ago).
    today, now = timezone.localdate(), timezone.now()

    def on_day(days_ago: int):
        noon = datetime.combine(today - timedelta(days=days_ago), time(12), tzinfo=UTC)
        return min(noon, now - timedelta(seconds=5))

    for days_ago in range(0, 42, 2):
        for currency, amount in (("USD", 1200 + 310 * days_ago), ("EUR", 900 + 75 * days_ago)):
            payment = PaymentFactory(
                merchant=merchant, customer=others[days_ago % 3], amount=amount, currency=currency
            )
            if days_ago % 6 == 0:
                services.reverse_payment(
                    merchant=merchant,
                    payment_id=payment.id,
                    actor=as_agent,
                    amount=amount // 3,
                    is_external=True,
                )
            if days_ago % 10 == 4:
                record_chargeback(merchant=merchant, payment_id=payment.id, actor=as_agent)
            Payment.objects.filter(pk=payment.pk).update(created_at=on_day(days_ago))
    for amount in (666, 666, 120000):
        PaymentFactory(merchant=merchant, customer=others[0], amount=amount, currency="JPY")
    PaymentFactory(merchant=merchant, customer=others[1], amount=666)  # a declined one
    # What happened to Jane: a payment, a refund, a chargeback that blacklisted her.
    paid = PaymentFactory(merchant=merchant, customer=jane, amount=2500, order_id="ord-1001")
    services.reverse_payment(
        merchant=merchant, payment_id=paid.id, actor=as_agent, amount=1200, reason="duplicate"
    )
    record_chargeback(
        merchant=merchant,
        payment_id=paid.id,
        actor=as_agent,
        blacklist_customer=True,
        customer_restrictions={"restrict_mit": True, "restrict_reason": "stolen card"},
    )
    with pytest.raises(DomainError):  # she is blacklisted now
        services.create_payment(
            merchant=merchant, amount=5000, currency="KWD", customer_id=jane.id, actor=SYSTEM
        )
    rollup.rebuild(merchant_id=merchant.id)  # the payments were moved back in time
    return {"merchant": merchant, "admin": admin, "jane": jane, "paid": paid}


def test_the_activity_trail_reads_as_sentences_and_filters_by_customer(page, shop):
    jane, paid = shop["jane"], shop["paid"]
    login(page, "admin@acme.test")
    page.get_by_role("link", name="Activity").click()
    rows = page.locator("#activity-results tbody tr")
    expect(rows.first).to_be_visible()
    expect(page.locator("#activity-results")).not_to_contain_text("minor units")
    expect(page.locator("#activity-results")).not_to_contain_text("{")
    refund = page.locator("#activity-results tr", has_text="requested a refund of $12.00")
    expect(refund).to_contain_text(
        f"agent@acme.test requested a refund of $12.00 of {paid.id[:12]}… (duplicate), "
        "pending at the gateway"
    )
    # The id is cut short on the page, whole on hover, and opens the payment.
    expect(refund.get_by_role("link", name=f"{paid.id[:12]}…")).to_have_attribute(
        "href", f"/payments/{paid.id}/"
    )
    expect(refund.locator(".activity-sentence")).to_have_attribute(
        "title", re.compile(re.escape(f"of {paid.id} (duplicate)"))
    )
    screenshot(page, "activity")

    page.evaluate("window.__sameDocument = 'activity'")
    page.get_by_label("Payment, customer or key id").fill(jane.id)
    expect(page).to_have_url(re.compile(rf"target={jane.id}"))
    expect(rows).to_have_count(6)
    results = page.locator("#activity-results")
    expect(results).to_contain_text(
        "agent@acme.test blacklisted jane@example.test at every merchant after a chargeback"
    )
    expect(results).to_contain_text(
        "set the payment restrictions of jane@example.test: customer-initiated payments "
        "allowed and recurring payments restricted (reason: stolen card)"
    )
    expect(results).to_contain_text("The system tried to charge KWD 5.000 to")
    expect(results.get_by_text("Refused", exact=True)).to_have_count(1)
    assert page.evaluate("window.__sameDocument") == "activity"
    screenshot(page, "activity-customer")

    page.get_by_label("Action").select_option("blacklist.add")
    expect(rows).to_have_count(1)
    # The sentence's email opens the customer.
    rows.first.get_by_role("link", name="jane@example.test").click()
    expect(page).to_have_url(re.compile(rf"/customers/{jane.id}/$"))


def test_create_copy_and_revoke_an_api_key(page, shop):
    merchant = shop["merchant"]
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(page, "admin@acme.test")
    page.get_by_role("link", name="API keys").click()
    expect(page).to_have_title("API keys · Acme Shop · Back office")
    expect(page.locator("#api-keys")).to_contain_text("No API keys yet")

    page.get_by_role("button", name="Create API key").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Name")).to_be_focused()
    dialog.get_by_label("Name").fill("Checkout server")
    dialog.get_by_label("Mode").select_option("live")
    screenshot(page, "api-key-create")
    dialog.get_by_role("button", name="Create key").click()

    secret_box = dialog.locator("#api-key-secret")
    expect(secret_box).to_contain_text("sk_live_")
    secret = secret_box.inner_text().strip()
    key = ApiKey.objects.get(merchant=merchant)
    expect(page.locator("#api-keys")).to_contain_text(f"{key.prefix}…")  # listed behind
    dialog.get_by_role("button", name="Copy").click()
    expect(dialog.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    screenshot(page, "api-key-created")
    dialog.get_by_role("link", name="I have copied it").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(secret)
    row = page.locator("#api-keys tbody tr", has_text="Checkout server")
    expect(row).to_contain_text("Live")
    expect(row).to_contain_text("Never")
    screenshot(page, "api-keys")
    # Only now: authenticating records the key's first use, which the list would show
    # instead of "Never" if it were refreshed after it.
    assert authenticate_api_key(secret) == key

    row.get_by_role("button", name="Revoke Checkout server").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("Every request made with it will be refused")
    screenshot(page, "api-key-revoke")
    dialog.get_by_role("button", name="Revoke key").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(page.locator(".toast")).to_contain_text(f"API key {key.prefix}… revoked")
    expect(row).to_contain_text("Revoked")
    assert authenticate_api_key(secret) is None

    page.goto("/activity/?action=api_key.revoke")
    expect(page.locator("#activity-results")).to_contain_text(
        f"admin@acme.test revoked the live API key {key.prefix}… “Checkout server”"
    )


def test_an_agent_has_no_api_keys_page(page, shop):
    login(page, "agent@acme.test")
    expect(page.get_by_role("link", name="API keys")).to_have_count(0)
    assert page.goto("/api-keys/").status == 403


def test_the_overview_leads_from_a_bar_to_its_payments(page, shop):
    login(page, "admin@acme.test")
    page.get_by_role("link", name="Overview").click()
    sections = page.locator("section.overview-currency h2")
    expect(sections).to_have_count(3)  # USD, EUR, JPY
    expect(sections.first).to_contain_text("USD")
    expect(sections.first).to_contain_text("Main currency")
    usd = page.locator("#currency-USD").locator("xpath=..")
    expect(usd.locator(".figures")).to_contain_text("Success rate")
    screenshot(page, "overview")

    page.get_by_label("Range", exact=True).select_option("7")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"days=7"))
    expect(page.locator(".page-header")).to_contain_text("(7 days, UTC)")
    screenshot(page, "overview-7-days")

    page.get_by_label("From", exact=True).fill("2020-01-01")
    page.get_by_label("To", exact=True).fill("2026-01-01")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".alert-error")).to_contain_text("Choose at most 366 days.")

    page.goto("/overview/")
    day = timezone.localdate() - timedelta(days=4)
    bar = usd.locator("figure", has_text="Refunds").locator(f'a[href*="from={day.isoformat()}"]')
    expect(bar).to_have_count(0)  # nothing refunded of that day's payments
    bar = usd.locator("figure", has_text="Volume").locator(f'a[href*="from={day.isoformat()}"]')
    bar.click()
    expect(page).to_have_url(
        re.compile(rf"/payments/\?from={day.isoformat()}&to={day.isoformat()}&currency=USD$")
    )
    screenshot(page, "overview-bar-target")

    page.go_back()
    usd.locator("figure", has_text="Disputes").locator(f'a[href*="from={day.isoformat()}"]').click()
    expect(page).to_have_url(
        re.compile(
            rf"/payments/\?status=chargeback&from={day.isoformat()}&to={day.isoformat()}"
            "&currency=USD$"
        )
    )
