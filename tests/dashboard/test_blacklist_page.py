"""The platform blacklist: search, add with a reason, remove with a reason, history."""

import json

from django.urls import reverse

from core.actors import SYSTEM
from customers.models import BlacklistEntry
from customers.services import add_to_blacklist, is_email_blacklisted
from tests.dashboard.conftest import HTMX

PAGE = reverse("customers:blacklist")
ADD = reverse("customers:blacklist_add")


def remove_url(entry):
    return reverse("customers:blacklist_remove", args=[entry.pk])


def test_page_lists_active_entries_and_removed_ones_as_history(platform_client):
    add_to_blacklist(email="fraud@example.test", reason="stolen card", actor=SYSTEM)
    old = add_to_blacklist(email="old@example.test", reason="mistake", actor=SYSTEM)
    from customers.services import remove_from_blacklist

    remove_from_blacklist(entry_id=old.pk, actor=SYSTEM, reason="customer proved identity")
    active = platform_client.get(PAGE).content.decode()
    assert "fraud@example.test" in active and "stolen card" in active
    assert "old@example.test" not in active
    assert "<strong>1</strong> blacklisted email" in active
    history = platform_client.get(PAGE, {"state": "removed"}).content.decode()
    assert "old@example.test" in history and "customer proved identity" in history
    assert "fraud@example.test" not in history
    assert "<strong>1</strong> removed entry<" in history  # a list of its own, not a filter
    search = platform_client.get(PAGE, {"state": "removed", "q": "nobody"}).content.decode()
    assert "No removed entries match search “nobody”." in search
    assert 'href="/blacklist/?state=removed"' in search  # dropping the search keeps the list


def test_search(platform_client):
    add_to_blacklist(email="alpha@example.test", reason="r", actor=SYSTEM)
    add_to_blacklist(email="beta@example.test", reason="r", actor=SYSTEM)
    html = platform_client.get(PAGE, {"q": "alp"}).content.decode()
    assert "alpha@example.test" in html and "beta@example.test" not in html
    partial = platform_client.get(PAGE, {"q": "beta"}, headers=HTMX).content.decode()
    assert partial.lstrip().startswith('<section id="blacklist-entries"')


def test_add_without_javascript(platform_client, platform_admin):
    response = platform_client.post(ADD, {"email": " Fraud@Example.test ", "reason": "fraud"})
    assert response.status_code == 302
    assert is_email_blacklisted("fraud@example.test")
    assert BlacklistEntry.objects.get().added_by == platform_admin
    assert "fraud@example.test added to the blacklist" in platform_client.get(PAGE).content.decode()


def test_add_with_htmx_refreshes_the_list(platform_client):
    response = platform_client.post(
        ADD, {"email": "x@example.test", "reason": "fraud"}, headers=HTMX
    )
    assert response.status_code == 200
    events = json.loads(response["HX-Trigger"])
    assert events["blacklistChanged"] is True
    assert events["toast"] == "x@example.test added to the blacklist"
    assert response.content.decode().lstrip().startswith('<section class="card" id="blacklist-add"')


def test_adding_an_email_already_blacklisted_says_so_and_changes_nothing(platform_client):
    first = add_to_blacklist(email="fraud@example.test", reason="stolen card", actor=SYSTEM)
    response = platform_client.post(
        ADD, {"email": " Fraud@Example.TEST ", "reason": "again"}, headers=HTMX
    )
    toast = json.loads(response["HX-Trigger"])["toast"]
    assert toast.startswith("fraud@example.test was already on the blacklist (since ")
    assert "reason “stolen card”); nothing changed" in toast
    assert list(BlacklistEntry.objects.values_list("pk", "reason")) == [(first.pk, "stolen card")]


def test_add_needs_a_valid_email_and_a_reason(platform_client):
    response = platform_client.post(ADD, {"email": "not-an-email", "reason": ""}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid email address." in html
    assert "This field is required." in html
    assert not BlacklistEntry.objects.exists()


def test_remove_through_the_dialog_keeps_the_reason(platform_client, platform_admin):
    entry = add_to_blacklist(email="x@example.test", reason="fraud", actor=SYSTEM)
    html = platform_client.get(remove_url(entry), headers=HTMX).content.decode()
    assert html.lstrip().startswith("<dialog")
    response = platform_client.post(remove_url(entry), {"reason": ""}, headers=HTMX)
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()

    response = platform_client.post(remove_url(entry), {"reason": "appeal"}, headers=HTMX)
    assert response.status_code == 204
    assert json.loads(response["HX-Trigger"])["blacklistChanged"] is True
    entry.refresh_from_db()
    assert entry.removed_at is not None
    assert entry.removed_by == platform_admin
    assert entry.removal_reason == "appeal"
    assert not is_email_blacklisted("x@example.test")


def test_remove_without_javascript(platform_client):
    entry = add_to_blacklist(email="x@example.test", reason="fraud", actor=SYSTEM)
    assert "<html" in platform_client.get(remove_url(entry)).content.decode()
    response = platform_client.post(remove_url(entry), {"reason": "appeal"})
    assert response.status_code == 302
    assert not is_email_blacklisted("x@example.test")


def test_merchant_members_cannot_remove(agent_client, merchant_admin_client):
    entry = add_to_blacklist(email="x@example.test", reason="fraud", actor=SYSTEM)
    for client in (agent_client, merchant_admin_client):
        assert client.post(remove_url(entry), {"reason": "nope"}).status_code == 403
    assert is_email_blacklisted("x@example.test")
