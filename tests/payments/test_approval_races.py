"""Races on a refund held for approval, for real: threads with their own PostgreSQL
connections, each taking the payment's row lock."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.actors import Actor
from core.errors import Conflict
from merchants import roles
from payments import approvals, services
from payments.models import RefundApproval, Transaction
from tests.conftest import require_postgres, run_concurrently
from tests.dashboard.roles import ensure_role_groups
from tests.factories import PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only():
    require_postgres()


@pytest.fixture(autouse=True)
def _roles(transactional_db):
    ensure_role_groups()  # a transactional test's flush removed the migration's groups


@pytest.fixture
def held(merchant, agent, merchant_admin):
    approvals.set_threshold(
        merchant=merchant, currency="USD", amount=1000, actor=Actor(user=merchant_admin)
    )
    payment = PaymentFactory(merchant=merchant, amount=50_000)
    return services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=Actor(user=agent), amount=30_000
    )


def test_two_admins_approving_at_once_send_it_once(merchant, merchant_admin, held, gateway_calls):
    admins = [
        merchant_admin,
        UserFactory(email="admin2@acme.test", merchant=merchant, role=roles.MERCHANT_ADMIN),
    ]

    def approve(i):
        return approvals.approve_refund(
            merchant=merchant, transaction_id=held.id, actor=Actor(user=admins[i])
        )

    results = run_concurrently(approve, 2)

    assert sum(isinstance(r, Transaction) for r in results) == 1, results
    assert sum(isinstance(r, Conflict) for r in results) == 1, results
    assert len(gateway_calls("refund")) == 1
    held.refresh_from_db()
    assert held.status == Transaction.Status.SUCCEEDED
    payment = held.payment
    payment.refresh_from_db()
    assert (payment.amount_reversed, payment.amount_awaiting_approval) == (30_000, 0)


def test_approve_racing_expiry_one_wins(merchant, merchant_admin, held, gateway_calls):
    # The sweeper's clock is past the deadline; the admin approves just before it.
    sweeper_now = timezone.now() + approvals.APPROVAL_WINDOW + timedelta(seconds=1)

    def act(i):
        if i == 0:
            return approvals.approve_refund(
                merchant=merchant, transaction_id=held.id, actor=Actor(user=merchant_admin)
            )
        return approvals.expire_refund(transaction_id=held.id, now=sweeper_now)

    approved, expired = run_concurrently(act, 2)

    held.refresh_from_db()
    payment = held.payment
    payment.refresh_from_db()
    approval = RefundApproval.objects.get(refund=held)
    if isinstance(approved, Transaction):
        assert expired is False
        assert approval.status == "approved" and held.status == "succeeded"
        assert len(gateway_calls("refund")) == 1
        assert payment.amount_reversed == 30_000
    else:
        assert isinstance(approved, Conflict) and expired is True
        assert approval.status == "expired" and held.status == "canceled"
        assert gateway_calls("refund") == []
        assert payment.amount_reversed == 0
    assert payment.amount_awaiting_approval == 0
