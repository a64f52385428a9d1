"""The Django admin (SPEC 9): every registered model loads for a superuser and for an
Auditor; the money trail cannot be deleted; the audit trail cannot be touched; API keys
are made through the service with their secret shown once."""

import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from audit.services import record
from bulk.models import BatchRow, RefundBatch
from chargebacks.models import Chargeback, Dispute, DisputeFile
from core.actors import Actor
from customers.models import BlacklistEntry
from gateway_events.models import ReceivedEvent
from merchants import roles
from merchants.models import ApiKey, IdempotencyRecord, hash_api_key
from payments import approvals
from payments.models import Payment, Transaction
from payments.services import reverse_payment
from subscriptions.models import Subscription
from tests.factories import CustomerFactory, PaymentFactory, UserFactory, make_api_key
from tests.security.helpers import secrets_in_database
from webhooks.delivery import send_delivery
from webhooks.models import Delivery
from webhooks.services import create_endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    return UserFactory(email="root@platform.test", merchant=None, is_staff=True, is_superuser=True)


@pytest.fixture
def auditor(db):
    return UserFactory(
        email="auditor@platform.test", merchant=None, is_staff=True, role=roles.AUDITOR
    )


@pytest.fixture
def one_of_everything(merchant, merchant_admin):
    """At least one row of every model the admin shows."""
    customer = CustomerFactory(merchant=merchant, email="buyer@example.test")
    create_endpoint(
        merchant=merchant, url="http://127.0.0.1:9/hooks", event_types=["payment.created"]
    )
    payment = PaymentFactory(merchant=merchant, customer=customer, amount=4200)
    send_delivery(delivery_id=Delivery.objects.get().id)  # refused at 127.0.0.1:9: an attempt
    chargeback = Chargeback.objects.create(merchant=merchant, payment=payment)
    dispute = Dispute.objects.create(
        merchant=merchant,
        payment=payment,
        chargeback=chargeback,
        amount=4200,
        currency=payment.currency,
        evidence_due_by=timezone.now() + timedelta(days=7),
    )
    DisputeFile.objects.create(
        merchant=merchant,
        dispute=dispute,
        file="disputes/receipt.pdf",
        name="receipt.pdf",
        size=10,
        content_type="application/pdf",
    )
    Subscription.objects.create(
        merchant=merchant,
        customer=customer,
        amount=900,
        currency="USD",
        interval="month",
        current_period_end=timezone.now() + timedelta(days=3),
    )
    BlacklistEntry.objects.create(email="fraud@example.test", reason="fraud")
    ReceivedEvent.objects.create(gateway="stripe", event_id="evt_1", type="charge.refund.updated")
    make_api_key(merchant, name="admin test")
    batch = RefundBatch.objects.create(
        merchant=merchant, filename="refunds.csv", created_by=merchant_admin
    )
    BatchRow.objects.create(
        batch=batch, number=1, payment_id=payment.id, outcome=BatchRow.Outcome.PENDING
    )
    IdempotencyRecord.objects.create(
        merchant=merchant,
        key="k1",
        request_method="POST",
        request_path="/api/v1/payments",
        request_body_sha256="0" * 64,
    )
    # A refund held for approval (SPEC 13), and the threshold that held it.
    approvals.set_threshold(
        merchant=merchant, currency="USD", amount=1000, actor=Actor(user=merchant_admin)
    )
    reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=Actor(user=merchant_admin), amount=2000
    )
    record(
        action="payment.refund",
        actor=None,
        merchant=merchant,
        target=payment,
        detail="refund of 100",
    )
    return payment


def _registered_models():
    return sorted(admin.site._registry, key=lambda model: model._meta.label)


def _admin_url(model, view, *args):
    # Quoted as the admin's own links are: an id holding "_24" would otherwise be read
    # back as an escaped "$" and not be found.
    args = [quote(arg) for arg in args]
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("who", ["superuser", "auditor"])
def test_every_model_page_loads(client, request, one_of_everything, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("admin:index")).status_code == 200
    for model in _registered_models():
        changelist = client.get(_admin_url(model, "changelist"))
        assert changelist.status_code == 200, f"{who}: {model._meta.label} changelist"
        obj = model._default_manager.first()
        assert obj is not None, f"make a {model._meta.label} in one_of_everything"
        change = client.get(_admin_url(model, "change", obj.pk))
        assert change.status_code == 200, f"{who}: {model._meta.label} change page"
        if hasattr(admin.site._registry[model], "history_view"):
            history = client.get(_admin_url(model, "history", obj.pk))
            assert history.status_code == 200, f"{who}: {model._meta.label} history"


def test_every_model_is_searchable_and_filterable():
    for model, model_admin in admin.site._registry.items():
        assert model_admin.search_fields, f"{model._meta.label} has no search_fields"
        if model is not Group:
            assert model_admin.list_filter, f"{model._meta.label} has no list_filter"


def test_every_app_model_is_registered():
    from django.apps import apps

    ours = {
        "merchants",
        "customers",
        "payments",
        "chargebacks",
        "gateway_events",
        "audit",
        "webhooks",
        "bulk",
    }
    missing = [
        model._meta.label
        for model in apps.get_models()
        if model._meta.app_label in ours
        and model not in admin.site._registry
        and not model._meta.label.split(".")[1].startswith("Historical")
    ]
    assert not missing, f"not in the admin: {missing}"


@pytest.mark.parametrize("model", [Payment, Transaction, Chargeback, AuditEntry])
def test_the_money_trail_cannot_be_deleted_from_the_admin(
    client, superuser, one_of_everything, model
):
    client.force_login(superuser)
    obj = model._default_manager.first()
    assert client.get(_admin_url(model, "delete", obj.pk)).status_code == 403
    assert client.post(_admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    changelist = client.get(_admin_url(model, "changelist"))
    assert b"delete_selected" not in changelist.content
    bulk = client.post(
        _admin_url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert model._default_manager.filter(pk=obj.pk).exists()


def test_money_and_ledger_fields_are_read_only(client, superuser, one_of_everything):
    client.force_login(superuser)
    payment = one_of_everything
    response = client.post(
        _admin_url(Payment, "change", payment.pk),
        {"amount": 1, "amount_captured": 1, "amount_reversed": 4200, "order_id": "x"},
    )
    assert response.status_code == 403
    payment.refresh_from_db()
    assert (payment.amount, payment.amount_captured, payment.amount_reversed) == (4200, 4200, 0)
    page = client.get(_admin_url(Payment, "change", payment.pk)).content.decode()
    # Its transactions are shown inline, read-only: no input of theirs is editable.
    for txn in payment.transactions.all():
        assert txn.id in page
    assert 'name="transactions-0-amount"' not in page
    assert 'name="amount"' not in page


def test_the_audit_trail_is_read_only_even_for_a_superuser(client, superuser, one_of_everything):
    client.force_login(superuser)
    entry = AuditEntry.objects.first()
    assert client.get(_admin_url(AuditEntry, "add")).status_code == 403
    response = client.post(_admin_url(AuditEntry, "change", entry.pk), {"detail": "rewritten"})
    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.detail == "refund of 100"


@pytest.mark.parametrize("who", ["superuser", "auditor"])
def test_an_objects_page_links_to_its_audit_trail(client, request, one_of_everything, who):
    client.force_login(request.getfixturevalue(who))
    payment = one_of_everything
    page = client.get(_admin_url(Payment, "change", payment.pk)).content.decode()
    link = re.search(r'href="([^"]*auditentry[^"]*target_id=[^"]*)"', page)
    assert link, "no audit trail link on the payment page"
    trail = client.get(link.group(1).replace("&amp;", "&"))
    assert trail.status_code == 200
    assert f"The system asked for a refund of {payment.id}" in trail.content.decode()


def test_history_cannot_be_reverted_from_the_admin(client, superuser, merchant):
    client.force_login(superuser)
    key, _ = make_api_key(merchant, name="before")
    key.revoked_at = timezone.now()
    key.save()
    first_version = key.history.earliest("history_date")
    url = reverse("admin:merchants_apikey_simple_history", args=(key.pk, first_version.history_id))
    assert client.get(url).status_code == 200
    assert client.post(url, {"name": "before"}).status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is not None


# --- API keys -----------------------------------------------------------------------------------


def test_creating_a_key_in_the_admin_shows_its_secret_once_and_stores_its_hash(
    client, superuser, merchant
):
    client.force_login(superuser)
    response = client.post(
        _admin_url(ApiKey, "add"), {"merchant": merchant.pk, "name": "checkout", "mode": "live"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    secrets_shown = re.findall(r"sk_live_[A-Za-z0-9]{20,}", page)
    assert len(set(secrets_shown)) == 1
    secret = secrets_shown[0]
    assert "no-store" in response["Cache-Control"]
    assert "messages" not in response.cookies  # not parked in a cookie either

    key = ApiKey.objects.get(name="checkout")
    assert key.merchant == merchant and key.mode == "live" and key.created_by == superuser
    assert key.key_hash == hash_api_key(secret)
    assert key.prefix == secret[: ApiKey.PREFIX_LENGTH]
    assert not secrets_in_database(), "the secret is stored somewhere"

    # Never again: not on the key's page, its list or its history.
    for url in (
        _admin_url(ApiKey, "change", key.pk),
        _admin_url(ApiKey, "changelist"),
        _admin_url(ApiKey, "history", key.pk),
    ):
        later = client.get(url)
        assert later.status_code == 200
        assert secret not in later.content.decode()
        assert key_hash_not_shown(later, key)


def key_hash_not_shown(response, key) -> bool:
    return key.key_hash not in response.content.decode()


def test_the_revoke_action_revokes_through_the_service(client, superuser, merchant):
    client.force_login(superuser)
    first, _ = make_api_key(merchant, name="one")
    second, _ = make_api_key(merchant, name="two")
    response = client.post(
        _admin_url(ApiKey, "changelist"),
        {"action": "revoke_selected_keys", "_selected_action": [first.pk, second.pk]},
    )
    assert response.status_code == 302
    for key in (first, second):
        key.refresh_from_db()
        assert key.revoked_at is not None and key.revoked_by == superuser
    # The history says who revoked it and when.
    latest = first.history.latest("history_date")
    assert latest.revoked_by_id == superuser.pk


def test_an_auditor_can_neither_create_nor_revoke_keys(client, auditor, merchant):
    client.force_login(auditor)
    key, _ = make_api_key(merchant, name="one")
    assert client.get(_admin_url(ApiKey, "add")).status_code == 403
    changelist = client.get(_admin_url(ApiKey, "changelist"))
    assert b"revoke_selected_keys" not in changelist.content
    client.post(
        _admin_url(ApiKey, "changelist"),
        {"action": "revoke_selected_keys", "_selected_action": [key.pk]},
    )
    key.refresh_from_db()
    assert key.revoked_at is None


def test_only_a_superuser_grants_superuser(client, merchant):
    staff = UserFactory(email="staff@platform.test", merchant=None, is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user"])
    )
    client.force_login(staff)
    page = client.get(_admin_url(type(staff), "change", staff.pk)).content.decode()
    assert 'name="is_superuser"' not in page
    assert 'name="user_permissions"' not in page


def test_a_user_is_added_with_an_email_and_no_username(client, superuser, merchant):
    from merchants.models import User

    client.force_login(superuser)
    assert client.get(_admin_url(User, "add")).status_code == 200
    response = client.post(
        _admin_url(User, "add"),
        {
            "email": "new.agent@acme.test",
            "merchant": merchant.pk,
            "usable_password": "true",
            "password1": "lantern-orbit-velvet-42",
            "password2": "lantern-orbit-velvet-42",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    user = User.objects.get(email="new.agent@acme.test")
    assert user.merchant == merchant and user.check_password("lantern-orbit-velvet-42")
    # A weak password is refused by the validators here too.
    weak = client.post(
        _admin_url(User, "add"),
        {
            "email": "weak@acme.test",
            "usable_password": "true",
            "password1": "password",
            "password2": "password",
        },
    )
    assert weak.status_code == 200
    assert not User.objects.filter(email="weak@acme.test").exists()
