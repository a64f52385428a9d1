"""The Stripe gateway against localstripe, a fake Stripe API server that these tests
start on a free loopback port. Every outcome is read back from localstripe with the
SDK. Nothing here skips: if localstripe cannot start, the tests fail."""

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
import stripe
from django.core.exceptions import ImproperlyConfigured

from core.actors import SYSTEM
from payments import services
from payments.gateways import (
    GatewayDeclined,
    GatewayTimeout,
    GatewayTransientError,
    get_gateway,
)
from payments.gateways.stripe import StripeGateway
from payments.models import Transaction
from tests.factories import PaymentFactory

API_KEY = "sk_test_backoffice"
STARTUP_SECONDS = 20
# localstripe charges this test payment method and declines the charge.
DECLINING_PAYMENT_METHOD = "pm_card_chargeCustomerFail"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers_http(url: str) -> bool:
    try:
        urllib.request.urlopen(f"{url}/v1/balance", timeout=1).close()
    except urllib.error.HTTPError:
        return True  # any HTTP answer, even 401, means it is serving
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def localstripe_url(tmp_path_factory) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("localstripe") / "server.log"
    with log_path.open("wb") as log:
        # A log file, not a pipe: an unread pipe fills up and stalls the server.
        server = subprocess.Popen(
            [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not answers_http(url):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"localstripe did not start on {url}:\n{log_path.read_text(errors='replace')}"
                )
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def stripe_client(localstripe_url) -> stripe.StripeClient:
    """Reads back what the gateway did, straight from localstripe."""
    return stripe.StripeClient(API_KEY, base_addresses={"api": localstripe_url})


@pytest.fixture
def gateway(localstripe_url) -> StripeGateway:
    return StripeGateway(api_key=API_KEY, api_base=localstripe_url)


def new_key() -> str:
    return f"test-{uuid.uuid4()}"


def authorize(gateway: StripeGateway, *, amount: int = 2500, capture: bool = True) -> str:
    return gateway.authorize(
        amount=amount, currency="USD", capture=capture, idempotency_key=new_key()
    ).reference


def refunds_of(stripe_client: stripe.StripeClient, payment_intent: str) -> list[stripe.Refund]:
    listed = stripe_client.v1.refunds.list(params={"payment_intent": payment_intent}).data
    # localstripe lists every refund of the charge, including the one it makes for
    # the uncaptured rest of a partial capture; keep the ones made on the intent.
    return [refund for refund in listed if refund.payment_intent == payment_intent]


def test_authorize_with_capture_leaves_a_succeeded_payment_intent(gateway, stripe_client):
    reference = authorize(gateway, amount=2500, capture=True)

    intent = stripe_client.v1.payment_intents.retrieve(reference)
    assert reference.startswith("pi_")
    assert intent.status == "succeeded"
    assert intent.capture_method == "automatic"
    assert (intent.amount, intent.currency) == (2500, "usd")


def test_authorize_without_capture_leaves_it_awaiting_capture(gateway, stripe_client):
    reference = authorize(gateway, amount=1800, capture=False)

    intent = stripe_client.v1.payment_intents.retrieve(reference)
    assert intent.status == "requires_capture"
    assert intent.capture_method == "manual"
    assert intent.amount == 1800


def test_partial_capture_receives_only_the_captured_amount(gateway, stripe_client):
    reference = authorize(gateway, amount=2500, capture=False)

    result = gateway.capture(reference=reference, amount=1000, idempotency_key=new_key())

    assert result.reference == reference
    intent = stripe_client.v1.payment_intents.retrieve(reference)
    assert intent.status == "succeeded"
    # localstripe has no amount_received: it captures the whole charge and refunds
    # the uncaptured rest, so what was received is the charge minus its refunds.
    charge = intent.latest_charge
    assert charge.captured is True
    assert charge.amount - charge.amount_refunded == 1000


def test_partial_refund_refunds_that_amount(gateway, stripe_client):
    reference = authorize(gateway, amount=2500, capture=True)

    result = gateway.refund(reference=reference, amount=700, idempotency_key=new_key())

    refund = stripe_client.v1.refunds.retrieve(result.reference)
    assert result.reference.startswith("re_")
    assert (refund.amount, refund.status, refund.payment_intent) == (700, "succeeded", reference)
    assert [r.id for r in refunds_of(stripe_client, reference)] == [result.reference]
    assert stripe_client.v1.payment_intents.retrieve(reference).latest_charge.amount_refunded == 700


def test_a_refund_is_read_back_finished_from_stripe(gateway, stripe_client):
    reference = authorize(gateway, amount=3000)
    refund = gateway.refund(reference=reference, amount=700, idempotency_key=new_key())

    outcome = gateway.refund_outcome(reference=refund.reference)

    assert (outcome.reference, outcome.pending) == (refund.reference, False)
    assert stripe_client.v1.refunds.retrieve(refund.reference).status == "succeeded"


def test_asking_about_a_refund_stripe_cannot_be_reached_for_is_transient():
    gateway = StripeGateway(api_key=API_KEY, api_base=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(GatewayTransientError):
        gateway.refund_outcome(reference="re_x")


def test_void_cancels_the_authorization(gateway, stripe_client):
    reference = authorize(gateway, amount=2500, capture=False)

    result = gateway.void(reference=reference, amount=2500, idempotency_key=new_key())

    assert result.reference == reference
    assert stripe_client.v1.payment_intents.retrieve(reference).status == "canceled"


def test_declined_card_raises_gateway_declined(localstripe_url, stripe_client):
    gateway = StripeGateway(
        api_key=API_KEY, api_base=localstripe_url, payment_method=DECLINING_PAYMENT_METHOD
    )

    with pytest.raises(GatewayDeclined) as declined:
        authorize(gateway, amount=2500, capture=True)

    assert declined.value.reason.startswith("card_declined")
    charge_id = declined.value.__cause__.error.charge
    charge = stripe_client.v1.charges.retrieve(charge_id)
    assert (charge.status, charge.failure_code) == ("failed", "card_declined")
    intent = stripe_client.v1.payment_intents.retrieve(charge.payment_intent)
    assert intent.status == "requires_payment_method"


def test_void_of_a_captured_payment_is_declined_and_changes_nothing(gateway, stripe_client):
    reference = authorize(gateway, amount=2500, capture=True)

    with pytest.raises(GatewayDeclined):
        gateway.void(reference=reference, amount=2500, idempotency_key=new_key())

    assert stripe_client.v1.payment_intents.retrieve(reference).status == "succeeded"


def test_refund_of_an_unknown_payment_intent_is_declined(gateway):
    with pytest.raises(GatewayDeclined):
        gateway.refund(reference="pi_doesnotexist", amount=100, idempotency_key=new_key())


def test_unreachable_stripe_is_a_transient_error():
    closed_port = free_port()  # bound then released: nothing listens there
    gateway = StripeGateway(api_key=API_KEY, api_base=f"http://127.0.0.1:{closed_port}")

    with pytest.raises(GatewayTransientError) as error:
        gateway.refund(reference="pi_x", amount=100, idempotency_key=new_key())

    assert not isinstance(error.value, GatewayTimeout)


def test_silent_stripe_is_a_timeout():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel accepts the connection; nobody ever answers
        port = silent.getsockname()[1]
        gateway = StripeGateway(
            api_key=API_KEY,
            api_base=f"http://127.0.0.1:{port}",
            http_client=stripe.RequestsClient(timeout=(2, 0.3)),
        )

        with pytest.raises(GatewayTimeout):
            gateway.refund(reference="pi_x", amount=100, idempotency_key=new_key())


class RecordingClient(stripe.RequestsClient):
    def __init__(self) -> None:
        super().__init__(timeout=10)
        self.sent: list[tuple[str, str, str | None]] = []

    def request(self, method, url, headers, post_data=None):
        self.sent.append((method, url, (headers or {}).get("Idempotency-Key")))
        return super().request(method, url, headers, post_data)


def test_every_call_carries_our_idempotency_key_and_is_sent_once(localstripe_url):
    http = RecordingClient()
    gateway = StripeGateway(api_key=API_KEY, api_base=localstripe_url, http_client=http)

    reference = gateway.authorize(
        amount=2500, currency="USD", capture=False, idempotency_key="key-authorize"
    ).reference
    gateway.capture(reference=reference, amount=2000, idempotency_key="key-capture")
    gateway.refund(reference=reference, amount=500, idempotency_key="key-refund")
    other = gateway.authorize(
        amount=900, currency="USD", capture=False, idempotency_key="key-authorize-2"
    ).reference
    gateway.void(reference=other, amount=900, idempotency_key="key-void")

    assert [(method, key) for method, _, key in http.sent] == [
        ("post", "key-authorize"),
        ("post", "key-capture"),
        ("post", "key-refund"),
        ("post", "key-authorize-2"),
        ("post", "key-void"),
    ]


def test_authorize_refuses_a_live_key_before_calling_stripe():
    http = RecordingClient()
    gateway = StripeGateway(api_key="sk_live_x", api_base="http://127.0.0.1:9", http_client=http)

    with pytest.raises(ImproperlyConfigured):
        authorize(gateway)

    assert http.sent == []


# --- through the real service layer ---------------------------------------------------


@pytest.fixture
def stripe_gateway_settings(settings, localstripe_url):
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_API_KEY = API_KEY
    settings.STRIPE_API_BASE = localstripe_url
    get_gateway.cache_clear()
    yield
    get_gateway.cache_clear()


@pytest.mark.django_db(transaction=True)
def test_refund_through_the_service_reaches_stripe_once(
    stripe_gateway_settings, merchant, stripe_client
):
    assert get_gateway().name == "stripe"
    payment = PaymentFactory(merchant=merchant, amount=2500)
    assert payment.status == "succeeded"
    assert stripe_client.v1.payment_intents.retrieve(payment.gateway_reference).status == (
        "succeeded"
    )

    reversal = services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=SYSTEM, amount=1000
    )

    # The after-commit task ran in-process (eager Celery) and reached localstripe.
    reversal.refresh_from_db()
    payment.refresh_from_db()
    assert reversal.type == Transaction.Type.REFUND
    assert reversal.status == Transaction.Status.SUCCEEDED
    assert (payment.amount_reversed, payment.amount_reversal_pending) == (1000, 0)
    refunds = [(r.id, r.amount) for r in refunds_of(stripe_client, payment.gateway_reference)]
    assert refunds == [(reversal.gateway_reference, 1000)]
