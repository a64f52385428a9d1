"""Contract of the payments endpoints (SPEC 3, 4, 7): shapes, rules, every error."""

import pytest
from django.utils import timezone

from customers.models import BlacklistEntry
from payments.models import Payment, Transaction
from tests.api.conftest import error_of
from tests.factories import CustomerFactory, PaymentFactory

pytestmark = pytest.mark.django_db

PAYMENT_FIELDS = {
    "id",
    "orderId",
    "amount",
    "currency",
    "status",
    "initiator",
    "isCaptured",
    "amountCaptured",
    "amountReversed",
    "amountReversalPending",
    "amountAwaitingApproval",
    "isReversed",
    "isFullyReversed",
    "isVoided",
    "isChargebacked",
    "chargebackRecordedAt",
    "amountDisputed",
    "displayStatus",
    "processor",
    "paymentMethod",
    "statusReason",
    "customer",
    "metadata",
    "transactions",
    "createdAt",
    "updatedAt",
}
CUSTOMER_FIELDS = {
    "id",
    "email",
    "name",
    "restrictCit",
    "restrictMit",
    "restrictReason",
    "isRestricted",
    "isBlacklisted",
    "createdAt",
}
TRANSACTION_FIELDS = {
    "id",
    "type",
    "amount",
    "status",
    "isExternal",
    "reason",
    "note",
    "orderId",
    "metadata",
    "gatewayReference",
    "failureReason",
    "createdBy",
    "createdAt",
    "processedAt",
}


def assert_validation_error(response, param: str, *, contains: str = "") -> dict:
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["type"] == "validation_error"
    assert error["param"] == param
    assert contains in error["message"]
    return error


def assert_invalid_request(response, *, contains: str = "") -> dict:
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["type"] == "invalid_request"
    assert contains in error["message"]
    return error


@pytest.fixture
def payment(merchant):
    return PaymentFactory(merchant=merchant, amount=2500, order_id="order-1")


@pytest.fixture
def authorization(merchant):
    return PaymentFactory(merchant=merchant, amount=2500, capture=False)


# --- create ---------------------------------------------------------------------------


def test_create_payment_answers_the_full_payment_object(api, api_key):
    response = api.post(
        "/payments",
        {
            "amount": 2500,
            "currency": "USD",
            "customer": {"email": " Jane@Example.test ", "name": "Jane"},
            "orderId": "order-42",
            "metadata": {"cart": "c_1"},
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == PAYMENT_FIELDS
    assert body["id"].startswith("pay_")
    assert body["amount"] == body["amountCaptured"] == 2500
    assert body["currency"] == "USD"
    assert body["status"] == "succeeded"
    assert body["initiator"] == "CIT"
    assert body["isCaptured"] is True
    assert body["displayStatus"] == "captured"
    assert body["amountReversed"] == body["amountReversalPending"] == 0
    assert body["isReversed"] is body["isFullyReversed"] is body["isVoided"] is False
    assert body["amountDisputed"] == 0
    assert body["isChargebacked"] is False and body["chargebackRecordedAt"] is None
    assert body["orderId"] == "order-42"
    assert body["metadata"] == {"cart": "c_1"}
    assert body["createdAt"].endswith("Z") and body["updatedAt"].endswith("Z")

    customer = body["customer"]
    assert set(customer) == CUSTOMER_FIELDS
    assert customer["id"].startswith("cus_")
    assert customer["email"] == "Jane@Example.test"
    assert customer["name"] == "Jane"
    assert customer["isRestricted"] is customer["isBlacklisted"] is False

    assert [t["type"] for t in body["transactions"]] == ["authorization", "capture"]
    for transaction in body["transactions"]:
        assert set(transaction) == TRANSACTION_FIELDS
        assert transaction["status"] == "succeeded"
        assert transaction["createdBy"] == f"API key {api_key[0].prefix}…"
    assert Payment.objects.get(id=body["id"]).merchant == api_key[0].merchant


def test_create_payment_without_capture_only_authorizes(api):
    response = api.post("/payments", {"amount": 1000, "currency": "JPY", "capture": False})

    body = response.json()
    assert response.status_code == 200
    assert body["isCaptured"] is False and body["amountCaptured"] == 0
    assert body["displayStatus"] == "authorized"
    assert body["customer"] is None and body["orderId"] is None
    assert [t["type"] for t in body["transactions"]] == ["authorization"]


def test_create_payment_for_an_existing_customer_by_id_or_email(api, merchant):
    customer = CustomerFactory(merchant=merchant, email="known@example.test")

    by_id = api.post("/payments", {"amount": 100, "currency": "USD", "customerId": customer.id})
    by_email = api.post(
        "/payments", {"amount": 100, "currency": "USD", "customer": {"email": "KNOWN@example.test"}}
    )

    assert by_id.json()["customer"]["id"] == customer.id
    assert by_email.json()["customer"]["id"] == customer.id


def test_create_payment_declined_by_the_gateway_is_a_failed_payment(api):
    response = api.post("/payments", {"amount": 666, "currency": "USD", "initiator": "MIT"})

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "failed" and body["displayStatus"] == "failed"
    assert body["initiator"] == "MIT"
    assert body["transactions"][0]["failureReason"]


@pytest.mark.parametrize(
    ("restriction", "initiator", "rule"),
    [("restrict_cit", "CIT", "restrict_cit"), ("restrict_mit", "MIT", "restrict_mit")],
)
def test_create_payment_for_a_restricted_customer_is_refused_and_creates_nothing(
    api, merchant, gateway_calls, restriction, initiator, rule
):
    customer = CustomerFactory(merchant=merchant, **{restriction: True})

    response = api.post(
        "/payments",
        {"amount": 100, "currency": "USD", "customerId": customer.id, "initiator": initiator},
    )

    assert response.status_code == 403
    error = error_of(response)
    assert error["type"] == "customer_restricted"
    assert error["rule"] == rule
    assert not Payment.objects.exists()
    assert gateway_calls() == []


def test_create_payment_for_a_blacklisted_email_is_refused_at_every_merchant(api, gateway_calls):
    BlacklistEntry.objects.create(email="fraud@example.test", reason="chargebacks")

    response = api.post(
        "/payments",
        {"amount": 100, "currency": "USD", "customer": {"email": "Fraud@Example.test"}},
    )

    assert response.status_code == 403
    assert error_of(response)["rule"] == "blacklisted"
    assert not Payment.objects.exists()
    assert gateway_calls() == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"amount": 5.5, "currency": "USD"}, "amount"),
        ({"amount": 5.0, "currency": "USD"}, "amount"),
        ({"amount": "500", "currency": "USD"}, "amount"),
        ({"amount": True, "currency": "USD"}, "amount"),
        ({"amount": 0, "currency": "USD"}, "amount"),
        ({"amount": -100, "currency": "USD"}, "amount"),
        ({"amount": 10**16, "currency": "USD"}, "amount"),
        ({"currency": "USD"}, "amount"),
        ({"amount": 100}, "currency"),
        ({"amount": 100, "currency": "usd"}, "currency"),
        ({"amount": 100, "currency": "XYZ"}, "currency"),
        ({"amount": 100, "currency": "USD", "initiator": "cit"}, "initiator"),
        ({"amount": 100, "currency": "USD", "capture": "false"}, "capture"),
        ({"amount": 100, "currency": "USD", "customerId": "cus_unknown"}, "customerId"),
        (
            {"amount": 100, "currency": "USD", "customer": {"email": "not-an-email"}},
            "customer.email",
        ),
        ({"amount": 100, "currency": "USD", "customer": {"name": "No email"}}, "customer.email"),
        (
            {
                "amount": 100,
                "currency": "USD",
                "customerId": "cus_x",
                "customer": {"email": "a@b.test"},
            },
            "customer",
        ),
        ({"amount": 100, "currency": "USD", "orderId": "x" * 256}, "orderId"),
        ({"amount": 100, "currency": "USD", "metadata": {"k": 1}}, "metadata.k"),
        ({"amount": 100, "currency": "USD", "metadata": {"k": "v" * 501}}, "metadata.k"),
        (
            {"amount": 100, "currency": "USD", "metadata": {f"k{i}": "v" for i in range(51)}},
            "metadata",
        ),
        ({"amount": 100, "currency": "USD", "metadata": {"k": "a\u0000b"}}, "metadata.k"),
        ({"amount": 100, "currency": "USD", "is_external": True}, "is_external"),
    ],
)
def test_create_payment_validation_errors_name_the_field(api, gateway_calls, body, param):
    response = api.post("/payments", body)

    assert_validation_error(response, param)
    assert not Payment.objects.exists()
    assert gateway_calls() == []


def test_create_payment_needs_a_json_object_body(api):
    assert error_of(api.post("/payments"))["type"] == "validation_error"
    assert error_of(api.post("/payments", [1, 2]))["type"] == "validation_error"


# --- list -----------------------------------------------------------------------------


def test_list_pages_newest_first_with_an_opaque_cursor(api, merchant):
    ids = [PaymentFactory(merchant=merchant).id for _ in range(5)]
    newest_first = list(reversed(ids))

    first = api.get("/payments", {"limit": 2}).json()
    second = api.get("/payments", {"limit": 2, "startingAfter": first["nextCursor"]}).json()
    last = api.get("/payments", {"limit": 2, "startingAfter": second["nextCursor"]}).json()

    assert set(first) == {"data", "hasMore", "nextCursor"}
    assert [p["id"] for p in first["data"] + second["data"] + last["data"]] == newest_first
    assert first["hasMore"] is second["hasMore"] is True
    assert last["hasMore"] is False and last["nextCursor"] is None
    assert set(first["data"][0]) == PAYMENT_FIELDS
    assert len(first["data"][0]["transactions"]) == 2


def test_list_defaults_to_ten_and_allows_at_most_a_hundred(api, merchant):
    for _ in range(11):
        PaymentFactory(merchant=merchant)

    assert len(api.get("/payments").json()["data"]) == 10
    assert len(api.get("/payments", {"limit": 100}).json()["data"]) == 11
    assert_validation_error(api.get("/payments", {"limit": 101}), "limit")
    assert_validation_error(api.get("/payments", {"limit": 0}), "limit")
    assert_validation_error(api.get("/payments", {"limit": "ten"}), "limit")


def test_list_filters_by_display_status(api, merchant, payment, authorization):
    response = api.get("/payments", {"displayStatus": "authorized"})

    assert [p["id"] for p in response.json()["data"]] == [authorization.id]
    assert_validation_error(api.get("/payments", {"displayStatus": "nope"}), "displayStatus")


def test_list_refuses_an_unknown_or_foreign_cursor(api, other_merchant):
    foreign = PaymentFactory(merchant=other_merchant)

    assert_validation_error(api.get("/payments", {"startingAfter": "pay_nope"}), "startingAfter")
    assert_validation_error(api.get("/payments", {"startingAfter": foreign.id}), "startingAfter")


def test_list_shows_only_the_merchants_own_payments(api, payment, other_merchant):
    PaymentFactory(merchant=other_merchant)

    assert [p["id"] for p in api.get("/payments").json()["data"]] == [payment.id]


def test_list_marks_blacklisted_customers_without_a_query_per_row(
    api, merchant, django_assert_max_num_queries
):
    for i in range(8):
        customer = CustomerFactory(merchant=merchant, email=f"buyer{i}@example.test")
        PaymentFactory(merchant=merchant, customer=customer)
    BlacklistEntry.objects.create(email="buyer3@example.test", reason="fraud")

    with django_assert_max_num_queries(8):
        response = api.get("/payments", {"limit": 100})

    flags = {
        p["customer"]["email"]: p["customer"]["isBlacklisted"] for p in response.json()["data"]
    }
    assert flags.pop("buyer3@example.test") is True
    assert not any(flags.values())


# --- retrieve -------------------------------------------------------------------------


def test_get_payment(api, payment):
    response = api.get(f"/payments/{payment.id}")

    assert response.status_code == 200
    assert response.json()["id"] == payment.id
    assert response.json()["orderId"] == "order-1"


def test_get_unknown_payment_is_not_found(api):
    response = api.get("/payments/pay_doesnotexist")

    assert response.status_code == 404
    assert error_of(response)["type"] == "not_found"


# --- capture --------------------------------------------------------------------------


def test_capture_takes_everything_by_default(api, authorization):
    response = api.post(f"/payments/{authorization.id}/capture")

    body = response.json()
    assert response.status_code == 200
    assert body["isCaptured"] is True and body["amountCaptured"] == 2500
    assert body["transactions"][-1]["type"] == "capture"


def test_capture_a_part(api, authorization):
    response = api.post(f"/payments/{authorization.id}/capture", {"amount": 1000})

    assert response.json()["amountCaptured"] == 1000


def test_capture_refusals(api, payment, authorization):
    assert_invalid_request(api.post(f"/payments/{payment.id}/capture", {}), contains="captured")
    assert_validation_error(
        api.post(f"/payments/{authorization.id}/capture", {"amount": 2501}), "amount"
    )
    assert_validation_error(
        api.post(f"/payments/{authorization.id}/capture", {"amount": 10.5}), "amount"
    )
    api.post(f"/payments/{authorization.id}/reverse")
    assert_invalid_request(api.post(f"/payments/{authorization.id}/capture"), contains="voided")


def test_capture_unknown_payment_is_not_found(api):
    assert api.post("/payments/pay_nope/capture").status_code == 404


# --- reverse --------------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, {}])
def test_reverse_without_amount_refunds_everything(api, payment, body):
    response = api.post(f"/payments/{payment.id}/reverse", *([] if body is None else [body]))

    body = response.json()
    assert response.status_code == 200, body
    assert body["amountReversed"] == 2500
    assert body["isReversed"] is body["isFullyReversed"] is True
    assert body["displayStatus"] == "refunded"
    refund = body["transactions"][-1]
    assert refund["type"] == "refund" and refund["amount"] == 2500
    assert refund["status"] == "pending"
    assert refund["reason"] == "requested_by_customer"
    assert refund["orderId"] == "order-1"


def test_partial_refunds_then_the_rest(api, payment):
    first = api.post(f"/payments/{payment.id}/reverse", {"amount": 1000}).json()
    rest = api.post(f"/payments/{payment.id}/reverse").json()

    assert first["amountReversed"] == 1000
    assert first["displayStatus"] == "partially_refunded"
    assert first["isFullyReversed"] is False
    assert rest["amountReversed"] == 2500
    assert [t["amount"] for t in rest["transactions"] if t["type"] == "refund"] == [1000, 1500]


def test_refund_over_what_is_left_is_refused(api, payment):
    api.post(f"/payments/{payment.id}/reverse", {"amount": 2000})

    response = api.post(f"/payments/{payment.id}/reverse", {"amount": 501})

    assert_validation_error(
        response, "amount", contains="Refund amount exceeds the amount available for refund"
    )


def test_reverse_a_fully_reversed_payment_is_an_invalid_request(api, payment):
    api.post(f"/payments/{payment.id}/reverse")

    response = api.post(f"/payments/{payment.id}/reverse", {"amount": 1})

    assert_invalid_request(response, contains="Payment cannot be reversed: ")


def test_reverse_a_failed_payment_is_an_invalid_request(api, merchant):
    failed = PaymentFactory(merchant=merchant, amount=666)

    response = api.post(f"/payments/{failed.id}/reverse")

    assert_invalid_request(response, contains="Payment cannot be reversed: ")


def test_reverse_an_uncaptured_payment_voids_it_whole(api, authorization):
    response = api.post(f"/payments/{authorization.id}/reverse", {"amount": 2500})

    body = response.json()
    assert body["isVoided"] is True and body["isFullyReversed"] is True
    assert body["displayStatus"] == "voided"
    assert body["transactions"][-1]["type"] == "void"


def test_a_partial_void_is_refused(api, authorization):
    response = api.post(f"/payments/{authorization.id}/reverse", {"amount": 100})

    assert_validation_error(response, "amount")


def test_external_reversal_is_recorded_succeeded_without_a_gateway_call(
    api, payment, gateway_calls
):
    response = api.post(
        f"/payments/{payment.id}/reverse",
        {
            "amount": 700,
            "isExternal": True,
            "reason": "other",
            "note": "Refunded by phone",
            "orderId": "refund-9",
            "metadata": {"ticket": "T-1"},
            "currency": "USD",
        },
    )

    body = response.json()
    refund = body["transactions"][-1]
    assert refund["isExternal"] is True and refund["status"] == "succeeded"
    assert refund["processedAt"] is not None
    assert (refund["reason"], refund["note"]) == ("other", "Refunded by phone")
    assert (refund["orderId"], refund["metadata"]) == ("refund-9", {"ticket": "T-1"})
    assert body["amountReversed"] == 700 and body["amountReversalPending"] == 0
    assert gateway_calls() == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"amount": 5.5}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"isExternal": "yes"}, "isExternal"),
        ({"reason": "changed_mind"}, "reason"),
        ({"reason": "other"}, "note"),
        ({"note": "n" * 501}, "note"),
        ({"currency": "EUR"}, "currency"),
        ({"currency": "usd"}, "currency"),
        ({"metadata": {"": "v"}}, "metadata"),
        ({"orderId": 12}, "orderId"),
        ({"refund": True}, "refund"),
    ],
)
def test_reverse_validation_errors_name_the_field(api, payment, body, param):
    response = api.post(f"/payments/{payment.id}/reverse", body)

    assert_validation_error(response, param)
    assert not Transaction.objects.filter(type__in=Transaction.REVERSAL_TYPES).exists()


def test_a_chargebacked_payment_can_still_be_reversed(api, payment):
    Payment.objects.filter(id=payment.id).update(
        is_chargebacked=True, chargeback_recorded_at=timezone.now()
    )

    response = api.post(f"/payments/{payment.id}/reverse")

    assert response.status_code == 200
    assert response.json()["displayStatus"] == "chargeback"
    assert response.json()["isFullyReversed"] is True


def test_reverse_unknown_payment_is_not_found(api):
    response = api.post("/payments/pay_nope/reverse", {})

    assert response.status_code == 404
    assert error_of(response)["type"] == "not_found"


def test_a_pending_refund_succeeds_after_commit(api, payment, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/payments/{payment.id}/reverse", {"amount": 500})

    body = api.get(f"/payments/{payment.id}").json()
    assert body["transactions"][-1]["status"] == "succeeded"
    assert body["amountReversalPending"] == 0 and body["amountReversed"] == 500


def test_a_payment_says_what_paid_it_and_through_whom(api):
    """SPEC 3: processor, paymentMethod as the gateway reports it, statusReason."""
    paid = api.post("/payments", {"amount": 1200, "currency": "USD"}).json()
    assert paid["processor"]["name"] == "sandbox"
    assert paid["processor"]["reference"].startswith("sbx_pi_")
    card = paid["paymentMethod"]
    assert card["type"] == "card" and card["brand"] in {"visa", "mastercard", "amex"}
    assert len(card["last4"]) == 4 and 1 <= card["expMonth"] <= 12
    assert paid["statusReason"] is None

    declined = api.post("/payments", {"amount": 666, "currency": "USD"}).json()
    assert declined["status"] == "failed"
    assert declined["statusReason"] == {
        "code": "card_declined",
        "message": "The card issuer declined the payment",
    }
