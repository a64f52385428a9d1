"""Every refund writes a payment row, a ledger row, its webhook events (and a delivery
of each to every endpoint), an audit entry and the day's totals; each index of those
tables is one more write, and at 10M payments gigabytes to keep in memory. None of them
may hold an index that another one already serves: an index whose columns begin
another's (a foreign key's own index beside a wider one leading with the same column),
or a LIKE (varchar_pattern_ops) index of a key that no query reads with LIKE."""

import pytest
from django.db import connection

from tests.conftest import require_postgres

WRITTEN_ON_EVERY_REFUND = [
    "payments_payment",
    "payments_transaction",
    "webhooks_event",
    "webhooks_delivery",
    "audit_auditentry",
    "payments_dailytotals",
]
# Keys searched by their start go through expression indexes on lower(...), never these.
NEVER_READ_WITH_LIKE = {
    "id",
    "payment_id",
    "subscription_id",
    "created_by_api_key_id",
    "actor_api_key_id",
    "event_id",
    "endpoint_id",
}


def indexes(table: str) -> dict[str, tuple[list[str], bool, str]]:
    """name -> (key columns, unique, opclasses) of the plain-column indexes of `table`."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname, ix.indisunique, ix.indexprs IS NOT NULL,
                   array(SELECT a.attname FROM unnest(ix.indkey[0:ix.indnkeyatts - 1])
                         WITH ORDINALITY AS k(attnum, n)
                         JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
                         ORDER BY k.n),
                   pg_get_indexdef(ix.indexrelid)
            FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
            WHERE ix.indrelid = %s::regclass
            """,
            [table],
        )
        return {
            name: (columns, unique, definition)
            for name, unique, expression, columns, definition in cursor.fetchall()
            if not expression
        }


@pytest.mark.django_db
@pytest.mark.parametrize("table", WRITTEN_ON_EVERY_REFUND)
def test_no_index_of_a_table_written_on_every_refund_is_served_by_another(table):
    require_postgres()
    found = indexes(table)

    redundant = [
        (name, other)
        for name, (columns, unique, _) in found.items()
        for other, (wider, _, _) in found.items()
        if name != other and not unique and wider[: len(columns)] == columns
    ]
    assert redundant == [], f"each first one's columns begin the second's: {redundant}"
    like = [
        name
        for name, (columns, _, definition) in found.items()
        if "varchar_pattern_ops" in definition and set(columns) & NEVER_READ_WITH_LIKE
    ]
    assert like == []
