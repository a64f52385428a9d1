"""Thin tasks: take ids, call the service, hand over to the next chunk."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from core.tasks import queue_after_commit, queue_each

from . import services


@shared_task(acks_late=True)
def run_refund_batch(batch_id: str) -> bool:
    """Run one chunk of the batch's rows, then queue the next chunk, so a long batch
    shares the workers with the refunds it sends and a lost worker loses one chunk's
    message at most (each row is refunded at most once whoever runs it, so a duplicate
    message is harmless). In-process (eager) Celery runs every chunk here instead of
    nesting one call per chunk."""
    if run_refund_batch.app.conf.task_always_eager:
        while services.run_batch_chunk(batch_id=batch_id):
            pass
        return False
    more = services.run_batch_chunk(batch_id=batch_id)
    if more:
        run_refund_batch.delay(batch_id)
    return more


def enqueue_run(batch_id: str) -> None:
    """Start the job once the current transaction commits. A broker that cannot take
    the message leaves the batch running without a job: the sweeper starts it."""
    queue_after_commit(
        run_refund_batch, batch_id, failure="could not enqueue refund batch %s; the sweeper will"
    )


@shared_task
def resume_stalled_refund_batches() -> int:
    """Periodic (beat): start again the running batches whose job went silent."""
    silent_for = timedelta(seconds=settings.REFUND_BATCH_STALLED_AFTER_SECONDS)
    ids = services.stalled_batch_ids(silent_for=silent_for)
    return queue_each(run_refund_batch, ids, done="resumed %d stalled refund batches")
