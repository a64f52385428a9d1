import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from core.errors import ValidationFailed
from merchants import roles
from merchants.models import ApiKey, Merchant, User, hash_api_key
from merchants.services import authenticate_api_key, create_api_key, revoke_api_key
from payments.models import Payment

pytestmark = pytest.mark.django_db


def test_api_keys_are_stored_hashed_with_only_a_prefix_in_clear(merchant):
    key, secret = create_api_key(merchant=merchant, name="checkout")
    assert secret.startswith("sk_test_") and len(secret) == len("sk_test_") + 32
    stored = ApiKey.objects.values().get(id=key.id)
    assert secret not in str(stored)
    assert stored["prefix"] == secret[:12]
    assert stored["key_hash"] == hash_api_key(secret)


def test_revoked_unknown_and_malformed_keys_do_not_authenticate(merchant):
    key, secret = create_api_key(merchant=merchant)
    assert authenticate_api_key(secret) == key
    assert authenticate_api_key(secret + "x") is None
    assert authenticate_api_key("Bearer " + secret) is None
    assert authenticate_api_key("") is None
    revoke_api_key(merchant=merchant, key_id=key.id)
    assert authenticate_api_key(secret) is None


def test_a_given_demo_key_must_look_like_a_key(merchant):
    with pytest.raises(ValidationFailed):
        create_api_key(merchant=merchant, raw_key="short")
    with pytest.raises(ValidationFailed):
        create_api_key(merchant=merchant, raw_key="sk_live_" + "a" * 30)  # mode is test


def test_roles_are_groups_with_deny_by_default_permissions(agent, merchant_admin, platform_admin):
    assert agent.has_perm("payments.reverse_payment")
    assert agent.has_perm("chargebacks.add_chargeback")
    assert not agent.has_perm("customers.change_restrictions")
    assert not agent.has_perm("merchants.manage_api_keys")
    assert merchant_admin.has_perm("customers.change_restrictions")
    assert merchant_admin.has_perm("merchants.manage_api_keys")
    assert not merchant_admin.has_perm("customers.add_blacklistentry")
    assert platform_admin.has_perm("customers.add_blacklistentry")
    assert not platform_admin.has_perm("payments.reverse_payment")
    assert set(Group.objects.values_list("name", flat=True)) >= {
        roles.SUPPORT_AGENT,
        roles.MERCHANT_ADMIN,
        roles.PLATFORM_ADMIN,
        roles.AUDITOR,
    }


def test_users_sign_in_with_their_email_in_any_letter_case(merchant):
    User.objects.create_user(email="Sam@Shop.test", password="pw-long-enough-1", merchant=merchant)
    assert User.objects.get_by_natural_key("sam@shop.TEST").email.lower() == "sam@shop.test"


def test_seed_demo_makes_every_display_status_and_can_run_twice(capsys):
    call_command("seed_demo", "--payments", "30", "--api-key", "sk_test_demo_0123456789abcdefghij")
    first = capsys.readouterr().out
    assert "sk_test_demo_0123456789abcdefghij" in first
    merchant = Merchant.objects.get(name="Demo Store")
    statuses = set(
        Payment.objects.filter(merchant=merchant).values_list("display_status", flat=True)
    )
    assert statuses >= {
        "failed",
        "voided",
        "refunded",
        "partially_refunded",
        "captured",
        "authorized",
    }
    counts = (Payment.objects.count(), User.objects.count(), ApiKey.objects.count())

    call_command("seed_demo", "--payments", "30", "--api-key", "sk_test_demo_0123456789abcdefghij")
    assert (Payment.objects.count(), User.objects.count(), ApiKey.objects.count()) == counts
    agent = User.objects.get(email="agent@demo.test")
    assert agent.check_password("demo-password-2026")
    assert agent.merchant == merchant
    assert list(agent.groups.values_list("name", flat=True)) == [roles.SUPPORT_AGENT]
    assert User.objects.get(email="platform@demo.test").merchant is None


def test_seed_demo_without_a_key_prints_a_new_one_once(capsys):
    call_command("seed_demo", "--payments", "0")
    assert "API key (shown once): sk_test_" in capsys.readouterr().out
    call_command("seed_demo", "--payments", "0")
    assert "already exists" in capsys.readouterr().out
    assert ApiKey.objects.count() == 1
