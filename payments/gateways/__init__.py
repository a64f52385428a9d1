from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import (
    CardDetails,
    GatewayDeclined,
    GatewayError,
    GatewayResult,
    GatewayTimeout,
    GatewayTransientError,
    PaymentGateway,
)
from .metrics import MeasuredGateway

__all__ = [
    "CardDetails",
    "GatewayDeclined",
    "GatewayError",
    "GatewayResult",
    "GatewayTimeout",
    "GatewayTransientError",
    "PaymentGateway",
    "get_gateway",
]


@cache
def _build(name: str) -> PaymentGateway:
    # Imported here: the stripe SDK is loaded only where that gateway is configured.
    if name == "sandbox":
        from .sandbox import SandboxGateway

        return MeasuredGateway(SandboxGateway.from_settings())
    if name == "stripe":
        from .stripe import StripeGateway

        return MeasuredGateway(StripeGateway.from_settings())
    raise ImproperlyConfigured(f"PAYMENT_GATEWAY must be 'sandbox' or 'stripe', not {name!r}")


def get_gateway() -> PaymentGateway:
    """The configured gateway (settings.PAYMENT_GATEWAY)."""
    return _build(settings.PAYMENT_GATEWAY)


get_gateway.cache_clear = _build.cache_clear  # type: ignore[attr-defined]
