"""A dispute from chargeback to win, as its people do it in the browser (SPEC 10): an
agent records a chargeback with an amount and a reason; a merchant admin stages
evidence (saved as typed), uploads a PDF (with progress), submits, and records a win.
The amounts card shows the disputed amount, then 0 after the win; the overview's
dispute ratio counts the dispute opened."""

import re

import pytest
from playwright.sync_api import expect

from chargebacks.models import Dispute
from merchants import roles
from payments.models import Payment
from tests.e2e.conftest import login, screenshot
from tests.factories import CustomerFactory, MerchantFactory, PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n" + b"%" * 20_000


@pytest.fixture
def shop(roles_ready, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    merchant = MerchantFactory(name="Acme Shop")
    UserFactory(email="agent@acme.test", merchant=merchant, role=roles.SUPPORT_AGENT)
    UserFactory(email="admin@acme.test", merchant=merchant, role=roles.MERCHANT_ADMIN)
    jane = CustomerFactory(merchant=merchant, email="jane@example.test", name="Jane Roe")
    return {"merchant": merchant, "jane": jane}


def disputed_line(page):
    return page.locator("#payment-amounts .amount-line", has_text="Disputed").locator("dd")


def ratio_card(page):
    page.get_by_role("link", name="Overview").click()
    return page.locator("section.dispute-ratio")


def logout(page):
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login/"))


def test_from_chargeback_to_a_won_dispute(page, shop, tmp_path):
    payment = PaymentFactory(merchant=shop["merchant"], customer=shop["jane"], amount=12_000)

    # Before: the month's ratio counts the captured payment and no dispute.
    login(page, "admin@acme.test")
    expect(ratio_card(page)).to_contain_text("0 disputes of 1 payment")
    logout(page)

    # The agent records the chargeback: $45.50, fraudulent, Visa 10.4.
    login(page, "agent@acme.test")
    page.goto(f"/payments/{payment.id}/")
    page.get_by_role("button", name="Record chargeback", exact=True).click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Disputed amount").fill("45.50")
    dialog.get_by_label(re.compile(r"^Reason")).select_option("fraudulent")
    dialog.get_by_label("Network reason code").fill("10.4")
    dialog.get_by_label("Card network").select_option("visa")
    screenshot(page, "disputes-1-record-chargeback")
    dialog.get_by_role("button", name="Record chargeback").click()
    expect(page.locator(".toast")).to_contain_text("Chargeback recorded")
    expect(disputed_line(page)).to_have_text("$45.50")
    expect(page.locator("#chargeback-banner")).to_contain_text("a refund would return it twice")
    expect(page.locator("#payment-disputes")).to_contain_text("Fraudulent")
    dispute = Dispute.objects.get(payment=payment)
    assert (dispute.amount, dispute.reason_code, dispute.network) == (4550, "10.4", "visa")
    logout(page)

    # The merchant admin sees it counted in the month's ratio, finds it in the queue and
    # answers it.
    login(page, "admin@acme.test")
    ratio = ratio_card(page)
    expect(ratio).to_contain_text("1 dispute of 1 payment")
    expect(ratio).to_contain_text("100.00%")
    page.get_by_role("link", name="Disputes").click()
    row = page.locator("#dispute-table tbody tr", has_text="$45.50")
    expect(row).to_contain_text("Needs response")
    expect(row).to_contain_text("days left")
    screenshot(page, "disputes-2-queue")
    row.locator("a").first.click()
    page.wait_for_url(re.compile(rf"/disputes/{dispute.id}/"))

    description = page.get_by_label("Product or service description")
    description.press_sequentially("Shipped to Jane, signed for", delay=10)
    expect(page.locator("#evidence-saved")).to_have_text("Saved")
    dispute.refresh_from_db()
    assert dispute.product_description == "Shipped to Jane, signed for"

    # What the progress bar showed while the upload went (read after upload.js set it).
    page.evaluate(
        """window.progressSeen = [];
        document.addEventListener('htmx:xhr:progress', () => {
          const bar = document.querySelector('#upload-progress');
          if (bar) window.progressSeen.push([bar.hidden, bar.value]);
        });"""
    )
    receipt = tmp_path / "receipt.pdf"
    receipt.write_bytes(PDF)
    page.get_by_label("Add a file").set_input_files(str(receipt))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#file-list")).to_contain_text("receipt.pdf")
    expect(page.locator("#file-list")).to_contain_text("application/pdf")
    seen = page.evaluate("window.progressSeen")
    assert seen and seen[-1] == [False, 100], seen
    screenshot(page, "disputes-3-evidence")

    page.get_by_role("button", name="Submit evidence").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label(re.compile("I have added all the evidence")).check()
    dialog.get_by_role("button", name="Submit evidence").click()
    expect(page.locator(".toast", has_text="Evidence submitted")).to_contain_text("under review")
    expect(page.locator("#dispute-live h1")).to_contain_text("Under review")
    expect(page.locator("#evidence-form")).to_have_count(0)

    page.get_by_role("button", name="Record outcome").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label(re.compile("Won: the amount")).check()
    dialog.get_by_role("button", name="Record outcome").click()
    expect(page.locator(".toast", has_text="Dispute won")).to_have_text(
        "Dispute won: $45.50 given back"
    )
    expect(page.locator("#dispute-live h1")).to_contain_text("Won")
    screenshot(page, "disputes-4-won")

    page.get_by_role("link", name=payment.id).first.click()
    expect(disputed_line(page)).to_have_text("$0.00")
    expect(page.locator("#chargeback-banner")).to_contain_text("Its dispute was won")
    expect(page.locator("#payment-timeline")).to_contain_text("Chargeback reversal")
    screenshot(page, "disputes-5-payment-after-win")
    assert Payment.objects.get(pk=payment.pk).amount_disputed == 0
