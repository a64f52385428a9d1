"""The audit trail: append-only, stamped with the request's source IP, and recording
refusals although the refused service's transaction rolls back."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from audit.models import AuditEntry, AuditLogImmutable
from audit.services import record
from audit.trail import audit_trail
from core.actors import SYSTEM, Actor
from core.errors import InvalidRequest, ValidationFailed
from core.request_context import RequestContextMiddleware, client_ip, request_context
from customers.models import Customer
from merchants import roles
from payments import services as payment_services
from tests.conftest import require_postgres
from tests.factories import CustomerFactory, PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db


def _actions():
    """Entries of the actions under test (fixtures' role grants are entries too)."""
    return AuditEntry.objects.exclude(action__startswith="user.")


def _entry(merchant, **kwargs) -> AuditEntry:
    fields = {
        "action": AuditEntry.Action.PAYMENT_REFUND,
        "actor": None,
        "merchant": merchant,
        "target": ("payment", "pay_1"),
        "detail": "refund of 100",
    }
    return record(**{**fields, **kwargs})


# --- append-only ------------------------------------------------------------------------------


def test_an_entry_cannot_be_changed_or_deleted_through_the_orm(merchant):
    entry = _entry(merchant)
    entry.detail = "rewritten"
    with pytest.raises(AuditLogImmutable):
        entry.save()
    with pytest.raises(AuditLogImmutable):
        entry.delete()
    with pytest.raises(AuditLogImmutable):
        AuditEntry.objects.filter(pk=entry.pk).update(detail="rewritten")
    with pytest.raises(AuditLogImmutable):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AuditLogImmutable):
        AuditEntry.objects.bulk_update([entry], ["detail"])
    entry.refresh_from_db()
    assert entry.detail == "refund of 100"


def test_raw_sql_cannot_change_or_delete_an_entry_on_postgresql(merchant):
    require_postgres()
    entry = _entry(merchant)
    for sql in (
        "UPDATE audit_auditentry SET detail = 'rewritten' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])
    entry.refresh_from_db()
    assert entry.detail == "refund of 100"
    # Inserting stays possible, of course.
    assert _entry(merchant).pk != entry.pk


# --- who and from where -----------------------------------------------------------------------


def test_record_takes_the_source_ip_from_the_request_being_served(merchant):
    def view(request):
        _entry(merchant, actor=Actor(user=None))
        return HttpResponse("ok")

    middleware = RequestContextMiddleware(view)
    middleware(RequestFactory().post("/x", REMOTE_ADDR="203.0.113.9"))
    entry = AuditEntry.objects.get()
    assert entry.source_ip == "203.0.113.9"
    # Outside a request there is no IP (tasks, commands).
    assert _entry(merchant).source_ip is None


def test_x_forwarded_for_is_trusted_only_when_configured():
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.4"
    )
    assert client_ip(request) == "10.0.0.2"
    with override_settings(AUDIT_TRUST_X_FORWARDED_FOR=True):
        # The last hop is the one our proxy appended; the first is the client's word.
        assert client_ip(request) == "198.51.100.4"
    with override_settings(AUDIT_TRUST_X_FORWARDED_FOR=2):
        assert client_ip(request) == "6.6.6.6"
    garbage = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="nonsense")
    with override_settings(AUDIT_TRUST_X_FORWARDED_FOR=True):
        assert client_ip(garbage) == "10.0.0.2"


def test_the_actor_is_kept_as_a_link_and_as_a_label(merchant, agent, api_key):
    key, _ = api_key
    by_user = _entry(merchant, actor=Actor(user=agent))
    by_key = _entry(merchant, actor=Actor(api_key=key))
    by_system = _entry(merchant, actor=SYSTEM)
    assert (by_user.actor_user, by_user.actor_label) == (agent, agent.email)
    assert by_key.actor_api_key == key and by_key.actor_label == f"API key {key.prefix}…"
    assert by_system.actor_label == "system" and by_system.actor_user is None


def test_an_unknown_action_is_refused(merchant):
    with pytest.raises(ValueError):
        _entry(merchant, action="payment.teleport")


# --- hooks: success and refusal ---------------------------------------------------------------


def _reversal_entries():
    return _actions().filter(action__startswith="payment.").exclude(action="payment.create")


def test_a_refund_is_recorded_with_its_amounts(merchant, agent):
    payment = PaymentFactory(merchant=merchant, amount=5000)
    with request_context(ip="198.51.100.20"):
        payment_services.reverse_payment(
            merchant=merchant, payment_id=payment.id, actor=Actor(user=agent), amount=1200
        )
    entry = _reversal_entries().get()
    assert entry.action == "payment.refund" and entry.outcome == "succeeded"
    assert (entry.target_type, entry.target_id) == ("payment", payment.id)
    assert entry.metadata["amount"] == 1200 and entry.metadata["currency"] == "USD"
    assert "$12.00" in entry.detail
    assert entry.actor_user == agent and entry.source_ip == "198.51.100.20"


def test_void_and_external_refund_are_told_apart(merchant, agent):
    authorized = PaymentFactory(merchant=merchant, amount=3000, capture=False)
    captured = PaymentFactory(merchant=merchant, amount=3000)
    actor = Actor(user=agent)
    for payment, external in ((authorized, False), (captured, True)):
        payment_services.reverse_payment(
            merchant=merchant, payment_id=payment.id, actor=actor, is_external=external
        )
    actions = list(_reversal_entries().order_by("id").values_list("action", flat=True))
    assert actions == ["payment.void", "payment.refund_external"]


def test_a_refused_refund_is_recorded_although_its_transaction_rolled_back(merchant, agent):
    payment = PaymentFactory(merchant=merchant, amount=2000)
    actor = Actor(user=agent)
    with pytest.raises(ValidationFailed):
        payment_services.reverse_payment(
            merchant=merchant, payment_id=payment.id, actor=actor, amount=999_999
        )
    entry = _reversal_entries().get()
    assert entry.outcome == "refused" and entry.action == "payment.refund"
    assert "exceeds the amount available" in entry.detail
    assert entry.metadata["param"] == "amount"
    assert entry.metadata["arguments"]["amount"] == 999_999
    payment.refresh_from_db()
    assert payment.amount_reversed == 0


def test_a_payment_is_recorded_when_it_is_created(merchant):
    payment = PaymentFactory(merchant=merchant, amount=2000)
    entry = _actions().get(action="payment.create")
    assert (entry.target_id, entry.outcome) == (payment.id, "succeeded")


def test_a_refusal_inside_the_services_atomic_block_survives_its_rollback(merchant):
    """The trail records a refusal after the service's own transaction has rolled back."""
    customer = CustomerFactory(merchant=merchant)

    def service(*, customer_id):
        with (
            audit_trail(
                "customer.restrict",
                actor=SYSTEM,
                merchant=merchant,
                target=("customer", customer_id),
            ),
            transaction.atomic(),
        ):
            Customer.objects.filter(id=customer_id).update(restrict_cit=True)
            raise InvalidRequest("Refused after writing")

    with pytest.raises(InvalidRequest):
        service(customer_id=customer.id)
    customer.refresh_from_db()
    assert customer.restrict_cit is False  # the service's write rolled back...
    entry = _actions().get()  # ...its refusal did not
    assert (entry.outcome, entry.detail, entry.target_id) == (
        "refused",
        "Refused after writing",
        customer.id,
    )


def test_a_success_is_recorded_in_the_services_transaction_and_rolls_back_with_it(merchant):
    """A change and its entry commit together: a failure after `succeeded` takes both."""
    customer = CustomerFactory(merchant=merchant)
    with (
        pytest.raises(RuntimeError),
        audit_trail(
            "customer.restrict", actor=SYSTEM, merchant=merchant, target=("customer", customer.id)
        ) as trail,
        transaction.atomic(),
    ):
        Customer.objects.filter(id=customer.id).update(restrict_cit=True)
        trail.succeeded(detail="restricted")
        raise RuntimeError("the disk is full")
    entry = _actions().get()
    assert entry.outcome == "refused" and entry.detail == "Unexpected error (RuntimeError)"


def test_an_audit_failure_never_replaces_the_services_answer(merchant, monkeypatch, caplog):
    def broken_record(**kwargs):
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr("audit.trail.record", broken_record)
    with audit_trail("payment.capture", actor=SYSTEM, merchant=merchant, target=("payment", "p")):
        result = "captured"
    assert result == "captured"
    assert "could not record an audit entry" in caplog.text


def test_secret_arguments_never_reach_the_trail(merchant):
    with (
        pytest.raises(ValidationFailed),
        audit_trail(
            "api_key.create",
            actor=SYSTEM,
            merchant=merchant,
            target=("apikey", None),
            arguments={"name": "n", "note": "sk_test_" + "S" * 30},
        ),
    ):
        raise ValidationFailed("bad key")
    entry = _actions().get()
    assert "S" * 30 not in str(entry.metadata)  # only the prefix a key keeps in clear
    assert "sk_test_SSSS…" in str(entry.metadata)


# --- roles ------------------------------------------------------------------------------------


def test_role_membership_changes_are_recorded_from_either_side(merchant):
    user = UserFactory(email="someone@acme.test", merchant=merchant)
    agent_role = Group.objects.get(name=roles.SUPPORT_AGENT)
    admin_role = Group.objects.get(name=roles.MERCHANT_ADMIN)
    user.groups.add(agent_role)
    admin_role.user_set.add(user)
    user.groups.remove(agent_role)
    user.groups.clear()
    details = list(
        AuditEntry.objects.filter(action="user.roles_change")
        .order_by("id")
        .values_list("detail", flat=True)
    )
    assert details == [
        "someone@acme.test: added Support agent",
        "someone@acme.test: added Merchant admin",
        "someone@acme.test: removed Support agent",
        "someone@acme.test: removed Merchant admin",
    ]
    assert set(AuditEntry.objects.values_list("target_id", flat=True)) == {str(user.pk)}


def test_privilege_changes_are_recorded(merchant):
    user = UserFactory(email="someone@acme.test", merchant=merchant)
    user.is_superuser = True
    user.save()
    user.save(update_fields=["last_login"])  # a sign-in: not a privilege change
    entry = AuditEntry.objects.get(action="user.privileges_change")
    assert entry.metadata["changes"] == {"is_superuser": [False, True]}


def test_role_definitions_keep_a_history():
    role = Group.objects.get(name=roles.SUPPORT_AGENT)
    before = role.history.count()
    role.permissions.add(Permission.objects.get(codename="add_blacklistentry"))
    latest = role.history.latest("history_date")
    assert role.history.count() == before + 1
    codenames = set(latest.permissions.values_list("permission__codename", flat=True))
    assert "add_blacklistentry" in codenames


def test_the_request_user_is_the_actor_of_a_role_change(client, merchant, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "core.request_context.RequestContextMiddleware"]
    superuser = UserFactory(
        email="root@platform.test", merchant=None, is_staff=True, is_superuser=True
    )
    user = UserFactory(email="someone@acme.test", merchant=merchant)
    client.force_login(superuser)
    role = Group.objects.get(name=roles.SUPPORT_AGENT)
    response = client.post(
        f"/admin/merchants/user/{user.pk}/change/",
        {
            "email": user.email,
            "merchant": merchant.pk,
            "groups": [role.pk],
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
        REMOTE_ADDR="192.0.2.44",
    )
    assert response.status_code == 302, response.content[:2000]
    entry = AuditEntry.objects.get(action="user.roles_change", target_id=str(user.pk))
    assert entry.actor_user == superuser
    assert entry.source_ip == "192.0.2.44"
    assert entry.detail == "someone@acme.test: added Support agent"
