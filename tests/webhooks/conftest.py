import pytest

from tests.api.conftest import ApiClient
from tests.factories import make_api_key
from tests.webhooks.receiver import Receiver
from webhooks import services as webhook_services
from webhooks.models import EVENT_TYPES


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def endpoint_and_secret(merchant, receiver):
    """An endpoint of the merchant for every event type, at the receiver."""
    return webhook_services.create_endpoint(
        merchant=merchant, url=receiver.url(), event_types=list(EVENT_TYPES)
    )


@pytest.fixture
def api(api_key):
    return ApiClient(api_key[1])


@pytest.fixture
def other_api(other_merchant):
    return ApiClient(make_api_key(other_merchant, name="other")[1])
