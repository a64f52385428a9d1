"""Four-eyes refund approval in a real browser (SPEC 13): a support agent asks a refund
over the threshold, it waits; another merchant admin approves it from the Approvals
queue; the payment page shows it sent."""

import re

import pytest
from playwright.sync_api import expect

from core.actors import Actor
from merchants import roles
from payments import approvals
from payments.models import Transaction
from tests.e2e.conftest import login, screenshot
from tests.factories import CustomerFactory, MerchantFactory, PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(roles_ready):
    merchant = MerchantFactory(name="Acme Shop")
    UserFactory(email="agent@acme.test", merchant=merchant, role=roles.SUPPORT_AGENT)
    admin = UserFactory(email="admin@acme.test", merchant=merchant, role=roles.MERCHANT_ADMIN)
    approvals.set_threshold(
        merchant=merchant, currency="USD", amount=10_000, actor=Actor(user=admin)
    )
    jane = CustomerFactory(merchant=merchant, email="jane@example.test", name="Jane Roe")
    payment = PaymentFactory(merchant=merchant, customer=jane, amount=50_000)
    return {"merchant": merchant, "payment": payment}


def amount_line(page, label):
    return page.locator("#payment-amounts .amount-line", has_text=label).locator("dd")


def test_agent_asks_a_refund_over_the_threshold_and_another_admin_approves_it(page, shop):
    payment = shop["payment"]
    login(page, "agent@acme.test")
    page.goto(f"/payments/{payment.id}/")
    page.get_by_role("button", name="Refund", exact=True).click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("Refunds over $100.00 wait for another merchant admin")
    dialog.get_by_label("Amount").fill("300.00")
    expect(dialog.locator("#reversal-summary")).to_contain_text(
        "Ask to refund $300.00 of $500.00 to jane@example.test. It is over the approval "
        "threshold of $100.00: it waits for another admin's approval"
    )
    screenshot(page, "refund-dialog-over-threshold")
    dialog.get_by_role("button", name="Refund").click()

    expect(page.locator("dialog")).to_have_count(0)
    expect(page.locator(".toast")).to_contain_text(
        "Refund of $300.00 is waiting for another admin's approval"
    )
    expect(amount_line(page, "Waiting for approval")).to_have_text("$300.00")
    expect(amount_line(page, "Refundable")).to_have_text("$200.00")
    expect(page.locator("#payment-timeline")).to_contain_text("Held for approval")
    assert Transaction.objects.get(type="refund").status == "requires_approval"

    # Another person: the merchant admin, from the Approvals queue.
    page.context.clear_cookies()
    login(page, "admin@acme.test")
    page.goto(f"/payments/{payment.id}/")
    expect(page.locator("#payment-timeline")).to_contain_text("Held for approval")
    expect(page.locator("#approve-refund-button")).to_be_visible()
    screenshot(page, "payment-page-held-refund")
    page.get_by_role("link", name="Approvals").click()
    row = page.locator("#approval-queue tbody tr", has_text="$300.00")
    expect(row).to_contain_text("agent@acme.test")
    expect(row).to_contain_text("jane@example.test")
    screenshot(page, "approvals-queue")
    row.get_by_role("button", name=re.compile("^Approve the refund")).click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("asked by agent@acme.test")
    dialog.get_by_role("button", name="Approve and send").click()

    expect(page.locator("dialog")).to_have_count(0)
    expect(page.locator(".toast")).to_contain_text("Refund of $300.00 approved")
    expect(page.locator("#approval-queue")).to_contain_text("Nothing is waiting for approval")

    page.goto(f"/payments/{payment.id}/")
    expect(page.locator("#payment-timeline")).to_contain_text("Approved by admin@acme.test")
    expect(amount_line(page, "Refunded")).to_have_text("$300.00")
    expect(amount_line(page, "Refundable")).to_have_text("$200.00")
    screenshot(page, "payment-page-approved-refund")
