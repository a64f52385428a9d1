"""Secure by default (SPEC 14): with DEBUG off, `manage.py check --deploy` passes with
nothing set but SECRET_KEY and ALLOWED_HOSTS, and each protection is turned off only
by its own variable."""

import os
import secrets
import subprocess
import sys

from django.conf import settings

from tests.conftest import skip_unless_ci


def deploy_check(**extra: str) -> subprocess.CompletedProcess:
    env = {
        # Nothing of this machine's environment but what runs Python.
        "PATH": os.environ["PATH"],
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "backoffice.example.com",
        "DATABASE_URL": "sqlite://:memory:",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deployment_checklist_passes_with_only_the_secret_key_and_hosts():
    if (settings.BASE_DIR / ".env").exists():
        skip_unless_ci("this checkout has a .env file, which would add settings")
    result = deploy_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_each_protection_is_off_only_when_its_variable_says_so():
    result = deploy_check(SECURE_SSL_REDIRECT="false", SESSION_COOKIE_SECURE="false")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "security.W008" in output and "security.W012" in output  # just these two
    assert "security.W004" not in output and "security.W016" not in output
