"""`field__any_of`: IN a list, sent to PostgreSQL as one array parameter (a search's
list of customer ids). It must find exactly what `__in` finds, on either database."""

import pytest

from customers.models import Customer
from payments.models import Payment
from tests.factories import CustomerFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def test_any_of_finds_what_in_finds(merchant):
    ben, jun, ada = (CustomerFactory(merchant=merchant) for _ in range(3))
    for customer in (ben, ben, jun, ada, None):
        PaymentFactory(merchant=merchant, customer=customer)
    wanted = [ben.id, jun.id, None, "cus_nobody"]

    found = Payment.objects.filter(customer_id__any_of=wanted)

    assert sorted(p.id for p in found) == sorted(
        p.id for p in Payment.objects.filter(customer_id__in=wanted)
    )
    assert {p.customer_id for p in found} == {ben.id, jun.id}
    assert found.count() == 3


def test_any_of_an_empty_list_matches_nothing_and_a_subquery_works(merchant):
    ben = CustomerFactory(merchant=merchant, name="Ben Kowalski")
    PaymentFactory(merchant=merchant, customer=ben)
    PaymentFactory(merchant=merchant, customer=CustomerFactory(merchant=merchant))

    assert not Payment.objects.filter(customer_id__any_of=[]).exists()
    named = Customer.objects.filter(name="Ben Kowalski").values("id")
    assert [p.customer_id for p in Payment.objects.filter(customer_id__any_of=named)] == [ben.id]
