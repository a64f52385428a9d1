"""The request id follows a refund from the API request into the real Celery worker."""

import json

import pytest

from tests.factories import PaymentFactory
from tests.payments.test_celery_worker import wait_until_final, worker  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]


@pytest.fixture(autouse=True)
def json_logs_in_the_worker(monkeypatch):
    """Autouse, so it runs before the worker starts with a copy of os.environ."""
    monkeypatch.setenv("LOG_FORMAT", "json")


def test_the_worker_logs_the_request_id_of_the_refund(client, merchant, api_key, worker):  # noqa: F811
    payment = PaymentFactory(merchant=merchant, amount=2500)
    response = client.post(
        f"/api/v1/payments/{payment.id}/reverse",
        json.dumps({"amount": 1200}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_key[1]}", "X-Request-ID": "refund-trace-1"},
    )
    assert response.status_code == 200, response.content
    assert response["X-Request-ID"] == "refund-trace-1"
    refund = next(t for t in response.json()["transactions"] if t["type"] == "refund")

    assert wait_until_final(refund["id"], worker).status == "succeeded"

    lines = [json.loads(line) for line in worker.read_text().splitlines() if line.startswith("{")]
    task_lines = [line for line in lines if line.get("task") == "payments.tasks.send_to_gateway"]
    assert task_lines, worker.read_text()[-3000:]
    assert {line.get("request_id") for line in task_lines} == {"refund-trace-1"}
