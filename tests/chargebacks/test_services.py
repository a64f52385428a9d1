"""SPEC 6 through the service layer: recording a chargeback, with its blacklist and
restrictions, in one transaction or not at all."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chargebacks import services
from chargebacks.models import Chargeback
from core.actors import SYSTEM, Actor
from core.errors import Conflict, InvalidRequest, NotFound, ValidationFailed
from customers import services as customer_services
from customers.models import BlacklistEntry, Customer
from customers.services import CustomerRestricted
from payments import services as payment_services
from payments.models import Payment, Transaction
from subscriptions import services as subscription_services
from subscriptions.models import Subscription
from tests.factories import CustomerFactory, MerchantFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def record(payment, **kwargs):
    kwargs.setdefault("actor", SYSTEM)
    return services.record_chargeback(merchant=payment.merchant, payment_id=payment.id, **kwargs)


def snapshot(payment: Payment, customer: Customer | None) -> tuple:
    row = Payment.objects.values().get(id=payment.id)
    row.pop("updated_at")
    return (
        row,
        list(Transaction.objects.filter(payment=payment).values()),
        Customer.objects.values().get(id=customer.id) if customer else None,
        list(Chargeback.objects.values()),
        list(BlacklistEntry.objects.values()),
        list(Subscription.objects.values()),
    )


@pytest.fixture
def customer(merchant):
    return CustomerFactory(merchant=merchant, email="Cardholder@Example.test")


@pytest.fixture
def payment(merchant, customer):
    return PaymentFactory(merchant=merchant, customer=customer, amount=2500)


def test_recording_marks_the_payment_and_adds_a_chargeback_transaction(payment, agent):
    before = timezone.now()
    answered = record(payment, actor=Actor(user=agent))

    assert answered.is_chargebacked is True
    assert before <= answered.chargeback_recorded_at <= timezone.now()
    assert answered.display_status == "chargeback"
    entry = answered.transactions.get(type="chargeback")
    assert (entry.amount, entry.status, entry.created_by) == (2500, "succeeded", agent)
    assert entry.processed_at is not None
    assert [t.type for t in answered.transactions.all()][-1] == "chargeback"
    chargeback = Chargeback.objects.get(payment=payment)
    assert chargeback.created_by == agent and chargeback.merchant == payment.merchant
    assert chargeback.blacklisted_customer is False and chargeback.applied_restrictions == {}
    # Nothing else changes.
    answered.customer.refresh_from_db()
    assert not answered.customer.is_restricted
    assert not BlacklistEntry.objects.exists()


def test_the_chargeback_amount_is_the_captured_amount(merchant, customer):
    partly = PaymentFactory(merchant=merchant, customer=customer, amount=1000, capture=False)
    payment_services.capture_payment(
        merchant=merchant, payment_id=partly.id, actor=SYSTEM, amount=400
    )
    assert record(partly).transactions.get(type="chargeback").amount == 400


def test_an_api_key_is_kept_as_who_recorded_it(payment, api_key):
    key, _ = api_key
    record(payment, actor=Actor(api_key=key))
    assert Chargeback.objects.get().created_by_api_key == key
    assert Transaction.objects.get(type="chargeback").created_by_api_key == key


def test_a_second_chargeback_is_a_conflict_and_changes_nothing(payment, customer):
    record(payment)
    before = snapshot(payment, customer)
    with pytest.raises(Conflict) as refused:
        record(payment, blacklist_customer=True)
    assert refused.value.status == 409
    assert snapshot(payment, customer) == before


def test_another_merchants_payment_is_not_found(payment, other_merchant):
    for payment_id in (payment.id, "pay_missing"):
        with pytest.raises(NotFound):
            services.record_chargeback(merchant=other_merchant, payment_id=payment_id, actor=SYSTEM)
    payment.refresh_from_db()
    assert not payment.is_chargebacked


def test_a_failed_payment_cannot_be_chargebacked(merchant, customer):
    failed = PaymentFactory(merchant=merchant, customer=customer, amount=666)
    with pytest.raises(InvalidRequest):
        record(failed)
    assert not Chargeback.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"blacklist_customer": True}, "blacklistCustomer"),
        ({"customer_restrictions": {"restrict_mit": True}}, "customerRestrictions"),
    ],
)
def test_blacklist_or_restrictions_need_a_customer(merchant, kwargs, param):
    anonymous = PaymentFactory(merchant=merchant)
    assert anonymous.customer is None
    with pytest.raises(ValidationFailed) as refused:
        record(anonymous, **kwargs)
    assert refused.value.param == param
    anonymous.refresh_from_db()
    assert not anonymous.is_chargebacked
    assert not Transaction.objects.filter(type="chargeback").exists()
    # Without them, a payment without a customer is recorded.
    assert record(anonymous).is_chargebacked


@pytest.mark.parametrize(
    ("restrictions", "param"),
    [
        ({"restrict_mit": "yes"}, "customerRestrictions.restrictMit"),
        ({"restrict_reason": "r" * 501}, "customerRestrictions.restrictReason"),
        ({"restrict_everything": True}, "customerRestrictions"),
        ("restrict", "customerRestrictions"),
    ],
)
def test_invalid_restrictions_record_nothing(payment, customer, restrictions, param):
    before = snapshot(payment, customer)
    with pytest.raises(ValidationFailed) as refused:
        record(payment, customer_restrictions=restrictions)
    assert refused.value.param == param
    assert snapshot(payment, customer) == before


def test_restrictions_apply_like_the_restrictions_endpoint(payment, customer, merchant):
    subscription = subscription_services.create_subscription(
        merchant=merchant,
        customer_id=customer.id,
        amount=1000,
        currency="USD",
        interval="month",
        actor=SYSTEM,
        current_period_end=timezone.now() + timedelta(days=5),
    )
    answered = record(
        payment,
        customer_restrictions={"restrict_mit": True, "restrict_reason": "Chargeback 2024-03-15"},
    )
    assert answered.customer.restrict_mit is True
    assert answered.customer.restrict_cit is False
    assert answered.customer.restrict_reason == "Chargeback 2024-03-15"
    assert answered.customer.is_restricted
    subscription.refresh_from_db()
    assert subscription.cancel_at_period_end
    assert Chargeback.objects.get().applied_restrictions == {
        "restrict_mit": True,
        "restrict_reason": "Chargeback 2024-03-15",
    }
    # restrictMit refuses MIT payments; CIT ones still pass.
    with pytest.raises(CustomerRestricted):
        PaymentFactory(merchant=merchant, customer=customer, initiator="MIT")
    assert PaymentFactory(merchant=merchant, customer=customer).status == "succeeded"


def test_blacklisting_blocks_the_email_at_another_merchant_in_any_case(
    payment, merchant, gateway_calls
):
    record(payment, blacklist_customer=True)

    entry = BlacklistEntry.objects.get()
    chargeback = Chargeback.objects.get()
    assert entry.email == "cardholder@example.test"
    assert entry.source == "chargeback" and entry.chargeback == chargeback
    assert chargeback.blacklisted_customer is True

    elsewhere = MerchantFactory(name="Elsewhere")
    gateway_calls_before = len(gateway_calls())
    with pytest.raises(CustomerRestricted) as refused:
        payment_services.create_payment(
            merchant=elsewhere,
            amount=1000,
            currency="USD",
            actor=SYSTEM,
            customer_email="CARDHOLDER@example.TEST",
        )
    assert refused.value.rule == "blacklisted"
    assert len(gateway_calls()) == gateway_calls_before
    assert not Payment.objects.filter(merchant=elsewhere).exists()


def test_blacklist_and_restrictions_combine(payment, customer):
    answered = record(
        payment,
        blacklist_customer=True,
        customer_restrictions={"restrict_cit": True, "restrict_mit": True},
    )
    assert answered.customer.restrict_cit and answered.customer.restrict_mit
    assert customer_services.is_email_blacklisted(customer.email)


def test_blacklisting_an_email_already_blacklisted_keeps_the_first_entry(payment, customer):
    first = customer_services.add_to_blacklist(
        email=customer.email, reason="Known fraudster", actor=SYSTEM
    )
    record(payment, blacklist_customer=True)
    assert list(BlacklistEntry.objects.all()) == [first]
    assert Chargeback.objects.get().blacklisted_customer is True


def test_a_failure_halfway_leaves_nothing_recorded(payment, customer, monkeypatch):
    before = snapshot(payment, customer)
    calls = []

    def broken_blacklist(**kwargs):
        calls.append(kwargs)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(customer_services, "add_to_blacklist", broken_blacklist)
    with pytest.raises(RuntimeError):
        record(
            payment,
            blacklist_customer=True,
            customer_restrictions={"restrict_mit": True, "restrict_reason": "cb"},
        )

    assert len(calls) == 1  # it failed after the payment, transaction and restrictions
    assert snapshot(payment, customer) == before
    payment.refresh_from_db()
    assert not payment.is_chargebacked and payment.chargeback_recorded_at is None
    assert not Chargeback.objects.exists()
    assert not Transaction.objects.filter(type="chargeback").exists()
    customer.refresh_from_db()
    assert not customer.restrict_mit


@pytest.mark.parametrize("state", ["authorized", "voided", "failed"])
def test_a_payment_that_never_moved_money_cannot_be_chargebacked(merchant, customer, state):
    """SPEC 6: the bank can only take back money that moved; nothing is recorded."""
    payment = PaymentFactory(
        merchant=merchant,
        customer=customer,
        amount=666 if state == "failed" else 2000,
        capture=False,
    )
    if state == "voided":
        payment_services.reverse_payment(merchant=merchant, payment_id=payment.id, actor=SYSTEM)
    before = snapshot(payment, customer)
    with pytest.raises(InvalidRequest, match="no money moved") as refused:
        record(payment, blacklist_customer=True)
    assert refused.value.status == 400 and refused.value.type == "invalid_request"
    assert snapshot(payment, customer) == before
    assert not Chargeback.objects.exists()


def test_a_chargebacked_payment_can_still_be_refunded(merchant, customer):
    authorized = PaymentFactory(merchant=merchant, customer=customer, amount=2000)
    record(authorized)
    refund = payment_services.reverse_payment(
        merchant=merchant, payment_id=authorized.id, actor=SYSTEM, amount=500
    )
    assert refund.type == "refund"
    authorized.refresh_from_db()
    assert authorized.amount_reversed == 500 and authorized.display_status == "chargeback"
