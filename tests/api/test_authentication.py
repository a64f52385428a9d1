"""API keys (SPEC 1): 401 without a valid key; another merchant's ids are not found."""

import pytest
from django.core.management import CommandError, call_command

from merchants.models import ApiKey, IdempotencyRecord
from merchants.services import authenticate_api_key, revoke_api_key
from payments.models import Payment, Transaction
from tests.api.conftest import ApiClient, error_of
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db


def endpoints(payment_id: str) -> list[tuple[str, str, dict | None]]:
    return [
        ("POST", "/payments", {"amount": 100, "currency": "USD"}),
        ("GET", "/payments", None),
        ("GET", f"/payments/{payment_id}", None),
        ("POST", f"/payments/{payment_id}/capture", {}),
        ("POST", f"/payments/{payment_id}/reverse", {}),
    ]


def call(client: ApiClient, method: str, path: str, body, **kwargs):
    if method == "GET":
        return client.get(path, **kwargs)
    return client.post(path, body, **kwargs)


def assert_unauthenticated(response) -> None:
    assert response.status_code == 401, response.content
    assert error_of(response)["type"] == "authentication_error"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.fixture
def payment(merchant):
    return PaymentFactory(merchant=merchant, capture=False)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer sk_test_unknownunknownunknownunknown",
        "Bearer pk_test_notasecretkeyatall",
        "Basic dXNlcjpwYXNz",
        "sk_test_withoutthebearerscheme",
    ],
)
def test_every_endpoint_refuses_a_missing_or_unknown_key(payment, authorization):
    client = ApiClient()
    headers = {} if authorization is None else {"Authorization": authorization}

    for method, path, body in endpoints(payment.id):
        response = call(client, method, path, body, headers=headers)
        assert_unauthenticated(response)

    assert Payment.objects.count() == 1
    assert not Transaction.objects.filter(type__in=["capture", "void"]).exists()


def test_a_revoked_key_is_refused_everywhere(merchant, api_key, payment):
    key, secret = api_key
    revoke_api_key(merchant=merchant, key_id=key.id)
    client = ApiClient(secret)

    for method, path, body in endpoints(payment.id):
        assert_unauthenticated(call(client, method, path, body))


def test_an_unauthenticated_post_stores_no_idempotency_record(payment):
    response = ApiClient("sk_test_unknownunknownunknownunknown").post(
        f"/payments/{payment.id}/reverse", {}, idempotency_key="k-1"
    )

    assert_unauthenticated(response)
    assert not IdempotencyRecord.objects.exists()


def test_another_merchants_payment_is_not_found_on_every_endpoint(other_api, payment):
    missing = {}
    for method, path, body in endpoints("pay_doesnotexist")[2:]:
        missing[method, path.replace("pay_doesnotexist", "ID")] = call(
            other_api, method, path, body
        )

    for method, path, body in endpoints(payment.id)[2:]:
        response = call(other_api, method, path, body)
        assert response.status_code == 404, (method, path)
        expected = missing[method, path.replace(payment.id, "ID")].json()
        assert response.json() == {
            "error": {**expected["error"], "message": f"No such payment: '{payment.id}'"}
        }

    payment.refresh_from_db()
    assert not payment.is_captured and not payment.is_voided


def test_another_merchants_payments_are_not_listed(other_api, payment):
    assert other_api.get("/payments").json()["data"] == []


def test_another_merchants_customer_cannot_be_charged(other_api, merchant):
    from tests.factories import CustomerFactory

    customer = CustomerFactory(merchant=merchant)

    response = other_api.post(
        "/payments", {"amount": 100, "currency": "USD", "customerId": customer.id}
    )

    assert response.status_code == 400
    assert error_of(response)["param"] == "customerId"


def test_the_api_needs_no_csrf_token(api_key, payment):
    client = ApiClient(api_key[1], enforce_csrf_checks=True)

    response = client.post(f"/payments/{payment.id}/reverse", {})

    assert response.status_code == 200


def test_writes_record_the_api_key_as_actor(api, api_key, payment):
    api.post(f"/payments/{payment.id}/reverse", {})

    void = Transaction.objects.get(payment=payment, type="void")
    assert void.created_by_api_key == api_key[0]
    assert void.created_by is None


# --- management command ---------------------------------------------------------------


def test_create_api_key_command_prints_a_working_key_once(merchant, capsys):
    call_command("create_api_key", "--merchant", merchant.name, "--name", "server")

    out, err = capsys.readouterr()
    secret = out.strip()
    assert secret.startswith("sk_test_")
    key = authenticate_api_key(secret)
    assert key.merchant == merchant and key.name == "server"
    assert secret not in err
    assert secret not in str(ApiKey.objects.values_list())


def test_create_api_key_command_finds_the_merchant_by_id_and_makes_live_keys(merchant, capsys):
    call_command("create_api_key", "--merchant", str(merchant.id), "--mode", "live")

    secret = capsys.readouterr().out.strip()
    assert secret.startswith("sk_live_")
    assert authenticate_api_key(secret).mode == "live"


def test_create_api_key_command_refuses_an_unknown_merchant(db):
    with pytest.raises(CommandError, match="No merchant"):
        call_command("create_api_key", "--merchant", "Nobody")
