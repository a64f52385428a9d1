import os
import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

from merchants import roles
from payments.gateways import get_gateway
from tests.factories import MerchantFactory, UserFactory, make_api_key

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_sessionstart(session):
    from django.conf import settings
    from django.db import connection

    if IN_CI and connection.vendor != "postgresql":
        pytest.exit("CI=true: the tests must run against PostgreSQL (set DATABASE_URL)", 3)
    # The test client and the live server speak plain HTTP: no redirect to HTTPS here.
    # Production keeps the default (on with DEBUG off); tests/ops checks that default.
    settings.SECURE_SSL_REDIRECT = False
    # SPEC 11: webhooks may go to local receivers in development and tests (the tests
    # of the guard itself turn it off); production keeps it off.
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_ALLOW_HTTP = True


def skip_unless_ci(reason: str) -> None:
    """Skip on a developer's machine that lacks a service; under CI=true, fail."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)  # not under CI: see above


def require_postgres():
    """Races are only proven against PostgreSQL's row locks; SQLite serializes writes
    and would make them pass for the wrong reason. Under CI this never skips."""
    if connection.vendor != "postgresql":
        skip_unless_ci("the database is not PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def merchant(db):
    return MerchantFactory(name="Acme Shop")


@pytest.fixture
def other_merchant(db):
    return MerchantFactory(name="Other Shop")


@pytest.fixture
def agent(merchant):
    return UserFactory(email="agent@acme.test", merchant=merchant, role=roles.SUPPORT_AGENT)


@pytest.fixture
def merchant_admin(merchant):
    return UserFactory(email="admin@acme.test", merchant=merchant, role=roles.MERCHANT_ADMIN)


@pytest.fixture
def platform_admin(db):
    return UserFactory(
        email="platform@platform.test", merchant=None, is_staff=True, role=roles.PLATFORM_ADMIN
    )


@pytest.fixture
def api_key(merchant):
    """(ApiKey, secret) of the merchant."""
    return make_api_key(merchant, name="tests")


@pytest.fixture
def gateway_calls():
    """The sandbox gateway's record of calls, emptied for this test. Answers a function
    that lists the calls, optionally of one operation."""
    gateway = get_gateway()
    gateway.ledger.clear()

    def calls(op: str | None = None) -> list[dict]:
        return [c for c in gateway.ledger.calls() if op is None or c["op"] == op]

    yield calls
    gateway.ledger.clear()


def run_concurrently(worker: Callable[[int], object], count: int) -> list[object]:
    """Run worker(i) in `count` threads started together, each on its own database
    connection; answers each call's return value or the exception it raised."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = worker(i)
        except Exception as error:
            results[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
