"""The dashboard in a real browser (chromium): HTMX filters, the refund / void and
record-chargeback dialogs, and what a role without the permission sees."""

import os
import re
import shutil
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import expect

from core.actors import SYSTEM
from customers.services import is_email_blacklisted
from merchants import roles
from payments import services
from payments.models import Payment, Transaction
from tests.e2e.conftest import ROOT, login, screenshot
from tests.factories import CustomerFactory, MerchantFactory, PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(roles_ready):
    merchant = MerchantFactory(name="Acme Shop")
    agent = UserFactory(email="agent@acme.test", merchant=merchant, role=roles.SUPPORT_AGENT)
    jane = CustomerFactory(merchant=merchant, email="jane@example.test", name="Jane Roe")
    others = [CustomerFactory(merchant=merchant) for _ in range(3)]
    # A list with every kind of row: captured, authorized, failed, refunded, in yen.
    for i in range(5):
        PaymentFactory(merchant=merchant, customer=others[i % 3], amount=1000 + 375 * i)
    PaymentFactory(merchant=merchant, customer=others[0], amount=4800, capture=False)
    PaymentFactory(merchant=merchant, customer=others[1], amount=666)  # the sandbox declines
    PaymentFactory(merchant=merchant, customer=others[2], amount=12000, currency="JPY")
    refunded = PaymentFactory(merchant=merchant, customer=others[0], amount=1999)
    services.reverse_payment(
        merchant=merchant, payment_id=refunded.id, actor=SYSTEM, is_external=True
    )
    payment = PaymentFactory(merchant=merchant, customer=jane, amount=2500, order_id="ord-1001")
    return {"merchant": merchant, "agent": agent, "jane": jane, "payment": payment}


def reversals(payment):
    return list(Transaction.objects.filter(payment=payment, type__in=Transaction.REVERSAL_TYPES))


def amount_line(page, label):
    return page.locator("#payment-amounts .amount-line", has_text=label).locator("dd")


def open_dialog(page, button_name):
    page.get_by_role("button", name=button_name, exact=True).click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    return dialog


def test_agent_filters_then_refunds_part_without_a_page_reload(page, shop):
    payment = shop["payment"]
    login(page, "agent@acme.test")
    expect(page).to_have_url(re.compile(r"/payments/$"))
    expect(page.locator("header")).to_contain_text("Acme Shop")
    expect(page.locator("header")).to_contain_text("Support agent")
    expect(page.locator("#payment-results tbody tr")).to_have_count(10)
    screenshot(page, "payments-list")

    # Filters swap the table in place and push a bookmarkable URL.
    page.evaluate("window.__sameDocument = 'list'")
    page.get_by_label("Search").fill("ord-1001")
    expect(page.locator("#payment-results tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"\?q=ord-1001"))
    assert page.evaluate("window.__sameDocument") == "list"
    page.get_by_label("Status").select_option("captured")
    expect(page).to_have_url(re.compile(r"status=captured"))
    expect(page.locator("#payment-results tbody tr")).to_have_count(1)
    page.go_back()
    expect(page).to_have_url(re.compile(r"\?q=ord-1001(&status=)?$"))

    page.get_by_role("link", name=payment.id).click()
    expect(page.locator("h1")).to_contain_text("$25.00")
    page.evaluate("window.__marker = 'still here'")

    # Escape closes a dialog, and focus moves into it when it opens.
    dialog = open_dialog(page, "Refund")
    assert page.evaluate("document.activeElement.closest('dialog') !== null")
    expect(dialog.get_by_label("Amount")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("dialog")).to_have_count(0)

    dialog = open_dialog(page, "Refund")
    expect(dialog.get_by_label("Amount")).to_have_value("25.00")
    dialog.get_by_label("Amount").fill("5.001")
    dialog.get_by_role("button", name="Refund").click()
    expect(dialog.locator(".errorlist")).to_contain_text("at most 2 decimal places")
    dialog.get_by_label("Amount").fill("5.00")
    dialog.get_by_label("Reason").select_option("duplicate")
    screenshot(page, "refund-dialog")
    dialog.get_by_role("button", name="Refund").click()

    expect(page.locator("dialog")).to_have_count(0)
    expect(page.locator(".toast")).to_contain_text("Refund of $5.00 succeeded")
    expect(amount_line(page, "Refunded")).to_have_text("$5.00")
    expect(amount_line(page, "Refundable")).to_have_text("$20.00")
    expect(page.locator("#payment-timeline")).to_contain_text("Refund")
    expect(page.locator("h1")).to_contain_text("Partially refunded")
    assert page.evaluate("window.__marker") == "still here"  # no reload happened
    assert [r.amount for r in reversals(payment)] == [500]
    path = screenshot(page, "payment-page")
    # README's picture is refreshed on purpose only (README: "Screenshots"), so a test
    # run leaves the working tree as it was.
    if os.environ.get("UPDATE_README_SCREENSHOT") == "1":
        shutil.copyfile(path, ROOT / "docs" / "payment-page.png")


def test_double_click_on_submit_refunds_once(page, shop):
    payment = shop["payment"]
    login(page, "agent@acme.test")
    page.goto(f"/payments/{payment.id}/")
    dialog = open_dialog(page, "Refund")
    dialog.get_by_label("Amount").fill("3.00")
    dialog.get_by_role("button", name="Refund").dblclick()
    expect(page.locator(".toast").first).to_contain_text("Refund of $3.00 succeeded")
    expect(amount_line(page, "Refunded")).to_have_text("$3.00")
    page.wait_for_timeout(500)  # give a second request every chance to land
    assert [r.amount for r in reversals(payment)] == [300]


def test_resubmitting_the_same_form_refunds_once(page, shop):
    """The no-JS refund page: after the redirect, the very same form data (same form
    token) is sent again, as a browser's resubmit would; nothing more is refunded."""
    payment = shop["payment"]
    login(page, "agent@acme.test")
    page.goto(f"/payments/{payment.id}/refund/")
    expect(page.locator("form[method=post][hx-post]")).to_have_count(0)  # a plain form
    page.get_by_label("Amount").fill("2.00")
    page.locator("#reverse-form-wrap form").evaluate(
        "f => sessionStorage.setItem('sent', JSON.stringify([...new FormData(f)]))"
    )
    page.get_by_role("button", name="Refund").click()
    expect(page).to_have_url(re.compile(rf"/payments/{payment.id}/$"))
    expect(page.locator(".messages")).to_contain_text("Refund of $2.00 succeeded")

    resent = page.evaluate(
        """async (url) => {
            const body = new URLSearchParams(JSON.parse(sessionStorage.getItem('sent')));
            const r = await fetch(url, {method: 'POST', body});
            return {redirected: r.redirected, url: r.url, status: r.status};
        }""",
        f"/payments/{payment.id}/refund/",
    )
    assert resent["status"] == 200 and resent["redirected"], resent
    assert resent["url"].endswith(f"/payments/{payment.id}/")
    assert [r.amount for r in reversals(payment)] == [200]


def test_void_an_uncaptured_payment(page, shop):
    uncaptured = PaymentFactory(
        merchant=shop["merchant"], customer=shop["jane"], amount=4200, capture=False
    )
    login(page, "agent@acme.test")
    page.goto(f"/payments/{uncaptured.id}/")
    expect(page.locator("h1")).to_contain_text("Authorized")
    dialog = open_dialog(page, "Void")
    expect(dialog).to_contain_text("releases the whole authorization of $42.00")
    expect(dialog.get_by_label("Amount")).to_have_count(0)
    dialog.get_by_role("button", name="Void $42.00").click()
    expect(page.locator(".toast")).to_contain_text("Void of $42.00 succeeded")
    expect(page.locator("h1")).to_contain_text("Voided")
    expect(page.locator("#payment-actions button[disabled]")).to_have_text("Void")
    expect(page.locator("#reversal-blocked")).to_contain_text("voided")
    uncaptured.refresh_from_db()
    assert uncaptured.is_voided


def test_record_a_chargeback_with_blacklist(page, shop):
    payment = shop["payment"]
    login(page, "agent@acme.test")
    page.goto(f"/payments/{payment.id}/")
    page.evaluate("window.__marker = 'same page'")
    dialog = open_dialog(page, "Record chargeback")
    expect(dialog.get_by_label("Blacklist the customer's email")).to_be_focused()
    dialog.get_by_label("Blacklist the customer's email").check()
    expect(dialog.locator("#blacklist-warning")).to_contain_text("Blacklisting is platform-wide")
    dialog.get_by_label("Why blacklist this email?").fill("Stolen card, says the bank")
    dialog.get_by_label("Yes, refuse this email at every merchant on the platform").check()
    dialog.get_by_label("Restrict recurring payments").check()
    dialog.get_by_label("Restriction reason").fill("Chargeback: fraud")
    screenshot(page, "chargeback-dialog")
    dialog.get_by_role("button", name="Record chargeback").click()

    expect(page.locator("dialog")).to_have_count(0)
    expect(page.locator(".toast")).to_contain_text("Chargeback recorded")
    expect(page.locator("#chargeback-banner")).to_be_visible()
    badges = page.locator("#customer-badges")
    expect(badges).to_contain_text("Blacklisted")
    expect(badges).to_contain_text("Recurring restricted")
    expect(page.locator("h1")).to_contain_text("Chargeback")
    expect(page.get_by_role("button", name="Record chargeback")).to_have_count(0)
    assert page.evaluate("window.__marker") == "same page"
    assert is_email_blacklisted("jane@example.test")
    screenshot(page, "payment-chargebacked")

    # Refunding it now warns and needs an explicit confirmation.
    dialog = open_dialog(page, "Refund")
    expect(dialog).to_contain_text("This payment was charged back.")
    dialog.get_by_label("Amount").fill("1.00")
    dialog.get_by_role("button", name="Refund").click()
    expect(dialog.locator(".errorlist")).to_contain_text("confirm")
    dialog.get_by_label(re.compile("I understand")).check()
    dialog.get_by_role("button", name="Refund").click()
    expect(page.locator("dialog")).to_have_count(0)
    assert [r.amount for r in reversals(payment)] == [100]


def test_a_user_without_the_permission_sees_no_refund_button(page, shop):
    viewer = UserFactory(email="viewer@acme.test", merchant=shop["merchant"])
    viewer.user_permissions.set(
        Permission.objects.filter(codename__in=["view_payment", "view_customer"])
    )
    login(page, "viewer@acme.test")
    page.goto(f"/payments/{shop['payment'].id}/")
    expect(page.locator("h1")).to_contain_text("$25.00")
    expect(page.get_by_role("button", name="Refund")).to_have_count(0)
    expect(page.get_by_role("button", name="Refund")).to_have_count(0)
    expect(page.get_by_role("button", name="Record chargeback")).to_have_count(0)
    response = page.goto(f"/payments/{shop['payment'].id}/refund/")
    assert response.status == 403


def test_screenshots_of_the_other_pages(page, shop, live_server):
    UserFactory(email="admin@acme.test", merchant=shop["merchant"], role=roles.MERCHANT_ADMIN)
    # A month of history for the overview's charts: refunds and chargebacks on past days.
    merchant = shop["merchant"]
    now = timezone.now()
    for days_ago in (1, 2, 4, 5, 8, 9, 12, 15, 16, 20, 23, 27):
        past = PaymentFactory(merchant=merchant, amount=900 + 137 * days_ago)
        refund = services.reverse_payment(
            merchant=merchant,
            payment_id=past.id,
            actor=SYSTEM,
            is_external=True,
            amount=300 + 61 * days_ago,
        )
        Transaction.objects.filter(pk=refund.pk).update(created_at=now - timedelta(days=days_ago))
        if days_ago % 4 == 0:
            Payment.objects.filter(pk=past.pk).update(
                is_chargebacked=True, chargeback_recorded_at=now - timedelta(days=days_ago)
            )
    services.reverse_payment(
        merchant=merchant, payment_id=shop["payment"].id, actor=SYSTEM, amount=700
    )
    assert page.goto("/login/").status == 200
    screenshot(page, "login")
    login(page, "admin@acme.test")
    page.goto("/overview/")
    expect(page.locator("svg.chart").first).to_be_visible()
    screenshot(page, "overview")
    page.goto("/customers/")
    screenshot(page, "customers")
    page.goto(f"/customers/{shop['jane'].id}/")
    page.get_by_label(re.compile("Restrict customer-initiated")).check()
    page.get_by_role("button", name="Save restrictions").click()
    expect(page.locator(".toast")).to_contain_text("Restrictions saved")
    expect(page.locator("#customer-badges")).to_contain_text("CIT restricted")
    screenshot(page, "customer")

    page.get_by_role("button", name="Sign out").click()
    UserFactory(
        email="platform@platform.test", merchant=None, is_staff=True, role=roles.PLATFORM_ADMIN
    )
    login(page, "platform@platform.test")
    expect(page).to_have_url(re.compile(r"/blacklist/$"))
    page.get_by_label("Email", exact=True).fill("fraudster@example.test")
    page.get_by_label("Reason").fill("Stolen cards")
    page.get_by_role("button", name="Add to blacklist").click()
    expect(page.locator("#blacklist-entries")).to_contain_text("fraudster@example.test")
    page.get_by_label("Email", exact=True).fill("carder@example.test")
    page.get_by_label("Reason").fill("Card testing at several merchants")
    page.get_by_role("button", name="Add to blacklist").click()
    expect(page.locator("#blacklist-entries")).to_contain_text("carder@example.test")
    row = page.locator("tr", has_text="fraudster@example.test")
    row.get_by_role("link", name="Remove").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Why is it removed?").fill("Identity verified")
    dialog.get_by_role("button", name="Remove").click()
    expect(page.locator("#blacklist-entries .list-count")).to_have_text("1 blacklisted email")
    page.get_by_label("Show").select_option("removed")
    expect(page.locator("#blacklist-entries")).to_contain_text("Identity verified")
    screenshot(page, "blacklist")
