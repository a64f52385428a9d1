"""Content-Security-Policy: scripts run only with the per-response nonce."""

import re

import pytest
from django.urls import reverse

from merchants import roles
from tests.factories import UserFactory

SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)


def _policy(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy")
    assert header, "no Content-Security-Policy header"
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def _script_src_nonce(response) -> str:
    policy = _policy(response)
    script_src = policy.get("script-src") or policy.get("default-src")
    assert script_src, policy
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    nonces = [source for source in script_src if source.startswith("'nonce-")]
    assert len(nonces) == 1, script_src
    return nonces[0][len("'nonce-") : -1]


@pytest.mark.django_db
def test_login_page_scripts_all_carry_the_responses_nonce(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    nonce = _script_src_nonce(response)
    html = response.content.decode()
    tags = SCRIPT_TAG.findall(html)
    assert tags, "the login page has no script at all; this test would prove nothing"
    for tag in tags:
        assert f'nonce="{nonce}"' in tag, f"script without the nonce: {tag}"
    # No inline event handlers either: a nonce does not cover them.
    assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE)


@pytest.mark.django_db
def test_a_new_nonce_for_every_response(client):
    first = _script_src_nonce(client.get(reverse("login")))
    second = _script_src_nonce(client.get(reverse("login")))
    assert first != second


@pytest.mark.django_db
def test_dashboard_pages_carry_the_policy(client, merchant):
    user = UserFactory(merchant=merchant, role=roles.SUPPORT_AGENT)
    client.force_login(user)
    response = client.get(reverse("payments:list"))
    assert response.status_code == 200
    nonce = _script_src_nonce(response)
    for tag in SCRIPT_TAG.findall(response.content.decode()):
        assert f'nonce="{nonce}"' in tag, f"script without the nonce: {tag}"
    policy = _policy(response)
    assert policy.get("frame-ancestors") == ["'none'"]
    assert "'unsafe-inline'" not in policy.get("style-src", [])
