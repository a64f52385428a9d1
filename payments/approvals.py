"""Four-eyes refund approval (SPEC 13): the services of the approval thresholds, and of a
refund held for approval from the moment it is asked to its approval, rejection or expiry.

- A merchant sets, per currency, a threshold. A refund asked by a person (a dashboard
  user) for strictly more than it is held: recorded `requires_approval`, its amount
  reserved on the payment (`amount_awaiting_approval`, so nothing can over-refund while
  it waits), and not sent. API keys and the system are never held; voids and refunds
  recorded only (already made at the gateway) are not either: no money leaves by them.
- Another merchant admin (never the one who asked) approves it: it continues as any
  refund (pending, counted in the daily totals, sent through payments.tasks), or
  rejects it (`canceled`, the amount released). Unanswered for APPROVAL_WINDOW, the
  sweeper expires it (`canceled`, the amount released).
- Every step runs under the payment's row lock and is refused (409, nothing changed)
  from a wrong state; every step is in the audit trail.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from audit.models import AuditEntry
from audit.trail import audit_trail
from core import money
from core.actors import SYSTEM, Actor
from core.errors import Conflict, InvalidRequest, NotFound, ValidationFailed
from merchants.models import Merchant

from . import events, rollup, tasks
from .models import MAX_NOTE_LENGTH, ApprovalThreshold, Payment, RefundApproval, Transaction

APPROVAL_WINDOW = timedelta(hours=72)
Action = AuditEntry.Action


class RefundNotAwaitingApproval(Conflict):
    """The refund was decided (or expired) already: nothing is changed."""


class FourEyesRefusal(InvalidRequest):
    """The one who asked for a refund, or someone who is not a merchant admin, tried to
    decide on it."""


# --- thresholds -------------------------------------------------------------------------------


def threshold_for(*, merchant: Merchant, currency: str) -> ApprovalThreshold | None:
    return ApprovalThreshold.objects.for_merchant(merchant).filter(currency=currency).first()


def needs_approval(
    *, merchant: Merchant, currency: str, amount: int, actor: Actor, is_external: bool = False
) -> ApprovalThreshold | None:
    """The threshold a refund of `amount` asked by `actor` is over (strictly), or None
    when it goes ahead at once: asked by an API key or the system, or recorded only."""
    if actor.user is None or is_external:
        return None
    threshold = threshold_for(merchant=merchant, currency=currency)
    if threshold is None or amount <= threshold.amount:
        return None
    return threshold


def set_threshold(
    *, merchant: Merchant, currency: str, amount: int | None, actor: Actor
) -> ApprovalThreshold | None:
    """Set (or with `amount=None` remove) the merchant's threshold for `currency`, in
    minor units; 0 holds every dashboard refund. Answers the threshold, or None."""
    with audit_trail(
        Action.APPROVAL_THRESHOLD_SET,
        actor=actor,
        merchant=merchant,
        target=("approval_threshold", currency),
        arguments={"currency": currency, "amount": amount},
    ) as trail:
        if not isinstance(currency, str) or not money.is_currency(currency):
            raise ValidationFailed("Choose a currency we support", param="currency")
        if amount is not None and (
            isinstance(amount, bool)
            or not isinstance(amount, int)
            or not 0 <= amount <= money.MAX_AMOUNT
        ):
            raise ValidationFailed("The threshold must be 0 or more", param="amount")
        with transaction.atomic():
            existing = (
                ApprovalThreshold.objects.for_merchant(merchant)
                .select_for_update()
                .filter(currency=currency)
                .first()
            )
            if amount is None:
                if existing is not None:
                    existing.delete()
                trail.succeeded(
                    detail=f"refunds in {currency} no longer need a second admin's approval",
                    metadata={"currency": currency, "amount": None},
                )
                return None
            if existing is None:
                existing = ApprovalThreshold(merchant=merchant, currency=currency)
            existing.amount = amount
            existing.created_by = actor.user
            existing.save()
            trail.succeeded(existing)
    return existing


# --- a refund held for approval ---------------------------------------------------------------


def proceed(payment: Payment, reversal: Transaction) -> None:
    """A reversal going ahead, at once or once approved, in its transaction: counted in
    the daily totals, announced to the webhooks, and sent to the gateway after commit
    unless it was recorded as done there."""
    rollup.record(payment, reversal)
    events.reversal_recorded(payment, reversal)
    if not reversal.is_external:
        tasks.enqueue_send(reversal.id)


def hold(refund: Transaction, *, now: datetime | None = None) -> RefundApproval:
    """Open the approval of a refund just recorded `requires_approval` (called by
    payments.services.reverse_payment, in its transaction, under its row lock)."""
    now = now or timezone.now()
    return RefundApproval.objects.create(
        merchant_id=refund.merchant_id,
        refund=refund,
        payment_id=refund.payment_id,
        expires_at=now + APPROVAL_WINDOW,
    )


def _locked(
    *, merchant: Merchant | None, transaction_id: str
) -> tuple[Payment, Transaction, RefundApproval]:
    """The held refund's payment, locked (the same lock every reversal takes), then the
    refund and its approval read under it."""
    refunds = Transaction.objects.filter(approval__isnull=False)
    if merchant is not None:
        refunds = refunds.for_merchant(merchant)
    payment_id = refunds.filter(id=transaction_id).values_list("payment_id", flat=True).first()
    if payment_id is None:
        raise NotFound(f"No such refund waiting for approval: '{transaction_id}'", param="id")
    payment = Payment.objects.select_for_update(of=("self",)).get(id=payment_id)
    refund = Transaction.objects.select_related("approval", "created_by").get(id=transaction_id)
    refund.payment = payment
    approval = refund.approval
    approval.refund, approval.payment = refund, payment
    return payment, refund, approval


def _check_decidable(approval: RefundApproval, actor: Actor, now: datetime) -> None:
    if why := approval.waiting_refusal(now):
        raise RefundNotAwaitingApproval(why)
    if why := approval.decider_refusal(actor.user):
        raise FourEyesRefusal(why)


def _release(payment: Payment, refund: Transaction, now: datetime) -> None:
    payment.amount_awaiting_approval -= refund.amount
    payment.save(update_fields=["amount_awaiting_approval", "updated_at"])
    refund.status = Transaction.Status.CANCELED
    refund.processed_at = now
    refund.save(update_fields=["status", "processed_at"])


def approve_refund(*, merchant: Merchant, transaction_id: str, actor: Actor) -> Transaction:
    """A second merchant admin approves a held refund: it becomes pending, is counted
    and is sent to the gateway after commit, exactly as a refund that was never held.
    Refused for the one who asked, for anyone without the approval permission, and
    (409) once the refund was decided or has expired."""
    with (
        audit_trail(
            Action.REFUND_APPROVE,
            actor=actor,
            merchant=merchant,
            target=("refund", transaction_id),
        ) as trail,
        transaction.atomic(),
    ):
        payment, refund, approval = _locked(merchant=merchant, transaction_id=transaction_id)
        trail.target = ("payment", payment.id)
        now = timezone.now()
        _check_decidable(approval, actor, now)
        payment.amount_awaiting_approval -= refund.amount
        payment.count_reversal(refund.amount, external=False)
        payment.save(
            update_fields=[
                "amount_awaiting_approval",
                "amount_reversed",
                "amount_reversal_pending",
                "updated_at",
            ]
        )
        refund.status = Transaction.Status.PENDING
        refund.save(update_fields=["status"])
        approval.status = RefundApproval.Status.APPROVED
        approval.decided_by, approval.decided_at = actor.user, now
        approval.save(update_fields=["status", "decided_by", "decided_at"])
        trail.succeeded(approval)
        proceed(payment, refund)
    return refund


def reject_refund(
    *, merchant: Merchant, transaction_id: str, actor: Actor, note: str = ""
) -> Transaction:
    """A second merchant admin rejects a held refund (with an optional note): it is
    canceled and its amount is refundable again. Same refusals as approve_refund."""
    with audit_trail(
        Action.REFUND_REJECT,
        actor=actor,
        merchant=merchant,
        target=("refund", transaction_id),
        arguments={"note": note},
    ) as trail:
        note = (note or "").strip()
        if len(note) > MAX_NOTE_LENGTH:
            raise ValidationFailed(f"Note has at most {MAX_NOTE_LENGTH} characters", param="note")
        with transaction.atomic():
            payment, refund, approval = _locked(merchant=merchant, transaction_id=transaction_id)
            trail.target = ("payment", payment.id)
            now = timezone.now()
            _check_decidable(approval, actor, now)
            _release(payment, refund, now)
            approval.status = RefundApproval.Status.REJECTED
            approval.decided_by, approval.decided_at, approval.note = actor.user, now, note
            approval.save(update_fields=["status", "decided_by", "decided_at", "note"])
            trail.succeeded(approval)
    return refund


def expire_refund(*, transaction_id: str, now: datetime | None = None) -> bool:
    """Cancel a held refund left unanswered past its deadline, releasing its amount.
    Answers whether it expired it (False: decided meanwhile, or not due yet)."""
    now = now or timezone.now()
    with transaction.atomic():
        payment, refund, approval = _locked(merchant=None, transaction_id=transaction_id)
        if refund.status != Transaction.Status.REQUIRES_APPROVAL or approval.expires_at > now:
            return False
        with audit_trail(
            Action.REFUND_EXPIRE,
            actor=SYSTEM,
            merchant=payment.merchant,
            target=("payment", payment.id),
        ) as trail:
            _release(payment, refund, now)
            approval.status = RefundApproval.Status.EXPIRED
            approval.decided_at = now
            approval.save(update_fields=["status", "decided_at"])
            trail.succeeded(approval)
    return True


def expire_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """The sweeper's work (payments.tasks.expire_refund_approvals): expire every held
    refund past its deadline. Answers how many it expired."""
    now = now or timezone.now()
    due = RefundApproval.objects.filter(
        status=RefundApproval.Status.WAITING, expires_at__lte=now
    ).values_list("refund_id", flat=True)[:limit]
    return sum(expire_refund(transaction_id=refund_id, now=now) for refund_id in list(due))
