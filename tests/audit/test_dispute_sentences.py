"""The disputes' audit entries read as sentences a support lead understands (SPEC 8.1)."""

import re

import pytest

from audit.models import AuditEntry
from audit.sentences import describe
from chargebacks import services
from chargebacks.models import Dispute
from core.actors import Actor
from core.errors import Conflict
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db

A = AuditEntry.Action
DEVELOPER_WORDS = re.compile(r"minor units|[{}]|\bTrue\b|\bFalse\b|_")
IDS = re.compile(r"\b(?:pay|dp)_[A-Za-z0-9]+")


def said(action: str):
    entry = AuditEntry.objects.filter(action=action).order_by("-id").first()
    sentence = describe(entry)
    assert not DEVELOPER_WORDS.search(IDS.sub("<id>", sentence.text)), sentence.text
    return sentence


def test_a_dispute_from_chargeback_to_win_in_words(merchant, agent):
    actor = Actor(user=agent)
    payment = PaymentFactory(merchant=merchant, amount=2500)
    services.record_chargeback(merchant=merchant, payment_id=payment.id, actor=actor, amount=1200)
    dispute = Dispute.objects.get(payment=payment)
    assert said(A.PAYMENT_CHARGEBACK).text == (
        f"agent@acme.test recorded a chargeback of $12.00 on {payment.id}"
    )
    services.stage_evidence(
        merchant=merchant, actor=actor, dispute_id=dispute.id, evidence={"refund_policy": "x"}
    )
    assert said(A.DISPUTE_EVIDENCE).text == (
        f"agent@acme.test saved evidence on dispute {dispute.id} of {payment.id}"
    )
    services.stage_evidence(
        merchant=merchant, actor=actor, dispute_id=dispute.id, evidence={}, submit=True
    )
    assert said(A.DISPUTE_SUBMIT).outcome == "Submitted"
    with pytest.raises(Conflict):
        services.accept_dispute(merchant=merchant, actor=actor, dispute_id=dispute.id)
    refused = said(A.DISPUTE_ACCEPT)
    assert refused.outcome == "Refused"
    assert refused.text == (
        f"agent@acme.test tried to accept dispute {dispute.id}: "
        "Dispute cannot be accepted: the dispute is already under review"
    )
    services.close_dispute(merchant=merchant, actor=actor, dispute_id=dispute.id, outcome="won")
    sentence = said(A.DISPUTE_CLOSE)
    assert sentence.text == (
        f"agent@acme.test recorded dispute {dispute.id} as won: $12.00 given back on {payment.id}"
    )
    assert f'href="/disputes/{dispute.id}/"' in sentence.html
