"""Webhooks in a real browser (SPEC 11): a merchant admin adds an endpoint, sees its
secret once, sends a test event and sees it in the delivery log; the receiver (a real
HTTP server) verifies the signature with the secret the page showed."""

import pytest
from playwright.sync_api import expect

from merchants import roles
from tests.e2e.conftest import login, screenshot
from tests.factories import MerchantFactory, UserFactory
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def test_admin_adds_an_endpoint_sees_the_secret_once_and_sends_a_test_event(
    page, roles_ready, receiver
):
    merchant = MerchantFactory(name="Acme Shop")
    UserFactory(email="admin@acme.test", merchant=merchant, role=roles.MERCHANT_ADMIN)
    login(page, "admin@acme.test")

    page.get_by_role("link", name="Webhooks").click()
    page.get_by_role("button", name="Add endpoint").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Endpoint URL").fill(receiver.url())
    dialog.get_by_label("Description").fill("Order system")
    dialog.get_by_label("payment.created", exact=False).check()
    screenshot(page, "webhook-create")
    dialog.get_by_role("button", name="Add endpoint").click()

    secret_box = dialog.locator("#webhook-secret")
    expect(secret_box).to_be_visible()
    secret = secret_box.inner_text()
    assert secret.startswith("whsec_")
    expect(dialog).to_contain_text("shown only once")
    screenshot(page, "webhook-secret")
    dialog.get_by_role("link", name="I have copied it").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(receiver.url())
    assert secret not in page.content()
    page.get_by_role("button", name="Send test event").click()
    page.locator("dialog[open]").get_by_role("button", name="Send test event").click()
    expect(page.locator("dialog[open]")).to_have_count(0)
    log = page.locator("#delivery-log")
    expect(log).to_contain_text("webhook.test")
    expect(log).to_contain_text("Delivered")
    expect(log).to_contain_text("200")
    screenshot(page, "webhook-endpoint-delivery-log")

    [post] = receiver.posts()
    assert post.verified_by(secret)["type"] == "webhook.test"

    # Disabled in place: the page says so and offers Enable; deleted: back to the list.
    page.get_by_role("button", name="Disable").click()
    page.locator("dialog[open]").get_by_role("button", name="Disable").click()
    expect(page.locator("#endpoint-page")).to_contain_text("Disabled")
    expect(page.get_by_role("button", name="Enable")).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    page.locator("dialog[open]").get_by_role("button", name="Delete").click()
    page.wait_for_url("**/webhooks/")
    expect(page.locator("#webhook-endpoints")).to_contain_text("No endpoints yet")
    expect(page.locator(".messages")).to_contain_text("Endpoint deleted")
