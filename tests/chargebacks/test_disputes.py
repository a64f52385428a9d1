"""SPEC 10 through the service layer: a chargeback opens a dispute; evidence, accept and
close move it, each refused from a wrong state with nothing changed, each audited."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from chargebacks import services
from chargebacks.models import Dispute
from core.actors import SYSTEM, Actor
from core.errors import Conflict, InvalidRequest, NotFound, ValidationFailed
from payments import rollup
from payments import services as payment_services
from payments.models import DailyTotals, Payment, Transaction
from tests.factories import CustomerFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def snapshot(payment: Payment) -> tuple:
    """The payment, its ledger and its disputes as rows (timestamps of the row's last
    write left out, they say nothing about money)."""
    row = Payment.objects.values().get(id=payment.id)
    row.pop("updated_at")
    disputes = list(Dispute.objects.filter(payment=payment).values())
    for dispute in disputes:
        dispute.pop("updated_at")
    return (
        row,
        list(Transaction.objects.filter(payment=payment).values()),
        disputes,
        list(DailyTotals.objects.values()),
    )


@pytest.fixture
def payment(merchant):
    return PaymentFactory(
        merchant=merchant, customer=CustomerFactory(merchant=merchant), amount=2500
    )


@pytest.fixture
def dispute(payment) -> Dispute:
    services.record_chargeback(merchant=payment.merchant, payment_id=payment.id, actor=SYSTEM)
    return Dispute.objects.get(payment=payment)


def submitted(dispute: Dispute) -> Dispute:
    return services.stage_evidence(
        merchant=dispute.merchant,
        actor=SYSTEM,
        dispute_id=dispute.id,
        evidence={"product_description": "Shipped and signed for"},
        submit=True,
    )


def close(dispute: Dispute, outcome: str) -> Dispute:
    return services.close_dispute(
        merchant=dispute.merchant, actor=SYSTEM, dispute_id=dispute.id, outcome=outcome
    )


def last_entry() -> AuditEntry:
    return AuditEntry.objects.order_by("-id").first()


# --- opening ----------------------------------------------------------------------------------


def test_recording_a_chargeback_opens_a_dispute_of_the_captured_amount(payment, agent, settings):
    settings.DISPUTE_RESPONSE_DAYS = 14
    before = timezone.now()
    answered = services.record_chargeback(
        merchant=payment.merchant, payment_id=payment.id, actor=Actor(user=agent)
    )

    dispute = Dispute.objects.get(payment=payment)
    assert (dispute.amount, dispute.currency, dispute.status) == (2500, "USD", "needs_response")
    assert (dispute.network, dispute.reason_category, dispute.reason_code) == (
        "other",
        "general",
        "",
    )
    assert before + timedelta(days=14) <= dispute.evidence_due_by
    assert dispute.evidence_due_by <= timezone.now() + timedelta(days=14)
    assert dispute.created_by == agent and dispute.chargeback == payment.chargeback
    assert not dispute.is_overdue
    assert answered.amount_disputed == 2500
    assert answered.transactions.get(type="chargeback").amount == 2500


def test_a_chargeback_with_an_amount_and_a_reason(payment):
    due = timezone.now() + timedelta(days=3)
    answered = services.record_chargeback(
        merchant=payment.merchant,
        payment_id=payment.id,
        actor=SYSTEM,
        amount=1000,
        network="visa",
        reason_code="10.4",
        reason_category="fraudulent",
        evidence_due_by=due,
    )
    dispute = Dispute.objects.get(payment=payment)
    assert (dispute.amount, dispute.network, dispute.reason_code) == (1000, "visa", "10.4")
    assert (dispute.reason_category, dispute.evidence_due_by) == ("fraudulent", due)
    assert answered.amount_disputed == 1000
    assert answered.transactions.get(type="chargeback").amount == 1000
    # The overview counts the chargeback with the disputed amount.
    totals = DailyTotals.objects.get()
    assert (totals.chargebacks, totals.chargeback_amount) == (1, 1000)


@pytest.mark.parametrize(
    ("terms", "param"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": 2501}, "amount"),
        ({"amount": True}, "amount"),
        ({"network": "diners"}, "network"),
        ({"reason_category": "angry"}, "reasonCategory"),
        ({"reason_code": "x" * 21}, "reasonCode"),
        ({"evidence_due_by": timezone.now().replace(tzinfo=None)}, "evidenceDueBy"),
    ],
)
def test_bad_dispute_terms_are_refused_and_nothing_is_recorded(payment, terms, param):
    before = snapshot(payment)
    with pytest.raises(ValidationFailed) as refused:
        services.record_chargeback(
            merchant=payment.merchant, payment_id=payment.id, actor=SYSTEM, **terms
        )
    assert refused.value.param == param
    assert snapshot(payment) == before


def test_the_amount_can_be_no_more_than_was_captured(merchant):
    partly = PaymentFactory(merchant=merchant, amount=1000, capture=False)
    payment_services.capture_payment(
        merchant=merchant, payment_id=partly.id, actor=SYSTEM, amount=400
    )
    with pytest.raises(ValidationFailed) as refused:
        services.record_chargeback(
            merchant=merchant, payment_id=partly.id, actor=SYSTEM, amount=401
        )
    assert refused.value.param == "amount" and "$4.00" in refused.value.message
    assert not Dispute.objects.exists()


def test_open_dispute_from_the_gateway_keeps_its_reference_once(merchant, other_merchant):
    first = PaymentFactory(merchant=merchant)
    second = PaymentFactory(merchant=merchant)
    elsewhere = PaymentFactory(merchant=other_merchant)
    dispute = services.open_dispute(
        merchant=merchant,
        payment_id=first.id,
        actor=SYSTEM,
        gateway_reference="du_123",
        reason_category="product_not_received",
    )
    assert dispute.gateway_reference == "du_123" and dispute.payment.is_chargebacked
    assert last_entry().action == AuditEntry.Action.PAYMENT_CHARGEBACK

    before = snapshot(second)
    with pytest.raises(Conflict):
        services.open_dispute(
            merchant=merchant, payment_id=second.id, actor=SYSTEM, gateway_reference="du_123"
        )
    assert snapshot(second) == before
    # Unique per merchant only.
    services.open_dispute(
        merchant=other_merchant, payment_id=elsewhere.id, actor=SYSTEM, gateway_reference="du_123"
    )


def test_an_uncaptured_payment_opens_no_dispute(merchant):
    authorized = PaymentFactory(merchant=merchant, capture=False)
    with pytest.raises(InvalidRequest):
        services.open_dispute(merchant=merchant, payment_id=authorized.id, actor=SYSTEM)
    assert not Dispute.objects.exists()


# --- evidence ---------------------------------------------------------------------------------


def test_evidence_is_merged_then_submitted_once(dispute, agent):
    actor = Actor(user=agent)
    services.stage_evidence(
        merchant=dispute.merchant,
        actor=actor,
        dispute_id=dispute.id,
        evidence={"product_description": "A lamp", "refund_policy": "30 days"},
    )
    staged = services.stage_evidence(
        merchant=dispute.merchant,
        actor=actor,
        dispute_id=dispute.id,
        evidence={"refund_policy": "", "shipping_tracking_number": "1Z999"},
    )
    assert staged.evidence == {
        "product_description": "A lamp",
        "customer_communication": "",
        "refund_policy": "",
        "shipping_tracking_number": "1Z999",
        "uncategorized_text": "",
    }
    assert staged.status == "needs_response" and staged.evidence_submitted_at is None
    assert last_entry().action == AuditEntry.Action.DISPUTE_EVIDENCE

    done = services.stage_evidence(
        merchant=dispute.merchant, actor=actor, dispute_id=dispute.id, evidence={}, submit=True
    )
    assert done.status == "under_review" and done.evidence_submitted_at is not None
    assert last_entry().action == AuditEntry.Action.DISPUTE_SUBMIT
    assert done.payment.amount_disputed == 2500

    before = snapshot(dispute.payment)
    with pytest.raises(Conflict):
        services.stage_evidence(
            merchant=dispute.merchant,
            actor=actor,
            dispute_id=dispute.id,
            evidence={"product_description": "changed"},
        )
    with pytest.raises(Conflict):
        submitted(dispute)
    assert snapshot(dispute.payment) == before
    assert last_entry().outcome == AuditEntry.Outcome.REFUSED


@pytest.mark.parametrize(
    ("evidence", "param"),
    [
        ({"product_description": "x" * 20_001}, "productDescription"),
        ({"uncategorized_text": 5}, "uncategorizedText"),
        ({"files": ["dpf_1"]}, "evidence"),
        ({"customer_communication": "a\x00b"}, "customerCommunication"),
    ],
)
def test_bad_evidence_is_refused_and_nothing_is_saved(dispute, evidence, param):
    before = snapshot(dispute.payment)
    with pytest.raises(ValidationFailed) as refused:
        services.stage_evidence(
            merchant=dispute.merchant, actor=SYSTEM, dispute_id=dispute.id, evidence=evidence
        )
    assert refused.value.param == param
    assert snapshot(dispute.payment) == before


def test_evidence_of_20000_characters_is_kept_whole(dispute):
    text = "é" * 20_000
    staged = services.stage_evidence(
        merchant=dispute.merchant,
        actor=SYSTEM,
        dispute_id=dispute.id,
        evidence={"uncategorized_text": text},
    )
    assert staged.uncategorized_text == text


def test_submitting_nothing_is_refused(dispute):
    before = snapshot(dispute.payment)
    with pytest.raises(ValidationFailed) as refused:
        services.stage_evidence(
            merchant=dispute.merchant, actor=SYSTEM, dispute_id=dispute.id, evidence={}, submit=True
        )
    assert refused.value.param == "submit"
    assert snapshot(dispute.payment) == before


def test_evidence_cannot_be_submitted_past_the_deadline(dispute):
    Dispute.objects.filter(pk=dispute.pk).update(
        evidence_due_by=timezone.now() - timedelta(hours=1)
    )
    dispute.refresh_from_db()
    assert dispute.is_overdue
    before = snapshot(dispute.payment)
    with pytest.raises(Conflict) as refused:
        submitted(dispute)
    assert "deadline" in refused.value.message
    assert snapshot(dispute.payment) == before


# --- accept and close -------------------------------------------------------------------------


def test_accepting_gives_up_and_keeps_the_amount_disputed(dispute):
    accepted = services.accept_dispute(
        merchant=dispute.merchant, actor=SYSTEM, dispute_id=dispute.id
    )
    assert accepted.status == "accepted" and accepted.outcome_recorded_at is not None
    assert accepted.payment.amount_disputed == 2500
    assert not accepted.payment.transactions.filter(type="chargeback_reversal").exists()
    assert last_entry().action == AuditEntry.Action.DISPUTE_ACCEPT

    before = snapshot(dispute.payment)
    for attempt in (
        lambda: services.accept_dispute(
            merchant=dispute.merchant, actor=SYSTEM, dispute_id=dispute.id
        ),
        lambda: submitted(dispute),
        lambda: close(dispute, "won"),
        lambda: close(dispute, "lost"),
    ):
        with pytest.raises(Conflict):
            attempt()
    assert snapshot(dispute.payment) == before


def test_an_accepted_dispute_under_review_cannot_be_accepted(dispute):
    submitted(dispute)
    before = snapshot(dispute.payment)
    with pytest.raises(Conflict):
        services.accept_dispute(merchant=dispute.merchant, actor=SYSTEM, dispute_id=dispute.id)
    assert snapshot(dispute.payment) == before


def test_a_won_dispute_gives_the_amount_back(dispute):
    submitted(dispute)
    won = close(dispute, "won")

    assert won.status == "won" and won.outcome_recorded_at is not None
    payment = Payment.objects.get(pk=dispute.payment_id)
    assert payment.amount_disputed == 0
    reversal = payment.transactions.get(type="chargeback_reversal")
    assert (reversal.amount, reversal.status) == (2500, "succeeded")
    assert payment.is_chargebacked  # section 6: the chargeback stays recorded
    totals = DailyTotals.objects.get()
    assert (totals.chargebacks, totals.chargeback_amount) == (1, 0)
    # The counters agree with a rebuild from the ledger.
    rebuilt = rollup.totals_from_payments()[(totals.merchant_id, totals.day, totals.currency)]
    assert {name: rebuilt.get(name, 0) for name in DailyTotals.COUNTERS} == {
        name: getattr(totals, name) for name in DailyTotals.COUNTERS
    }
    entry = last_entry()
    assert entry.action == AuditEntry.Action.DISPUTE_CLOSE
    assert entry.metadata["status"] == "won"

    before = snapshot(payment)
    with pytest.raises(Conflict):
        close(dispute, "lost")
    with pytest.raises(Conflict):
        close(dispute, "won")
    assert snapshot(payment) == before


def test_a_lost_dispute_keeps_the_amount_out(dispute):
    submitted(dispute)
    lost = close(dispute, "lost")
    assert lost.status == "lost"
    payment = Payment.objects.get(pk=dispute.payment_id)
    assert payment.amount_disputed == 2500
    assert not payment.transactions.filter(type="chargeback_reversal").exists()


def test_an_outcome_needs_the_evidence_first(dispute):
    before = snapshot(dispute.payment)
    with pytest.raises(Conflict):
        close(dispute, "won")
    with pytest.raises(Conflict):
        close(dispute, "lost")  # not overdue yet
    assert snapshot(dispute.payment) == before


def test_an_unanswered_dispute_past_its_deadline_can_be_lost_not_won(dispute):
    Dispute.objects.filter(pk=dispute.pk).update(evidence_due_by=timezone.now() - timedelta(days=1))
    before = snapshot(dispute.payment)
    with pytest.raises(Conflict):
        close(dispute, "won")
    assert snapshot(dispute.payment) == before
    assert close(dispute, "lost").status == "lost"


def test_an_unknown_outcome_is_refused(dispute):
    submitted(dispute)
    before = snapshot(dispute.payment)
    with pytest.raises(ValidationFailed) as refused:
        close(dispute, "accepted")
    assert refused.value.param == "outcome"
    assert snapshot(dispute.payment) == before


def test_a_win_after_a_partial_refund_leaves_the_counters_consistent(merchant):
    payment = PaymentFactory(merchant=merchant, amount=10_000)
    payment_services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=SYSTEM, amount=3000
    )
    services.record_chargeback(merchant=merchant, payment_id=payment.id, actor=SYSTEM, amount=7000)
    dispute = Dispute.objects.get(payment=payment)
    payment.refresh_from_db()
    assert (payment.amount_reversed, payment.amount_disputed) == (3000, 7000)

    submitted(dispute)
    close(dispute, "won")

    payment.refresh_from_db()
    assert (payment.amount_captured, payment.amount_reversed, payment.amount_disputed) == (
        10_000,
        3000,
        0,
    )
    assert payment.amount_reversible == 7000
    assert payment.transactions.get(type="chargeback_reversal").amount == 7000
    totals = DailyTotals.objects.get()
    assert (totals.refunded_amount, totals.chargeback_amount) == (3000, 0)
    assert rollup.totals_from_payments()[(merchant.id, totals.day, "USD")]["chargeback_amount"] == 0


# --- tenancy ---------------------------------------------------------------------------------


def test_another_merchants_dispute_is_not_found(dispute, other_merchant):
    before = snapshot(dispute.payment)
    for attempt in (
        lambda: services.get_dispute(merchant=other_merchant, dispute_id=dispute.id),
        lambda: services.stage_evidence(
            merchant=other_merchant, actor=SYSTEM, dispute_id=dispute.id, evidence={}
        ),
        lambda: services.accept_dispute(
            merchant=other_merchant, actor=SYSTEM, dispute_id=dispute.id
        ),
        lambda: services.close_dispute(
            merchant=other_merchant, actor=SYSTEM, dispute_id=dispute.id, outcome="won"
        ),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert snapshot(dispute.payment) == before


def test_an_existing_chargeback_gets_a_dispute_from_the_migration(payment):
    """The data migration's function, run over a chargeback recorded without one."""
    from importlib import import_module

    from django.apps import apps

    from chargebacks.models import Chargeback

    Chargeback.objects.create(merchant=payment.merchant, payment=payment)
    Payment.objects.filter(pk=payment.pk).update(is_chargebacked=True)
    Transaction.objects.create(
        merchant=payment.merchant,
        payment=payment,
        type="chargeback",
        amount=2500,
        status="succeeded",
    )
    migration = import_module("chargebacks.migrations.0004_chargebacks_get_disputes")
    migration.open_disputes(apps, None)
    migration.open_disputes(apps, None)  # once only

    dispute = Dispute.objects.get(payment=payment)
    assert (dispute.amount, dispute.status, dispute.chargeback.payment_id) == (
        2500,
        "needs_response",
        payment.id,
    )
    payment.refresh_from_db()
    assert payment.amount_disputed == 2500


def test_the_gateways_decision_is_recorded_on_a_dispute_still_needing_a_response(dispute):
    won = services.close_dispute(
        merchant=dispute.merchant,
        actor=SYSTEM,
        dispute_id=dispute.id,
        outcome="won",
        reported_by_gateway=True,
    )
    assert won.status == "won" and won.evidence_submitted_at is None
    assert Payment.objects.get(pk=dispute.payment_id).amount_disputed == 0
    with pytest.raises(Conflict):
        services.close_dispute(
            merchant=dispute.merchant,
            actor=SYSTEM,
            dispute_id=dispute.id,
            outcome="lost",
            reported_by_gateway=True,
        )
