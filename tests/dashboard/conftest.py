import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache

from tests.factories import CustomerFactory, PaymentFactory, UserFactory

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def client_for(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def agent_client(client, agent):
    return client_for(client, agent)


@pytest.fixture
def merchant_admin_client(client, merchant_admin):
    return client_for(client, merchant_admin)


@pytest.fixture
def platform_client(client, platform_admin):
    return client_for(client, platform_admin)


@pytest.fixture
def viewer(merchant):
    """A merchant member who may only look at payments and customers (no refunds,
    no chargebacks, no restrictions)."""
    user = UserFactory(email="viewer@acme.test", merchant=merchant)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["payments", "customers"],
            codename__in=["view_payment", "view_customer"],
        )
    )
    return user


@pytest.fixture
def viewer_client(client, viewer):
    return client_for(client, viewer)


@pytest.fixture
def customer(merchant):
    return CustomerFactory(merchant=merchant, email="jane@example.test", name="Jane Roe")


@pytest.fixture
def payment(merchant, customer):
    """A captured $25.00 payment with a customer."""
    return PaymentFactory(merchant=merchant, customer=customer, amount=2500, order_id="ord-1001")


@pytest.fixture
def foreign_payment(other_merchant):
    other_customer = CustomerFactory(merchant=other_merchant, email="other@example.test")
    return PaymentFactory(merchant=other_merchant, customer=other_customer, amount=1000)
