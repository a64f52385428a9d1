"""Sign-in: throttled per (email, IP) after 5 failures in 15 minutes, reset on success;
passwords validated by Django's validators."""

import os
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from merchants import auth_backends
from tests.factories import UserFactory

BACKEND = "merchants.auth_backends.ThrottledModelBackend"
PASSWORD = "correct-horse-battery"


@pytest.fixture
def throttled(settings):
    settings.AUTHENTICATION_BACKENDS = [BACKEND]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(merchant):
    return UserFactory(email="agent@acme.test", merchant=merchant)


def _sign_in(client, password, *, email="agent@acme.test", ip="203.0.113.7"):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip)


def _signed_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


@pytest.mark.django_db
def test_five_failures_lock_out_that_email_from_that_ip(client, user, throttled):
    for _ in range(auth_backends.MAX_FAILURES):
        response = _sign_in(client, "wrong-password")
        assert response.status_code == 200  # the form again, with its error
    # The right password no longer helps from this IP...
    refused = _sign_in(client, PASSWORD)
    assert refused.status_code == 200 and not _signed_in(refused)
    # ...and the answer is the same as for a wrong password (no enumeration).
    assert b"correct email" in refused.content or b"Please enter" in refused.content
    # Another IP, or another email from this IP, is not affected.
    assert _signed_in(_sign_in(client, PASSWORD, ip="198.51.100.9"))


@pytest.mark.django_db
def test_a_success_resets_the_count(client, user, throttled):
    for _ in range(auth_backends.MAX_FAILURES - 1):
        _sign_in(client, "wrong-password")
    assert _signed_in(_sign_in(client, PASSWORD))
    client.logout()
    for _ in range(auth_backends.MAX_FAILURES - 1):
        _sign_in(client, "wrong-password")
    assert _signed_in(_sign_in(client, PASSWORD))


@pytest.mark.django_db
def test_the_lock_ends_with_its_window(user, throttled, monkeypatch, rf):
    request = rf.post("/login/", REMOTE_ADDR="203.0.113.7")
    for _ in range(auth_backends.MAX_FAILURES):
        assert authenticate(request, username=user.email, password="nope") is None
    assert authenticate(request, username=user.email, password=PASSWORD) is None
    # The window is a cache expiry; expiring the counter is what 15 minutes do.
    cache.delete(auth_backends._cache_key(user.email, "203.0.113.7"))
    assert authenticate(request, username=user.email, password=PASSWORD) == user


@pytest.mark.django_db
def test_the_email_is_compared_case_insensitively_for_the_count(user, throttled, rf):
    request = rf.post("/login/", REMOTE_ADDR="203.0.113.7")
    for i in range(auth_backends.MAX_FAILURES):
        email = user.email.upper() if i % 2 else user.email
        authenticate(request, username=email, password="nope")
    assert auth_backends.is_throttled(user.email, "203.0.113.7")


@pytest.mark.django_db
def test_the_admin_login_is_throttled_too(client, user, throttled):
    user.is_staff = True
    user.save()
    url = reverse("admin:login")
    for _ in range(auth_backends.MAX_FAILURES):
        client.post(url, {"username": user.email, "password": "nope"}, REMOTE_ADDR="203.0.113.7")
    client.post(url, {"username": user.email, "password": PASSWORD}, REMOTE_ADDR="203.0.113.7")
    assert "_auth_user_id" not in client.session


# --- passwords ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "password",
    ["short1", "password123", "12345678901", "agent.acme.test", "qwertyuiop"],
)
def test_weak_passwords_are_refused(user, password):
    with pytest.raises(ValidationError):
        validate_password(password, user=user)
    form = SetPasswordForm(user, {"new_password1": password, "new_password2": password})
    assert not form.is_valid()


@pytest.mark.django_db
def test_a_strong_password_is_accepted(user):
    validate_password("lantern-orbit-velvet-42", user=user)
    form = SetPasswordForm(
        user,
        {"new_password1": "lantern-orbit-velvet-42", "new_password2": "lantern-orbit-velvet-42"},
    )
    assert form.is_valid()


def test_every_password_validator_is_configured():
    names = {v["NAME"].rsplit(".", 1)[-1] for v in settings.AUTH_PASSWORD_VALIDATORS}
    assert {
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    } <= names


# --- deployment checklist ---------------------------------------------------------------------


def _deploy_check(extra_env: dict) -> subprocess.CompletedProcess:
    """`manage.py check --deploy` in a fresh process with this environment. Model
    checks (GeneratedField) ask the database for its version: point the process at
    the test database, which exists, rather than at the configured one."""
    env = {**os.environ, **extra_env}
    # The browser tests set this for their own process; production never has it.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = "sqlite://:memory:"  # never create the project's db.sqlite3
    elif "DATABASE_URL" in env:
        url = urlsplit(env["DATABASE_URL"])
        test_name = connection.settings_dict["NAME"]
        env["DATABASE_URL"] = urlunsplit(url._replace(path=f"/{test_name}"))
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "a-production-secret-key-with-more-than-fifty-characters-0123456789-xyz",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_SSL_REDIRECT": "true",
    "ALLOWED_HOSTS": "example.com",
}


@pytest.mark.django_db
def test_the_production_configuration_passes_the_deployment_checklist():
    result = _deploy_check(PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_the_deployment_checklist_catches_the_development_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    env = {name: value for name, value in PRODUCTION_ENV.items() if name != "SECRET_KEY"}
    result = _deploy_check(env)
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


@pytest.mark.django_db
def test_a_cache_outage_never_locks_everyone_out(client, user, settings, caplog):
    """Found by a hostile run: with CACHE_URL unreachable every sign-in answered 500.
    Now sign-in goes on without the throttle (the password is still checked), and the
    outage is logged."""
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.AUTHENTICATION_BACKENDS = [BACKEND]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
        }
    }
    wrong = _sign_in(client, "wrong-password")
    assert wrong.status_code == 200 and not _signed_in(wrong)
    assert _signed_in(_sign_in(client, PASSWORD))
    assert "sign-in throttle unavailable" in caplog.text
