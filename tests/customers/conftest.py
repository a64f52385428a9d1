import json

import pytest
from django.test import Client

from tests.factories import make_api_key


class ApiClient:
    """django.test.Client speaking the JSON API with one secret key."""

    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret
        self.client = Client()

    def _headers(self, idempotency_key: str | None = None) -> dict:
        headers = {}
        if self.secret:
            headers["Authorization"] = f"Bearer {self.secret}"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def get(self, path: str, params: dict | None = None):
        return self.client.get(f"/api/v1{path}", params or {}, headers=self._headers())

    def post(self, path: str, body=None, *, idempotency_key: str | None = None):
        return self.client.generic(
            "POST",
            f"/api/v1{path}",
            b"" if body is None else json.dumps(body),
            content_type="application/json",
            headers=self._headers(idempotency_key),
        )


def error_of(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


@pytest.fixture
def api(api_key):
    """The API, authenticated as the `merchant` fixture."""
    return ApiClient(api_key[1])


@pytest.fixture
def other_api(other_merchant):
    return ApiClient(make_api_key(other_merchant, name="other")[1])


@pytest.fixture
def anonymous_api(db):
    return ApiClient()
