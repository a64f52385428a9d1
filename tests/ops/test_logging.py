"""Request ids and JSON log lines (SPEC 14)."""

import logging
import re

import pytest
import structlog
from celery import signals

from config.logging import current_request_id
from payments.tasks import send_to_gateway

HEX_ID = re.compile(r"[0-9a-f]{32}")


def test_a_sane_request_id_is_kept_and_answered(client, json_log):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-Req_42.abc"})
    assert response["X-Request-ID"] == "lb-Req_42.abc"
    line = next(r for r in json_log.records() if r["event"] == "request")
    assert line["request_id"] == "lb-Req_42.abc"
    assert line["route"] == "healthz" and line["status"] == 200 and line["method"] == "GET"
    assert line["level"] == "info" and line["logger"] == "config.request" and "timestamp" in line


@pytest.mark.parametrize(
    "given",
    [None, "", "x" * 65, "has space", "new\nline", 'quote"d', "<script>", "ünicode"],
)
def test_otherwise_a_new_one_is_made(client, json_log, given):
    headers = {} if given is None else {"X-Request-ID": given}
    response = client.get("/healthz", headers=headers)
    request_id = response["X-Request-ID"]
    assert HEX_ID.fullmatch(request_id)
    assert [r["request_id"] for r in json_log.records()] == [request_id]


def test_each_request_gets_its_own_id_and_none_outlives_it(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert first != second
    assert current_request_id() is None


@pytest.mark.django_db
def test_every_line_of_the_request_carries_the_id(client, json_log):
    client.get("/no-such-page/", headers={"X-Request-ID": "trace-404"})
    lines = json_log.records()
    # Django's own "Not Found" warning is logged after the middleware chain returns.
    assert {r["logger"] for r in lines} >= {"django.request", "config.request"}
    assert {r["request_id"] for r in lines} == {"trace-404"}


def test_the_id_goes_into_the_tasks_a_request_enqueues():
    headers: dict = {}
    with structlog.contextvars.bound_contextvars(request_id="trace-7"):
        signals.before_task_publish.send(sender="payments.tasks.send_to_gateway", headers=headers)
    assert headers["request_id"] == "trace-7"

    # In the worker: bound while the task runs, gone afterwards.
    task = send_to_gateway
    task.push_request(id="task-1", request_id="trace-7")
    try:
        signals.task_prerun.send(sender=task, task_id="task-1", task=task)
        assert current_request_id() == "trace-7"
        assert structlog.contextvars.get_contextvars()["task_id"] == "task-1"
        signals.task_postrun.send(sender=task, task_id="task-1", task=task)
    finally:
        task.pop_request()
    assert current_request_id() is None
    assert "task_id" not in structlog.contextvars.get_contextvars()


def test_an_insane_id_from_a_message_is_not_bound():
    task = send_to_gateway
    task.push_request(id="task-2", request_id="x" * 100)
    try:
        signals.task_prerun.send(sender=task, task_id="task-2", task=task)
        assert current_request_id() is None
        signals.task_postrun.send(sender=task, task_id="task-2", task=task)
    finally:
        task.pop_request()


def test_json_lines_redact_secrets_and_card_numbers(json_log):
    secret = "sk_live_" + "Q" * 32
    stdlib = logging.getLogger("tests.ops")
    stdlib.info("charging 4242 4242 4242 4242 with %s", secret)
    structlog.get_logger("tests.ops").info(
        "api call",
        password="hunter2",
        headers={"Authorization": f"Bearer {secret}", "Accept": "json"},
        api_key=secret,
        card_number="4000056655665556",
        note=["card 5555555555554444"],
    )
    try:
        raise ValueError(f"declined card 378282246310005 for {secret}")
    except ValueError:
        stdlib.exception("gateway failed")

    text = json_log.text
    first, second, third = json_log.records()
    assert secret not in text and "hunter2" not in text
    for card in ("4242 4242 4242 4242", "4000056655665556", "5555555555554444", "378282246310005"):
        assert card not in text
    assert first["event"] == "charging [card …4242] with sk_live_QQQQ…"
    assert second["password"] == second["api_key"] == second["card_number"] == "[redacted]"
    assert second["headers"] == {"Authorization": "[redacted]", "Accept": "json"}
    assert second["note"] == ["card [card …4444]"]
    assert "ValueError: declined card [card …0005] for sk_live_QQQQ…" in third["exception"]


@pytest.mark.django_db
def test_an_audit_entry_carries_the_request_id_of_the_work(client, merchant, api_key):
    """SPEC 14: the request id follows a request into its audit entries, so an entry
    leads to every log line of the same work."""
    from audit.models import AuditEntry
    from tests.factories import PaymentFactory

    payment = PaymentFactory(merchant=merchant, amount=2500)
    _key, secret = api_key
    response = client.post(
        f"/api/v1/payments/{payment.id}/reverse",
        data='{"amount": 100, "isExternal": true}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}", "X-Request-ID": "trace-audit-1"},
    )
    assert response.status_code == 200, response.content
    entry = AuditEntry.objects.get(action="payment.refund_external")
    assert entry.request_id == "trace-audit-1"
