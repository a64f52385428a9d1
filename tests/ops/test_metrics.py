"""/metrics: who may read it, and what it holds (SPEC 14)."""

import uuid
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from config import metrics
from payments.gateways.metrics import observe_gateway_call
from payments.models import Transaction
from tests.factories import PaymentFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

OUTSIDE = "203.0.113.7"  # TEST-NET-3: not in the default allowed networks


def scrape(client: Client, **kwargs) -> str:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def test_refused_from_a_network_that_is_not_allowed(client):
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE).status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="::ffff:203.0.113.7").status_code == 403
    # A client cannot pretend through X-Forwarded-For.
    headers = {"X-Forwarded-For": "127.0.0.1"}
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE, headers=headers).status_code == 403


def test_allowed_from_loopback_by_default(client):
    scrape(client)  # the test client's REMOTE_ADDR is 127.0.0.1
    scrape(client, REMOTE_ADDR="::1")
    scrape(client, REMOTE_ADDR="::ffff:127.0.0.1")


def test_the_allowed_networks_come_from_settings(client):
    with override_settings(METRICS_ALLOWED_NETWORKS=["203.0.113.0/24"]):
        scrape(client, REMOTE_ADDR=OUTSIDE)
        assert client.get("/metrics").status_code == 403  # loopback no longer listed


@override_settings(METRICS_TOKEN="metrics-token-0123456789")
def test_the_bearer_token(client):
    good = {"Authorization": "Bearer metrics-token-0123456789"}
    wrong = {"Authorization": "Bearer metrics-token-9876543210"}
    scrape(client, REMOTE_ADDR=OUTSIDE, headers=good)
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE, headers=wrong).status_code == 403
    # A wrong token is refused even from an allowed network.
    assert client.get("/metrics", headers=wrong).status_code == 403


def test_no_token_is_accepted_while_none_is_configured(client):
    headers = {"Authorization": "Bearer "}
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE, headers=headers).status_code == 403


def test_the_figures(client, merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    stale = Transaction.objects.create(
        merchant=merchant, payment=payment, type="refund", amount=500, status="pending"
    )
    Transaction.objects.filter(id=stale.id).update(created_at=timezone.now() - timedelta(hours=1))
    Transaction.objects.create(
        merchant=merchant, payment=payment, type="void", amount=100, status="failed"
    )
    client.get(f"/payments/{payment.id}/")  # a route with an id in its path
    observe_gateway_call("refund", "ok", 0.2)
    observe_gateway_call("refund", "timeout", 10.0)

    text = scrape(client)

    assert 'route="payments:detail"' in text
    assert payment.id not in text  # the route's name, never the raw path
    assert "backoffice_http_request_duration_seconds_bucket{" in text
    assert 'backoffice_reversals{status="pending",type="refund"} 1.0' in text
    assert 'backoffice_reversals{status="failed",type="void"} 1.0' in text
    assert 'backoffice_gateway_call_duration_seconds_count{operation="refund",outcome="ok"}' in text
    assert 'backoffice_gateway_call_errors_total{operation="refund",outcome="timeout"}' in text
    assert 'backoffice_gateway_call_errors_total{operation="refund",outcome="ok"}' not in text
    assert "backoffice_webhook_backlog 0.0" in text
    age = next(
        line for line in text.splitlines()
        if line.startswith("backoffice_oldest_pending_reversal_age_seconds ")
    )  # fmt: skip
    assert 3500 < float(age.split()[1]) < 3700
    # Tasks run in-process here: there is no queue to measure.
    assert "backoffice_celery_queue_depth{" not in text


def test_the_queue_depth_with_a_redis_broker(client, redis_url, monkeypatch):
    import redis

    # A list of our own: the shared test Redis may be some worker's broker right now.
    queue = f"ops-test-queue-{uuid.uuid4().hex}"
    monkeypatch.setattr(metrics, "CELERY_QUEUE", queue)
    broker = redis.Redis.from_url(redis_url)
    broker.rpush(queue, "a", "b", "c")
    try:
        with override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=redis_url):
            text = scrape(client)
    finally:
        broker.delete(queue)
    assert f'backoffice_celery_queue_depth{{queue="{queue}"}} 3.0' in text


def test_an_unreachable_part_leaves_out_its_figure_only(client, closed_port):
    url = f"redis://127.0.0.1:{closed_port}/0"
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=url):
        text = scrape(client)
    assert "backoffice_celery_queue_depth{" not in text
    assert "backoffice_reversals" in text and "backoffice_webhook_backlog" in text


def test_pending_reversals_are_counted_at_every_scrape(client, merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    assert 'status="pending"' not in scrape(client)
    Transaction.objects.create(
        merchant=merchant, payment=payment, type="refund", amount=500, status="pending"
    )
    # The settled counts may come from the cache; the pending ones never do.
    assert 'backoffice_reversals{status="pending",type="refund"} 1.0' in scrape(client)


def test_every_real_gateway_call_is_measured(client, merchant):
    """The gateway get_gateway() hands out times and counts its own calls: a decline is
    an error of its operation, a success is not."""
    PaymentFactory(merchant=merchant, amount=2500)
    PaymentFactory(merchant=merchant, amount=666)  # the sandbox declines it
    text = scrape(client)
    assert (
        'backoffice_gateway_call_duration_seconds_count{operation="authorize",outcome="ok"}' in text
    )
    assert 'backoffice_gateway_call_errors_total{operation="authorize",outcome="declined"}' in text
