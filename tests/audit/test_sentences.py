"""The audit trail read by a person: one sentence per entry, amounts in their currency,
restrictions in words, a blacklisting by its email, outcomes that agree with the money."""

import re

import pytest

from audit.models import AuditEntry
from audit.sentences import describe
from chargebacks.services import record_chargeback
from core.actors import SYSTEM, Actor
from core.errors import DomainError
from customers.services import add_to_blacklist, remove_from_blacklist, update_restrictions
from merchants import roles
from merchants.services import create_api_key, revoke_api_key
from payments import services
from tests.factories import CustomerFactory, PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db

A = AuditEntry.Action
DEVELOPER_WORDS = re.compile(r"minor units|[{}]|\bTrue\b|\bFalse\b|restrict|_")
IDS = re.compile(r"\b(?:pay|cus|key|txn)_[A-Za-z0-9]+|sk_(?:test|live)_[A-Za-z0-9]*…")


def last(action: str) -> AuditEntry:
    return AuditEntry.objects.filter(action=action).order_by("-id").first()


def told(action: str) -> tuple[str, str]:
    said = describe(last(action))
    words = IDS.sub("<id>", said.text).replace("restrictions", "").replace("restricted", "")
    assert not DEVELOPER_WORDS.search(words), said.text
    return said.text, said.outcome


@pytest.fixture
def agent_actor(agent):
    return Actor(user=agent)


@pytest.fixture
def jane(merchant):
    return CustomerFactory(merchant=merchant, email="jane@example.test")


# --- payments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "amount", "shown"),
    [("USD", 1200, "$12.00"), ("JPY", 1200, "¥1,200"), ("KWD", 1200, "KWD 1.200")],
)
def test_a_refund_waiting_for_the_gateway_reads_requested_not_succeeded(
    merchant, agent_actor, jane, currency, amount, shown
):
    payment = PaymentFactory(merchant=merchant, customer=jane, amount=5000, currency=currency)
    services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=agent_actor, amount=amount
    )
    text, outcome = told(A.PAYMENT_REFUND)
    assert text == (
        f"agent@acme.test requested a refund of {shown} of {payment.id} "
        "(requested by customer), pending at the gateway"
    )
    assert outcome == "Requested"


def test_an_external_refund_reads_recorded_with_its_reason(merchant, agent_actor):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    services.reverse_payment(
        merchant=merchant,
        payment_id=payment.id,
        actor=agent_actor,
        amount=1200,
        is_external=True,
        reason="duplicate",
    )
    text, outcome = told(A.PAYMENT_REFUND_EXTERNAL)
    assert text == (
        f"agent@acme.test recorded a refund of $12.00 of {payment.id} (duplicate), "
        "not sent to the gateway"
    )
    assert outcome == "Recorded"


def test_a_void(merchant, agent_actor):
    payment = PaymentFactory(merchant=merchant, amount=4800, currency="JPY", capture=False)
    services.reverse_payment(merchant=merchant, payment_id=payment.id, actor=agent_actor)
    text, outcome = told(A.PAYMENT_VOID)
    assert text == (
        f"agent@acme.test requested a void of ¥4,800 on {payment.id} (requested by customer), "
        "pending at the gateway"
    )
    assert outcome == "Requested"


def test_a_refused_refund_says_what_was_tried_and_why(merchant, agent_actor):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    with pytest.raises(DomainError):
        services.reverse_payment(
            merchant=merchant, payment_id=payment.id, actor=agent_actor, amount=99_999
        )
    text, outcome = told(A.PAYMENT_REFUND)
    assert text == (
        f"agent@acme.test tried to refund {payment.id}: Refund amount exceeds the amount "
        "available for refund: at most $25.00 can be refunded"
    )
    assert "99999" not in text and outcome == "Refused"


@pytest.mark.parametrize(
    ("currency", "amount", "shown"),
    [("USD", 1250, "$12.50"), ("JPY", 1250, "¥1,250"), ("KWD", 1250, "KWD 1.250")],
)
def test_payment_created_captured_authorized_or_failed(merchant, currency, amount, shown):
    captured = PaymentFactory(merchant=merchant, amount=amount, currency=currency)
    assert told(A.PAYMENT_CREATE) == (f"The system charged {shown} as {captured.id}", "Captured")
    authorized = PaymentFactory(merchant=merchant, amount=amount, currency=currency, capture=False)
    assert told(A.PAYMENT_CREATE) == (
        f"The system authorized {shown} as {authorized.id}, not captured yet",
        "Authorized",
    )
    failed = PaymentFactory(merchant=merchant, amount=666, currency=currency, initiator="MIT")
    text, outcome = told(A.PAYMENT_CREATE)
    assert text.endswith(f"(recurring): payment {failed.id} failed") and outcome == "Failed"


def test_a_refused_payment_names_the_amount_and_the_rule(merchant, jane, api_key):
    update_restrictions(merchant=merchant, customer_id=jane.id, actor=SYSTEM, restrict_cit=True)
    key, _ = api_key
    with pytest.raises(DomainError):
        services.create_payment(
            merchant=merchant,
            amount=150,
            currency="KWD",
            customer_id=jane.id,
            actor=Actor(api_key=key),
        )
    text, outcome = told(A.PAYMENT_CREATE)
    assert text == (
        f"API key {key.prefix}… tried to charge KWD 0.150 to {jane.id}: Payment refused: "
        "the customer is restricted from customer-initiated payments"
    )
    assert outcome == "Refused"


def test_captures_captured_pending_or_declined(merchant, agent_actor):
    payment = PaymentFactory(merchant=merchant, amount=5000, capture=False)
    services.capture_payment(
        merchant=merchant, payment_id=payment.id, actor=agent_actor, amount=1200
    )
    assert told(A.PAYMENT_CAPTURE) == (
        f"agent@acme.test captured $12.00 of {payment.id}",
        "Captured",
    )
    waiting = PaymentFactory(merchant=merchant, amount=5000, capture=False)
    services.capture_payment(
        merchant=merchant, payment_id=waiting.id, actor=agent_actor, amount=408
    )
    assert told(A.PAYMENT_CAPTURE) == (
        f"agent@acme.test requested the capture of $4.08 of {waiting.id}, pending at the gateway",
        "Requested",
    )
    declined = PaymentFactory(merchant=merchant, amount=5000, capture=False)
    services.capture_payment(
        merchant=merchant, payment_id=declined.id, actor=agent_actor, amount=666
    )
    assert told(A.PAYMENT_CAPTURE) == (
        f"agent@acme.test tried to capture {declined.id}: the capture was declined",
        "Declined",
    )
    with pytest.raises(DomainError):
        services.capture_payment(merchant=merchant, payment_id=payment.id, actor=agent_actor)
    assert told(A.PAYMENT_CAPTURE) == (
        f"agent@acme.test tried to capture {payment.id}: "
        "Payment cannot be captured: it is already captured",
        "Refused",
    )


# --- chargebacks, restrictions, blacklist -------------------------------------------------------


def test_a_chargeback_with_restrictions_and_blacklisting_in_words(merchant, agent_actor, jane):
    payment = PaymentFactory(merchant=merchant, customer=jane, amount=2500, currency="KWD")
    record_chargeback(
        merchant=merchant,
        payment_id=payment.id,
        actor=agent_actor,
        blacklist_customer=True,
        customer_restrictions={"restrict_mit": True, "restrict_reason": "stolen card"},
    )
    text, outcome = told(A.PAYMENT_CHARGEBACK)
    assert text == (
        f"agent@acme.test recorded a chargeback of KWD 2.500 on {payment.id}, blacklisted the "
        "customer's email and restricted recurring payments (reason: stolen card)"
    )
    assert outcome == "Recorded"
    text, outcome = told(A.CUSTOMER_RESTRICT)
    assert text == (
        "agent@acme.test set the payment restrictions of jane@example.test: customer-initiated "
        "payments allowed and recurring payments restricted (reason: stolen card)"
    )
    text, outcome = told(A.BLACKLIST_ADD)
    assert text == (
        "agent@acme.test blacklisted jane@example.test at every merchant after a chargeback "
        f"(reason: Chargeback on payment {payment.id})"
    )
    assert outcome == "Blacklisted"


def test_the_blacklist_entry_is_shown_as_its_email_linked_to_the_customer(
    merchant, agent_actor, jane
):
    payment = PaymentFactory(merchant=merchant, customer=jane)
    record_chargeback(
        merchant=merchant, payment_id=payment.id, actor=agent_actor, blacklist_customer=True
    )
    said = describe(last(A.BLACKLIST_ADD))
    assert f'<a class="mono" href="/customers/{jane.id}/">jane@example.test</a>' in said.html
    assert said.text.startswith("agent@acme.test blacklisted jane@example.test ")


def test_restrictions_lifted_and_refused(merchant, agent_actor, jane, other_merchant):
    update_restrictions(
        merchant=merchant, customer_id=jane.id, actor=agent_actor, restrict_cit=False
    )
    assert told(A.CUSTOMER_RESTRICT) == (
        "agent@acme.test lifted the payment restrictions of jane@example.test",
        "Saved",
    )
    foreign = CustomerFactory(merchant=other_merchant)
    with pytest.raises(DomainError):
        update_restrictions(
            merchant=merchant, customer_id=foreign.id, actor=agent_actor, restrict_mit=True
        )
    text, outcome = told(A.CUSTOMER_RESTRICT)
    assert text.startswith(
        f"agent@acme.test tried to change the payment restrictions of {foreign.id}"
    )
    assert outcome == "Refused"


def test_blacklist_by_a_platform_admin_and_its_removal(platform_admin):
    actor = Actor(user=platform_admin)
    entry = add_to_blacklist(email="Fraud@Example.test", reason="fraud ring", actor=actor)
    assert told(A.BLACKLIST_ADD) == (
        "platform@platform.test blacklisted fraud@example.test at every merchant "
        "(reason: fraud ring)",
        "Blacklisted",
    )
    remove_from_blacklist(entry_id=entry.pk, actor=actor, reason="cleared")
    assert told(A.BLACKLIST_REMOVE) == (
        "platform@platform.test removed fraud@example.test from the blacklist",
        "Removed",
    )
    with pytest.raises(DomainError):
        add_to_blacklist(email="not an email", reason="x", actor=actor)
    assert told(A.BLACKLIST_ADD) == (
        "platform@platform.test tried to blacklist not an email: Enter a valid email address",
        "Refused",
    )


# --- keys and users --------------------------------------------------------------------------


def test_api_keys_created_and_revoked(merchant, merchant_admin, other_merchant):
    key, _ = create_api_key(merchant=merchant, name="Checkout", created_by=merchant_admin)
    assert told(A.API_KEY_CREATE) == (
        f"admin@acme.test created a test API key {key.prefix}… “Checkout”",
        "Created",
    )
    revoke_api_key(merchant=merchant, key_id=key.id, revoked_by=merchant_admin)
    assert told(A.API_KEY_REVOKE) == (
        f"admin@acme.test revoked the test API key {key.prefix}… “Checkout”",
        "Revoked",
    )
    with pytest.raises(DomainError):
        revoke_api_key(merchant=merchant, key_id="key_nope", revoked_by=merchant_admin)
    assert told(A.API_KEY_REVOKE) == (
        "admin@acme.test tried to revoke the API key key_nope: No such API key: 'key_nope'",
        "Refused",
    )


def test_role_and_access_changes(merchant):
    user = UserFactory(email="new@acme.test", merchant=merchant, role=roles.SUPPORT_AGENT)
    assert told(A.USER_ROLES_CHANGE) == (
        "The system gave new@acme.test the role Support agent",
        "Changed",
    )
    user.is_active = False
    user.save()
    assert told(A.USER_PRIVILEGES_CHANGE) == ("The system deactivated new@acme.test", "Changed")


# --- entries written before the words existed -----------------------------------------------


def test_an_old_entry_without_the_newer_keys_still_reads_as_a_sentence(merchant):
    old = AuditEntry.objects.create(
        action=A.BLACKLIST_ADD,
        actor_label="agent@acme.test",
        merchant=merchant,
        target_type="blacklistentry",
        target_id="3",
        detail="jane@example.test (chargeback): Chargeback on payment pay_1",
        metadata={"entryId": 3, "email": "jane@example.test", "source": "chargeback"},
    )
    assert describe(old).text == (
        "agent@acme.test blacklisted jane@example.test at every merchant after a chargeback"
    )
    restriction = AuditEntry.objects.create(
        action=A.CUSTOMER_RESTRICT,
        actor_label="admin@acme.test",
        merchant=merchant,
        target_type="customer",
        target_id="cus_1",
        detail="customer cus_1: restrictCit=False, restrictMit=True, reason ''",
        metadata={"customerId": "cus_1", "restrictCit": False, "restrictMit": True},
    )
    assert describe(restriction).text == (
        "admin@acme.test set the payment restrictions of cus_1: customer-initiated payments "
        "allowed and recurring payments restricted"
    )
    capture = AuditEntry.objects.create(
        action=A.PAYMENT_CAPTURE,
        actor_label="system",
        merchant=merchant,
        target_type="payment",
        target_id="pay_1",
        metadata={"paymentId": "pay_1", "amountCaptured": 500, "currency": "USD"},
    )
    assert describe(capture).text == "The system asked to capture $5.00 of pay_1"
    assert describe(capture).outcome == "Accepted"


def test_every_other_refusal_says_what_was_tried(merchant, merchant_admin, agent_actor, jane):
    authorized = PaymentFactory(merchant=merchant, amount=2500, capture=False)
    failed = PaymentFactory(merchant=merchant, amount=666)
    attempts = [
        (
            A.PAYMENT_REFUND_EXTERNAL,
            lambda: services.reverse_payment(
                merchant=merchant, payment_id=failed.id, actor=agent_actor, is_external=True
            ),
            f"agent@acme.test tried to record a refund of {failed.id}: Payment cannot be "
            "reversed: the payment failed",
        ),
        (
            A.PAYMENT_VOID,
            lambda: services.reverse_payment(
                merchant=merchant, payment_id=authorized.id, actor=agent_actor, amount=100
            ),
            f"agent@acme.test tried to void {authorized.id}: An uncaptured payment can only "
            "be voided in full: omit the amount or send the authorized amount (2500)",
        ),
        (
            A.PAYMENT_CHARGEBACK,
            lambda: record_chargeback(merchant=merchant, payment_id=failed.id, actor=agent_actor),
            f"agent@acme.test tried to record a chargeback on {failed.id}: Payment cannot be "
            "chargebacked: its authorization failed, no money moved",
        ),
        (
            A.BLACKLIST_REMOVE,
            lambda: remove_from_blacklist(entry_id=404, actor=agent_actor),
            "agent@acme.test tried to remove blacklist entry 404 from the blacklist: "
            "No such blacklist entry: '404'",
        ),
        (
            A.API_KEY_CREATE,
            lambda: create_api_key(merchant=merchant, mode="prod", created_by=merchant_admin),
            "admin@acme.test tried to create an API key: Mode must be test or live",
        ),
    ]
    for action, attempt, sentence in attempts:
        with pytest.raises(DomainError):
            attempt()
        assert told(action) == (sentence, "Refused")
