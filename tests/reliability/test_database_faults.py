"""PostgreSQL connections terminated (pg_terminate_backend) in the middle of API requests
and of Celery tasks.

A request that loses its connection answers the JSON error shape (500 api_error),
never an HTML page; whatever it had not committed is rolled back. A task that loses
its connection fails; the reversal stays pending and the sweeper re-sends it under the
same gateway key, so it reaches the gateway exactly once.
"""

import random
import threading
import time
from collections import Counter

import psycopg
import pytest

from payments.models import Transaction
from tests.factories import PaymentFactory
from tests.reliability.conftest import (
    ApiClient,
    assert_json_answers,
    assert_reconciled,
    new_merchant_and_key,
    wait_until_nothing_pending,
)

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

# Terminate until this many connections of each kind were hit (bounded by MAX_SECONDS).
ENOUGH_HITS = 3
MIN_SECONDS, MAX_SECONDS = 4, 20


@pytest.fixture(scope="module")
def stack(cluster):
    # Gateway latency keeps each task between its claim and its result for a while.
    return cluster.up(webs=1, web_workers=2, workers=1, beat=True, SANDBOX_GATEWAY_LATENCY_MS="150")


class Terminator(threading.Thread):
    """Terminates, every 50 ms, the worker's connections (busy or between the steps of
    a task) and the web's connections that are in the middle of a request."""

    def __init__(self, cluster):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.stop = threading.Event()
        self.hits: Counter = Counter()  # (role, state) -> terminated connections
        self.error: BaseException | None = None

    def hit(self, role: str) -> int:
        return sum(n for (r, _), n in self.hits.items() if r == role)

    def run(self) -> None:
        db = self.cluster.database
        roles = {self.cluster.application_name(r): r for r in ("web", "worker")}
        try:
            with psycopg.connect(
                host=db.get("HOST") or "127.0.0.1",
                port=db.get("PORT") or 5432,
                user=db["USER"],
                password=db.get("PASSWORD") or None,
                dbname=db["NAME"],
                autocommit=True,
            ) as conn:
                while not self.stop.is_set():
                    rows = conn.execute(
                        """
                        SELECT application_name, state, pg_terminate_backend(pid)
                        FROM pg_stat_activity
                        WHERE datname = current_database() AND pid <> pg_backend_pid()
                          AND (application_name = %(worker)s
                               OR (application_name = %(web)s AND state <> 'idle'))
                        """,
                        {
                            "worker": self.cluster.application_name("worker"),
                            "web": self.cluster.application_name("web"),
                        },
                    ).fetchall()
                    for name, state, _ in rows:
                        self.hits[(roles[name], state)] += 1
                    time.sleep(0.05)
        except BaseException as error:  # surfaced by the test
            self.error = error


def test_connections_terminated_in_the_middle_of_requests_and_tasks(stack, ledger):
    merchant, secret = new_merchant_and_key()
    api = ApiClient([stack.web.url], secret)
    payments = [PaymentFactory(merchant=merchant, amount=1_000_000) for _ in range(6)]
    answers = []
    answered: dict[str, str] = {}
    lock = threading.Lock()
    done = threading.Event()

    def client(number: int) -> None:
        rng = random.Random(number)
        for n in range(10_000):
            if done.is_set():
                return
            payment = rng.choice(payments)
            key = f"db-{number}-{n}"
            body = {"amount": rng.randint(1, 300), "reason": "other", "note": key}
            for _ in range(3):  # no answer, or still running: ask again, same key
                answer = api.post(f"/payments/{payment.id}/reverse", body, key=key)
                with lock:
                    answers.append(answer)
                if answer.status == 200:
                    answered[key] = next(
                        t for t in answer.body["transactions"] if t["note"] == key
                    )["id"]
                if answer.status not in (None, 409):
                    break
                time.sleep(0.2)
            with lock:
                answers.append(api.get(f"/payments/{payment.id}"))

    terminator = Terminator(stack)
    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    started = time.monotonic()
    terminator.start()
    for thread in threads:
        thread.start()
    try:
        while time.monotonic() - started < MAX_SECONDS and terminator.is_alive():
            elapsed = time.monotonic() - started
            enough = min(terminator.hit("web"), terminator.hit("worker")) >= ENOUGH_HITS
            if elapsed > MIN_SECONDS and enough:
                break
            time.sleep(0.2)
    finally:
        terminator.stop.set()
        terminator.join(timeout=30)
        done.set()
        for thread in threads:
            thread.join(timeout=60)

    assert terminator.error is None, terminator.error
    assert terminator.hit("web") >= 1, terminator.hits
    assert terminator.hit("worker") >= 1, terminator.hits
    assert_json_answers(answers)
    statuses = Counter(a.status for a in answers)
    assert set(statuses) <= {200, 409, 500}, statuses
    wait_until_nothing_pending(stack)
    report = assert_reconciled(ledger)
    refunds = Transaction.objects.filter(payment__merchant=merchant, type="refund")
    notes = Counter(refunds.values_list("note", flat=True))
    assert all(count == 1 for count in notes.values()), "a request was done twice"
    succeeded = set(refunds.filter(status="succeeded").values_list("id", flat=True))
    assert set(answered.values()) <= succeeded
    print(
        f"{len(answers)} requests {dict(statuses)}; terminated {dict(terminator.hits)}; "
        f"{report.summary()}"
    )
