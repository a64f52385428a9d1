"""API authentication: `Authorization: Bearer sk_test_…` (SPEC 1).

The key decides everything a request may see: its merchant scopes every lookup, and
it is the actor recorded on every write (core.api.api_merchant / api_actor).
"""

from django.http import HttpRequest
from ninja.security import HttpBearer

from merchants.models import ApiKey
from merchants.services import authenticate_api_key

_CACHE_ATTRIBUTE = "_api_key_authentication"


class ApiKeyAuth(HttpBearer):
    """A secret API key as a bearer token; a missing, unknown or revoked key is refused
    (401). Not cookie-based, so ninja applies no CSRF check, and needs none."""

    def __call__(self, request: HttpRequest) -> ApiKey | None:
        # Authenticated once per request, although both the idempotency layer and
        # the operation ask.
        if not hasattr(request, _CACHE_ATTRIBUTE):
            setattr(request, _CACHE_ATTRIBUTE, super().__call__(request))
        return getattr(request, _CACHE_ATTRIBUTE)

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        return authenticate_api_key(token.strip())


api_key_auth = ApiKeyAuth()
