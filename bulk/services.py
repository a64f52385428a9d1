"""Bulk refund writes: upload (the dry run), confirm, cancel, and running the rows.

Nothing moves until an agent confirms. Each good row is then run through
payments.services.reverse_payment exactly once, whatever happens to the job: the row
is locked, skipped unless still pending, and the refund is made and its id written on
the row in the same transaction ("an idempotency key made of the batch and the row").
A re-run, a retried task, a second worker, a worker killed mid-row (its transaction
rolls back: the row is still pending, and no refund exists) or a second confirm can
never refund a row twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from audit.models import AuditEntry
from audit.trail import Trail, audit_trail
from core import money
from core.actors import Actor
from core.errors import Conflict, DomainError, InvalidRequest, found_or_not_found
from merchants.models import Merchant
from payments import services as payment_services
from payments.models import MAX_NOTE_LENGTH, Payment, Transaction

from . import tasks
from .files import FileRow, read_refund_file
from .models import BatchRow, RefundBatch

logger = logging.getLogger(__name__)

# Rows a job runs before it looks again at the batch (canceled?) and hands over to
# the next message.
CHUNK_SIZE = 50
Action = AuditEntry.Action


# --- the dry run ---------------------------------------------------------------------------


def _payments_by_id(merchant: Merchant, ids: set[str]) -> dict[str, Payment]:
    """The merchant's payments among `ids` (another merchant's are simply not found)."""
    found: dict[str, Payment] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 1000):
        chunk = ordered[start : start + 1000]
        for payment in Payment.objects.for_merchant(merchant).filter(id__in=chunk):
            found[payment.id] = payment
    return found


def dry_run(*, merchant: Merchant, rows: list[FileRow]) -> list[BatchRow]:
    """Each row's verdict (unsaved BatchRows): pending (good) or refused, and why. Rows
    of one payment are counted together, in file order: a row that would take the
    payment over what is refundable is refused."""
    payments = _payments_by_id(merchant, {row.payment_id for row in rows if row.payment_id})
    remaining: dict[str, int] = {}
    seen_in: dict[str, list[int]] = defaultdict(list)
    verdicts = []
    for row in rows:
        verdict = BatchRow(
            number=row.number,
            payment_id=row.payment_id[:255],
            amount_text=row.amount[:64],
            reason=row.reason[:30],
            note=row.note[:MAX_NOTE_LENGTH],
            outcome=BatchRow.Outcome.REFUSED,
        )
        verdicts.append(verdict)
        payment = payments.get(row.payment_id)
        if payment is not None:
            verdict.currency = payment.currency
        verdict.error = _refusal(row, payment, verdict, remaining, seen_in)
        if not verdict.error:
            verdict.outcome = BatchRow.Outcome.PENDING
            remaining[payment.id] -= verdict.planned_amount
            seen_in[payment.id].append(row.number)
    return verdicts


def _refusal(row, payment, verdict, remaining, seen_in) -> str:
    """Why the row cannot run ("" when it can); sets the row's reason and amounts."""
    if not row.payment_id:
        return "No payment id"
    if payment is None:
        return f"Unknown payment: no payment '{row.payment_id}' in your account"
    if why := payment.reversal_refusal():
        return f"Not refundable: {why}"
    if not payment.is_captured:
        return "Not refundable: it is not captured (void the authorization from its page)"
    if payment.chargeback_outstanding:
        return (
            "Not refundable here: it was charged back, the customer already got the money "
            "back (refund it from its page if you must)"
        )
    reason = (row.reason or Transaction.Reason.REQUESTED_BY_CUSTOMER).lower()
    if refused := Transaction.details_refusal(reason=reason, note=row.note):
        field, sentence = refused
        return f"Bad reason '{row.reason}': {sentence}" if field == "reason" else sentence
    verdict.reason = reason
    left = remaining.setdefault(payment.id, payment.amount_reversible)
    earlier = seen_in[payment.id]
    also = f"the same payment is in row{'s' if len(earlier) > 1 else ''} " + ", ".join(
        map(str, earlier)
    )
    if not row.amount:
        if left <= 0:
            return f"Nothing left to refund: {also}, which refund all of it"
        verdict.planned_amount = left
        return ""
    try:
        amount = money.parse_major(row.amount, payment.currency)
    except money.MoneyError as error:
        return f"Bad amount '{row.amount}': {error}"
    if amount <= 0:
        return "Bad amount: it must be greater than 0"
    if amount > payment.amount_reversible:
        return (
            f"Amount over refundable: at most {payment.format_amount(payment.amount_reversible)}"
            " can be refunded"
        )
    if amount > left:
        return (
            f"Together with {also}, this exceeds the refundable "
            f"{payment.format_amount(payment.amount_reversible)}"
        )
    verdict.amount = verdict.planned_amount = amount
    return ""


def _totals(rows: list[BatchRow]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        if row.outcome == BatchRow.Outcome.PENDING:
            totals[row.currency] += row.planned_amount
    return dict(sorted(totals.items()))


# --- upload, confirm, cancel ---------------------------------------------------------------


def create_batch(*, merchant: Merchant, actor: Actor, filename: str, content: bytes) -> RefundBatch:
    """Read the file and store its dry run as a draft batch. A file that is not a
    refund CSV (see bulk.files) is refused and nothing is stored. Nothing moves."""
    with audit_trail(
        Action.REFUND_BATCH_CREATE,
        actor=actor,
        merchant=merchant,
        target=("refundbatch", None),
        arguments={"filename": filename[:255], "bytes": len(content)},
    ) as trail:
        rows = dry_run(merchant=merchant, rows=read_refund_file(content))
        with transaction.atomic():
            batch = RefundBatch.objects.create(
                merchant=merchant,
                filename=filename[:255],
                rows_total=len(rows),
                rows_ok=sum(row.outcome == BatchRow.Outcome.PENDING for row in rows),
                totals=_totals(rows),
                created_by=actor.user,
            )
            for row in rows:
                row.batch = batch
            BatchRow.objects.bulk_create(rows, batch_size=1000)
            trail.succeeded(batch)
    return batch


@contextmanager
def _changing_batch(
    action: str, merchant: Merchant, batch_id: str, actor: Actor
) -> Iterator[tuple[Trail, RefundBatch]]:
    """The batch, locked, in one transaction recorded in the trail as `action`."""
    with (
        audit_trail(
            action, actor=actor, merchant=merchant, target=("refundbatch", batch_id)
        ) as trail,
        transaction.atomic(),
    ):
        queryset = RefundBatch.objects.for_merchant(merchant).select_for_update()
        yield trail, found_or_not_found(queryset, batch_id, name="refund batch")


def _already(batch: RefundBatch) -> Conflict:
    return Conflict(f"This batch is already {batch.get_state_display().lower()}")


def confirm_batch(*, merchant: Merchant, batch_id: str, actor: Actor) -> RefundBatch:
    """Start the job of a draft batch (once: a second confirm is a Conflict). The
    refunds are made in the name of the agent who confirms."""
    with _changing_batch(Action.REFUND_BATCH_CONFIRM, merchant, batch_id, actor) as (trail, batch):
        if batch.state != RefundBatch.State.DRAFT:
            raise _already(batch)
        if not batch.rows_ok:
            raise InvalidRequest("This batch has no good rows: nothing to refund")
        now = timezone.now()
        batch.state = RefundBatch.State.RUNNING
        batch.confirmed_by, batch.confirmed_at, batch.heartbeat_at = actor.user, now, now
        batch.save(update_fields=["state", "confirmed_by", "confirmed_at", "heartbeat_at"])
        trail.succeeded(batch)
        tasks.enqueue_run(batch.id)
    return batch


def cancel_batch(*, merchant: Merchant, batch_id: str, actor: Actor) -> RefundBatch:
    """Stop a draft or running batch: the rows not started yet are marked canceled (a
    row being refunded at this moment finishes: its lock holds the cancel until then)."""
    with _changing_batch(Action.REFUND_BATCH_CANCEL, merchant, batch_id, actor) as (trail, batch):
        if not batch.is_active:
            raise _already(batch)
        batch.state = RefundBatch.State.CANCELED
        batch.canceled_at = timezone.now()
        batch.save(update_fields=["state", "canceled_at"])
        batch.rows.filter(outcome=BatchRow.Outcome.PENDING).update(
            outcome=BatchRow.Outcome.CANCELED, processed_at=batch.canceled_at
        )
        trail.succeeded(batch)
    return batch


# --- the job ---------------------------------------------------------------------------------


def run_row(*, row_id: int) -> str:
    """Refund one row, exactly once. Answers the row's outcome."""
    with transaction.atomic():
        row = (
            BatchRow.objects.select_for_update(of=("self",))
            .select_related("batch__merchant", "batch__confirmed_by")
            .get(pk=row_id)
        )
        batch = row.batch
        if row.outcome != BatchRow.Outcome.PENDING or batch.state != RefundBatch.State.RUNNING:
            return row.outcome
        try:
            refund = payment_services.reverse_payment(
                merchant=batch.merchant,
                payment_id=row.payment_id,
                actor=Actor(user=batch.confirmed_by),
                amount=row.amount,
                reason=row.reason,
                note=row.note,
                currency=row.currency,
            )
        except DomainError as refused:
            row.outcome, row.error = BatchRow.Outcome.FAILED, refused.message
        else:
            row.outcome, row.refund, row.error = BatchRow.Outcome.REFUNDED, refund, ""
        row.processed_at = timezone.now()
        row.save(update_fields=["outcome", "refund", "error", "processed_at"])
    return row.outcome


def run_batch_chunk(*, batch_id: str) -> bool:
    """Run the next chunk of a running batch's pending rows, in file order. Answers
    whether rows remain (the caller runs the next chunk); marks the batch finished
    when none do."""
    batch = RefundBatch.objects.filter(pk=batch_id).first()
    if batch is None or batch.state != RefundBatch.State.RUNNING:
        return False
    RefundBatch.objects.filter(pk=batch_id).update(heartbeat_at=timezone.now())
    pending = batch.rows.filter(outcome=BatchRow.Outcome.PENDING).order_by("number")
    row_ids = list(pending.values_list("id", flat=True)[:CHUNK_SIZE])
    for row_id in row_ids:
        run_row(row_id=row_id)
    if pending.exists():
        return True
    with transaction.atomic():
        batch = RefundBatch.objects.select_for_update().get(pk=batch_id)
        if batch.state == RefundBatch.State.RUNNING and not pending.exists():
            batch.state, batch.finished_at = RefundBatch.State.FINISHED, timezone.now()
            batch.save(update_fields=["state", "finished_at"])
    return False


def stalled_batch_ids(*, silent_for: timedelta) -> list[str]:
    """Running batches whose job gave no sign of life for `silent_for` (its worker
    died, or its message was lost): the sweeper starts them again."""
    cutoff = timezone.now() - silent_for
    return list(
        RefundBatch.objects.filter(state=RefundBatch.State.RUNNING, heartbeat_at__lt=cutoff)
        .order_by("heartbeat_at")
        .values_list("id", flat=True)[:100]
    )
