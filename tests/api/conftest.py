import json

import pytest
from django.test import Client

from tests.factories import make_api_key

NOTHING = object()


class ApiClient:
    """django.test.Client speaking the JSON API with one secret key."""

    def __init__(self, secret: str | None = None, **client_kwargs) -> None:
        self.secret = secret
        self.client = Client(**client_kwargs)

    def headers(self, idempotency_key=None, extra=None) -> dict:
        headers = {}
        if self.secret:
            headers["Authorization"] = f"Bearer {self.secret}"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        headers.update(extra or {})
        return headers

    def get(self, path: str, params=None, *, headers=None):
        return self.client.get(f"/api/v1{path}", params or {}, headers=self.headers(extra=headers))

    def post(
        self,
        path: str,
        body=NOTHING,
        *,
        idempotency_key=None,
        headers=None,
        content_type="application/json",
    ):
        if body is NOTHING:
            data = b""
        elif isinstance(body, str | bytes):
            data = body
        else:
            data = json.dumps(body)
        return self.client.generic(
            "POST",
            f"/api/v1{path}",
            data,
            content_type=content_type,
            headers=self.headers(idempotency_key, headers),
        )

    def request(self, method: str, path: str, **kwargs):
        return self.client.generic(method, f"/api/v1{path}", headers=self.headers(), **kwargs)


@pytest.fixture
def api(api_key):
    """An API client authenticated as the merchant (`merchant` fixture)."""
    return ApiClient(api_key[1])


@pytest.fixture
def anonymous_api(db):
    return ApiClient()


@pytest.fixture
def other_api(other_merchant):
    return ApiClient(make_api_key(other_merchant, name="other")[1])


def error_of(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = json.loads(response.content)
    assert set(body) == {"error"}, body
    return body["error"]
