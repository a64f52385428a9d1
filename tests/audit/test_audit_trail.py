"""The audit trail: append-only, stamped with the request's source IP, and recording
refusals although the refused service's transaction rolls back."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from audit.hooks import audited, audited_call
from audit.middleware import AuditContextMiddleware, client_ip, request_context
from audit.models import AuditEntry, AuditLogImmutable
from audit.services import record
from customers.models import Customer
from merchants import roles
from merchants.actors import SYSTEM, Actor
from merchants.errors import InvalidRequest, NotFound, ValidationFailed
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

    middleware = AuditContextMiddleware(view)
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
    """The wrapper records after the service's own transaction has rolled back."""
    customer = CustomerFactory(merchant=merchant)

    def service(*, merchant, customer_id, actor):
        with transaction.atomic():
            Customer.objects.filter(id=customer_id).update(restrict_cit=True)
            raise InvalidRequest("Refused after writing")

    wrapped = audited("customer.restrict", target_type="customer", target_id="customer_id")(service)
    with pytest.raises(InvalidRequest):
        wrapped(merchant=merchant, customer_id=customer.id, actor=SYSTEM)
    customer.refresh_from_db()
    assert customer.restrict_cit is False  # the service's write rolled back...
    entry = _actions().get()  # ...its refusal did not
    assert (entry.outcome, entry.detail, entry.target_id) == (
        "refused",
        "Refused after writing",
        customer.id,
    )


def test_the_decorator_reads_actor_merchant_and_target_from_keyword_arguments(
    merchant, merchant_admin
):
    @audited("api_key.revoke", target_type="apikey", target_id="key_id", actor="revoked_by")
    def revoke(*, merchant, key_id, revoked_by=None):
        if key_id == "missing":
            raise NotFound("No such API key")
        return None

    revoke(merchant=merchant, key_id="key_1", revoked_by=merchant_admin)
    with pytest.raises(NotFound):
        revoke(merchant=merchant, key_id="missing", revoked_by=merchant_admin)
    with pytest.raises(TypeError):
        revoke(merchant, "key_1")
    entries = list(_actions().order_by("id"))
    assert [(e.outcome, e.target_id) for e in entries] == [
        ("succeeded", "key_1"),
        ("refused", "missing"),
    ]
    assert all(e.actor_user == merchant_admin and e.merchant == merchant for e in entries)


def test_an_audit_failure_never_replaces_the_services_answer(merchant, monkeypatch, caplog):
    def broken_record(**kwargs):
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr("audit.hooks.record", broken_record)
    result = audited_call(
        "payment.capture", SYSTEM, merchant, "payment", "pay_1", lambda **kw: "captured"
    )
    assert result == "captured"
    assert "could not record an audit entry" in caplog.text


def test_secret_arguments_never_reach_the_trail(merchant):
    def create(*, merchant, raw_key, name):
        raise ValidationFailed("bad key")

    with pytest.raises(ValidationFailed):
        audited_call(
            "api_key.create",
            SYSTEM,
            merchant,
            "apikey",
            None,
            create,
            merchant=merchant,
            raw_key="sk_test_" + "S" * 30,
            name="n",
        )
    entry = _actions().get()
    assert "raw_key" not in entry.metadata["arguments"]
    assert "SSSS" not in str(entry.metadata)


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
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "audit.middleware.AuditContextMiddleware"]
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
