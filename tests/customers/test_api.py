"""The contract of /api/v1/customers and /api/v1/subscriptions (SPEC 5 and 7)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.actors import SYSTEM
from customers import services
from customers.models import Customer
from payments.models import Payment
from subscriptions import services as subscription_services
from subscriptions.models import Subscription
from tests.customers.conftest import error_of
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

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
SUBSCRIPTION_FIELDS = {
    "id",
    "customerId",
    "amount",
    "currency",
    "interval",
    "currentPeriodEnd",
    "status",
    "cancelAtPeriodEnd",
    "canceledAt",
    "createdAt",
}


def assert_error(response, status: int, type_: str, param: str | None = None) -> dict:
    assert response.status_code == status, response.content
    error = error_of(response)
    assert error["type"] == type_, error
    if param is not None:
        assert error.get("param") == param, error
    return error


def in_days(days: float) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


# --- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/customers"),
        ("GET", "/customers"),
        ("GET", "/customers/cus_x"),
        ("POST", "/customers/cus_x/restrictions"),
        ("POST", "/subscriptions"),
        ("GET", "/subscriptions"),
        ("GET", "/subscriptions/sub_x"),
    ],
)
def test_every_endpoint_needs_an_api_key(anonymous_api, method, path):
    if method == "GET":
        response = anonymous_api.get(path)
    else:
        response = anonymous_api.post(path, {}, idempotency_key="k1")
    assert_error(response, 401, "authentication_error")


# --- POST /customers -------------------------------------------------------------------------


def test_create_customer(api, merchant):
    response = api.post("/customers", {"email": "  Ada@Example.test ", "name": "Ada"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == CUSTOMER_FIELDS
    assert body["id"].startswith("cus_")
    assert body["email"] == "Ada@Example.test"
    assert body["name"] == "Ada"
    assert body["restrictCit"] is False and body["restrictMit"] is False
    assert body["restrictReason"] is None
    assert body["isRestricted"] is False and body["isBlacklisted"] is False
    assert Customer.objects.get(id=body["id"]).merchant == merchant


def test_create_customer_with_a_known_email_is_a_conflict(api, merchant):
    existing = CustomerFactory(merchant=merchant, email="ada@example.test")
    error = assert_error(api.post("/customers", {"email": "ADA@example.test"}), 409, "conflict")
    assert existing.id in error["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"email": "not-an-email"}, "email"),
        ({}, "email"),
        ({"email": 5}, "email"),
        ({"email": "a@b.test", "name": "n" * 201}, "name"),
        ({"email": "a@b.test", "nickname": "x"}, "nickname"),
    ],
)
def test_create_customer_validation(api, body, param):
    assert_error(api.post("/customers", body), 400, "validation_error", param)
    assert not Customer.objects.exists()


def test_create_customer_replays_an_idempotent_retry(api):
    first = api.post("/customers", {"email": "ada@example.test"}, idempotency_key="cust-1")
    again = api.post("/customers", {"email": "ada@example.test"}, idempotency_key="cust-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1
    other = api.post("/customers", {"email": "bob@example.test"}, idempotency_key="cust-1")
    assert_error(other, 422, "idempotency_error")


# --- GET /customers and /customers/{id} --------------------------------------------------------


def test_list_customers_pages_and_marks_blacklisted(api, merchant, other_merchant):
    made = [CustomerFactory(merchant=merchant, email=f"c{i}@example.test") for i in range(3)]
    CustomerFactory(merchant=other_merchant, email="theirs@example.test")
    services.add_to_blacklist(email="C1@example.test", reason="fraud", actor=SYSTEM)

    first = api.get("/customers", {"limit": 2})
    assert first.status_code == 200, first.content
    page = first.json()
    assert set(page) == {"data", "hasMore", "nextCursor"}
    assert [c["id"] for c in page["data"]] == [made[2].id, made[1].id]
    assert page["hasMore"] is True and page["nextCursor"] == made[1].id
    assert [c["isBlacklisted"] for c in page["data"]] == [False, True]

    rest = api.get("/customers", {"limit": 2, "startingAfter": page["nextCursor"]}).json()
    assert [c["id"] for c in rest["data"]] == [made[0].id]
    assert rest["hasMore"] is False and rest["nextCursor"] is None

    found = api.get("/customers", {"search": "C2@"}).json()["data"]
    assert [c["id"] for c in found] == [made[2].id]
    assert_error(api.get("/customers", {"limit": 101}), 400, "validation_error", "limit")
    assert_error(api.get("/customers", {"startingAfter": "cus_nope"}), 400, "validation_error")


def test_get_customer(api, merchant):
    customer = CustomerFactory(merchant=merchant, restrict_mit=True, restrict_reason="cb")
    body = api.get(f"/customers/{customer.id}").json()
    assert body["id"] == customer.id
    assert body["restrictMit"] is True and body["isRestricted"] is True
    assert body["restrictReason"] == "cb"


def test_another_merchants_customer_answers_as_a_missing_one(api, other_merchant):
    foreign = CustomerFactory(merchant=other_merchant)
    foreign_answer = assert_error(api.get(f"/customers/{foreign.id}"), 404, "not_found")
    missing_answer = assert_error(api.get("/customers/cus_missing"), 404, "not_found")
    same_shape = foreign_answer["message"].replace(foreign.id, "cus_missing")
    assert same_shape == missing_answer["message"]
    listed = api.get("/customers", {"search": foreign.id}).json()["data"]
    assert listed == []


# --- POST /customers/{id}/restrictions -----------------------------------------------------------


def test_restrictions_change_only_the_fields_given(api, merchant):
    customer = CustomerFactory(merchant=merchant, restrict_cit=True, restrict_reason="old")
    response = api.post(f"/customers/{customer.id}/restrictions", {"restrictMit": True})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == CUSTOMER_FIELDS
    assert (body["restrictCit"], body["restrictMit"], body["restrictReason"]) == (
        True,
        True,
        "old",
    )
    body = api.post(
        f"/customers/{customer.id}/restrictions",
        {"restrictCit": False, "restrictMit": False, "restrictReason": ""},
    ).json()
    assert (body["restrictCit"], body["restrictMit"], body["restrictReason"]) == (
        False,
        False,
        None,
    )
    assert body["isRestricted"] is False


def test_an_empty_restrictions_body_changes_nothing(api, merchant):
    customer = CustomerFactory(merchant=merchant, restrict_cit=True)
    body = api.post(f"/customers/{customer.id}/restrictions", {}).json()
    assert body["restrictCit"] is True


def test_restrict_mit_through_the_api_cancels_subscriptions_at_period_end(api, merchant):
    customer = CustomerFactory(merchant=merchant)
    subscription = subscription_services.create_subscription(
        merchant=merchant,
        customer_id=customer.id,
        amount=1000,
        currency="USD",
        interval="month",
        actor=SYSTEM,
    )
    api.post(f"/customers/{customer.id}/restrictions", {"restrictMit": True})
    body = api.get(f"/subscriptions/{subscription.id}").json()
    assert body["cancelAtPeriodEnd"] is True and body["status"] == "active"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"restrictCit": "yes"}, "restrictCit"),
        ({"restrictMit": 1}, "restrictMit"),
        ({"restrictReason": "r" * 501}, "restrictReason"),
        ({"blacklist": True}, "blacklist"),
    ],
)
def test_restrictions_validation(api, merchant, body, param):
    customer = CustomerFactory(merchant=merchant)
    response = api.post(f"/customers/{customer.id}/restrictions", body)
    assert_error(response, 400, "validation_error", param)


def test_restrictions_of_another_merchants_customer_are_not_found(api, other_merchant):
    foreign = CustomerFactory(merchant=other_merchant)
    response = api.post(f"/customers/{foreign.id}/restrictions", {"restrictCit": True})
    assert_error(response, 404, "not_found")
    foreign.refresh_from_db()
    assert foreign.restrict_cit is False


def test_restrictions_replay_an_idempotent_retry(api, merchant):
    customer = CustomerFactory(merchant=merchant)
    path = f"/customers/{customer.id}/restrictions"
    first = api.post(path, {"restrictCit": True}, idempotency_key="r-1")
    # Changed in between: a replay answers the first answer, it does not do it again.
    services.update_restrictions(
        merchant=merchant, customer_id=customer.id, actor=SYSTEM, restrict_cit=False
    )
    again = api.post(path, {"restrictCit": True}, idempotency_key="r-1")
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    customer.refresh_from_db()
    assert customer.restrict_cit is False


# --- /subscriptions ----------------------------------------------------------------------------


def test_create_subscription_charges_the_first_period(api, merchant, api_key):
    customer = CustomerFactory(merchant=merchant)
    response = api.post(
        "/subscriptions",
        {"customerId": customer.id, "amount": 1200, "currency": "USD", "interval": "month"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == SUBSCRIPTION_FIELDS
    assert body["id"].startswith("sub_") and body["customerId"] == customer.id
    assert (body["amount"], body["currency"], body["interval"]) == (1200, "USD", "month")
    assert body["status"] == "active" and body["cancelAtPeriodEnd"] is False
    assert body["canceledAt"] is None
    payment = Payment.objects.get(subscription_id=body["id"])
    assert payment.initiator == "MIT" and payment.status == "succeeded"
    assert payment.transactions.first().created_by_api_key == api_key[0]


def test_create_subscription_with_a_period_end_charges_nothing_yet(api, merchant):
    customer = CustomerFactory(merchant=merchant)
    end = in_days(7)
    body = api.post(
        "/subscriptions",
        {
            "customerId": customer.id,
            "amount": 500,
            "currency": "EUR",
            "interval": "week",
            "currentPeriodEnd": end,
        },
    ).json()
    assert body["currentPeriodEnd"].startswith(end[:19])
    assert not Payment.objects.exists()


def test_create_subscription_for_a_restricted_customer_is_refused(api, merchant, gateway_calls):
    customer = CustomerFactory(merchant=merchant, restrict_mit=True)
    response = api.post(
        "/subscriptions",
        {"customerId": customer.id, "amount": 500, "currency": "USD", "interval": "day"},
    )
    error = assert_error(response, 403, "customer_restricted")
    assert error["rule"] == "restrict_mit"
    assert not Subscription.objects.exists()
    assert gateway_calls() == []


def test_a_declined_first_payment_answers_400_naming_it(api, merchant):
    customer = CustomerFactory(merchant=merchant)
    response = api.post(
        "/subscriptions",
        {"customerId": customer.id, "amount": 666, "currency": "USD", "interval": "day"},
    )
    error = assert_error(response, 400, "invalid_request")
    payment = Payment.objects.get()
    assert payment.id in error["message"]
    assert Subscription.objects.get().status == "canceled"


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": "10"}, "amount"),
        ({"currency": "usd"}, "currency"),
        ({"interval": "year"}, "interval"),
        ({"currentPeriodEnd": "2001-01-01T00:00:00Z"}, "currentPeriodEnd"),
        ({"currentPeriodEnd": "soon"}, "currentPeriodEnd"),
        ({"customerId": "cus_missing"}, "customerId"),
        ({"trialDays": 3}, "trialDays"),
    ],
)
def test_create_subscription_validation(api, merchant, change, param):
    customer = CustomerFactory(merchant=merchant)
    body = {"customerId": customer.id, "amount": 500, "currency": "USD", "interval": "day"}
    assert_error(api.post("/subscriptions", body | change), 400, "validation_error", param)
    assert not Subscription.objects.exists()


def test_create_subscription_for_another_merchants_customer_is_refused(api, other_merchant):
    foreign = CustomerFactory(merchant=other_merchant)
    response = api.post(
        "/subscriptions",
        {"customerId": foreign.id, "amount": 500, "currency": "USD", "interval": "day"},
    )
    assert_error(response, 400, "validation_error", "customerId")
    assert not Subscription.objects.exists()


def test_create_subscription_retried_with_its_key_charges_once(api, merchant, gateway_calls):
    customer = CustomerFactory(merchant=merchant)
    body = {"customerId": customer.id, "amount": 900, "currency": "USD", "interval": "week"}
    first = api.post("/subscriptions", body, idempotency_key="sub-1")
    again = api.post("/subscriptions", body, idempotency_key="sub-1")
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Subscription.objects.count() == 1
    assert len(gateway_calls("authorize")) == 1


def test_list_and_get_subscriptions_are_the_merchants_only(api, merchant, other_merchant):
    mine, also_mine = CustomerFactory(merchant=merchant), CustomerFactory(merchant=merchant)
    theirs = CustomerFactory(merchant=other_merchant)
    subscriptions = [
        subscription_services.create_subscription(
            merchant=customer.merchant,
            customer_id=customer.id,
            amount=1000,
            currency="USD",
            interval="month",
            actor=SYSTEM,
            current_period_end=timezone.now() + timedelta(days=3),
        )
        for customer in (mine, also_mine, mine, theirs)
    ]

    page = api.get("/subscriptions", {"limit": 2}).json()
    assert [s["id"] for s in page["data"]] == [subscriptions[2].id, subscriptions[1].id]
    assert page["hasMore"] is True
    rest = api.get("/subscriptions", {"startingAfter": page["nextCursor"]}).json()
    assert [s["id"] for s in rest["data"]] == [subscriptions[0].id]

    of_mine = api.get("/subscriptions", {"customerId": mine.id}).json()["data"]
    assert [s["id"] for s in of_mine] == [subscriptions[2].id, subscriptions[0].id]
    assert_error(
        api.get("/subscriptions", {"customerId": theirs.id}), 400, "validation_error", "customerId"
    )

    assert api.get(f"/subscriptions/{subscriptions[0].id}").json()["id"] == subscriptions[0].id
    assert_error(api.get(f"/subscriptions/{subscriptions[3].id}"), 404, "not_found")
    assert_error(api.get("/subscriptions/sub_missing"), 404, "not_found")


def test_the_openapi_document_describes_these_endpoints(api):
    response = api.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path, methods in {
        "/api/v1/customers": {"get", "post"},
        "/api/v1/customers/{customer_id}": {"get"},
        "/api/v1/customers/{customer_id}/restrictions": {"post"},
        "/api/v1/subscriptions": {"get", "post"},
        "/api/v1/subscriptions/{subscription_id}": {"get"},
        "/api/v1/payments/{payment_id}/record-chargeback": {"post"},
    }.items():
        assert methods <= set(paths[path]), path
    schemas = response.json()["components"]["schemas"]
    assert "restrictMit" in schemas["RestrictionsIn"]["properties"]
