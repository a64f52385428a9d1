"""On PostgreSQL the parameters travel apart from the SQL and a statement run again on
a connection is prepared (config/settings.py): a refund's dozen statements are parsed
and planned once per connection, not on every request. DATABASE_PREPARED_STATEMENTS=false
turns it off for a pooler that cannot keep prepared statements."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from payments.models import Payment
from tests.conftest import require_postgres
from tests.factories import PaymentFactory


@pytest.mark.django_db
def test_a_statement_run_again_is_prepared_on_the_connection(merchant):
    require_postgres()
    payments = [PaymentFactory(merchant=merchant) for _ in range(6)]

    found = [Payment.objects.for_merchant(merchant).get(pk=p.pk) for p in payments]

    assert [p.pk for p in found] == [p.pk for p in payments]
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "payments_payment"' in sql and "$1" in sql for sql in prepared), prepared


def database_options(**extra: str) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/backoffice",
        **extra,
    }
    code = "import config.settings as s; print(s.DATABASES['default'].get('OPTIONS', {}))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_prepared_statements_are_on_by_default_and_off_when_asked():
    assert "'server_side_binding': True" in database_options()
    assert "'prepare_threshold': 5" in database_options()
    assert "server_side_binding" not in database_options(DATABASE_PREPARED_STATEMENTS="false")
    assert "prepare_threshold" not in database_options(DATABASE_PREPARED_STATEMENTS="false")
