"""Four-eyes refund approval (SPEC 13), through the services: what is held, what is
reserved while it waits, who may decide, and what approve, reject and expiry do."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from core.actors import SYSTEM, Actor
from core.errors import Conflict, InvalidRequest, ValidationFailed
from merchants import roles
from payments import approvals, rollup, services
from payments.models import DailyTotals, Payment, RefundApproval, Transaction
from tests.factories import PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db

THRESHOLD = 10_000  # $100.00


@pytest.fixture
def second_admin(merchant):
    return UserFactory(email="admin2@acme.test", merchant=merchant, role=roles.MERCHANT_ADMIN)


@pytest.fixture
def threshold(merchant, merchant_admin):
    return approvals.set_threshold(
        merchant=merchant, currency="USD", amount=THRESHOLD, actor=Actor(user=merchant_admin)
    )


def refund(payment, user, **kwargs):
    actor = Actor(user=user) if user is not None else SYSTEM
    return services.reverse_payment(
        merchant=payment.merchant, payment_id=payment.id, actor=actor, **kwargs
    )


def totals(merchant) -> dict:
    return {
        (row.day, row.currency): {name: getattr(row, name) for name in DailyTotals.COUNTERS}
        for row in DailyTotals.objects.for_merchant(merchant)
    }


def test_a_refund_over_the_threshold_is_held_and_reserved_at_once(
    merchant, agent, threshold, gateway_calls, django_capture_on_commit_callbacks
):
    payment = PaymentFactory(merchant=merchant, amount=50_000)
    with django_capture_on_commit_callbacks(execute=True):
        held = refund(payment, agent, amount=THRESHOLD + 1)

    assert held.status == Transaction.Status.REQUIRES_APPROVAL
    assert RefundApproval.objects.get(refund=held).status == RefundApproval.Status.WAITING
    payment.refresh_from_db()
    assert payment.amount_awaiting_approval == THRESHOLD + 1
    assert payment.amount_reversed == 0  # not reversed: nothing was sent
    assert payment.amount_reversible == 50_000 - THRESHOLD - 1
    assert gateway_calls("refund") == []
    # No over-refund while it waits: what is left can be refunded, no more.
    with pytest.raises(ValidationFailed) as refused:
        refund(payment, None, amount=50_000 - THRESHOLD)
    assert "at most $399.99" in refused.value.message
    entry = AuditEntry.objects.get(action=AuditEntry.Action.REFUND_APPROVAL_ASK)
    assert entry.actor_user == agent and entry.target_id == payment.id


def test_the_whole_rest_held_leaves_nothing_to_refund(merchant, agent, threshold):
    payment = PaymentFactory(merchant=merchant, amount=50_000)
    refund(payment, agent)  # everything refundable, over the threshold
    payment.refresh_from_db()
    assert payment.reversal_refusal() == "the rest of it is a refund waiting for approval"
    with pytest.raises(InvalidRequest):
        refund(payment, None, amount=1)


def test_at_or_below_the_threshold_the_refund_is_sent_as_today(
    merchant, agent, threshold, gateway_calls, django_capture_on_commit_callbacks
):
    payment = PaymentFactory(merchant=merchant, amount=50_000)
    with django_capture_on_commit_callbacks(execute=True):
        sent = refund(payment, agent, amount=THRESHOLD)  # equal: not over it
    sent.refresh_from_db()
    assert sent.status == Transaction.Status.SUCCEEDED
    assert len(gateway_calls("refund")) == 1
    assert not RefundApproval.objects.exists()


def test_api_keys_voids_and_recorded_refunds_are_never_held(merchant, agent, threshold, api_key):
    payment = PaymentFactory(merchant=merchant, amount=50_000)
    by_key = services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=Actor(api_key=api_key[0]), amount=20_000
    )
    recorded = refund(payment, agent, amount=20_000, is_external=True)
    authorization = PaymentFactory(merchant=merchant, amount=50_000, capture=False)
    void = refund(authorization, agent)
    assert by_key.status == Transaction.Status.PENDING
    assert recorded.status == Transaction.Status.SUCCEEDED
    assert void.status == Transaction.Status.PENDING and void.type == "void"
    assert not RefundApproval.objects.exists()


def test_a_threshold_is_per_currency(merchant, agent, threshold):
    yen = PaymentFactory(merchant=merchant, amount=50_000, currency="JPY")
    assert refund(yen, agent).status == Transaction.Status.PENDING


def test_approve_sends_it_once_and_counts_it_then(
    merchant,
    agent,
    merchant_admin,
    threshold,
    gateway_calls,
    django_capture_on_commit_callbacks,
):
    payment = PaymentFactory(merchant=merchant, amount=50_000)
    held = refund(payment, agent, amount=30_000)
    before = totals(merchant)
    assert before[(timezone.localdate(), "USD")]["refunds"] == 0  # held: not counted yet

    with django_capture_on_commit_callbacks(execute=True):
        approved = approvals.approve_refund(
            merchant=merchant, transaction_id=held.id, actor=Actor(user=merchant_admin)
        )

    assert approved.id == held.id
    held.refresh_from_db()
    assert held.status == Transaction.Status.SUCCEEDED
    payment.refresh_from_db()
    assert payment.amount_awaiting_approval == 0
    assert payment.amount_reversed == 30_000 and payment.amount_reversal_pending == 0
    [sent] = gateway_calls("refund")
    assert sent["amount"] == 30_000
    approval = RefundApproval.objects.get(refund=held)
    assert approval.status == "approved" and approval.decided_by == merchant_admin
    counted = totals(merchant)[(timezone.localdate(), "USD")]
    assert counted["refunds"] == 1 and counted["refunded_amount"] == 30_000
    rebuilt = {
        (day, cur): {n: c.get(n, 0) for n in DailyTotals.COUNTERS}
        for (_, day, cur), c in rollup.totals_from_payments(merchant_id=merchant.id).items()
    }
    assert rebuilt == totals(merchant)
    # Approving again is refused (409), and nothing is sent twice.
    with pytest.raises(Conflict) as again:
        approvals.approve_refund(
            merchant=merchant, transaction_id=held.id, actor=Actor(user=merchant_admin)
        )
    assert "no longer waiting for approval: it was approved by admin@acme.test" in str(again.value)
    assert len(gateway_calls("refund")) == 1


def test_the_asker_cannot_approve_nor_reject_their_own_refund(
    merchant, merchant_admin, threshold, gateway_calls
):
    payment = PaymentFactory(merchant=merchant, amount=50_000)
    held = refund(payment, merchant_admin, amount=30_000)
    for decide in (approvals.approve_refund, approvals.reject_refund):
        with pytest.raises(InvalidRequest) as refused:
            decide(merchant=merchant, transaction_id=held.id, actor=Actor(user=merchant_admin))
        assert "another merchant admin must approve or reject it" in refused.value.message
    held.refresh_from_db()
    assert held.status == Transaction.Status.REQUIRES_APPROVAL
    assert gateway_calls("refund") == []
    refused_entries = AuditEntry.objects.filter(outcome="refused", target_id=payment.id)
    assert refused_entries.count() == 2


def test_a_support_agent_cannot_approve(merchant, agent, threshold):
    payment = PaymentFactory(merchant=merchant, amount=50_000)
    held = refund(payment, UserFactory(merchant=merchant, role=roles.MERCHANT_ADMIN))
    with pytest.raises(InvalidRequest, match="Only a merchant admin"):
        approvals.approve_refund(merchant=merchant, transaction_id=held.id, actor=Actor(user=agent))


def test_reject_releases_the_amount(merchant, agent, merchant_admin, threshold, gateway_calls):
    payment = PaymentFactory(merchant=merchant, amount=50_000)
    held = refund(payment, agent, amount=30_000)

    approvals.reject_refund(
        merchant=merchant,
        transaction_id=held.id,
        actor=Actor(user=merchant_admin),
        note="Customer was already refunded by bank transfer",
    )

    held.refresh_from_db()
    payment.refresh_from_db()
    assert held.status == Transaction.Status.CANCELED
    assert payment.amount_awaiting_approval == 0 and payment.amount_reversed == 0
    assert payment.amount_reversible == 50_000
    approval = RefundApproval.objects.get(refund=held)
    assert approval.status == "rejected"
    assert approval.note == "Customer was already refunded by bank transfer"
    assert gateway_calls("refund") == []
    assert totals(merchant)[(timezone.localdate(), "USD")]["refunds"] == 0
    with pytest.raises(Conflict):
        approvals.approve_refund(
            merchant=merchant, transaction_id=held.id, actor=Actor(user=merchant_admin)
        )


def test_unanswered_for_72_hours_it_expires_and_releases_the_amount(
    merchant, agent, merchant_admin, threshold, gateway_calls
):
    payment = PaymentFactory(merchant=merchant, amount=50_000)
    held = refund(payment, agent, amount=30_000)
    other = refund(PaymentFactory(merchant=merchant, amount=50_000), agent, amount=20_000)
    RefundApproval.objects.filter(refund=other).update(
        expires_at=timezone.now() + timedelta(hours=1)
    )

    now = timezone.now()
    assert approvals.expire_due(now=now + timedelta(minutes=30)) == 0
    assert approvals.expire_due(now=now + timedelta(hours=71)) == 1  # the other one
    payment.refresh_from_db()
    assert payment.amount_awaiting_approval == 30_000  # not due yet
    assert approvals.expire_due(now=now + timedelta(hours=72, seconds=1)) == 1

    held.refresh_from_db()
    payment.refresh_from_db()
    assert held.status == Transaction.Status.CANCELED
    assert payment.amount_awaiting_approval == 0 and payment.amount_reversible == 50_000
    assert RefundApproval.objects.get(refund=held).status == "expired"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.REFUND_EXPIRE).count() == 2
    assert gateway_calls("refund") == []


def test_an_expired_refund_cannot_be_approved_even_before_the_sweeper_ran(
    merchant, agent, merchant_admin, threshold
):
    payment = PaymentFactory(merchant=merchant, amount=50_000)
    held = refund(payment, agent, amount=30_000)
    RefundApproval.objects.filter(refund=held).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(Conflict, match="expired unanswered"):
        approvals.approve_refund(
            merchant=merchant, transaction_id=held.id, actor=Actor(user=merchant_admin)
        )
    payment.refresh_from_db()
    assert payment.amount_awaiting_approval == 30_000


def test_another_merchants_refund_is_not_found(merchant, other_merchant, agent, threshold):
    payment = PaymentFactory(merchant=merchant, amount=50_000)
    held = refund(payment, agent, amount=30_000)
    outsider = UserFactory(merchant=other_merchant, role=roles.MERCHANT_ADMIN)
    with pytest.raises(approvals.NotFound):
        approvals.approve_refund(
            merchant=other_merchant, transaction_id=held.id, actor=Actor(user=outsider)
        )


def test_set_threshold_validates_audits_and_removes(merchant, merchant_admin):
    actor = Actor(user=merchant_admin)
    approvals.set_threshold(merchant=merchant, currency="EUR", amount=500, actor=actor)
    approvals.set_threshold(merchant=merchant, currency="EUR", amount=700, actor=actor)
    assert approvals.threshold_for(merchant=merchant, currency="EUR").amount == 700
    with pytest.raises(ValidationFailed):
        approvals.set_threshold(merchant=merchant, currency="EUR", amount=-1, actor=actor)
    approvals.set_threshold(merchant=merchant, currency="EUR", amount=None, actor=actor)
    assert approvals.threshold_for(merchant=merchant, currency="EUR") is None
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.APPROVAL_THRESHOLD_SET)
    assert [e.outcome for e in entries.order_by("created_at", "id")] == [
        "succeeded",
        "succeeded",
        "refused",
        "succeeded",
    ]


def test_constraint_forbids_more_awaiting_than_refundable(merchant):
    from django.db import IntegrityError, transaction

    payment = PaymentFactory(merchant=merchant, amount=1000)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(id=payment.id).update(amount_awaiting_approval=1001)
