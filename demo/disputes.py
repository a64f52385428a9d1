"""Demo disputes: one in every state (SPEC 10), one of them overdue, made through the
services like a person would. Safe to run again: a state already present is skipped."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from chargebacks import services
from chargebacks.models import Dispute
from chargebacks.services import DisputeTerms
from core.actors import Actor
from merchants.models import Merchant, User
from payments.models import Payment


def _terms(category: str, network: str, code: str) -> DisputeTerms:
    return DisputeTerms(reason_category=category, network=network, reason_code=code)


# (what it shows, the dispute's terms, days to the deadline, the steps after opening)
PLANS = [
    ("needs_response", _terms("product_not_received", "visa", "13.1"), 9, []),
    ("overdue", _terms("fraudulent", "mastercard", "4837"), -3, []),
    ("under_review", _terms("product_unacceptable", "visa", "13.3"), 6, ["submit"]),
    ("won", _terms("duplicate", "amex", "P08"), 4, ["submit", "won"]),
    ("lost", _terms("subscription_canceled", "discover", "4541"), 5, ["submit", "lost"]),
    ("accepted", _terms("credit_not_processed", "visa", "13.6"), 8, ["accept"]),
]
EVIDENCE = {
    "product_description": "Wireless headphones, order shipped the day after purchase.",
    "shipping_tracking_number": "1Z999AA10123456784",
    "customer_communication": "The customer confirmed delivery by email two days later.",
}


def _present(merchant: Merchant, state: str) -> bool:
    disputes = Dispute.objects.for_merchant(merchant)
    if state == "overdue":
        return disputes.overdue().exists()
    if state == "needs_response":
        return disputes.filter(
            status=state, evidence_due_by__gte=timezone.now(), reason_code__gt=""
        ).exists()
    return disputes.filter(status=state).exists()


def seed_dispute_demo(*, merchant: Merchant, agent_user: User, admin_user: User) -> int:
    """Open the disputes missing from PLANS on captured payments that have none;
    answers how many were opened."""
    agent, admin = Actor(user=agent_user), Actor(user=admin_user)
    candidates = iter(
        Payment.objects.for_merchant(merchant)
        .filter(status="succeeded", is_captured=True, is_chargebacked=False, amount_reversed=0)
        .order_by("-created_at")
    )
    opened = 0
    for state, terms, days, steps in PLANS:
        if _present(merchant, state):
            continue
        payment = next(candidates, None)
        if payment is None:
            break
        due_by = timezone.now() + timedelta(days=days)
        answered = services.record_chargeback(
            merchant=merchant, payment_id=payment.id, actor=agent, evidence_due_by=due_by, **terms
        )
        dispute = answered.disputes.get()
        for step in steps:
            if step == "submit":
                services.stage_evidence(
                    merchant=merchant,
                    actor=admin,
                    dispute_id=dispute.id,
                    evidence=EVIDENCE,
                    submit=True,
                )
            elif step == "accept":
                services.accept_dispute(merchant=merchant, actor=admin, dispute_id=dispute.id)
            else:
                services.close_dispute(
                    merchant=merchant, actor=admin, dispute_id=dispute.id, outcome=step
                )
        opened += 1
    return opened
