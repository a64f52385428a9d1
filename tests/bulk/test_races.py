"""Races, for real: threads with their own PostgreSQL connections."""

from collections import Counter

import pytest

from bulk import services, tasks
from bulk.models import BatchRow, RefundBatch
from core.actors import Actor
from core.errors import Conflict
from payments.models import Transaction
from tests.bulk.helpers import refund_file
from tests.conftest import require_postgres, run_concurrently
from tests.dashboard.roles import ensure_role_groups
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only(transactional_db):
    require_postgres()
    ensure_role_groups()  # a transactional test empties the tables, groups included


@pytest.fixture
def batch(merchant, agent):
    """24 good rows over 8 payments of $30.00 ($10.00 each), and 2 refused rows."""
    payments = [PaymentFactory(merchant=merchant, amount=3000) for _ in range(8)]
    rows = [[p.id, "10.00", "", ""] for p in payments for _ in range(3)]
    rows += [["pay_unknown", "1.00", "", ""], [payments[0].id, "0.01", "", ""]]
    made = services.create_batch(
        merchant=merchant, actor=Actor(user=agent), filename="race.csv", content=refund_file(rows)
    )
    assert made.rows_ok == 24
    return made


def assert_each_good_row_refunded_once(batch):
    refunds = Transaction.objects.filter(type=Transaction.Type.REFUND)
    assert refunds.count() == 24
    assert Counter(r.payment_id for r in refunds) == Counter(
        {p: 3 for p in batch.rows.exclude(outcome="refused").values_list("payment_id", flat=True)}
    )
    assert {r.amount for r in refunds} == {1000}
    rows = batch.rows.exclude(outcome=BatchRow.Outcome.REFUSED)
    assert set(rows.values_list("outcome", flat=True)) == {BatchRow.Outcome.REFUNDED}
    assert set(rows.values_list("refund_id", flat=True)) == set(
        refunds.values_list("id", flat=True)
    )


def test_two_agents_confirming_at_once_refund_each_good_row_once(batch, merchant, agent):
    def confirm(_):
        return services.confirm_batch(merchant=merchant, batch_id=batch.id, actor=Actor(user=agent))

    results = run_concurrently(confirm, 4)

    assert sum(isinstance(r, RefundBatch) for r in results) == 1, results
    assert sum(isinstance(r, Conflict) for r in results) == 3, results
    batch.refresh_from_db()
    assert batch.state == RefundBatch.State.FINISHED  # the job ran in-process (eager)
    assert_each_good_row_refunded_once(batch)


def test_jobs_running_the_same_batch_at_once_refund_each_row_once(
    batch, merchant, agent, monkeypatch
):
    # The job is started by the threads below, not by the confirm.
    monkeypatch.setattr(tasks, "enqueue_run", lambda batch_id: None)
    monkeypatch.setattr(services, "CHUNK_SIZE", 5)
    services.confirm_batch(merchant=merchant, batch_id=batch.id, actor=Actor(user=agent))

    def job(_):
        while services.run_batch_chunk(batch_id=batch.id):
            pass

    results = run_concurrently(job, 4)

    assert results == [None] * 4
    batch.refresh_from_db()
    assert batch.state == RefundBatch.State.FINISHED
    assert_each_good_row_refunded_once(batch)
