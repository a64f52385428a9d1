"""/healthz and /readyz (SPEC 14)."""

import pytest
from django.test import Client, override_settings

from tests.conftest import require_postgres


def test_healthz_answers_without_touching_anything(client):
    # No django_db mark: a database query here would fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_the_probes_are_never_redirected_to_https(settings):
    settings.SECURE_SSL_REDIRECT = True
    plain = Client()  # a new handler: SecurityMiddleware reads the setting when built
    assert plain.get("/healthz").status_code == 200
    assert plain.get("/metrics").status_code != 301
    assert plain.get("/login/").status_code == 301


@pytest.mark.django_db
def test_readyz_in_process_mode_reports_no_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "broker": "in-process", "cache": "ok"},
    }


def _redis_cache(url: str) -> dict:
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}


@pytest.mark.django_db
def test_readyz_with_postgresql_and_redis(client, redis_url):
    require_postgres()
    with override_settings(
        CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=redis_url, CACHES=_redis_cache(redis_url)
    ):
        response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "cache": "ok"}


@pytest.mark.django_db
def test_readyz_names_an_unreachable_broker(client, closed_port):
    with override_settings(
        CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=f"redis://127.0.0.1:{closed_port}/0"
    ):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["broker"]
    assert body["checks"]["database"] == "ok" and body["checks"]["cache"] == "ok"
    assert str(closed_port) not in response.content.decode()  # no internal address shown


@pytest.mark.django_db
def test_readyz_names_an_unreachable_cache(client, closed_port):
    with override_settings(CACHES=_redis_cache(f"redis://127.0.0.1:{closed_port}/0")):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["cache"]


@pytest.mark.django_db
def test_readyz_names_every_failing_part(client, closed_port):
    with override_settings(
        CELERY_TASK_ALWAYS_EAGER=False,
        CELERY_BROKER_URL=f"redis://127.0.0.1:{closed_port}/0",
        CACHES=_redis_cache(f"redis://127.0.0.1:{closed_port}/1"),
    ):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker", "cache"]


def test_readyz_names_an_unreachable_database(client, monkeypatch):
    from config import health

    def broken():
        raise ConnectionError("database is down")

    monkeypatch.setitem(health.CHECKS, "database", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]
