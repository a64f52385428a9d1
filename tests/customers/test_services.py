"""SPEC 5 through the service layer: customers, restrictions, the payment checks and the
platform-wide blacklist."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.actors import SYSTEM, Actor
from core.errors import Conflict, NotFound, ValidationFailed
from customers import selectors, services
from customers.models import BlacklistEntry, Customer
from customers.services import CustomerRestricted
from payments.models import Payment
from subscriptions import services as subscription_services
from subscriptions.models import Subscription
from tests.factories import CustomerFactory, MerchantFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def make_subscription(customer, **kwargs) -> Subscription:
    """An active subscription whose current period is already paid (no charge)."""
    kwargs.setdefault("current_period_end", timezone.now() + timedelta(days=3))
    return subscription_services.create_subscription(
        merchant=customer.merchant,
        customer_id=customer.id,
        amount=kwargs.pop("amount", 1000),
        currency=kwargs.pop("currency", "USD"),
        interval=kwargs.pop("interval", "month"),
        actor=SYSTEM,
        **kwargs,
    )


# --- create_customer -------------------------------------------------------------------


def test_create_customer_trims_the_email_and_keeps_its_case(merchant, agent):
    customer = services.create_customer(
        merchant=merchant, email="  Ada@Example.TEST ", name=" Ada ", actor=Actor(user=agent)
    )
    customer.refresh_from_db()
    assert customer.id.startswith("cus_")
    assert customer.email == "Ada@Example.TEST"
    assert customer.name == "Ada"
    assert customer.merchant == merchant
    assert customer.history.latest().history_user == agent


@pytest.mark.parametrize("email", ["", "   ", "not-an-email", "a@", None, 5, "x" * 250 + "@a.io"])
def test_create_customer_refuses_an_invalid_email(merchant, email):
    with pytest.raises(ValidationFailed) as refused:
        services.create_customer(merchant=merchant, email=email, actor=SYSTEM)
    assert refused.value.param == "email"
    assert not Customer.objects.exists()


def test_create_customer_refuses_a_long_name(merchant):
    with pytest.raises(ValidationFailed) as refused:
        services.create_customer(merchant=merchant, email="a@b.test", name="n" * 201, actor=SYSTEM)
    assert refused.value.param == "name"


def test_duplicate_email_in_another_case_is_a_conflict_naming_the_existing_customer(merchant):
    existing = services.create_customer(merchant=merchant, email="ada@example.test", actor=SYSTEM)
    with pytest.raises(Conflict) as refused:
        services.create_customer(merchant=merchant, email=" ADA@example.test", actor=SYSTEM)
    assert existing.id in refused.value.message
    assert refused.value.status == 409
    assert Customer.objects.count() == 1


def test_the_same_email_at_another_merchant_is_another_customer(merchant, other_merchant):
    mine = services.create_customer(merchant=merchant, email="ada@example.test", actor=SYSTEM)
    theirs = services.create_customer(
        merchant=other_merchant, email="ada@example.test", actor=SYSTEM
    )
    assert mine.id != theirs.id


# --- restrictions ----------------------------------------------------------------------


def test_update_restrictions_changes_only_the_fields_given(merchant, merchant_admin):
    customer = CustomerFactory(merchant=merchant, restrict_cit=True, restrict_reason="old")
    actor = Actor(user=merchant_admin)

    updated = services.update_restrictions(
        merchant=merchant, customer_id=customer.id, actor=actor, restrict_mit=True
    )
    assert (updated.restrict_cit, updated.restrict_mit, updated.restrict_reason) == (
        True,
        True,
        "old",
    )
    assert updated.is_restricted

    updated = services.update_restrictions(
        merchant=merchant, customer_id=customer.id, actor=actor, restrict_cit=False
    )
    customer.refresh_from_db()
    assert (customer.restrict_cit, customer.restrict_mit, customer.restrict_reason) == (
        False,
        True,
        "old",
    )

    services.update_restrictions(
        merchant=merchant, customer_id=customer.id, actor=actor, restrict_reason="  new  "
    )
    customer.refresh_from_db()
    assert customer.restrict_reason == "new"
    latest = customer.history.latest()
    assert latest.history_user == merchant_admin
    assert "Restrictions changed" in latest.history_change_reason


def test_update_restrictions_of_another_merchants_customer_is_not_found(merchant, other_merchant):
    foreign = CustomerFactory(merchant=other_merchant)
    for customer_id in (foreign.id, "cus_missing"):
        with pytest.raises(NotFound):
            services.update_restrictions(
                merchant=merchant, customer_id=customer_id, actor=SYSTEM, restrict_cit=True
            )
    foreign.refresh_from_db()
    assert not foreign.restrict_cit


def test_update_restrictions_refuses_a_reason_over_500_characters(merchant):
    customer = CustomerFactory(merchant=merchant)
    with pytest.raises(ValidationFailed) as refused:
        services.update_restrictions(
            merchant=merchant,
            customer_id=customer.id,
            actor=SYSTEM,
            restrict_cit=True,
            restrict_reason="r" * 501,
        )
    assert refused.value.param == "restrictReason"
    customer.refresh_from_db()
    assert not customer.restrict_cit


def test_update_restrictions_refuses_non_booleans(merchant):
    customer = CustomerFactory(merchant=merchant)
    with pytest.raises(ValidationFailed) as refused:
        services.update_restrictions(
            merchant=merchant, customer_id=customer.id, actor=SYSTEM, restrict_mit="yes"
        )
    assert refused.value.param == "restrictMit"


def test_restricting_mit_cancels_the_customers_active_subscriptions_at_period_end(merchant):
    customer = CustomerFactory(merchant=merchant)
    other = CustomerFactory(merchant=merchant)
    first, second = make_subscription(customer), make_subscription(customer, interval="week")
    untouched = make_subscription(other)

    services.update_restrictions(
        merchant=merchant, customer_id=customer.id, actor=SYSTEM, restrict_mit=True
    )

    for subscription in (first, second):
        subscription.refresh_from_db()
        assert subscription.cancel_at_period_end
        assert subscription.status == "active"  # until its period ends
    untouched.refresh_from_db()
    assert not untouched.cancel_at_period_end


def test_restricting_cit_only_leaves_subscriptions_alone(merchant):
    customer = CustomerFactory(merchant=merchant)
    subscription = make_subscription(customer)
    services.update_restrictions(
        merchant=merchant, customer_id=customer.id, actor=SYSTEM, restrict_cit=True
    )
    subscription.refresh_from_db()
    assert not subscription.cancel_at_period_end


# --- the payment checks ------------------------------------------------------------------


def test_restrict_cit_refuses_cit_payments_only(merchant, gateway_calls):
    customer = CustomerFactory(merchant=merchant, restrict_cit=True)
    with pytest.raises(CustomerRestricted) as refused:
        PaymentFactory(merchant=merchant, customer=customer, initiator="CIT")
    assert refused.value.rule == "restrict_cit"
    assert gateway_calls() == []
    mit = PaymentFactory(merchant=merchant, customer=customer, initiator="MIT")
    assert mit.status == "succeeded"


def test_restrict_mit_refuses_mit_payments_only(merchant, gateway_calls):
    customer = CustomerFactory(merchant=merchant, restrict_mit=True)
    with pytest.raises(CustomerRestricted) as refused:
        PaymentFactory(merchant=merchant, customer=customer, initiator="MIT")
    assert refused.value.rule == "restrict_mit"
    assert refused.value.status == 403
    assert gateway_calls() == []
    assert PaymentFactory(merchant=merchant, customer=customer, initiator="CIT").status == (
        "succeeded"
    )


def test_refused_payment_attempts_are_counted_on_the_customer(merchant):
    customer = CustomerFactory(merchant=merchant, restrict_cit=True)
    for _ in range(3):
        with pytest.raises(CustomerRestricted):
            PaymentFactory(merchant=merchant, customer=customer)
    PaymentFactory(merchant=merchant, customer=customer, initiator="MIT")  # allowed: not counted
    customer.refresh_from_db()
    assert customer.refused_payment_attempts == 3
    assert not Payment.objects.filter(customer=customer, initiator="CIT").exists()


def test_a_refused_payment_by_email_of_a_blacklisted_customer_is_counted(merchant):
    customer = CustomerFactory(merchant=merchant, email="Eve@Example.test")
    services.add_to_blacklist(email="eve@example.test", reason="fraud", actor=SYSTEM)
    with pytest.raises(CustomerRestricted) as refused:
        PaymentFactory(merchant=merchant, customer=customer)
    assert refused.value.rule == "blacklisted"
    customer.refresh_from_db()
    assert customer.refused_payment_attempts == 1


# --- blacklist -------------------------------------------------------------------------------


def test_blacklist_blocks_the_email_at_every_merchant_in_any_case(merchant, gateway_calls):
    elsewhere = MerchantFactory(name="Elsewhere")
    entry = services.add_to_blacklist(
        email="  Mallory@Example.TEST ", reason="Card testing", actor=SYSTEM
    )
    assert entry.email == "mallory@example.test"
    assert entry.source == "person"
    for shop in (merchant, elsewhere):
        with pytest.raises(CustomerRestricted) as refused:
            from payments import services as payment_services

            payment_services.create_payment(
                merchant=shop,
                amount=500,
                currency="USD",
                actor=SYSTEM,
                customer_email="MALLORY@example.test",
                initiator="MIT",
            )
        assert refused.value.rule == "blacklisted"
    assert gateway_calls() == []
    assert not Payment.objects.exists()
    assert not Customer.objects.exists()  # a refused payment creates nothing


def test_add_to_blacklist_records_who_added_it(platform_admin, merchant, api_key):
    by_person = services.add_to_blacklist(
        email="a@x.test", reason="r", actor=Actor(user=platform_admin)
    )
    assert by_person.added_by == platform_admin and by_person.added_by_api_key is None
    key, _ = api_key
    by_key = services.add_to_blacklist(email="b@x.test", reason="r", actor=Actor(api_key=key))
    assert by_key.added_by is None and by_key.added_by_api_key == key
    assert by_person.history.latest().history_user == platform_admin


def test_adding_a_blacklisted_email_again_answers_the_existing_entry(platform_admin):
    first = services.add_to_blacklist(email="a@x.test", reason="first", actor=SYSTEM)
    again = services.add_to_blacklist(email="A@X.test", reason="second", actor=SYSTEM)
    assert again.pk == first.pk
    assert again.reason == "first"
    assert BlacklistEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("email", "reason", "param"),
    [("nope", "r", "email"), ("a@x.test", "", "reason"), ("a@x.test", "r" * 501, "reason")],
)
def test_add_to_blacklist_validates_its_input(email, reason, param):
    with pytest.raises(ValidationFailed) as refused:
        services.add_to_blacklist(email=email, reason=reason, actor=SYSTEM)
    assert refused.value.param == param
    assert not BlacklistEntry.objects.exists()


def test_blacklisting_cancels_subscriptions_of_that_email_at_every_merchant(
    merchant, other_merchant
):
    mine = make_subscription(CustomerFactory(merchant=merchant, email="Sub@Example.test"))
    theirs = make_subscription(CustomerFactory(merchant=other_merchant, email="sub@example.TEST"))
    unrelated = make_subscription(CustomerFactory(merchant=merchant, email="ok@example.test"))

    services.add_to_blacklist(email="sub@example.test", reason="fraud", actor=SYSTEM)

    for subscription, expected in ((mine, True), (theirs, True), (unrelated, False)):
        subscription.refresh_from_db()
        assert subscription.cancel_at_period_end is expected


def test_remove_from_blacklist_is_recorded_not_erased(platform_admin, merchant):
    entry = services.add_to_blacklist(email="a@x.test", reason="r", actor=SYSTEM)
    removed = services.remove_from_blacklist(
        entry_id=entry.pk, actor=Actor(user=platform_admin), reason=" Customer proved it "
    )
    assert removed.removed_at is not None
    assert removed.removed_by == platform_admin
    assert removed.removal_reason == "Customer proved it"
    assert BlacklistEntry.objects.filter(pk=entry.pk).exists()
    assert not services.is_email_blacklisted("a@x.test")
    customer = CustomerFactory(merchant=merchant, email="a@x.test")
    assert PaymentFactory(merchant=merchant, customer=customer).status == "succeeded"

    with pytest.raises(Conflict):
        services.remove_from_blacklist(entry_id=entry.pk, actor=SYSTEM)
    with pytest.raises(NotFound):
        services.remove_from_blacklist(entry_id=999999, actor=SYSTEM)


def test_an_email_can_be_blacklisted_again_after_removal():
    entry = services.add_to_blacklist(email="a@x.test", reason="r", actor=SYSTEM)
    services.remove_from_blacklist(entry_id=entry.pk, actor=SYSTEM)
    again = services.add_to_blacklist(email="a@x.test", reason="again", actor=SYSTEM)
    assert again.pk != entry.pk
    assert services.is_email_blacklisted("A@x.test")
    assert BlacklistEntry.objects.count() == 2


# --- selectors -----------------------------------------------------------------------------


def test_get_customer_of_another_merchant_is_not_found(merchant, other_merchant):
    foreign = CustomerFactory(merchant=other_merchant)
    with pytest.raises(NotFound):
        selectors.get_customer(merchant=merchant, customer_id=foreign.id)
    assert selectors.get_customer(merchant=other_merchant, customer_id=foreign.id) == foreign


def test_list_customers_pages_newest_first_and_searches(merchant, other_merchant):
    customers = [
        CustomerFactory(merchant=merchant, email=f"user{i}@example.test") for i in range(5)
    ]
    CustomerFactory(merchant=other_merchant, email="user9@example.test")
    first = selectors.list_customers(merchant=merchant, limit=2)
    assert [c.id for c in first.items] == [customers[4].id, customers[3].id]
    assert first.has_more and first.next_cursor == customers[3].id
    rest = selectors.list_customers(merchant=merchant, limit=10, starting_after=first.next_cursor)
    assert [c.id for c in rest.items] == [c.id for c in reversed(customers[:3])]
    assert not rest.has_more and rest.next_cursor is None

    assert [c.id for c in selectors.list_customers(merchant=merchant, search="USER3").items] == [
        customers[3].id
    ]
    assert [
        c.id for c in selectors.list_customers(merchant=merchant, search=customers[1].id).items
    ] == [customers[1].id]
    assert len(selectors.list_customers(merchant=merchant, search="user").items) == 5
    with pytest.raises(ValidationFailed):
        selectors.list_customers(merchant=merchant, limit=101)


def test_blacklisted_emails_answers_in_one_query(django_assert_num_queries):
    services.add_to_blacklist(email="a@x.test", reason="r", actor=SYSTEM)
    removed = services.add_to_blacklist(email="b@x.test", reason="r", actor=SYSTEM)
    services.remove_from_blacklist(entry_id=removed.pk, actor=SYSTEM)
    with django_assert_num_queries(1):
        found = selectors.blacklisted_emails([" A@X.test", "b@x.test", "c@x.test"])
    assert found == {"a@x.test"}


def test_list_blacklist_hides_removed_entries_unless_asked():
    services.add_to_blacklist(email="keep@x.test", reason="r", actor=SYSTEM)
    gone = services.add_to_blacklist(email="gone@x.test", reason="r", actor=SYSTEM)
    services.remove_from_blacklist(entry_id=gone.pk, actor=SYSTEM)
    assert [e.email for e in selectors.list_blacklist()] == ["keep@x.test"]
    assert {e.email for e in selectors.list_blacklist(include_removed=True)} == {
        "keep@x.test",
        "gone@x.test",
    }
    assert [e.email for e in selectors.list_blacklist(search="KEEP")] == ["keep@x.test"]


@pytest.mark.parametrize(
    ("listed", "paying"),
    [
        ("x@xn--bcher-kva.de", "x@bücher.de"),
        ("x@bücher.de", "X@XN--BCHER-KVA.DE"),
        ("jane@example.com", '"jane"@example.com'),
        ('"jane"@example.com', "Jane@Example.com"),
        ("x@bu\u0308cher.de", "x@b\u00fccher.de"),  # a decomposed ü and a composed one
    ],
)
def test_a_blacklisted_address_cannot_pay_under_another_spelling(merchant, listed, paying):
    """Found by a hostile run: IDNA domains, a quoted local part and Unicode forms are one
    address; only the blacklist's one comparison form decides."""
    services.add_to_blacklist(email=listed, reason="fraud", actor=SYSTEM)
    assert services.is_email_blacklisted(paying)
    with pytest.raises(services.CustomerRestricted):
        services.check_payment_allowed(email=paying, customer=None, initiator="CIT")


def test_plus_addressing_stays_a_distinct_address(merchant):
    services.add_to_blacklist(email="jane@example.com", reason="fraud", actor=SYSTEM)
    assert not services.is_email_blacklisted("jane+shop@example.com")


def test_blacklisting_ends_the_subscriptions_of_every_spelling(merchant):
    customer = CustomerFactory(merchant=merchant, email="x@bücher.de")
    subscription = subscription_services.create_subscription(
        merchant=merchant,
        customer_id=customer.id,
        amount=500,
        currency="EUR",
        interval="month",
        actor=SYSTEM,
    )
    services.add_to_blacklist(email="x@xn--bcher-kva.de", reason="fraud", actor=SYSTEM)
    subscription.refresh_from_db()
    assert subscription.cancel_at_period_end
