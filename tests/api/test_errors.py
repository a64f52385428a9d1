"""Errors are always JSON in the API's shape (SPEC 7), never HTML, also under DEBUG."""

import logging

import pytest
from django.http import HttpResponseForbidden
from django.test import RequestFactory

from config.api import middleware as api_errors
from payments import selectors
from tests.api.conftest import ApiClient, error_of
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def payment(merchant):
    return PaymentFactory(merchant=merchant)


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def assert_error(response, status: int, type: str) -> dict:
    assert response.status_code == status, response.content
    error = error_of(response)
    assert error["type"] == type
    assert error["message"]
    return error


def test_malformed_json_is_an_invalid_request(api, payment, debug):
    for body in ('{"amount": ', "{'amount': 1}", "\xff", "NaN-ish"):
        response = api.post(f"/payments/{payment.id}/reverse", body)
        assert_error(response, 400, "invalid_request")


def test_a_body_that_is_not_json_is_an_invalid_request(api, payment):
    for content_type in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data"):
        response = api.post(
            f"/payments/{payment.id}/reverse", "amount=100", content_type=content_type
        )
        error = assert_error(response, 400, "invalid_request")
        assert "application/json" in error["message"]


def test_a_json_subtype_is_json(api, payment):
    response = api.post(
        f"/payments/{payment.id}/reverse", '{"amount": 100}', content_type="application/merge+json"
    )

    assert response.status_code == 200


def test_validation_errors_name_the_camel_case_parameter(api, payment):
    error = assert_error(
        api.post(f"/payments/{payment.id}/reverse", {"isExternal": 1}), 400, "validation_error"
    )

    assert error["param"] == "isExternal"


def test_text_the_database_cannot_store_is_refused(api, payment):
    body = assert_error(
        api.post(f"/payments/{payment.id}/reverse", {"note": "a\u0000b"}), 400, "validation_error"
    )
    query = assert_error(api.get("/payments", {"startingAfter": "a\x00b"}), 400, "validation_error")

    assert body["param"] == "note"
    assert query["param"] == "startingAfter"
    assert_error(api.get("/payments/pay_%00x"), 404, "not_found")


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/nothing", "/payments/", "/payments/x/refund", "/v2/payments"])
def test_unknown_routes_are_not_found(anonymous_api, method, path, debug):
    response = anonymous_api.request(method, path)

    assert_error(response, 404, "not_found")


def test_the_api_root_is_not_found(anonymous_api, debug):
    assert_error(anonymous_api.request("GET", "/"), 404, "not_found")
    assert_error(anonymous_api.request("POST", "/"), 405, "invalid_request")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/payments", {"GET", "POST"}),
        ("PUT", "/payments/pay_x", {"GET"}),
        ("GET", "/payments/pay_x/reverse", {"POST"}),
        ("PATCH", "/payments/pay_x/capture", {"POST"}),
        ("POST", "/openapi.json", {"GET", "HEAD"}),
        ("DELETE", "/docs", {"GET", "HEAD"}),
    ],
)
def test_a_wrong_method_is_405_in_json(api, method, path, allowed, debug):
    response = api.request(method, path)

    assert_error(response, 405, "invalid_request")
    assert {m.strip() for m in response["Allow"].split(",")} == allowed


def test_an_unexpected_error_is_a_logged_500_without_traceback(
    api, payment, monkeypatch, caplog, debug
):
    def broken(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(selectors, "get_payment", broken)

    with caplog.at_level(logging.ERROR):
        response = api.get(f"/payments/{payment.id}")

    assert_error(response, 500, "api_error")
    assert b"secret internals" not in response.content
    assert b"Traceback" not in response.content
    logged = [r for r in caplog.records if r.exc_info and "secret internals" in str(r.exc_info[1])]
    assert logged, caplog.records


def test_the_openapi_document_declares_bearer_auth_and_every_error(anonymous_api):
    document = anonymous_api.get("/openapi.json").json()

    schemes = document["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"} in schemes.values()
    reverse = document["paths"]["/api/v1/payments/{payment_id}/reverse"]["post"]
    assert {"200", "400", "401", "404", "409", "422", "500"} <= set(reverse["responses"])
    assert reverse["security"]
    assert "Idempotency-Key" in [p["name"] for p in reverse["parameters"]]
    error_ref = reverse["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]
    assert error_ref == "#/components/schemas/ErrorOut"


def test_the_docs_are_served_without_a_cdn(anonymous_api):
    response = anonymous_api.get("/docs")

    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


# --- outside the ninja API: middleware and handlers offered to the root URLconf ----------


@pytest.fixture
def with_api_errors_middleware(settings):
    settings.MIDDLEWARE = ["config.api.middleware.ApiJsonErrorsMiddleware", *settings.MIDDLEWARE]


def test_middleware_makes_unknown_api_paths_json(with_api_errors_middleware, debug, db):
    client = ApiClient()

    response = client.client.get("/api/v2/payments")

    assert_error(response, 404, "not_found")


def test_middleware_leaves_other_paths_alone(with_api_errors_middleware, db):
    response = ApiClient().client.get("/not-the-api/")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_middleware_turns_a_csrf_refusal_into_json():
    request = RequestFactory().post("/api/other")
    middleware = api_errors.ApiJsonErrorsMiddleware(
        lambda request: HttpResponseForbidden("<h1>CSRF</h1>")
    )

    assert_error(middleware(request), 403, "permission_error")


def test_middleware_answers_a_view_exception_with_api_error(caplog):
    request = RequestFactory().get("/api/anything")
    middleware = api_errors.ApiJsonErrorsMiddleware(lambda request: None)

    response = middleware.process_exception(request, ValueError("boom"))

    assert_error(response, 500, "api_error")
    assert middleware.process_exception(RequestFactory().get("/x"), ValueError()) is None


def test_handlers_answer_json_under_api_and_html_elsewhere(settings):
    settings.DEBUG = False
    factory = RequestFactory()

    assert_error(api_errors.page_not_found(factory.get("/api/x"), None), 404, "not_found")
    assert_error(api_errors.server_error(factory.get("/api/x")), 500, "api_error")
    assert "html" in api_errors.page_not_found(factory.get("/x"), None)["Content-Type"]


@pytest.mark.parametrize("idempotency_key", [None, "big-1"])
def test_a_body_over_the_upload_limit_is_an_invalid_request(
    api, payment, settings, idempotency_key
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    response = api.post(
        f"/payments/{payment.id}/reverse",
        {"note": "x" * 200},
        idempotency_key=idempotency_key,
    )

    assert_error(response, 400, "invalid_request")
