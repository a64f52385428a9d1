"""GET /payments and GET /customers take the dashboard's search and filters (SPEC 8.1):
`search`, `createdFrom`/`createdTo`, and for payments `displayStatus`, `currency` and
`amountMin`/`amountMax` in minor units. A filter that means nothing is a 400 naming it."""

from datetime import datetime

import pytest
from django.utils import timezone

from customers.models import Customer
from payments.models import Payment
from tests.api.conftest import error_of
from tests.factories import CustomerFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def listed(api, path, params) -> list[str]:
    response = api.get(path, params)
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["data"]]


def test_payments_search_by_order_id_start_payment_id_and_customer_name(api, merchant):
    ben = CustomerFactory(merchant=merchant, email="ben@example.test", name="Ben Kowalski")
    ordered = PaymentFactory(merchant=merchant, order_id="ORD-10131")
    bens = PaymentFactory(merchant=merchant, customer=ben, order_id="X-1")
    assert listed(api, "/payments", {"search": "ord-101"}) == [ordered.id]
    assert listed(api, "/payments", {"search": "kowal"}) == [bens.id]
    assert listed(api, "/payments", {"search": bens.id[:10].upper()}) == [bens.id]


def test_payments_filters_combine_with_amounts_in_minor_units(api, merchant):
    small = PaymentFactory(merchant=merchant, amount=500)
    PaymentFactory(merchant=merchant, amount=5000)
    PaymentFactory(merchant=merchant, amount=500, currency="JPY")
    old = PaymentFactory(merchant=merchant, amount=700)
    Payment.objects.filter(pk=old.pk).update(
        created_at=timezone.make_aware(datetime(2025, 12, 31, 23, 0))
    )
    params = {"currency": "USD", "amountMin": 500, "amountMax": 700}
    assert listed(api, "/payments", params) == [small.id, old.id]
    assert listed(api, "/payments", {**params, "createdFrom": "2026-01-01"}) == [small.id]
    assert listed(api, "/payments", {**params, "createdTo": "2025-12-31"}) == [old.id]
    assert listed(api, "/payments", {**params, "displayStatus": "refunded"}) == []


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"amountMin": 100}, "currency"),
        ({"currency": "USD", "amountMin": 900, "amountMax": 100}, "amountMin"),
        ({"currency": "XYZ"}, "currency"),
        ({"createdFrom": "2026-02-01", "createdTo": "2026-01-01"}, "createdFrom"),
    ],
)
def test_payments_filters_that_mean_nothing_are_refused(api, merchant, params, param):
    error = error_of(api.get("/payments", params))
    assert (error["type"], error["param"]) == ("validation_error", param)


@pytest.mark.parametrize(
    "params",
    [
        {"currency": "usd"},
        {"amountMin": -1},
        {"amountMin": "5.00"},
        {"createdFrom": "yesterday"},
        {"search": "ord\x00"},
        {"search": "x" * 256},
    ],
)
def test_payments_query_parameters_of_the_wrong_shape_are_refused(api, merchant, params):
    response = api.get("/payments", params)
    assert response.status_code == 400, response.content
    assert error_of(response)["type"] == "validation_error"


def test_customers_search_and_created_days(api, merchant, other_merchant):
    ben = CustomerFactory(merchant=merchant, email="Ben.K@example.test", name="Ben Kowalski")
    old = CustomerFactory(merchant=merchant, email="old@example.test", name="Old Timer")
    CustomerFactory(merchant=other_merchant, name="Ben Kowalski")
    Customer.objects.filter(pk=old.pk).update(
        created_at=timezone.make_aware(datetime(2025, 1, 1, 12, 0))
    )
    assert listed(api, "/customers", {"search": "kowal"}) == [ben.id]
    assert listed(api, "/customers", {"search": "BEN.K"}) == [ben.id]
    assert listed(api, "/customers", {"search": ben.id[:9].lower()}) == [ben.id]
    assert listed(api, "/customers", {"createdTo": "2025-01-01"}) == [old.id]
    assert listed(api, "/customers", {"createdFrom": "2025-01-02"}) == [ben.id]
    assert error_of(api.get("/customers", {"search": "a\x00"}))["type"] == "validation_error"
