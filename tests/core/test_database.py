"""On PostgreSQL the parameters travel apart from the SQL and a statement run again on
a connection is prepared (config/settings.py): a refund's dozen statements are parsed
and planned once per connection, not on every request. DATABASE_PREPARED_STATEMENTS=false
turns it off for a pooler that cannot keep prepared statements. The few rows a request
bulk-inserts go in as rows, not as arrays (core.models.DocumentField)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

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
def test_a_refunds_webhook_events_are_inserted_as_rows_with_their_documents_whole(merchant):
    """core.models.DocumentField: the two events of an external refund go in as one
    INSERT ... VALUES, not as arrays through UNNEST (twice as slow for a few rows)."""
    require_postgres()
    data = {"id": "pay_1", "note": 'a "quoted", {braced} note', "amounts": [1, 2]}
    with CaptureQueriesContext(connection) as queries:
        events = outbox.record(
            merchant_id=merchant.id, types=["refund.created", "refund.succeeded"], data=data
        )

    inserts = [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "webhooks_event"')]
    assert len(inserts) == 1 and "UNNEST" not in inserts[0] and " VALUES " in inserts[0]
    stored = Event.objects.filter(id__in=[e.id for e in events]).order_by("type")
    assert [(e.type, e.data) for e in stored] == [
        ("refund.created", data),
        ("refund.succeeded", data),
    ]
