"""A real Celery worker process on a real Redis takes pending reversals to the gateway.

The worker and this test share the test database (PostgreSQL) and the sandbox
gateway's call ledger (in Redis), so the test counts the calls the worker made.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from config.celery import app as celery_app
from core.actors import SYSTEM
from payments import services, tasks
from payments.gateways import get_gateway
from payments.models import Transaction
from tests.conftest import require_postgres, skip_unless_ci
from tests.factories import PaymentFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]

ROOT = Path(__file__).resolve().parents[2]


def _redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        skip_unless_ci("TEST_REDIS_URL is not set (Redis is needed)")
    import redis

    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError:
        skip_unless_ci(f"Redis at {url} is not reachable")
    return url


def _use_broker(*, eager: bool, url: str) -> None:
    # What Celery itself does after a fork: forget the pools bound to the old URL.
    celery_app.conf.update(task_always_eager=eager, broker_url=url)
    celery_app._after_fork()


def _database_url() -> str:
    db = connection.settings_dict
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{host}:{port}/{db['NAME']}"


@pytest.fixture
def worker(tmp_path, settings):
    """Start `celery worker` (2 processes) against Redis and the test database."""
    require_postgres()
    redis_url = _redis_url()
    import redis

    redis.Redis.from_url(redis_url).flushdb()

    settings.SANDBOX_GATEWAY_LEDGER = redis_url
    get_gateway.cache_clear()
    _use_broker(eager=False, url=redis_url)

    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": redis_url,
        "SANDBOX_GATEWAY_LEDGER": redis_url,
        "SANDBOX_GATEWAY_LATENCY_MS": "300",
        "PAYMENT_GATEWAY": "sandbox",
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency=2",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Celery worker did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        _use_broker(
            eager=django_settings.CELERY_TASK_ALWAYS_EAGER, url=django_settings.CELERY_BROKER_URL
        )
        get_gateway.cache_clear()


def wait_until_final(transaction_id: str, log: Path, timeout: float = 40) -> Transaction:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        txn = Transaction.objects.get(id=transaction_id)
        if txn.status != "pending":
            return txn
        time.sleep(0.2)
    pytest.fail(f"{transaction_id} still pending; worker log:\n{log.read_text()[-4000:]}")


def test_worker_takes_a_pending_refund_to_succeeded(merchant, worker):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    reversal = services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=SYSTEM, amount=1200
    )
    assert Transaction.objects.get(id=reversal.id).status == "pending"

    done = wait_until_final(reversal.id, worker)

    assert done.status == "succeeded"
    payment.refresh_from_db()
    assert payment.amount_reversal_pending == 0
    assert payment.amount_reversed == 1200
    refunds = [c for c in get_gateway().ledger.calls() if c["op"] == "refund"]
    assert len(refunds) == 1


def test_same_task_delivered_twice_makes_one_gateway_refund(merchant, worker):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    reversal = services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=SYSTEM, amount=700
    )
    # The on-commit message plus two duplicates, handled by two worker processes.
    tasks.send_to_gateway.delay(reversal.id)
    tasks.send_to_gateway.delay(reversal.id)

    assert wait_until_final(reversal.id, worker).status == "succeeded"
    time.sleep(1.5)  # let the duplicates run to the end too

    refunds = [c for c in get_gateway().ledger.calls() if c["op"] == "refund"]
    assert len(refunds) == 1
    assert worker.read_text().count("send_to_gateway") >= 3


def test_worker_retries_a_transient_failure_until_success(merchant, worker):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    reversal = services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=SYSTEM, amount=503
    )
    done = wait_until_final(reversal.id, worker, timeout=60)
    assert done.status == "succeeded"
    assert done.attempts == 3
    refunds = [c for c in get_gateway().ledger.calls() if c["op"] == "refund"]
    assert len(refunds) == 3


def sessions_opened() -> int:
    """Connections PostgreSQL has accepted to the test database so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_the_worker_keeps_its_database_connection_from_task_to_task(merchant, worker):
    # Opening a connection cost more than sending a refund: a worker that opened one a
    # task (Celery's default with Django) ran at half the speed (bench/, e2e section).
    payments = [PaymentFactory(merchant=merchant, amount=2500) for _ in range(12)]
    before = sessions_opened()  # the worker's processes connect at their first task

    refunds = [
        services.reverse_payment(merchant=merchant, payment_id=p.id, actor=SYSTEM, amount=100)
        for p in payments
    ]
    assert all(wait_until_final(r.id, worker).status == "succeeded" for r in refunds)

    assert sessions_opened() - before <= 3  # one per worker process, at the most
