"""Confirm, run, re-run and cancel: each good row refunded once, through the same
reversal service as the refund dialog."""

import pytest

from audit.models import AuditEntry
from bulk import services, tasks
from bulk.models import BatchRow, RefundBatch
from core.actors import SYSTEM, Actor
from core.errors import Conflict, InvalidRequest, NotFound
from payments import services as payment_services
from payments.models import Transaction
from tests.bulk.helpers import refund_file, refunds_of
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_batch(merchant, agent):
    """Three payments: $10.00 of the first, everything of the second, a bad row, and
    $2.50 then $2.50 of the third."""
    payments = [PaymentFactory(merchant=merchant, amount=2500) for _ in range(3)]
    content = refund_file(
        [
            [payments[0].id, "10.00", "duplicate", "double charge"],
            [payments[1].id, "", "", ""],
            ["pay_nope", "1.00", "", ""],
            [payments[2].id, "2.50", "", ""],
            [payments[2].id, "2.50", "", "again"],
        ]
    )
    batch = services.create_batch(
        merchant=merchant, actor=Actor(user=agent), filename="small.csv", content=content
    )
    return batch, payments


def run_to_the_end(batch_id: str) -> None:
    while services.run_batch_chunk(batch_id=batch_id):
        pass


def test_confirmed_rows_are_refunded_by_the_agent_who_confirmed(
    small_batch, agent, merchant, django_capture_on_commit_callbacks
):
    batch, payments = small_batch

    with django_capture_on_commit_callbacks(execute=True):
        services.confirm_batch(merchant=merchant, batch_id=batch.id, actor=Actor(user=agent))

    batch.refresh_from_db()
    assert batch.state == RefundBatch.State.FINISHED
    assert [(r.amount, r.reason, r.note) for r in refunds_of(payments[0])] == [
        (1000, "duplicate", "double charge")
    ]
    assert [r.amount for r in refunds_of(payments[1])] == [2500]
    assert [r.amount for r in refunds_of(payments[2])] == [250, 250]
    refunds = Transaction.objects.filter(type=Transaction.Type.REFUND)
    assert {r.created_by for r in refunds} == {agent}
    rows = list(batch.rows.order_by("number"))
    assert [r.outcome for r in rows] == ["refunded", "refunded", "refused", "refunded", "refunded"]
    assert all(r.refund.payment_id == r.payment_id for r in rows if r.refund_id)
    actions = list(
        AuditEntry.objects.filter(target_type="refundbatch", target_id=batch.id)
        .order_by("created_at")
        .values_list("action", flat=True)
    )
    assert actions == ["refund_batch.create", "refund_batch.confirm"]
    assert AuditEntry.objects.filter(action="payment.refund").count() == 4


def test_running_again_refunds_nothing_twice(small_batch, agent, merchant):
    batch, _ = small_batch
    services.confirm_batch(merchant=merchant, batch_id=batch.id, actor=Actor(user=agent))
    run_to_the_end(batch.id)

    # A retried task, a duplicate message, a sweeper: the rows are done.
    RefundBatch.objects.filter(pk=batch.id).update(state=RefundBatch.State.RUNNING)
    run_to_the_end(batch.id)
    tasks.run_refund_batch(batch.id)
    for row in batch.rows.all():
        services.run_row(row_id=row.id)

    assert Transaction.objects.filter(type=Transaction.Type.REFUND).count() == 4


def test_a_second_confirm_is_refused(small_batch, agent, merchant):
    batch, _ = small_batch
    services.confirm_batch(merchant=merchant, batch_id=batch.id, actor=Actor(user=agent))

    with pytest.raises(Conflict, match="already running"):
        services.confirm_batch(merchant=merchant, batch_id=batch.id, actor=Actor(user=agent))


def test_a_batch_without_good_rows_cannot_be_confirmed(merchant, agent):
    batch = services.create_batch(
        merchant=merchant,
        actor=Actor(user=agent),
        filename="bad.csv",
        content=refund_file([["pay_nope", "1", "", ""]]),
    )
    with pytest.raises(InvalidRequest, match="no good rows"):
        services.confirm_batch(merchant=merchant, batch_id=batch.id, actor=Actor(user=agent))


def test_another_merchant_cannot_see_confirm_or_cancel_a_batch(small_batch, other_merchant):
    batch, _ = small_batch

    for act in (services.confirm_batch, services.cancel_batch):
        with pytest.raises(NotFound):
            act(merchant=other_merchant, batch_id=batch.id, actor=SYSTEM)


def test_a_row_refused_when_it_runs_is_failed_with_the_reason(small_batch, agent, merchant):
    batch, payments = small_batch
    # Between the dry run and the job, someone refunds all of the first payment.
    payment_services.reverse_payment(merchant=merchant, payment_id=payments[0].id, actor=SYSTEM)
    services.confirm_batch(merchant=merchant, batch_id=batch.id, actor=Actor(user=agent))
    run_to_the_end(batch.id)

    first = batch.rows.get(number=1)
    assert first.outcome == BatchRow.Outcome.FAILED
    assert "already fully refunded" in first.error
    assert len(refunds_of(payments[0])) == 1  # only the one made outside the batch


def test_cancel_stops_the_rows_not_started(merchant, agent, monkeypatch):
    payments = [PaymentFactory(merchant=merchant, amount=1000) for _ in range(5)]
    content = refund_file([[p.id, "", "", ""] for p in payments])
    batch = services.create_batch(
        merchant=merchant, actor=Actor(user=agent), filename="five.csv", content=content
    )
    services.confirm_batch(merchant=merchant, batch_id=batch.id, actor=Actor(user=agent))
    monkeypatch.setattr(services, "CHUNK_SIZE", 2)
    assert services.run_batch_chunk(batch_id=batch.id) is True  # rows 1 and 2 done

    services.cancel_batch(merchant=merchant, batch_id=batch.id, actor=Actor(user=agent))
    assert services.run_batch_chunk(batch_id=batch.id) is False

    batch.refresh_from_db()
    assert batch.state == RefundBatch.State.CANCELED
    assert [r.outcome for r in batch.rows.order_by("number")] == [
        "refunded", "refunded", "canceled", "canceled", "canceled"
    ]  # fmt: skip
    assert [len(refunds_of(p)) for p in payments] == [1, 1, 0, 0, 0]
    assert AuditEntry.objects.filter(action="refund_batch.cancel", target_id=batch.id).exists()
    with pytest.raises(Conflict):
        services.cancel_batch(merchant=merchant, batch_id=batch.id, actor=Actor(user=agent))


def test_a_stalled_running_batch_is_resumed_by_the_sweeper(small_batch, agent, merchant, settings):
    from datetime import timedelta

    from django.utils import timezone

    batch, _ = small_batch
    services.confirm_batch(merchant=merchant, batch_id=batch.id, actor=Actor(user=agent))
    settings.REFUND_BATCH_STALLED_AFTER_SECONDS = 60
    assert tasks.resume_stalled_refund_batches() == 0  # just confirmed: alive
    RefundBatch.objects.filter(pk=batch.id).update(
        heartbeat_at=timezone.now() - timedelta(minutes=5)
    )

    assert tasks.resume_stalled_refund_batches() == 1  # eager here: runs it

    batch.refresh_from_db()
    assert batch.state == RefundBatch.State.FINISHED
    assert Transaction.objects.filter(type=Transaction.Type.REFUND).count() == 4
