"""The gateway protocol. Only payments.gateways talks to a payment gateway, and it
never touches the database: services decide, gateways carry out."""

from dataclasses import dataclass
from typing import Protocol


class GatewayError(Exception):
    """Base class for everything a gateway can answer other than success."""


class GatewayDeclined(GatewayError):
    """A definite refusal: retrying the same request will not change the answer."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class GatewayTransientError(GatewayError):
    """A 5xx or a network fault: the outcome is unknown, retry with the same key."""


class GatewayTimeout(GatewayTransientError):
    """No answer in time: the outcome is unknown, retry with the same key."""


@dataclass(frozen=True)
class CardDetails:
    """What the gateway reports of the card it charged: never the full number."""

    brand: str
    last4: str
    exp_month: int | None = None
    exp_year: int | None = None
    country: str = ""

    def as_json(self) -> dict:
        return {
            "type": "card",
            "brand": self.brand,
            "last4": self.last4,
            "expMonth": self.exp_month,
            "expYear": self.exp_year,
            "country": self.country,
        }


@dataclass(frozen=True)
class GatewayResult:
    reference: str
    card: CardDetails | None = None
    # The gateway accepted the operation but finishes it later (a Stripe refund
    # `pending`): its outcome arrives by webhook (gateway_events), not in this answer.
    pending: bool = False


class PaymentGateway(Protocol):
    """Every call takes our idempotency key, so repeating it never repeats the effect
    at a gateway that honours keys."""

    name: str

    def authorize(
        self, *, amount: int, currency: str, capture: bool, idempotency_key: str
    ) -> GatewayResult: ...

    def capture(self, *, reference: str, amount: int, idempotency_key: str) -> GatewayResult: ...

    def refund(self, *, reference: str, amount: int, idempotency_key: str) -> GatewayResult: ...

    def void(self, *, reference: str, amount: int, idempotency_key: str) -> GatewayResult: ...

    def refund_outcome(self, *, reference: str) -> GatewayResult:
        """Where a refund the gateway accepted as pending stands now: `pending` still,
        finished (not pending), or GatewayDeclined when it failed or was canceled."""
        ...
