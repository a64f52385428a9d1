"""The payment page as a support agent uses it, after the dashboard was tried by its
users (issue: the dashboard tells the truth). Each test does what the person did and
checks what they should have seen; screenshots go to artifacts/screenshots/."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from core.actors import SYSTEM
from customers import services as customer_services
from merchants import roles
from payments import delivery, services
from payments.models import Payment, Transaction
from tests.e2e.conftest import login, screenshot
from tests.factories import CustomerFactory, MerchantFactory, PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(roles_ready):
    merchant = MerchantFactory(name="Acme Shop")
    UserFactory(email="agent@acme.test", merchant=merchant, role=roles.SUPPORT_AGENT)
    UserFactory(email="admin@acme.test", merchant=merchant, role=roles.MERCHANT_ADMIN)
    jane = CustomerFactory(merchant=merchant, email="jane@example.test", name="Jane Roe")
    return {"merchant": merchant, "jane": jane}


def open_payment(page, payment, who="agent@acme.test"):
    login(page, who)
    page.goto(f"/payments/{payment.id}/")


def open_dialog(page, name):
    page.get_by_role("button", name=name, exact=True).click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    return dialog


def amount_line(page, label):
    return page.locator("#payment-amounts .amount-line", has_text=label).locator("dd")


def reversals(payment):
    return list(Transaction.objects.filter(payment=payment, type__in=Transaction.REVERSAL_TYPES))


def test_1_a_comma_is_never_read_as_a_thousands_separator(page, shop):
    payment = PaymentFactory(merchant=shop["merchant"], customer=shop["jane"], amount=12000)
    open_payment(page, payment)
    dialog = open_dialog(page, "Refund")
    summary = dialog.locator("#reversal-summary")
    expect(summary).to_have_text("Refund $120.00 of $120.00 to jane@example.test.")
    amount = dialog.get_by_label("Amount")
    for typed in ("5,00", "1e2", "-5", "5 00", "\u0665"):
        amount.fill(typed)
        expect(summary).to_contain_text("Nothing will be refunded yet")
    screenshot(page, "truth-1-summary-refuses-a-comma")
    dialog.get_by_role("button", name="Refund").click()
    expect(dialog.locator(".errorlist")).to_contain_text("no commas, spaces or signs")
    assert reversals(payment) == []
    amount = dialog.get_by_label("Amount")  # the form came back with its errors
    amount.fill("5.00")  # pasted over the refused text
    expect(summary).to_have_text("Refund $5.00 of $120.00 to jane@example.test.", timeout=10_000)
    screenshot(page, "truth-1-summary-in-words")
    dialog.get_by_role("button", name="Refund").click()
    expect(page.locator(".toast")).to_contain_text("Refund of $5.00 succeeded")
    assert [r.amount for r in reversals(payment)] == [500]


def test_1_what_is_typed_as_the_form_comes_back_is_what_the_summary_says(page, shop):
    """HTMX wires a swapped form once it settles; typing faster than that (a loaded
    machine, a quick hand) must still leave the summary saying what will be sent."""
    payment = PaymentFactory(merchant=shop["merchant"], customer=shop["jane"], amount=12000)
    open_payment(page, payment)
    dialog = open_dialog(page, "Refund")
    dialog.get_by_label("Amount").fill("5,00")
    page.evaluate("htmx.config.defaultSettleDelay = 1500")  # a slow machine, made certain
    dialog.get_by_role("button", name="Refund").click()
    expect(dialog.locator(".errorlist")).to_contain_text("no commas, spaces or signs")
    dialog.get_by_label("Amount").fill("7.50")  # before the returned form has settled
    expect(dialog.locator("#reversal-summary")).to_have_text(
        "Refund $7.50 of $120.00 to jane@example.test."
    )
    dialog.get_by_role("button", name="Refund").click()
    expect(page.locator(".toast")).to_contain_text("Refund of $7.50 succeeded")
    assert [r.amount for r in reversals(payment)] == [750]


def test_2_a_declined_refund_is_announced_as_declined_in_words(page, shop):
    payment = PaymentFactory(merchant=shop["merchant"], customer=shop["jane"], amount=2500)
    open_payment(page, payment)
    dialog = open_dialog(page, "Refund")
    dialog.get_by_label("Amount").fill("6.66")  # the sandbox declines a refund of 666
    dialog.get_by_role("button", name="Refund").click()
    toast = page.locator(".toast")
    expect(toast).to_contain_text("Refund of $6.66 declined: The card issuer declined the refund")
    expect(toast).to_have_class(re.compile("toast-error"))
    timeline = page.locator("#payment-timeline")
    expect(timeline).to_contain_text("The card issuer declined the refund")
    expect(timeline).to_contain_text("Declined")
    expect(page.locator("body")).not_to_contain_text("refund_declined")
    expect(amount_line(page, "Refundable")).to_have_text("$25.00")
    screenshot(page, "truth-2-declined-refund")


def test_2_a_decline_arriving_later_is_announced_by_the_polling_page(page, shop):
    payment = PaymentFactory(merchant=shop["merchant"], customer=shop["jane"], amount=2500)
    pending = Transaction.objects.create(
        merchant=payment.merchant, payment=payment, type="refund", amount=700, status="pending"
    )
    Payment.objects.filter(id=payment.id).update(amount_reversed=700, amount_reversal_pending=700)
    open_payment(page, payment)
    expect(page.locator("h1")).to_contain_text("Refund pending")
    expect(amount_line(page, "Pending at the gateway")).to_have_text("$7.00")
    delivery._finish(pending.id, succeeded=False, failure_reason="refund_declined")
    toast = page.locator(".toast")
    expect(toast).to_contain_text("Refund of $7.00 declined", timeout=8000)
    expect(toast).to_contain_text("The card issuer declined the refund")
    expect(amount_line(page, "Refundable")).to_have_text("$25.00")
    screenshot(page, "truth-2-decline-by-polling")


def test_3_and_4_a_failed_authorization_offers_nothing_and_says_declined(page, shop):
    failed = PaymentFactory(merchant=shop["merchant"], customer=shop["jane"], amount=666)
    open_payment(page, failed)
    expect(page.locator("#declined-banner")).to_contain_text("The card issuer declined the payment")
    expect(page.locator("#payment-amounts")).to_contain_text("Nothing was authorized")
    expect(page.locator("#payment-amounts")).not_to_contain_text("Authorized")
    actions = page.locator("#payment-actions")
    for name in ("Void", "Refund", "Record chargeback", "Capture"):
        expect(actions.get_by_role("button", name=name)).to_have_count(0)
    screenshot(page, "truth-4-failed-authorization")

    authorized = PaymentFactory(merchant=shop["merchant"], amount=3000, capture=False)
    page.goto(f"/payments/{authorized.id}/")
    expect(actions.get_by_role("button", name="Record chargeback")).to_have_count(0)
    expect(actions.get_by_role("button", name="Void")).to_have_count(1)


def test_5_the_amounts_card_never_adds_pending_twice(page, shop):
    payment = PaymentFactory(merchant=shop["merchant"], customer=shop["jane"], amount=1000)
    services.reverse_payment(
        merchant=payment.merchant,
        payment_id=payment.id,
        actor=SYSTEM,
        amount=408,
        is_external=True,
    )
    Transaction.objects.create(
        merchant=payment.merchant, payment=payment, type="refund", amount=408, status="pending"
    )
    Payment.objects.filter(id=payment.id).update(amount_reversed=816, amount_reversal_pending=408)
    open_payment(page, payment)
    expect(amount_line(page, "Captured")).to_have_text("$10.00")
    expect(amount_line(page, "Refunded")).to_have_text("$4.08")
    expect(amount_line(page, "Pending at the gateway")).to_have_text("$4.08")
    expect(amount_line(page, "Refundable")).to_have_text("$1.84")
    expect(page.locator("h1")).to_contain_text("Refund pending")
    screenshot(page, "truth-5-amounts")


def test_6_record_only_says_so_on_the_button_and_in_the_toast(page, shop):
    payment = PaymentFactory(merchant=shop["merchant"], customer=shop["jane"], amount=2500)
    open_payment(page, payment)
    dialog = open_dialog(page, "Refund")
    dialog.get_by_label("Amount").fill("10.00")
    dialog.get_by_label("Already refunded at the gateway (record only)").check()
    expect(dialog.get_by_role("button", name="Record refund")).to_be_visible()
    expect(dialog.locator("#reversal-summary")).to_contain_text(
        "Record a refund of $10.00 of $25.00 already made at the gateway"
    )
    screenshot(page, "truth-6-record-only")
    dialog.get_by_role("button", name="Record refund").click()
    expect(page.locator(".toast")).to_contain_text("Refund recorded (not sent to the gateway)")
    assert [(r.amount, r.is_external) for r in reversals(payment)] == [(1000, True)]


def test_12_an_authorized_payment_is_captured_in_part_from_a_dialog(page, shop):
    payment = PaymentFactory(
        merchant=shop["merchant"], customer=shop["jane"], amount=5000, capture=False
    )
    open_payment(page, payment)
    dialog = open_dialog(page, "Capture")
    dialog.get_by_label("Amount to capture").fill("30.00")
    screenshot(page, "truth-12-capture-dialog")
    dialog.get_by_role("button", name="Capture").click()
    expect(page.locator(".toast")).to_contain_text("Capture of $30.00 succeeded")
    expect(amount_line(page, "Captured")).to_have_text("$30.00")
    expect(page.get_by_role("button", name="Capture", exact=True)).to_have_count(0)
    payment.refresh_from_db()
    assert payment.amount_captured == 3000


def test_13_dialog_openers_are_buttons_that_space_activates(page, shop):
    payment = PaymentFactory(merchant=shop["merchant"], customer=shop["jane"], amount=2500)
    open_payment(page, payment)
    refund = page.get_by_role("button", name="Refund", exact=True)
    expect(refund).to_have_attribute("aria-haspopup", "dialog")
    expect(refund).to_have_attribute("href", f"/payments/{payment.id}/refund/")  # no-JS path
    refund.focus()
    page.keyboard.press("Space")
    expect(page.locator("dialog[open]")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("dialog")).to_have_count(0)


def test_15c_a_capture_pending_at_the_gateway_disables_refund_with_the_reason(page, shop):
    payment = PaymentFactory(merchant=shop["merchant"], amount=1000, capture=False)
    services.capture_payment(  # 408: the sandbox times out, the capture stays pending
        merchant=payment.merchant, payment_id=payment.id, actor=SYSTEM, amount=408
    )
    open_payment(page, payment)
    expect(amount_line(page, "Capture pending at the gateway")).to_have_text("$4.08")
    expect(page.locator("h1")).to_contain_text("Capture pending")
    expect(page.locator("#reversal-blocked")).to_contain_text(
        "its capture is still pending at the gateway"
    )
    expect(page.locator("#payment-actions button[disabled]")).to_have_text("Refund")
    screenshot(page, "truth-15c-capture-pending")


def test_15e_a_refund_the_worker_never_sent_says_delivery_is_delayed(page, shop):
    payment = PaymentFactory(merchant=shop["merchant"], customer=shop["jane"], amount=2500)
    stuck = Transaction.objects.create(
        merchant=payment.merchant,
        payment=payment,
        type="refund",
        amount=500,
        status="pending",
        attempts=3,
    )
    Transaction.objects.filter(id=stuck.id).update(
        created_at=timezone.now() - timedelta(minutes=5),
        last_attempt_at=timezone.now() - timedelta(minutes=1),
    )
    Payment.objects.filter(id=payment.id).update(amount_reversed=500, amount_reversal_pending=500)
    open_payment(page, payment)
    late = page.locator("#delivery-late")
    expect(late).to_contain_text("Delivery to the gateway is delayed")
    expect(late).to_contain_text("retried automatically")
    expect(late).to_contain_text("3 attempts")
    expect(page.locator("#payment-timeline")).to_contain_text("Delivery delayed: 3 attempts")
    screenshot(page, "truth-15e-delivery-delayed")


def test_16_the_page_says_which_card_paid_and_through_whom(page, shop):
    payment = PaymentFactory(merchant=shop["merchant"], customer=shop["jane"], amount=2500)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_payment(page, payment)
    method = page.locator("#payment-method")
    card = payment.payment_method
    expect(method).to_contain_text(f"{card['brand'].title()} •••• {card['last4']}")
    expect(method).to_contain_text(f"{card['expMonth']:02d}/{card['expYear']}")
    expect(method).to_contain_text("Sandbox")
    expect(method).to_contain_text(payment.gateway_reference)
    method.get_by_role(
        "button", name=f"Copy the gateway reference {payment.gateway_reference}"
    ).click()
    assert page.evaluate("navigator.clipboard.readText()") == payment.gateway_reference
    screenshot(page, "truth-16-paid-with")


def test_15b_a_restrictions_form_left_open_does_not_lift_a_new_restriction(page, shop):
    jane = shop["jane"]
    login(page, "admin@acme.test")
    page.goto(f"/customers/{jane.id}/")
    # Meanwhile, an agent records a chargeback that restricts recurring payments.
    customer_services.update_restrictions(
        merchant=shop["merchant"], customer_id=jane.id, actor=SYSTEM, restrict_mit=True
    )
    page.get_by_label("Reason").fill("Called us about a double charge")
    page.get_by_role("button", name="Save restrictions").click()
    expect(page.locator(".toast")).to_contain_text("Restrictions saved")
    jane.refresh_from_db()
    assert jane.restrict_mit is True
    assert jane.restrict_reason == "Called us about a double charge"
