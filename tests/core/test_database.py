"""On PostgreSQL the parameters travel apart from the SQL and a statement run again on
a connection is prepared (config/settings.py): a refund's dozen statements are parsed
and planned once per connection, not on every request. DATABASE_PREPARED_STATEMENTS=false
turns it off for a pooler that cannot keep prepared statements. The few rows a request
bulk-inserts go in as rows, not as arrays (config/postgresql)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.postgresql.compiler import UNNEST_FROM_ROWS
from payments.models import Payment
from tests.conftest import require_postgres
from tests.factories import PaymentFactory
from webhooks import outbox
from webhooks.models import Event


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


@pytest.mark.django_db
def test_a_few_rows_are_bulk_inserted_as_values_and_a_batch_as_arrays(merchant):
    """config/postgresql: the two events of an external refund go in as one INSERT ...
    VALUES, with their documents whole; from UNNEST_FROM_ROWS rows on, as Django's
    arrays through UNNEST (planned once whatever the batch's length)."""
    require_postgres()
    data = {"id": "pay_1", "note": 'a "quoted", {braced} note', "amounts": [1, 2]}
    types = ["refund.created", "refund.succeeded"]
    with CaptureQueriesContext(connection) as queries:
        events = outbox.record(merchant_id=merchant.id, types=types, data=data)
        batch = Event.objects.bulk_create(
            Event(merchant_id=merchant.id, type="payment.created", data=data)
            for _ in range(UNNEST_FROM_ROWS)
        )

    inserts = [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "webhooks_event"')]
    assert len(inserts) == 2
    assert " VALUES " in inserts[0] and "UNNEST" not in inserts[0]
    assert "UNNEST" in inserts[1]
    stored = Event.objects.filter(id__in=[e.id for e in events + batch])
    assert sorted((e.type, e.data == data) for e in stored) == sorted(
        [(t, True) for t in types] + [("payment.created", True)] * UNNEST_FROM_ROWS
    )
