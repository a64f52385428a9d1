"""What a dashboard page asks of the signed-in user, in one statement (core.dashboard.
load_member): its merchant, its permissions and its role names. The answers must be
exactly what Django's ModelBackend would have found, one query at a time."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.dashboard import load_member
from merchants import roles
from merchants.models import User
from tests.factories import UserFactory


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def backend_answers(user) -> tuple[set, set, set]:
    backend, user = ModelBackend(), fresh(user)
    return (
        backend.get_user_permissions(user),
        backend.get_group_permissions(user),
        backend.get_all_permissions(user),
    )


def test_one_statement_finds_what_model_backend_finds(
    merchant, agent, merchant_admin, viewer, platform_admin, django_assert_num_queries
):
    both = UserFactory(merchant=merchant, role=roles.SUPPORT_AGENT)
    both.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
    both.groups.add(Group.objects.get(name=roles.MERCHANT_ADMIN))
    for user in (agent, merchant_admin, viewer, platform_admin, both):
        member = fresh(user)
        with django_assert_num_queries(1):
            names = load_member(member)
            assert member.merchant == user.merchant
        assert names == member.role_names
        loaded = (member._user_perm_cache, member._group_perm_cache, member._perm_cache)
        assert loaded == backend_answers(user), user.email
        with django_assert_num_queries(0):
            assert member.has_perms(["payments.view_payment"]) == (user is not platform_admin)


def test_a_superuser_and_an_inactive_user_are_left_to_model_backend(merchant):
    superuser = UserFactory(merchant=merchant, is_superuser=True)
    member = fresh(superuser)
    load_member(member)
    assert not hasattr(member, "_perm_cache")
    assert member.has_perm("customers.change_blacklistentry")

    inactive = UserFactory(merchant=merchant, role=roles.SUPPORT_AGENT, is_active=False)
    member = fresh(inactive)
    load_member(member)
    assert not member.has_perm("payments.view_payment")


def test_a_changed_role_shows_on_the_next_page(client, agent):
    client.force_login(agent)
    assert client.get(reverse("payments:list")).status_code == 200
    agent.groups.clear()
    assert client.get(reverse("payments:list")).status_code == 403


def test_the_top_bar_names_the_roles(client, merchant_admin):
    client.force_login(merchant_admin)
    html = client.get(reverse("payments:list")).content.decode()
    assert "admin@acme.test · Merchant admin</span>" in html
    # A page outside the dashboard's views asks the user itself.
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "admin@acme.test · Merchant admin</span>" in response.content.decode()


def test_a_page_reads_its_signed_in_user_once(client, agent):
    """The session's user comes with its merchant, permissions and roles (the auth
    backend reads it through core.dashboard.members): no second read for the page."""
    client.force_login(agent)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("payments:list")).status_code == 200
    user_reads = [q for q in queries.captured_queries if 'FROM "merchants_user"' in q["sql"]]
    assert len(user_reads) == 1


def test_a_deactivated_user_is_signed_out_on_the_next_page(client, agent):
    client.force_login(agent)
    assert client.get(reverse("payments:list")).status_code == 200
    User.objects.filter(pk=agent.pk).update(is_active=False)
    response = client.get(reverse("payments:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
