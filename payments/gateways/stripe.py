"""The Stripe gateway: PaymentIntents through the official SDK (StripeClient).

Our key goes to Stripe as the Idempotency-Key of every call, so a re-sent
operation never moves money twice. The SDK never retries (max_network_retries=0):
our Celery task and sweeper own the retries, always with the same key.

Errors: a 4xx refusal (card declined, invalid request, unknown PaymentIntent, a
PaymentIntent in the wrong state) is a GatewayDeclined; a network fault, a 5xx,
429, 409 (a lock or an idempotency key still in use) and a key Stripe does not
accept (401/403: our configuration, not the payment) are transient, so the
operation stays pending and is re-sent with the same key.

The protocol carries no card, so authorize charges a test payment method (by
default Stripe's `pm_card_visa`, which localstripe also knows) and refuses to run
with a live-mode key. Card numbers never pass through this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests
import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import (
    CardDetails,
    GatewayDeclined,
    GatewayError,
    GatewayResult,
    GatewayTimeout,
    GatewayTransientError,
)

TEST_PAYMENT_METHOD = "pm_card_visa"
# (connect, read) seconds. A checkout waits for authorize; a lost answer is not
# lost money, since the retry with the same key gets the first outcome back.
NETWORK_TIMEOUT = (5.0, 20.0)
MAX_REASON_LENGTH = 255  # what a transaction's failure_reason holds
LIVE_KEY_PREFIXES = ("sk_live_", "rk_live_")
TRANSIENT_HTTP_STATUSES = {409, 429}
REFUND_REFUSED_STATUSES = {"failed", "canceled"}
# Accepted, finished later by Stripe: charge.refund.updated tells the outcome.
REFUND_UNFINISHED_STATUSES = {"pending", "requires_action"}
TRANSIENT_ERRORS = (
    stripe.APIError,
    stripe.RateLimitError,
    stripe.AuthenticationError,
    stripe.PermissionError,
)


class StripeGateway:
    name = "stripe"

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str,
        payment_method: str = TEST_PAYMENT_METHOD,
        http_client: stripe.HTTPClient | None = None,
    ):
        """`http_client` defaults to a requests client with NETWORK_TIMEOUT; one
        given here carries its own timeout."""
        if not api_key:
            raise ImproperlyConfigured("STRIPE_API_KEY is not set")
        self.payment_method = payment_method
        self._live = api_key.startswith(LIVE_KEY_PREFIXES)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base.rstrip("/")},
            max_network_retries=0,
            http_client=http_client or stripe.RequestsClient(timeout=NETWORK_TIMEOUT),
        )

    @classmethod
    def from_settings(cls) -> StripeGateway:
        return cls(api_key=settings.STRIPE_API_KEY, api_base=settings.STRIPE_API_BASE)

    def authorize(
        self, *, amount: int, currency: str, capture: bool, idempotency_key: str
    ) -> GatewayResult:
        if self._live:
            raise ImproperlyConfigured(
                "StripeGateway.authorize charges a test payment method: use a test-mode key"
            )
        with _gateway_errors():
            intent = self._client.v1.payment_intents.create(
                params={
                    "amount": amount,
                    "currency": currency.lower(),
                    "payment_method": self.payment_method,
                    "payment_method_types": ["card"],
                    "capture_method": "automatic" if capture else "manual",
                    "confirm": True,
                    # The card's brand and last digits, for the agent who is asked
                    # "which card was refunded?" (never the number).
                    "expand": ["payment_method"],
                },
                options={"idempotency_key": idempotency_key},
            )
        expected = "succeeded" if capture else "requires_capture"
        if intent.status != expected:
            # e.g. requires_payment_method (declined) or requires_action (3-D Secure,
            # which a back office cannot complete): nothing was authorized.
            # Stripe omits absent fields, hence getattr.
            error = getattr(intent, "last_payment_error", None)
            code = getattr(error, "code", None) or f"payment_intent_{intent.status}"
            raise GatewayDeclined(_reason(code, getattr(error, "message", None)))
        return GatewayResult(reference=intent.id, card=_card_of(intent))

    def capture(self, *, reference: str, amount: int, idempotency_key: str) -> GatewayResult:
        with _gateway_errors():
            intent = self._client.v1.payment_intents.capture(
                reference,
                params={"amount_to_capture": amount},
                options={"idempotency_key": idempotency_key},
            )
        return GatewayResult(reference=intent.id)

    def refund(self, *, reference: str, amount: int, idempotency_key: str) -> GatewayResult:
        with _gateway_errors():
            refund = self._client.v1.refunds.create(
                params={"payment_intent": reference, "amount": amount},
                options={"idempotency_key": idempotency_key},
            )
        # `pending`: Stripe owns it now and finishes it on its side; the refund stays
        # pending here until Stripe's charge.refund.updated webhook says how it ended
        # (or, if that webhook is lost, refund_outcome is asked: payments.delivery).
        return _refund_result(refund)

    def refund_outcome(self, *, reference: str) -> GatewayResult:
        with _gateway_errors():
            refund = self._client.v1.refunds.retrieve(reference)
        return _refund_result(refund)

    def void(self, *, reference: str, amount: int, idempotency_key: str) -> GatewayResult:
        with _gateway_errors():
            intent = self._client.v1.payment_intents.cancel(
                reference, options={"idempotency_key": idempotency_key}
            )
        return GatewayResult(reference=intent.id)


def _refund_result(refund) -> GatewayResult:
    if refund.status in REFUND_REFUSED_STATUSES:
        failure = getattr(refund, "failure_reason", None)
        raise GatewayDeclined(_reason(failure or f"refund_{refund.status}"))
    return GatewayResult(reference=refund.id, pending=refund.status in REFUND_UNFINISHED_STATUSES)


@contextmanager
def _gateway_errors() -> Iterator[None]:
    try:
        yield
    except stripe.StripeError as error:
        raise _translate(error) from error


def _translate(error: stripe.StripeError) -> GatewayError:
    message = error.user_message or type(error).__name__
    if isinstance(error, stripe.APIConnectionError):
        # The request may have reached Stripe: the outcome is unknown either way.
        if isinstance(error.__cause__, requests.exceptions.ReadTimeout):
            return GatewayTimeout(f"stripe: no answer in time: {message}")
        return GatewayTransientError(f"stripe: unreachable: {message}")
    status = error.http_status
    if (
        status is None
        or status >= 500
        or status in TRANSIENT_HTTP_STATUSES
        or isinstance(error, TRANSIENT_ERRORS)
    ):
        return GatewayTransientError(f"stripe: {status} {error.code or ''}: {message}")
    decline_code = error.error.decline_code if error.error else None
    code = error.code or "declined"
    if decline_code and decline_code != code:
        code = f"{code} ({decline_code})"
    return GatewayDeclined(_reason(code, message))


def _card_of(intent) -> CardDetails | None:
    """The card Stripe reports for the intent's payment method, when it was expanded."""
    card = getattr(getattr(intent, "payment_method", None), "card", None)
    if card is None:
        return None
    return CardDetails(
        brand=getattr(card, "brand", "") or "",
        last4=getattr(card, "last4", "") or "",
        exp_month=getattr(card, "exp_month", None),
        exp_year=getattr(card, "exp_year", None),
        country=getattr(card, "country", "") or "",
    )


def _reason(code: str, message: str | None = None) -> str:
    reason = f"{code}: {message}" if message else code
    return reason[:MAX_REASON_LENGTH]
