"""The product's real services record their own audit entries (audit.trail): every
money action leaves one entry, succeeded or refused, with who, what, how much and why."""

import re

import pytest

from audit.models import AuditEntry
from chargebacks import services as chargeback_services
from core.actors import Actor
from core.errors import DomainError
from customers import services as customer_services
from customers.models import BlacklistEntry
from merchants import services as merchant_services
from payments import services as payment_services
from tests.factories import CustomerFactory, PaymentFactory

pytestmark = pytest.mark.django_db


create_payment = payment_services.create_payment
capture_payment = payment_services.capture_payment
reverse_payment = payment_services.reverse_payment
record_chargeback = chargeback_services.record_chargeback
update_restrictions = customer_services.update_restrictions
add_to_blacklist = customer_services.add_to_blacklist
remove_from_blacklist = customer_services.remove_from_blacklist
create_api_key = merchant_services.create_api_key
revoke_api_key = merchant_services.revoke_api_key


def entries():
    return list(AuditEntry.objects.exclude(action__startswith="user.").order_by("id"))


def test_payment_lifecycle(merchant, agent):
    actor = Actor(user=agent)
    payment = create_payment(
        merchant=merchant, amount=5000, currency="USD", actor=actor, capture=False
    )
    capture_payment(merchant=merchant, payment_id=payment.id, actor=actor, amount=4000)
    reverse_payment(merchant=merchant, payment_id=payment.id, actor=actor, amount=1000)
    with pytest.raises(DomainError):
        capture_payment(merchant=merchant, payment_id=payment.id, actor=actor)
    made = entries()
    assert [(e.action, e.outcome) for e in made] == [
        ("payment.create", "succeeded"),
        ("payment.capture", "succeeded"),
        ("payment.refund", "succeeded"),
        ("payment.capture", "refused"),
    ]
    assert {e.target_id for e in made} == {payment.id}
    assert made[1].metadata["amountCaptured"] == 4000
    assert made[2].metadata["amount"] == 1000
    assert made[3].detail == "Payment cannot be captured: it is already captured"


def test_a_payment_refused_by_the_blacklist_is_recorded_with_its_rule(merchant, api_key):
    key, _ = api_key
    BlacklistEntry.objects.create(email="fraud@example.test", reason="fraud")
    with pytest.raises(customer_services.CustomerRestricted):
        create_payment(
            merchant=merchant,
            amount=700,
            currency="USD",
            actor=Actor(api_key=key),
            customer_email="fraud@example.test",
        )
    (entry,) = [e for e in entries() if e.action == "payment.create"]
    assert entry.outcome == "refused"
    assert entry.metadata["rule"] == "blacklisted"
    assert entry.metadata["arguments"]["amount"] == 700
    assert entry.actor_api_key == key


def test_chargeback_with_blacklist_and_restriction(merchant, agent):
    customer = CustomerFactory(merchant=merchant, email="buyer@example.test")
    payment = PaymentFactory(merchant=merchant, customer=customer, amount=2500)
    actor = Actor(user=agent)
    record_chargeback(
        merchant=merchant,
        payment_id=payment.id,
        actor=actor,
        blacklist_customer=True,
        customer_restrictions={"restrict_mit": True},
    )
    with pytest.raises(DomainError):
        record_chargeback(merchant=merchant, payment_id=payment.id, actor=actor)
    by_action = {(e.action, e.outcome): e for e in entries()}
    chargeback = by_action[("payment.chargeback", "succeeded")]
    assert chargeback.metadata["blacklistedCustomer"] is True
    assert "$25.00" in chargeback.detail
    assert ("payment.chargeback", "refused") in by_action
    blacklisted = by_action[("blacklist.add", "succeeded")]
    assert blacklisted.merchant == merchant  # the chargeback's merchant
    assert blacklisted.metadata["email"] == "buyer@example.test"
    assert by_action[("customer.restrict", "succeeded")].metadata["restrictMit"] is True


def test_restrictions_and_blacklist_by_hand(merchant, merchant_admin, platform_admin):
    customer = CustomerFactory(merchant=merchant)
    update_restrictions(
        merchant=merchant,
        customer_id=customer.id,
        actor=Actor(user=merchant_admin),
        restrict_cit=True,
        restrict_reason="fraud",
    )
    entry = add_to_blacklist(
        email="Someone@Example.test", reason="fraud", actor=Actor(user=platform_admin)
    )
    remove_from_blacklist(entry_id=entry.pk, actor=Actor(user=platform_admin), reason="ok")
    with pytest.raises(DomainError):
        remove_from_blacklist(entry_id=entry.pk, actor=Actor(user=platform_admin))
    made = entries()
    assert [(e.action, e.outcome, e.target_id) for e in made] == [
        ("customer.restrict", "succeeded", customer.id),
        ("blacklist.add", "succeeded", str(entry.pk)),
        ("blacklist.remove", "succeeded", str(entry.pk)),
        ("blacklist.remove", "refused", str(entry.pk)),
    ]
    assert made[0].merchant == merchant and made[1].merchant is None
    assert made[0].actor_user == merchant_admin and made[2].actor_user == platform_admin


def test_api_keys_are_audited_without_their_secret(merchant, merchant_admin):
    key, secret = create_api_key(merchant=merchant, name="ci", created_by=merchant_admin)
    revoke_api_key(merchant=merchant, key_id=key.id, revoked_by=merchant_admin)
    with pytest.raises(DomainError):
        revoke_api_key(merchant=merchant, key_id="key_unknown", revoked_by=merchant_admin)
    with pytest.raises(DomainError):
        create_api_key(merchant=merchant, raw_key="sk_live_" + "Q" * 30, mode="test")
    made = entries()
    assert [(e.action, e.outcome) for e in made] == [
        ("api_key.create", "succeeded"),
        ("api_key.revoke", "succeeded"),
        ("api_key.revoke", "refused"),
        ("api_key.create", "refused"),
    ]
    assert made[0].target_id == key.id and made[0].actor_user == merchant_admin
    trail = " ".join(f"{e.detail} {e.metadata}" for e in made)
    assert secret not in trail and "QQQQ" not in trail
    assert not re.search(r"sk_(test|live)_[A-Za-z0-9]{5,}", trail)
