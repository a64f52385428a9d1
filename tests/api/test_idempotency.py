"""Idempotency of every POST (SPEC 7)."""

import json
import types
from datetime import timedelta

import pytest
from django.db import connections
from django.urls import path
from django.utils import timezone
from ninja import Router

from config.api.idempotency import Fingerprint
from merchants.models import IdempotencyRecord
from merchants.tasks import purge_idempotency_records
from payments import events
from payments.models import Payment, Transaction
from tests.api.conftest import ApiClient, error_of
from tests.conftest import require_postgres, run_concurrently
from tests.factories import MerchantFactory, PaymentFactory, make_api_key

pytestmark = pytest.mark.django_db

CREATE = {"amount": 2500, "currency": "USD", "orderId": "o-1"}


@pytest.fixture
def payment(merchant):
    return PaymentFactory(merchant=merchant, amount=2500)


def test_a_retry_replays_the_first_answer_without_doing_the_work_again(api, gateway_calls):
    first = api.post("/payments", CREATE, idempotency_key="create-1")
    retry = api.post("/payments", CREATE, idempotency_key="create-1")

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Payment.objects.count() == 1
    assert len(gateway_calls("authorize")) == 1


def test_x_idempotency_key_works_too(api, payment):
    first = api.post(
        f"/payments/{payment.id}/reverse",
        {"amount": 100},
        headers={"X-Idempotency-Key": "refund-1"},
    )
    retry = api.post(
        f"/payments/{payment.id}/reverse",
        {"amount": 100},
        headers={"X-Idempotency-Key": "refund-1"},
    )

    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Transaction.objects.filter(type__in=Transaction.REVERSAL_TYPES).count() == 1


def test_the_same_json_with_other_spacing_is_the_same_request(api, payment):
    path = f"/payments/{payment.id}/reverse"
    api.post(path, '{"amount": 100, "reason": "duplicate"}', idempotency_key="k")

    retry = api.post(path, '{"reason":"duplicate","amount":100}', idempotency_key="k")

    assert retry.status_code == 200
    assert retry["Idempotent-Replayed"] == "true"


def test_the_same_key_with_another_body_is_an_idempotency_error(api, payment):
    path = f"/payments/{payment.id}/reverse"
    api.post(path, {"amount": 100}, idempotency_key="k")

    response = api.post(path, {"amount": 200}, idempotency_key="k")

    assert response.status_code == 422
    assert error_of(response)["type"] == "idempotency_error"
    assert Transaction.objects.filter(type__in=Transaction.REVERSAL_TYPES).count() == 1


def test_the_same_key_on_another_path_is_an_idempotency_error(api, merchant, payment):
    other = PaymentFactory(merchant=merchant)
    api.post(f"/payments/{payment.id}/reverse", {}, idempotency_key="k")

    response = api.post(f"/payments/{other.id}/reverse", {}, idempotency_key="k")

    assert response.status_code == 422
    assert error_of(response)["type"] == "idempotency_error"
    assert not other.transactions.filter(type__in=Transaction.REVERSAL_TYPES).exists()


def test_a_retry_while_the_first_still_runs_is_a_conflict(api, merchant, payment):
    path = f"/api/v1/payments/{payment.id}/reverse"
    IdempotencyRecord.objects.create(
        merchant=merchant,
        key="k",
        request_method="POST",
        request_path=path,
        request_body_sha256=Fingerprint.of(_request_with_body(path, b"{}")).body_sha256,
    )

    response = api.post(f"/payments/{payment.id}/reverse", {}, idempotency_key="k")

    assert response.status_code == 409
    assert error_of(response)["type"] == "conflict"
    assert not Transaction.objects.filter(type__in=Transaction.REVERSAL_TYPES).exists()


def _request_with_body(path, body):
    from django.test import RequestFactory

    return RequestFactory().post(path, body, content_type="application/json")


def test_keys_are_scoped_to_the_merchant(api, payment, other_merchant):
    other_payment = PaymentFactory(merchant=other_merchant)
    other_api = ApiClient(make_api_key(other_merchant)[1])

    mine = api.post(f"/payments/{payment.id}/reverse", {}, idempotency_key="shared")
    theirs = other_api.post(f"/payments/{other_payment.id}/reverse", {}, idempotency_key="shared")

    assert mine.status_code == theirs.status_code == 200
    assert "Idempotent-Replayed" not in theirs
    assert theirs.json()["id"] == other_payment.id


def test_a_request_refused_by_validation_stores_nothing(api, payment):
    path = f"/payments/{payment.id}/reverse"

    refused = api.post(path, {"amount": 5.5}, idempotency_key="k")
    over = api.post(path, {"amount": 999999}, idempotency_key="k")
    malformed = api.post(path, "{nope", idempotency_key="k")
    fixed = api.post(path, {"amount": 500}, idempotency_key="k")

    assert refused.status_code == over.status_code == malformed.status_code == 400
    assert fixed.status_code == 200
    assert "Idempotent-Replayed" not in fixed
    assert IdempotencyRecord.objects.get().status == "completed"


def test_refusals_after_the_work_started_are_replayed(api, merchant, gateway_calls):
    from tests.factories import CustomerFactory

    customer = CustomerFactory(merchant=merchant, restrict_cit=True)
    body = {"amount": 100, "currency": "USD", "customerId": customer.id}

    first = api.post("/payments", body, idempotency_key="k")
    retry = api.post("/payments", body, idempotency_key="k")

    assert first.status_code == retry.status_code == 403
    assert retry["Idempotent-Replayed"] == "true"
    customer.refresh_from_db()
    assert customer.refused_payment_attempts == 1


def test_not_found_is_stored(api):
    first = api.post("/payments/pay_nope/reverse", {}, idempotency_key="k")
    retry = api.post("/payments/pay_nope/reverse", {}, idempotency_key="k")

    assert first.status_code == retry.status_code == 404
    assert retry["Idempotent-Replayed"] == "true"


def test_a_server_error_is_replayed_never_redone_under_the_same_key(api, payment, monkeypatch):
    path = f"/payments/{payment.id}/reverse"
    real_answer = events.announced_answer

    def broken(*args, **kwargs):
        raise RuntimeError("process went away")

    # Writing the answer fails after the refund committed.
    monkeypatch.setattr(events, "announced_answer", broken)
    crashed = api.post(path, {"amount": 100, "isExternal": True}, idempotency_key="k")
    monkeypatch.setattr(events, "announced_answer", real_answer)

    assert crashed.status_code == 500
    # The refund was committed before the answer failed: the same key must not redo it.
    retry = api.post(path, {"amount": 100, "isExternal": True}, idempotency_key="k")
    assert retry.status_code == 500 and retry["Idempotent-Replayed"] == "true"
    assert Transaction.objects.filter(type__in=Transaction.REVERSAL_TYPES).count() == 1
    fresh = api.post(path, {"amount": 100, "isExternal": True}, idempotency_key="k2")
    assert fresh.status_code == 200
    assert Transaction.objects.filter(type__in=Transaction.REVERSAL_TYPES).count() == 2


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_a_key_of_the_wrong_length_is_a_validation_error(api, payment, key):
    response = api.post(f"/payments/{payment.id}/reverse", {}, idempotency_key=key)

    assert response.status_code == 400
    error = error_of(response)
    assert (error["type"], error["param"]) == ("validation_error", "Idempotency-Key")
    assert not Transaction.objects.filter(type__in=Transaction.REVERSAL_TYPES).exists()


def test_a_key_of_255_characters_is_fine(api, payment):
    response = api.post(f"/payments/{payment.id}/reverse", {}, idempotency_key="k" * 255)

    assert response.status_code == 200
    assert IdempotencyRecord.objects.get().key == "k" * 255


def test_gets_ignore_the_key(api, payment):
    api.get(f"/payments/{payment.id}", headers={"Idempotency-Key": "k"})

    assert not IdempotencyRecord.objects.exists()


def test_posts_without_a_key_are_not_recorded(api, payment):
    api.post(f"/payments/{payment.id}/reverse", {"amount": 100})
    api.post(f"/payments/{payment.id}/reverse", {"amount": 100})

    assert Transaction.objects.filter(type__in=Transaction.REVERSAL_TYPES).count() == 2
    assert not IdempotencyRecord.objects.exists()


@pytest.fixture
def later_router_urls(settings):
    """An API built like config.api with a router like the ones customers/api.py and
    chargebacks/api.py will add: a plain Router, nothing idempotency-specific."""
    from config.api import BackOfficeAPI

    router = Router()
    calls = []

    @router.post("/things")
    def create_thing(request):
        calls.append(request.auth.merchant.id)
        return {"number": len(calls)}

    later_api = BackOfficeAPI(title="Later", urls_namespace="later-api")
    later_api.add_router("/", router)
    urls = types.ModuleType("later_router_urls")
    urls.urlpatterns = [path("api/v1/", later_api.urls)]
    settings.ROOT_URLCONF = urls
    return calls


def test_routers_added_later_are_idempotent_without_doing_anything(api, later_router_urls):
    first = api.post("/things", {}, idempotency_key="k")
    retry = api.post("/things", {}, idempotency_key="k")
    other = api.post("/things", {}, idempotency_key="other")

    assert first.json() == retry.json() == {"number": 1}
    assert retry["Idempotent-Replayed"] == "true"
    assert other.json() == {"number": 2}
    assert len(later_router_urls) == 2


def test_routers_added_later_need_a_key_and_answer_json_errors(anonymous_api, later_router_urls):
    response = anonymous_api.post("/things", {}, idempotency_key="k")

    assert response.status_code == 401
    assert error_of(response)["type"] == "authentication_error"
    assert later_router_urls == []


def test_records_older_than_a_day_are_purged(merchant):
    old = IdempotencyRecord.objects.create(
        merchant=merchant,
        key="old",
        request_method="POST",
        request_path="/",
        request_body_sha256="",
    )
    recent = IdempotencyRecord.objects.create(
        merchant=merchant,
        key="new",
        request_method="POST",
        request_path="/",
        request_body_sha256="",
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=24, minutes=1)
    )
    IdempotencyRecord.objects.filter(pk=recent.pk).update(
        created_at=timezone.now() - timedelta(hours=23, minutes=59)
    )

    assert purge_idempotency_records.delay().get() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_a_purged_key_may_be_used_again(api, payment):
    api.post(f"/payments/{payment.id}/reverse", {"amount": 100}, idempotency_key="k")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(days=2))
    purge_idempotency_records()

    again = api.post(f"/payments/{payment.id}/reverse", {"amount": 100}, idempotency_key="k")

    assert again.status_code == 200 and "Idempotent-Replayed" not in again
    assert Transaction.objects.filter(type__in=Transaction.REVERSAL_TYPES).count() == 2


# --- under real concurrency (PostgreSQL) ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_reversals_with_one_key_reverse_once(gateway_calls):
    require_postgres()
    merchant = MerchantFactory(name="Race Shop")
    payment = PaymentFactory(merchant=merchant, amount=10_000)
    _, secret = make_api_key(merchant)
    path = f"/payments/{payment.id}/reverse"
    body = {"amount": 1_000, "reason": "duplicate"}

    def reverse(_):
        response = ApiClient(secret).post(path, body, idempotency_key="race-1")
        return response.status_code, response.content, response.get("Idempotent-Replayed")

    results = run_concurrently(reverse, 20)

    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    assert payment.transactions.filter(type__in=Transaction.REVERSAL_TYPES).count() == 1
    record = IdempotencyRecord.objects.get(merchant=merchant, key="race-1")
    assert record.status == "completed" and record.response_status == 200
    for status, content, replayed in results:
        assert status in (200, 409), content
        if status == 200:
            assert json.loads(content) == json.loads(record.response_body)
        else:
            assert json.loads(content)["error"]["type"] == "conflict"
    originals = [r for r in results if r[0] == 200 and r[2] is None]
    assert len(originals) == 1
    payment.refresh_from_db()
    assert payment.amount_reversed == 1_000
    assert len(gateway_calls("refund")) == 1
    connections.close_all()
