"""Webhook endpoints in the dashboard (SPEC 11), for merchant admins: add (the secret
shown once), edit, disable and enable, delete, rotate, send a test event and see it in
the delivery log, resend. Support agents see no entry and get 403."""

import re

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from tests.dashboard.conftest import HTMX, client_for
from tests.factories import PaymentFactory
from webhooks import services as webhook_services
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db
LIST = reverse("webhooks:list")
CREATE = reverse("webhooks:create")


@pytest.fixture
def admin_client(client, merchant_admin):
    return client_for(client, merchant_admin)


def secret_in(html: str) -> str | None:
    match = re.search(r'<code id="webhook-secret" class="secret">([^<]+)</code>', html)
    return match.group(1) if match else None


def token_of(html: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def test_support_agents_have_no_webhooks(client, agent, merchant, receiver):
    endpoint, _ = webhook_services.create_endpoint(
        merchant=merchant, url=receiver.url(), event_types=["payment.created"]
    )
    client_for(client, agent)
    assert "Webhooks</a>" not in client.get(reverse("payments:list")).content.decode()
    assert client.get(LIST).status_code == 403
    assert client.get(reverse("webhooks:detail", args=[endpoint.id])).status_code == 403
    assert client.post(reverse("webhooks:delete", args=[endpoint.id])).status_code == 403


def test_adding_an_endpoint_shows_its_secret_once(admin_client, merchant, receiver):
    form = admin_client.get(CREATE, headers=HTMX).content.decode()
    assert "<dialog" in form and 'name="event_types"' in form
    data = {
        "token": token_of(form),
        "url": receiver.url(),
        "description": "Order system",
        "event_types": ["payment.created", "refund.succeeded"],
    }

    answer = admin_client.post(CREATE, data, headers=HTMX)

    assert answer["Cache-Control"].startswith("no-store") or "no-store" in answer["Cache-Control"]
    secret = secret_in(answer.content.decode())
    endpoint = Endpoint.objects.get(merchant=merchant)
    assert secret == endpoint.secret and secret.startswith("whsec_")
    assert endpoint.event_types == ["payment.created", "refund.succeeded"]
    again = admin_client.post(CREATE, data, headers=HTMX).content.decode()
    assert secret_in(again) is None and "already shown once" in again
    assert Endpoint.objects.count() == 1
    listed = admin_client.get(LIST).content.decode()
    assert receiver.url() in listed and "Order system" in listed and secret not in listed
    page = admin_client.get(reverse("webhooks:detail", args=[endpoint.id])).content.decode()
    assert secret not in page


def test_a_refused_url_is_shown_on_the_form(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    form = admin_client.get(CREATE, headers=HTMX).content.decode()
    data = {
        "token": token_of(form),
        "url": "http://127.0.0.1/hooks",
        "event_types": ["payment.created"],
    }
    answer = admin_client.post(CREATE, data, headers=HTMX).content.decode()
    assert "not a public internet address" in answer
    assert not Endpoint.objects.exists()


def confirm(client, url: str):
    token = token_of(client.get(url, headers=HTMX).content.decode())
    return client.post(url, {"token": token}, headers=HTMX)


def test_a_test_event_shows_in_the_delivery_log_and_can_be_resent(
    admin_client, merchant, receiver, django_capture_on_commit_callbacks
):
    endpoint, _ = webhook_services.create_endpoint(
        merchant=merchant, url=receiver.url(), event_types=["payment.created"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        answer = confirm(admin_client, reverse("webhooks:test", args=[endpoint.id]))
    assert answer.status_code == 204 and "deliveriesChanged" in answer["HX-Trigger"]

    log = admin_client.get(reverse("webhooks:detail", args=[endpoint.id])).content.decode()
    assert "webhook.test" in log and "Delivered" in log
    assert "ms</td>" in log and "&quot;received&quot;: true" in log
    delivery = Delivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        confirm(admin_client, reverse("webhooks:resend", args=[endpoint.id, delivery.id]))
    assert len(receiver.posts()) == 2
    assert {p.webhook_id for p in receiver.posts()} == {delivery.event_id}


def test_disable_enable_rotate_and_delete(admin_client, merchant, receiver):
    endpoint, first_secret = webhook_services.create_endpoint(
        merchant=merchant, url=receiver.url(), event_types=["payment.created"]
    )
    confirm(admin_client, reverse("webhooks:disable", args=[endpoint.id]))
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and not endpoint.is_failing
    PaymentFactory(merchant=merchant)
    assert not Delivery.objects.exists()
    confirm(admin_client, reverse("webhooks:enable", args=[endpoint.id]))
    endpoint.refresh_from_db()
    assert endpoint.is_enabled

    rotated = confirm(admin_client, reverse("webhooks:rotate", args=[endpoint.id]))
    new_secret = secret_in(rotated.content.decode())
    endpoint.refresh_from_db()
    assert new_secret == endpoint.secret != first_secret
    assert endpoint.signing_secrets() == [new_secret, first_secret]

    edit_url = reverse("webhooks:edit", args=[endpoint.id])
    token = token_of(admin_client.get(edit_url, headers=HTMX).content.decode())
    admin_client.post(
        edit_url,
        {"token": token, "url": receiver.url("/v2"), "event_types": ["refund.created"]},
        headers=HTMX,
    )
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.event_types) == (receiver.url("/v2"), ["refund.created"])

    confirm(admin_client, reverse("webhooks:delete", args=[endpoint.id]))
    assert not Endpoint.objects.exists()
    # Each change is in the audit trail, by the admin who made it, never with a secret.
    entries = AuditEntry.objects.filter(target_id=endpoint.id).order_by("created_at", "id")
    assert [(e.action, e.actor_label) for e in entries] == [
        ("webhook_endpoint.create", "system"),
        ("webhook_endpoint.disable", "admin@acme.test"),
        ("webhook_endpoint.enable", "admin@acme.test"),
        ("webhook_endpoint.rotate", "admin@acme.test"),
        ("webhook_endpoint.update", "admin@acme.test"),
        ("webhook_endpoint.delete", "admin@acme.test"),
    ]
    recorded = str([(e.detail, e.metadata) for e in AuditEntry.objects.all()])
    assert first_secret not in recorded and new_secret not in recorded


def test_another_merchants_endpoint_is_not_found(admin_client, other_merchant, receiver):
    foreign, _ = webhook_services.create_endpoint(
        merchant=other_merchant, url=receiver.url(), event_types=["payment.created"]
    )
    assert admin_client.get(reverse("webhooks:detail", args=[foreign.id])).status_code == 404
    assert admin_client.post(reverse("webhooks:delete", args=[foreign.id])).status_code == 404
    assert receiver.url() not in admin_client.get(LIST).content.decode()
