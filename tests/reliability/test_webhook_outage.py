"""A webhook event committed while the Celery broker (Redis) is down is still delivered
(SPEC 11): the event and its delivery are rows of the refund's own transaction, the
request answers 200 although nothing could be queued, and once the broker is back the
beat sweeper (send_due_deliveries) queues it to a real worker, which POSTs it, signed,
to the merchant's receiver (a real HTTP server in this test process)."""

import json

import pytest

from tests.reliability.conftest import ApiClient, last_reversal, new_merchant_and_key, wait_for
from tests.webhooks.receiver import Receiver
from webhooks import services as webhook_services
from webhooks.models import Delivery

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def stack(cluster):
    return cluster.up(
        webs=1,
        workers=1,
        beat=True,
        WEBHOOK_ALLOW_PRIVATE_TARGETS="true",
        WEBHOOK_SWEEP_EVERY_SECONDS="1",
        WEBHOOK_SWEEP_GRACE_SECONDS="2",
    )


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def test_an_event_committed_while_the_broker_is_down_is_delivered_once_it_is_back(
    stack, ledger, receiver
):
    merchant, key = new_merchant_and_key()
    api = ApiClient([stack.web.url], key)
    endpoint, secret = webhook_services.create_endpoint(
        merchant=merchant, url=receiver.url(), event_types=["refund.created"]
    )
    payment = api.post("/payments", {"amount": 5000, "currency": "USD"}, key="pay-1").body
    stack.broker.stop()

    refund = api.post(f"/payments/{payment['id']}/reverse", {"amount": 1200}, key="refund-1")

    assert refund.status == 200, (refund, stack.web.tail())
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.event.type) == ("pending", "refund.created")
    assert receiver.received == []

    stack.broker.restart()
    stack.revive()
    wait_for(receiver.posts, "the refund.created event at the receiver", logs=stack.logs)

    [post] = receiver.posts()
    payload = post.verified_by(secret)
    assert payload["type"] == "refund.created" and post.webhook_id == delivery.event_id
    assert payload["data"]["transactions"][-1]["id"] == last_reversal(refund)["id"]
    wait_for(
        lambda: Delivery.objects.get(id=delivery.id).status == "succeeded",
        "the delivery recorded as succeeded",
        logs=stack.logs,
    )
    assert len(receiver.posts()) == 1
    assert json.loads(post.body)["id"] == delivery.event_id
