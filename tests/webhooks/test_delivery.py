"""Webhooks to the merchant (SPEC 11): the outbox, signed delivery, retries, rotation,
the endpoint disabled when every retry failed. The receiver is a real HTTP server."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from core.actors import SYSTEM
from core.errors import NotFound
from customers import services as customer_services
from payments import services as payment_services
from payments.delivery import send_pending_transaction
from payments.gateways.sandbox import REVERSAL_DECLINE_AMOUNT
from payments.models import Transaction
from tests.api.conftest import ApiClient
from tests.conftest import require_postgres, run_concurrently
from tests.factories import CustomerFactory, PaymentFactory
from webhooks import delivery as webhook_delivery
from webhooks import services as webhook_services
from webhooks.models import Attempt, Delivery, Endpoint, Event


def send_due(now=None) -> list:
    """One attempt of every due delivery, as the sweeper's tasks would make."""
    return [
        webhook_delivery.send_delivery(delivery_id=delivery_id, now=now)
        for delivery_id in webhook_delivery.due_delivery_ids(now=now)
    ]


def test_a_refund_is_sent_signed_as_refund_created_with_the_payment_as_the_api_shows_it(
    merchant, api_key, receiver, endpoint_and_secret, django_capture_on_commit_callbacks
):
    _, secret = endpoint_and_secret
    payment = PaymentFactory(merchant=merchant, amount=5000)
    receiver.received.clear()

    with django_capture_on_commit_callbacks(execute=True):
        payment_services.reverse_payment(
            merchant=merchant, payment_id=payment.id, actor=SYSTEM, amount=1200
        )

    created = [r for r in receiver.posts() if json.loads(r.body)["type"] == "refund.created"]
    assert len(created) == 1
    payload = created[0].verified_by(secret)
    assert created[0].webhook_id == payload["id"]
    assert payload["id"].startswith("evt_")
    shown = ApiClient(api_key[1]).get(f"/payments/{payment.id}").json()
    # The refund's own answer from the gateway came later; the data is the payment at
    # the moment of the event: the refund pending.
    assert payload["data"]["id"] == payment.id
    assert payload["data"]["transactions"][-1]["type"] == "refund"
    assert payload["data"]["transactions"][-1]["status"] == "pending"
    assert set(payload["data"]) == set(shown)
    event = Event.objects.get(id=payload["id"])
    assert ApiClient(api_key[1]).get(f"/events/{event.id}").json()["data"] == payload["data"]


def test_a_refund_through_the_api_answers_what_its_events_carry_as_get_shows_it(
    merchant, api_key, endpoint_and_secret
):
    payment = PaymentFactory(merchant=merchant, amount=5000)
    api = ApiClient(api_key[1])

    answer = api.post(f"/payments/{payment.id}/reverse", {"amount": 700, "isExternal": True})

    assert answer.status_code == 200
    events = Event.objects.filter(merchant=merchant, type__startswith="refund.")
    assert sorted(event.type for event in events) == ["refund.created", "refund.succeeded"]
    # The same payment, written the same way (times to the millisecond, as ninja
    # writes them) in the answer, in both events and in a later GET.
    for event in events:
        assert event.data == answer.json()
    assert api.get(f"/payments/{payment.id}").json() == answer.json()


def test_customer_and_dispute_events_carry_them_as_get_shows_them(merchant, api_key):
    payment = PaymentFactory(
        merchant=merchant, amount=5000, customer=CustomerFactory(merchant=merchant)
    )
    api = ApiClient(api_key[1])

    restricted = api.post(f"/customers/{payment.customer_id}/restrictions", {"restrictCit": True})
    recorded = api.post(f"/payments/{payment.id}/record-chargeback", {})

    assert restricted.status_code == recorded.status_code == 200
    customer_event = Event.objects.get(merchant=merchant, type="customer.restricted")
    assert customer_event.data == api.get(f"/customers/{payment.customer_id}").json()
    dispute_event = Event.objects.get(merchant=merchant, type="dispute.created")
    dispute_id = dispute_event.data["id"]
    assert dispute_event.data == api.get(f"/disputes/{dispute_id}").json()


def test_each_change_records_its_event(merchant, endpoint_and_secret):
    authorized = PaymentFactory(merchant=merchant, amount=3000, capture=False)
    payment_services.capture_payment(merchant=merchant, payment_id=authorized.id, actor=SYSTEM)
    to_void = PaymentFactory(merchant=merchant, amount=3100, capture=False)
    payment_services.reverse_payment(merchant=merchant, payment_id=to_void.id, actor=SYSTEM)
    declined = PaymentFactory(merchant=merchant, amount=666)
    refunded = PaymentFactory(merchant=merchant, amount=5000)
    for amount in (1000, REVERSAL_DECLINE_AMOUNT):
        payment_services.reverse_payment(
            merchant=merchant, payment_id=refunded.id, actor=SYSTEM, amount=amount
        )
    # The gateway's answers (a task's work after commit).
    for pending in Transaction.objects.filter(status="pending"):
        send_pending_transaction(transaction_id=pending.id)
    customer = CustomerFactory(merchant=merchant, email="risky@example.test")
    customer_services.update_restrictions(
        merchant=merchant, customer_id=customer.id, actor=SYSTEM, restrict_cit=True
    )
    customer_services.add_to_blacklist(email="RISKY@example.test", reason="fraud", actor=SYSTEM)

    def types_of(object_id):
        return [
            e.type for e in Event.objects.order_by("created_at", "id") if e.data["id"] == object_id
        ]

    assert types_of(authorized.id) == ["payment.created", "payment.captured"]
    assert types_of(to_void.id) == ["payment.created", "payment.voided"]
    assert types_of(declined.id) == ["payment.failed"]
    assert sorted(types_of(refunded.id)) == sorted(
        ["payment.created", "refund.created", "refund.created", "refund.succeeded", "refund.failed"]
    )
    assert types_of(customer.id) == ["customer.restricted", "customer.blacklisted"]
    blacklisted = Event.objects.get(type="customer.blacklisted")
    assert blacklisted.data["isBlacklisted"] is True and blacklisted.data["restrictCit"] is True
    # One delivery per event to the one endpoint, which subscribed to everything.
    assert Delivery.objects.count() == Event.objects.count()


def test_a_change_that_rolls_back_emits_nothing(
    merchant, receiver, endpoint_and_secret, django_capture_on_commit_callbacks
):
    payment = PaymentFactory(merchant=merchant, amount=5000)
    before = Event.objects.count()
    receiver.received.clear()

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        payment_services.reverse_payment(
            merchant=merchant, payment_id=payment.id, actor=SYSTEM, amount=1000
        )
        raise RuntimeError("something after the refund failed")

    assert Event.objects.count() == before
    assert not Delivery.objects.filter(event__type="refund.created").exists()
    assert callbacks == []
    assert receiver.received == []


def test_only_subscribed_enabled_endpoints_get_a_delivery(merchant, other_merchant, receiver):
    webhook_services.create_endpoint(
        merchant=merchant, url=receiver.url("/refunds"), event_types=["refund.created"]
    )
    disabled, _ = webhook_services.create_endpoint(
        merchant=merchant, url=receiver.url("/off"), event_types=["payment.created"]
    )
    webhook_services.set_endpoint_enabled(merchant=merchant, endpoint_id=disabled.id, enabled=False)
    webhook_services.create_endpoint(
        merchant=other_merchant, url=receiver.url("/foreign"), event_types=["payment.created"]
    )

    PaymentFactory(merchant=merchant)

    assert not Delivery.objects.exists()
    assert Event.objects.filter(merchant=merchant, type="payment.created").count() == 1


def test_a_receiver_that_fails_three_times_then_succeeds_gets_the_event_with_one_webhook_id(
    merchant, receiver, endpoint_and_secret
):
    _, secret = endpoint_and_secret
    receiver.statuses = [500, 503, 404, 204]
    PaymentFactory(merchant=merchant)
    delivery = Delivery.objects.get()
    now = timezone.now()
    waits = []

    for expected in ("pending", "pending", "pending", "succeeded"):
        assert send_due(now) == [expected]
        delivery.refresh_from_db()
        if delivery.next_attempt_at:
            waits.append(delivery.next_attempt_at - now)
            now = delivery.next_attempt_at
        # Nothing is due before its time: a second sweep at the same instant sends nothing.
        assert send_due(now - timedelta(seconds=1)) == []

    posts = receiver.posts()
    assert len(posts) == 4
    assert {p.webhook_id for p in posts} == {delivery.event_id}
    for post in posts:
        assert post.verified_by(secret)["id"] == delivery.event_id
    attempts = list(Attempt.objects.filter(delivery=delivery).order_by("number"))
    assert [(a.number, a.status_code, a.succeeded) for a in attempts] == [
        (1, 500, False),
        (2, 503, False),
        (3, 404, False),
        (4, 204, True),
    ]
    # The answer is kept up to 1 KB, the latency of each attempt too.
    assert all(len(a.response_body.encode()) <= 1024 for a in attempts)
    assert attempts[0].response_body.startswith('{"received": true, "status": 500}')
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 4)
    # Backoff: 5 seconds, then 5 minutes, then 30 minutes between attempts.
    assert waits == [timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30)]


def test_the_retry_schedule_spans_three_days():
    total = sum(webhook_delivery.RETRY_DELAYS, timedelta())
    assert webhook_delivery.RETRY_DELAYS[:3] == (
        timedelta(seconds=5),
        timedelta(minutes=5),
        timedelta(minutes=30),
    )
    assert timedelta(days=3) <= total < timedelta(days=4)


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    merchant, receiver, endpoint_and_secret
):
    receiver.statuses = [302]
    PaymentFactory(merchant=merchant)

    assert send_due() == ["pending"]

    assert [p.path for p in receiver.received] == ["/hooks"]  # never /elsewhere
    attempt = Attempt.objects.get()
    assert (attempt.status_code, attempt.succeeded) == (302, False)
    assert "Redirects are not followed" in attempt.error


def test_when_every_retry_fails_the_endpoint_is_disabled_and_merchant_admins_see_a_banner(
    merchant, merchant_admin, agent, client, receiver, endpoint_and_secret
):
    endpoint, _ = endpoint_and_secret
    receiver.default = 500
    PaymentFactory(merchant=merchant)
    delivery = Delivery.objects.get()
    now = timezone.now()
    client.force_login(merchant_admin)
    assert "webhooks-failing-banner" not in client.get("/payments/").content.decode()

    for _ in range(webhook_delivery.MAX_ATTEMPTS):
        assert send_due(now) in (["pending"], ["failed"])
        delivery.refresh_from_db()
        now = delivery.next_attempt_at or now

    assert delivery.status == "failed"
    assert len(receiver.posts()) == webhook_delivery.MAX_ATTEMPTS == 13
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and endpoint.is_failing
    # Nothing more is sent to it: a new event waits for the endpoint to be enabled.
    PaymentFactory(merchant=merchant)
    assert not Delivery.objects.filter(status="pending").exists()
    page = client.get("/payments/").content.decode()
    assert "webhooks-failing-banner" in page and "Webhooks disabled" in page
    client.force_login(agent)
    assert "webhooks-failing-banner" not in client.get("/payments/").content.decode()
    # Enabled again, it gets what comes next.
    webhook_services.set_endpoint_enabled(merchant=merchant, endpoint_id=endpoint.id, enabled=True)
    client.force_login(merchant_admin)
    assert "webhooks-failing-banner" not in client.get("/payments/").content.decode()


def test_after_a_rotation_both_secrets_verify_for_24_hours_then_only_the_new_one(
    merchant, receiver, endpoint_and_secret
):
    endpoint, old_secret = endpoint_and_secret
    _, new_secret = webhook_services.rotate_secret(merchant=merchant, endpoint_id=endpoint.id)
    assert new_secret != old_secret and new_secret.startswith("whsec_")

    PaymentFactory(merchant=merchant)
    send_due()
    within = receiver.posts()[-1]
    assert within.verified_by(old_secret)["type"] == "payment.created"
    assert within.verified_by(new_secret)["type"] == "payment.created"
    assert len(within.headers["webhook-signature"].split(" ")) == 2

    Endpoint.objects.filter(id=endpoint.id).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    PaymentFactory(merchant=merchant)
    send_due()
    after = receiver.posts()[-1]
    assert after.verified_by(new_secret)["type"] == "payment.created"
    with pytest.raises(WebhookVerificationError):
        after.verified_by(old_secret)
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(within.body.replace(b"payment", b"pAyment"), within.headers)


def test_the_previous_secret_expires_24_hours_after_the_rotation(merchant, receiver):
    endpoint, old = webhook_services.create_endpoint(
        merchant=merchant, url=receiver.url(), event_types=["payment.created"]
    )
    rotated_at = timezone.now()
    endpoint, new = webhook_services.rotate_secret(merchant=merchant, endpoint_id=endpoint.id)
    in_23h = rotated_at + timedelta(hours=23, minutes=59)
    in_25h = rotated_at + timedelta(hours=24, minutes=1)
    assert endpoint.signing_secrets(now=in_23h) == [new, old]
    assert endpoint.signing_secrets(now=in_25h) == [new]


@pytest.mark.django_db(transaction=True)
def test_a_delivery_is_never_sent_twice_at_once(merchant, receiver):
    require_postgres()
    PaymentFactory(merchant=merchant)
    endpoint, _ = webhook_services.create_endpoint(
        merchant=merchant, url=receiver.url(), event_types=["payment.created"]
    )
    # A due delivery, as the outbox writes it (made here, so no task sends it first).
    delivery = Delivery.objects.create(event=Event.objects.get(), endpoint=endpoint)

    outcomes = run_concurrently(
        lambda _: webhook_delivery.send_delivery(delivery_id=delivery.id), 4
    )

    assert sorted(outcomes, key=str) == [None, None, None, "succeeded"], outcomes
    assert len(receiver.posts()) == 1
    assert Attempt.objects.filter(delivery=delivery).count() == 1


def test_a_resend_sends_the_same_event_again_and_keeps_the_schedule(
    merchant, receiver, endpoint_and_secret, django_capture_on_commit_callbacks
):
    endpoint, secret = endpoint_and_secret
    PaymentFactory(merchant=merchant)
    send_due()
    delivery = Delivery.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        webhook_services.resend_delivery(
            merchant=merchant, endpoint_id=endpoint.id, delivery_id=delivery.id
        )

    first, again = receiver.posts()
    assert first.webhook_id == again.webhook_id == delivery.event_id
    assert again.verified_by(secret)["id"] == delivery.event_id
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)


def test_a_test_event_goes_to_its_endpoint_only_and_not_to_the_events_api(
    merchant, api_key, receiver, django_capture_on_commit_callbacks
):
    one, secret = webhook_services.create_endpoint(
        merchant=merchant, url=receiver.url("/one"), event_types=["payment.created"]
    )
    webhook_services.create_endpoint(
        merchant=merchant, url=receiver.url("/two"), event_types=["payment.created"]
    )

    with django_capture_on_commit_callbacks(execute=True):
        webhook_services.send_test_event(merchant=merchant, endpoint_id=one.id)

    [post] = receiver.received
    assert post.path == "/one"
    assert post.verified_by(secret)["type"] == "webhook.test"
    assert ApiClient(api_key[1]).get("/events").json()["data"] == []


def test_a_foreign_endpoint_or_delivery_is_not_found(merchant, other_merchant, receiver):
    endpoint, _ = webhook_services.create_endpoint(
        merchant=merchant, url=receiver.url(), event_types=["payment.created"]
    )
    with pytest.raises(NotFound):
        webhook_services.rotate_secret(merchant=other_merchant, endpoint_id=endpoint.id)
    with pytest.raises(NotFound):
        webhook_services.delete_endpoint(merchant=other_merchant, endpoint_id=endpoint.id)
    assert Endpoint.objects.filter(id=endpoint.id).exists()


def test_the_sweeper_leaves_a_just_due_delivery_to_its_queued_task(merchant, endpoint_and_secret):
    PaymentFactory(merchant=merchant)  # its task never ran: on_commit does not fire here
    delivery = Delivery.objects.get()
    grace = timedelta(seconds=30)
    due_at = delivery.next_attempt_at

    assert (
        webhook_delivery.due_delivery_ids(now=due_at + timedelta(seconds=29), overdue_by=grace)
        == []
    )
    assert webhook_delivery.due_delivery_ids(now=due_at + grace, overdue_by=grace) == [delivery.id]


def test_metrics_count_the_webhook_backlog(client, merchant, endpoint_and_secret):
    PaymentFactory(merchant=merchant)  # its delivery stays pending: on_commit never fires here

    text = client.get("/metrics").content.decode()

    assert "backoffice_webhook_backlog 1.0" in text
