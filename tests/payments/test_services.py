"""Every rule of SPEC section 4 (and the capture rules of section 3), through the
service layer. Delivery to the gateway is covered in test_delivery.py."""

import pytest
from django.db import IntegrityError, transaction

from core.actors import SYSTEM, Actor
from core.errors import InvalidRequest, NotFound, ValidationFailed
from payments import services
from payments.models import Payment, Transaction
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db


def snapshot(payment_id: str) -> tuple[dict, list]:
    payment = Payment.objects.values().get(id=payment_id)
    payment.pop("updated_at")
    return payment, list(Transaction.objects.filter(payment_id=payment_id).values())


def reverse(payment, **kwargs):
    return services.reverse_payment(
        merchant=payment.merchant, payment_id=payment.id, actor=SYSTEM, **kwargs
    )


def assert_refused_and_unchanged(payment, error_class, **kwargs):
    before = snapshot(payment.id)
    with pytest.raises(error_class) as refused:
        reverse(payment, **kwargs)
    assert snapshot(payment.id) == before
    return refused.value


# --- rule 1: only a succeeded payment that is not fully reversed ----------------------


def test_failed_payment_cannot_be_reversed(merchant):
    payment = PaymentFactory(merchant=merchant, amount=666)  # the sandbox declines it
    assert payment.status == "failed"
    error = assert_refused_and_unchanged(payment, InvalidRequest)
    assert error.message == "Payment cannot be reversed: the payment failed"
    assert error.type == "invalid_request"


def test_fully_refunded_payment_cannot_be_reversed_again(merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    reverse(payment)
    error = assert_refused_and_unchanged(payment, InvalidRequest, amount=1)
    assert "already fully refunded" in error.message


def test_voided_payment_cannot_be_reversed_again(merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500, capture=False)
    reverse(payment)
    error = assert_refused_and_unchanged(payment, InvalidRequest)
    assert "already voided" in error.message


def test_another_merchants_payment_is_not_found(merchant, other_merchant):
    payment = PaymentFactory(merchant=other_merchant)
    before = snapshot(payment.id)
    with pytest.raises(NotFound):
        services.reverse_payment(merchant=merchant, payment_id=payment.id, actor=SYSTEM)
    assert snapshot(payment.id) == before


# --- rule 2: not captured -> void of the whole authorization ------------------------------


def test_uncaptured_payment_is_voided_in_full(merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500, capture=False)
    reversal = reverse(payment)
    payment.refresh_from_db()
    assert reversal.type == "void"
    assert reversal.amount == 2500
    assert payment.is_voided and payment.is_fully_reversed
    assert payment.amount_reversed == 2500
    assert payment.display_status == "voided"


def test_void_accepts_the_authorized_amount(merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500, capture=False)
    assert reverse(payment, amount=2500).type == "void"


def test_partial_void_is_a_validation_error_on_amount(merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500, capture=False)
    error = assert_refused_and_unchanged(payment, ValidationFailed, amount=1000)
    assert error.param == "amount"
    assert error.type == "validation_error"


def test_captured_payment_can_no_longer_be_voided(merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500, capture=False)
    services.capture_payment(merchant=merchant, payment_id=payment.id, actor=SYSTEM)
    reversal = reverse(payment)
    assert reversal.type == "refund"


# --- rule 3: captured -> refund --------------------------------------------------------


def test_refund_defaults_to_everything_still_refundable(merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    reverse(payment, amount=1000)
    reversal = reverse(payment)
    payment.refresh_from_db()
    assert reversal.type == "refund"
    assert reversal.amount == 1500
    assert payment.amount_reversed == 2500
    assert payment.is_fully_reversed
    assert payment.display_status == "refunded"


def test_refund_above_what_is_left_is_refused_with_the_spec_message(merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    reverse(payment, amount=2000)
    error = assert_refused_and_unchanged(payment, ValidationFailed, amount=501)
    assert error.param == "amount"
    assert error.message.startswith("Refund amount exceeds the amount available for refund")


def test_refund_is_bounded_by_the_captured_not_the_authorized_amount(merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500, capture=False)
    services.capture_payment(merchant=merchant, payment_id=payment.id, actor=SYSTEM, amount=1000)
    assert_refused_and_unchanged(payment, ValidationFailed, amount=1001)
    assert reverse(payment).amount == 1000


@pytest.mark.parametrize("amount", [0, -5, 1.5, "100", True])
def test_amount_must_be_a_positive_integer(merchant, amount):
    payment = PaymentFactory(merchant=merchant)
    error = assert_refused_and_unchanged(payment, ValidationFailed, amount=amount)
    assert error.param == "amount"


# --- rule 4: many partial refunds, never above captured -----------------------------------


def test_many_partial_refunds_add_up_to_at_most_the_captured_amount(merchant):
    payment = PaymentFactory(merchant=merchant, amount=1000)
    for _ in range(4):
        reverse(payment, amount=250)
    payment.refresh_from_db()
    assert payment.amount_reversed == 1000
    assert payment.transactions.filter(type__in=Transaction.REVERSAL_TYPES).count() == 4
    assert_refused_and_unchanged(payment, InvalidRequest, amount=1)


def test_the_database_refuses_an_over_refund_even_if_python_had_a_bug(merchant):
    payment = PaymentFactory(merchant=merchant, amount=1000)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(id=payment.id).update(amount_reversed=1001)


# --- rule 5: external reversals ----------------------------------------------------------


def test_external_refund_is_recorded_succeeded_and_never_sent(merchant, gateway_calls):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    reversal = reverse(payment, amount=700, is_external=True)
    payment.refresh_from_db()
    assert reversal.status == "succeeded"
    assert reversal.is_external
    assert reversal.processed_at is not None
    assert payment.amount_reversed == 700
    assert payment.amount_reversal_pending == 0
    assert gateway_calls("refund") == []


def test_external_reversal_keeps_the_amount_rules(merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    assert_refused_and_unchanged(payment, ValidationFailed, amount=2501, is_external=True)
    uncaptured = PaymentFactory(merchant=merchant, amount=2500, capture=False)
    assert_refused_and_unchanged(uncaptured, ValidationFailed, amount=100, is_external=True)
    assert reverse(uncaptured, is_external=True).type == "void"


# --- rule 6: pending reversals count at once ---------------------------------------------


def test_pending_reversal_counts_against_the_reversible_amount_at_once(merchant):
    # In this (never committed) test transaction the task is not sent: it stays pending.
    payment = PaymentFactory(merchant=merchant, amount=2500)
    reversal = reverse(payment, amount=2000)
    payment.refresh_from_db()
    assert reversal.status == "pending"
    assert payment.amount_reversed == 2000
    assert payment.amount_reversal_pending == 2000
    assert payment.amount_reversible == 500
    assert payment.display_status == "partially_refunded"
    assert_refused_and_unchanged(payment, ValidationFailed, amount=501)


def test_reversal_is_sent_only_after_commit(merchant, django_capture_on_commit_callbacks):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reverse(payment, amount=100)
    assert len(callbacks) == 1


# --- reason, note, order id, metadata, currency -------------------------------------------


def test_reason_note_order_id_and_metadata_are_kept(merchant):
    payment = PaymentFactory(merchant=merchant, order_id="ORD-1")
    reversal = reverse(
        payment, amount=100, reason="duplicate", note="charged twice", metadata={"ticket": "T-9"}
    )
    assert (reversal.reason, reversal.note, reversal.metadata) == (
        "duplicate",
        "charged twice",
        {"ticket": "T-9"},
    )
    assert reversal.order_id == "ORD-1"  # defaults to the payment's (seed 001)
    assert reverse(payment, amount=100, order_id="RMA-7").order_id == "RMA-7"
    assert reverse(payment, amount=100).reason == "requested_by_customer"


def test_reason_other_needs_a_note(merchant):
    payment = PaymentFactory(merchant=merchant)
    error = assert_refused_and_unchanged(payment, ValidationFailed, reason="other")
    assert error.param == "note"
    assert reverse(payment, reason="other", note="goodwill").reason == "other"


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"reason": "because"}, "reason"),
        ({"note": "x" * 501}, "note"),
        ({"metadata": {"k": 1}}, "metadata.k"),
        ({"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
        ({"metadata": {"k": "v" * 501}}, "metadata.k"),
        ({"metadata": ["not", "a", "dict"]}, "metadata"),
        ({"currency": "EUR"}, "currency"),
        ({"currency": "usd"}, "currency"),
        ({"order_id": "o" * 256}, "orderId"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(merchant, kwargs, param):
    payment = PaymentFactory(merchant=merchant, currency="USD")
    error = assert_refused_and_unchanged(payment, ValidationFailed, **kwargs)
    assert error.param == param


def test_currency_equal_to_the_payments_is_accepted(merchant):
    payment = PaymentFactory(merchant=merchant, currency="JPY", amount=5000)
    assert reverse(payment, amount=500, currency="JPY").amount == 500


# --- rule 7: chargebacked payments can still be reversed -------------------------------


def test_chargebacked_payment_can_still_be_refunded(merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    Payment.objects.filter(id=payment.id).update(is_chargebacked=True)
    assert reverse(payment, amount=500).type == "refund"
    payment.refresh_from_db()
    assert payment.display_status == "chargeback"


# --- who did it ---------------------------------------------------------------------------


def test_the_reversal_keeps_who_made_it(merchant, agent, api_key):
    payment = PaymentFactory(merchant=merchant)
    by_user = services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=Actor(user=agent), amount=100
    )
    by_key = services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=Actor(api_key=api_key[0]), amount=100
    )
    assert by_user.actor_label == "agent@acme.test"
    assert by_key.actor_label == f"API key {api_key[0].prefix}…"
    assert api_key[1] not in by_key.actor_label


# --- capture (SPEC 3) ----------------------------------------------------------------------


def capture(payment, **kwargs):
    return services.capture_payment(
        merchant=payment.merchant, payment_id=payment.id, actor=SYSTEM, **kwargs
    )


def test_capture_defaults_to_the_whole_authorization(merchant):
    payment = capture(PaymentFactory(merchant=merchant, amount=2500, capture=False))
    assert payment.is_captured and payment.amount_captured == 2500
    assert payment.display_status == "captured"
    assert payment.transactions.get(type="capture").status == "succeeded"


def test_capture_happens_once_only(merchant):
    payment = capture(PaymentFactory(merchant=merchant, capture=False))
    with pytest.raises(InvalidRequest, match="already captured"):
        capture(payment)


@pytest.mark.parametrize("amount", [2501, 0])
def test_capture_above_the_authorization_or_zero_is_refused(merchant, amount):
    payment = PaymentFactory(merchant=merchant, amount=2500, capture=False)
    before = snapshot(payment.id)
    with pytest.raises(ValidationFailed):
        capture(payment, amount=amount)
    assert snapshot(payment.id) == before


def test_voided_or_failed_payments_cannot_be_captured(merchant):
    voided = PaymentFactory(merchant=merchant, capture=False)
    reverse(voided)
    with pytest.raises(InvalidRequest, match="voided"):
        capture(voided)
    failed = PaymentFactory(merchant=merchant, amount=666, capture=False)
    with pytest.raises(InvalidRequest, match="failed"):
        capture(failed)


def test_declined_capture_leaves_the_authorization_uncaptured(merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500, capture=False)
    payment = capture(payment, amount=666)  # the sandbox declines this capture
    assert not payment.is_captured
    assert payment.amount_captured == 0
    assert payment.transactions.get(type="capture").failure_reason == "capture_declined"
    assert reverse(payment).type == "void"


def test_capture_still_pending_at_the_gateway_blocks_reversal(merchant, settings):
    settings.SANDBOX_GATEWAY_TIMEOUT_MS = 1
    payment = PaymentFactory(merchant=merchant, amount=2500, capture=False)
    payment = capture(payment, amount=408)  # the sandbox times out
    assert payment.is_captured
    assert payment.transactions.get(type="capture").status == "pending"
    error = assert_refused_and_unchanged(payment, InvalidRequest)
    assert "capture is still pending" in error.message


# --- create (SPEC 3) -------------------------------------------------------------------------


def test_declined_authorization_is_recorded_as_a_failed_payment(merchant):
    payment = PaymentFactory(merchant=merchant, amount=666)
    assert payment.status == "failed"
    assert payment.failure_reason == "card_declined"
    assert payment.display_status == "failed"
    assert list(payment.transactions.values_list("type", "status")) == [("authorization", "failed")]


def test_created_payment_has_an_unguessable_id_and_a_ledger(merchant):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    assert payment.id.startswith("pay_") and len(payment.id) == 28
    assert list(payment.transactions.values_list("type", "status", "amount")) == [
        ("authorization", "succeeded", 2500),
        ("capture", "succeeded", 2500),
    ]


def test_new_customer_given_by_email_is_created_with_the_payment(merchant):
    payment = services.create_payment(
        merchant=merchant,
        amount=100,
        currency="USD",
        actor=SYSTEM,
        customer_email="  New@Example.com ",
        customer_name="New",
    )
    assert payment.customer.email == "New@Example.com"
    again = services.create_payment(
        merchant=merchant,
        amount=100,
        currency="USD",
        actor=SYSTEM,
        customer_email="new@example.COM",
    )
    assert again.customer_id == payment.customer_id


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"amount": 0}, "amount"),
        ({"currency": "ZZZ"}, "currency"),
        ({"initiator": "XYZ"}, "initiator"),
        ({"customer_id": "cus_missing"}, "customerId"),
        ({"customer_email": "  "}, "customer.email"),
    ],
)
def test_invalid_payment_creates_nothing_and_calls_no_gateway(
    merchant, gateway_calls, kwargs, param
):
    arguments = {"merchant": merchant, "amount": 100, "currency": "USD", "actor": SYSTEM} | kwargs
    with pytest.raises(ValidationFailed) as refused:
        services.create_payment(**arguments)
    assert refused.value.param == param
    assert not Payment.objects.exists()
    assert gateway_calls() == []
