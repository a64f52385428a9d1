"""Merchant admins manage the merchant's API keys in the dashboard (SPEC 1, 8.1): the
list, create (the secret shown once, never again, never cached) and revoke with a
confirmation dialog; support agents see no entry and get 403."""

import json
import re

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from merchants.models import ApiKey, hash_api_key
from merchants.services import authenticate_api_key
from tests.dashboard.conftest import HTMX
from tests.factories import make_api_key

pytestmark = pytest.mark.django_db
LIST = reverse("api_keys")
CREATE = reverse("api_key_create")


def revoke_url(key):
    return reverse("api_key_revoke", args=[key.id])


def secret_in(html: str) -> str | None:
    match = re.search(r'<code id="api-key-secret" class="secret">([^<]+)</code>', html)
    return match.group(1) if match else None


def test_the_list_shows_prefix_mode_created_and_last_used(merchant_admin_client, merchant):
    live, _ = make_api_key(merchant, name="Checkout server", mode="live")
    test, secret = make_api_key(merchant, name="CI")
    authenticate_api_key(secret)  # records last use
    revoked, _ = make_api_key(merchant, name="Old server")
    revoked.revoked_at = revoked.created_at
    revoked.save()
    response = merchant_admin_client.get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert [k.name for k in response.context["keys"]] == ["CI", "Checkout server", "Old server"]
    for key in (live, test, revoked):
        assert f"{key.prefix}…" in html
        assert key.prefix + secret[len(key.prefix) :] not in html
    assert ">Live</span>" in html and ">Test</span>" in html
    assert "Never" in html  # the live key was never used
    assert html.count(">Revoke</a>") == 2 and ">Revoked</span>" in html
    assert f'href="{LIST}" aria-current="page">API keys</a>' in html


def test_another_merchants_keys_are_not_listed(merchant_admin_client, other_merchant):
    foreign, _ = make_api_key(other_merchant, name="Foreign")
    html = merchant_admin_client.get(LIST).content.decode()
    assert foreign.prefix not in html and "Foreign" not in html


def test_creating_a_key_shows_its_secret_once_and_never_again(merchant_admin_client, merchant):
    dialog = merchant_admin_client.get(CREATE, headers=HTMX)
    html = dialog.content.decode()
    assert "<dialog" in html and 'name="name"' in html and 'name="mode"' in html
    token = dialog.context["form"]["token"].value()

    response = merchant_admin_client.post(
        CREATE, {"token": token, "name": "Checkout server", "mode": "live"}, headers=HTMX
    )
    html = response.content.decode()
    secret = secret_in(html)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert '"apiKeysChanged": true' in response["HX-Trigger"]
    assert secret and secret.startswith("sk_live_")
    assert 'data-copy-from="api-key-secret"' in html
    key = ApiKey.objects.get(merchant=merchant)
    assert key.key_hash == hash_api_key(secret) and key.name == "Checkout server"
    assert key.created_by.email == "admin@acme.test"
    assert authenticate_api_key(secret) == key

    # The same form again (a double click, a resubmit): no second key, no secret.
    again = merchant_admin_client.post(
        CREATE, {"token": token, "name": "Checkout server", "mode": "live"}, headers=HTMX
    )
    assert secret not in again.content.decode()
    assert "its secret was shown once" in again.content.decode()
    assert ApiKey.objects.filter(merchant=merchant).count() == 1
    # Nor anywhere else.
    assert secret not in merchant_admin_client.get(LIST).content.decode()
    assert secret not in merchant_admin_client.get(reverse("audit:activity")).content.decode()
    said = AuditEntry.objects.get(action="api_key.create")
    assert secret not in str(said.metadata) + said.detail


def test_creating_without_javascript_answers_the_secret_page(merchant_admin_client, merchant):
    page = merchant_admin_client.get(CREATE)
    assert "<dialog" not in page.content.decode() and "no-store" in page["Cache-Control"]
    response = merchant_admin_client.post(
        CREATE, {"token": page.context["form"]["token"].value(), "name": "CI", "mode": "test"}
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert secret_in(response.content.decode()).startswith("sk_test_")


def test_a_key_needs_a_name_and_a_known_mode(merchant_admin_client, merchant):
    token = merchant_admin_client.get(CREATE).context["form"]["token"].value()
    response = merchant_admin_client.post(
        CREATE, {"token": token, "name": "", "mode": "prod"}, headers=HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<dialog" not in html
    assert "This field is required" in html and "Select a valid choice" in html
    assert not ApiKey.objects.filter(merchant=merchant).exists()


def test_revoking_asks_for_confirmation_then_revokes(merchant_admin_client, merchant):
    key, secret = make_api_key(merchant, name="Checkout server")
    dialog = merchant_admin_client.get(revoke_url(key), headers=HTMX)
    html = dialog.content.decode()
    assert "<dialog" in html and "Revoke key" in html and f"{key.prefix}…" in html
    key.refresh_from_db()
    assert key.is_active  # opening the dialog changes nothing

    token = dialog.context["form"]["token"].value()
    response = merchant_admin_client.post(revoke_url(key), {"token": token}, headers=HTMX)
    assert response.status_code == 204
    events = json.loads(response["HX-Trigger"])
    assert events["apiKeysChanged"]
    assert events["toast"] == {"text": f"API key {key.prefix}… revoked", "level": "success"}
    key.refresh_from_db()
    assert not key.is_active and key.revoked_by.email == "admin@acme.test"
    assert authenticate_api_key(secret) is None

    # Without JavaScript: a page, then a redirect to the list.
    other, _ = make_api_key(merchant, name="CI")
    page = merchant_admin_client.get(revoke_url(other))
    assert "<dialog" not in page.content.decode()
    response = merchant_admin_client.post(
        revoke_url(other), {"token": page.context["form"]["token"].value()}
    )
    assert response.status_code == 302 and response.url == LIST
    assert "already revoked" in merchant_admin_client.get(revoke_url(other)).content.decode()


def test_a_foreign_or_missing_key_is_404(merchant_admin_client, other_merchant):
    foreign, _ = make_api_key(other_merchant)
    assert merchant_admin_client.get(revoke_url(foreign)).status_code == 404
    assert merchant_admin_client.post(revoke_url(foreign), {"token": "x"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.is_active
    missing = reverse("api_key_revoke", args=["key_nope"])
    assert merchant_admin_client.get(missing).status_code == 404


@pytest.mark.parametrize("who", ["agent", "platform_admin"])
def test_other_roles_get_403_and_no_nav_entry(client, request, who, merchant):
    key, _ = make_api_key(merchant)
    user = request.getfixturevalue(who)
    client.force_login(user)
    for url in (LIST, CREATE, revoke_url(key)):
        assert client.get(url).status_code == 403, url
    assert client.post(CREATE, {"name": "x", "mode": "test"}).status_code == 403
    assert client.post(revoke_url(key), {"token": "x"}).status_code == 403
    key.refresh_from_db()
    assert key.is_active and ApiKey.objects.count() == 1
    if user.merchant_id:
        assert f'href="{LIST}"' not in client.get(reverse("payments:list")).content.decode()


def test_the_page_title_names_the_page_and_the_merchant(merchant_admin_client):
    html = merchant_admin_client.get(LIST).content.decode()
    assert "<title>API keys · Acme Shop · Back office</title>" in html
