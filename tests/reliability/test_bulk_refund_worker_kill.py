"""A bulk refund job whose Celery worker is killed (SIGKILL, the whole process group)
in the middle of a batch, then started again and the job re-run, twice at once: every
good row is refunded exactly once (our ledger), and the gateway performs each refund
exactly once (its ledger).

A row is refunded and marked done in one transaction under the row's lock, so a row
the worker was in the middle of is rolled back with the dead connection and run again,
and a row already done is skipped by every later run.
"""

from collections import Counter

import pytest
from celery import Celery

from bulk import services, tasks
from bulk.models import BatchRow, RefundBatch
from core.actors import Actor
from payments.models import Transaction
from tests.bulk.helpers import refund_file
from tests.factories import PaymentFactory, UserFactory
from tests.reliability.conftest import (
    assert_reconciled,
    new_merchant_and_key,
    wait_for,
    wait_until_nothing_pending,
)

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

PAYMENTS = 60
ROWS_PER_PAYMENT = 4  # $1.00 each of a $10.00 payment


@pytest.fixture(scope="module")
def stack(cluster):
    return cluster.up(workers=1, concurrency=1, beat=True)


@pytest.fixture
def broker(stack):
    """Publishes to the cluster's broker, as the web process does after a confirm."""
    client = Celery("bulk-test", broker=stack.broker.url)
    yield lambda batch_id: client.send_task("bulk.tasks.run_refund_batch", args=[batch_id])
    client.close()


def counts(batch) -> Counter:
    return Counter(batch.rows.values_list("outcome", flat=True))


def test_a_worker_killed_mid_batch_then_re_run_refunds_each_row_once(
    stack, ledger, broker, monkeypatch
):
    merchant, _ = new_merchant_and_key("Bulk Shop")
    agent = UserFactory(email="agent@bulk.test", merchant=merchant)
    payments = [PaymentFactory(merchant=merchant, amount=1000) for _ in range(PAYMENTS)]
    rows = [[p.id, "1.00", "", ""] for p in payments for _ in range(ROWS_PER_PAYMENT)]
    rows.append(["pay_unknown", "1.00", "", ""])
    batch = services.create_batch(
        merchant=merchant, actor=Actor(user=agent), filename="big.csv", content=refund_file(rows)
    )
    good = PAYMENTS * ROWS_PER_PAYMENT
    assert batch.rows_ok == good
    monkeypatch.setattr(tasks, "enqueue_run", broker)  # this process has no broker of its own
    services.confirm_batch(merchant=merchant, batch_id=batch.id, actor=Actor(user=agent))

    # Mid-batch: some rows done, most not.
    wait_for(lambda: counts(batch)["refunded"] >= 10, "the job to refund rows", logs=stack.logs)
    stack.workers["worker1"].kill()
    done_at_kill = counts(batch)["refunded"]
    assert 0 < done_at_kill < good, "the batch must be killed in its middle"
    batch.refresh_from_db()
    assert batch.state == RefundBatch.State.RUNNING

    stack.revive()
    broker(batch.id)
    broker(batch.id)  # and a duplicate run at the same time

    def finished() -> bool:
        batch.refresh_from_db()
        return batch.state == RefundBatch.State.FINISHED

    wait_for(finished, "the re-run to finish the batch", logs=stack.logs)
    wait_until_nothing_pending(stack)

    assert counts(batch) == Counter({"refunded": good, "refused": 1})
    refunds = Transaction.objects.filter(type=Transaction.Type.REFUND)
    assert refunds.count() == good
    assert Counter(r.payment_id for r in refunds) == Counter(
        {p.id: ROWS_PER_PAYMENT for p in payments}
    )
    assert set(refunds.values_list("amount", flat=True)) == {100}
    assert set(refunds.values_list("status", flat=True)) == {Transaction.Status.SUCCEEDED}
    row_refunds = batch.rows.filter(outcome=BatchRow.Outcome.REFUNDED).values_list(
        "refund_id", flat=True
    )
    assert sorted(row_refunds) == sorted(refunds.values_list("id", flat=True))
    report = assert_reconciled(ledger)
    assert report.reversals == Counter({("refund", "succeeded"): good})
