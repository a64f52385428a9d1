"""The contract of POST /api/v1/payments/{id}/record-chargeback (SPEC 6 and 7)."""

import pytest

from chargebacks import services
from chargebacks.models import Chargeback
from customers import services as customer_services
from customers.models import BlacklistEntry
from payments.models import Payment, Transaction
from tests.customers.conftest import error_of
from tests.factories import CustomerFactory, PaymentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(merchant):
    return CustomerFactory(merchant=merchant, email="Holder@Example.test")


@pytest.fixture
def payment(merchant, customer):
    return PaymentFactory(merchant=merchant, customer=customer, amount=4200)


def path(payment_id: str) -> str:
    return f"/payments/{payment_id}/record-chargeback"


def assert_error(response, status: int, type_: str, param: str | None = None) -> dict:
    assert response.status_code == status, response.content
    error = error_of(response)
    assert error["type"] == type_, error
    if param is not None:
        assert error.get("param") == param, error
    return error


@pytest.mark.parametrize("body", [None, {}])
def test_an_empty_or_missing_body_records_only_the_chargeback(api, payment, body, api_key):
    response = api.post(path(payment.id), body)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["id"] == payment.id
    assert answer["isChargebacked"] is True
    assert answer["chargebackRecordedAt"] is not None
    assert answer["displayStatus"] == "chargeback"
    chargeback = answer["transactions"][-1]
    assert chargeback["type"] == "chargeback"
    assert (chargeback["amount"], chargeback["status"]) == (4200, "succeeded")
    assert chargeback["createdBy"] == f"API key {api_key[0].prefix}…"
    assert answer["customer"]["isRestricted"] is False
    assert answer["customer"]["isBlacklisted"] is False
    assert Chargeback.objects.get().created_by_api_key == api_key[0]


def test_the_answer_shows_the_new_restrictions_and_blacklist(api, payment):
    response = api.post(
        path(payment.id),
        {
            "blacklistCustomer": True,
            "customerRestrictions": {
                "restrictMit": True,
                "restrictCit": False,
                "restrictReason": "Chargeback filed by customer on 2024-03-15",
            },
        },
    )
    assert response.status_code == 200, response.content
    customer = response.json()["customer"]
    assert customer["restrictMit"] is True and customer["restrictCit"] is False
    assert customer["isRestricted"] is True
    assert customer["restrictReason"] == "Chargeback filed by customer on 2024-03-15"
    assert customer["isBlacklisted"] is True
    entry = BlacklistEntry.objects.get()
    assert entry.source == "chargeback" and entry.chargeback.payment_id == payment.id


def test_a_chargeback_with_blacklist_blocks_the_email_at_another_merchant(
    api, other_api, payment, gateway_calls
):
    assert api.post(path(payment.id), {"blacklistCustomer": True}).status_code == 200
    calls = len(gateway_calls())
    response = other_api.post(
        "/payments",
        {"amount": 1000, "currency": "USD", "customer": {"email": "HOLDER@example.TEST"}},
    )
    error = assert_error(response, 403, "customer_restricted")
    assert error["rule"] == "blacklisted"
    assert len(gateway_calls()) == calls


def test_a_second_chargeback_is_a_conflict(api, payment):
    api.post(path(payment.id))
    assert_error(api.post(path(payment.id), {"blacklistCustomer": True}), 409, "conflict")
    assert not BlacklistEntry.objects.exists()
    assert Transaction.objects.filter(type="chargeback").count() == 1


def test_another_merchants_payment_answers_as_a_missing_one(other_api, payment):
    assert_error(other_api.post(path(payment.id)), 404, "not_found")
    assert_error(other_api.post(path("pay_missing")), 404, "not_found")
    payment.refresh_from_db()
    assert not payment.is_chargebacked


def test_unauthenticated(anonymous_api, payment):
    assert_error(anonymous_api.post(path(payment.id)), 401, "authentication_error")
    payment.refresh_from_db()
    assert not payment.is_chargebacked


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"blacklistCustomer": True}, "blacklistCustomer"),
        ({"customerRestrictions": {"restrictCit": True}}, "customerRestrictions"),
    ],
)
def test_acting_on_a_missing_customer_is_a_validation_error(api, merchant, body, param):
    anonymous = PaymentFactory(merchant=merchant)
    assert_error(api.post(path(anonymous.id), body), 400, "validation_error", param)
    anonymous.refresh_from_db()
    assert not anonymous.is_chargebacked


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"blacklistCustomer": "yes"}, "blacklistCustomer"),
        ({"customerRestrictions": {"restrictMit": "true"}}, "customerRestrictions.restrictMit"),
        (
            {"customerRestrictions": {"restrictReason": "r" * 501}},
            "customerRestrictions.restrictReason",
        ),
        ({"customerRestrictions": {"ban": True}}, "customerRestrictions.ban"),
        ({"refund": True}, "refund"),
    ],
)
def test_invalid_bodies_record_nothing(api, payment, body, param):
    assert_error(api.post(path(payment.id), body), 400, "validation_error", param)
    payment.refresh_from_db()
    assert not payment.is_chargebacked


def test_a_failure_halfway_answers_500_and_records_nothing(api, payment, customer, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(customer_services, "add_to_blacklist", broken)
    response = api.post(
        path(payment.id),
        {"blacklistCustomer": True, "customerRestrictions": {"restrictMit": True}},
        idempotency_key="cb-fail",
    )
    assert_error(response, 500, "api_error")
    payment.refresh_from_db()
    customer.refresh_from_db()
    assert not payment.is_chargebacked and not customer.restrict_mit
    assert not Chargeback.objects.exists()
    assert not Transaction.objects.filter(type="chargeback").exists()

    # A server error is replayed under its key (its outcome could have been unknown);
    # a new key is a new attempt, which does the work.
    monkeypatch.undo()
    body = {"blacklistCustomer": True, "customerRestrictions": {"restrictMit": True}}
    replayed = api.post(path(payment.id), body, idempotency_key="cb-fail")
    assert replayed.status_code == 500 and replayed["Idempotent-Replayed"] == "true"
    retry = api.post(path(payment.id), body, idempotency_key="cb-retry")
    assert retry.status_code == 200 and "Idempotent-Replayed" not in retry


def test_an_idempotent_retry_replays_instead_of_a_conflict(api, payment):
    body = {"customerRestrictions": {"restrictCit": True}}
    first = api.post(path(payment.id), body, idempotency_key="cb-1")
    again = api.post(path(payment.id), body, idempotency_key="cb-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Chargeback.objects.count() == 1
    assert_error(api.post(path(payment.id), {}, idempotency_key="cb-1"), 422, "idempotency_error")
    # Without the key, the second request is a real second attempt.
    assert_error(api.post(path(payment.id), body), 409, "conflict")


def test_a_chargebacked_payment_can_still_be_refunded_through_the_api(api, payment):
    api.post(path(payment.id))
    response = api.post(f"/payments/{payment.id}/reverse", {"amount": 1000})
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["isChargebacked"] is True and answer["amountReversed"] == 1000
    assert Payment.objects.get(id=payment.id).display_status == "chargeback"


def test_the_service_answer_matches_the_api_answer(api, payment, merchant):
    from core.actors import SYSTEM

    answered = services.record_chargeback(merchant=merchant, payment_id=payment.id, actor=SYSTEM)
    assert answered.is_chargebacked
    assert api.get(f"/payments/{payment.id}").json()["isChargebacked"] is True


@pytest.mark.parametrize("state", ["authorized", "voided", "failed"])
def test_a_payment_that_never_moved_money_answers_invalid_request(api, merchant, customer, state):
    payment = PaymentFactory(
        merchant=merchant,
        customer=customer,
        amount=666 if state == "failed" else 900,
        capture=False,
    )
    if state == "voided":
        api.post(f"/payments/{payment.id}/reverse", {})
    response = api.post(path(payment.id), {"blacklistCustomer": True})
    error = assert_error(response, 400, "invalid_request")
    assert "no money moved" in error["message"]
    assert not Chargeback.objects.exists() and not BlacklistEntry.objects.exists()
    assert not Payment.objects.get(id=payment.id).is_chargebacked


def test_the_blacklist_entry_keeps_the_reason_given(api, payment, customer):
    response = api.post(
        path(payment.id), {"blacklistCustomer": True, "blacklistReason": "Stolen card ring"}
    )
    assert response.status_code == 200, response.content
    entry = BlacklistEntry.objects.get()
    assert entry.reason == "Stolen card ring" and entry.chargeback.payment_id == payment.id
