"""Django's PostgreSQL compilers, but for bulk inserts of fewer than UNNEST_FROM_ROWS
rows.

Django writes a bulk insert of two rows or more as one array per column unnested
(`INSERT ... SELECT * FROM UNNEST(%s::varchar[], ...)`), so that a long batch is
planned once whatever its length. With parameters bound by the server (settings), psycopg
then dumps and escapes every array value by value and PostgreSQL parses the arrays back,
which costs more than it saves for the few rows a request writes: a refund's two webhook
events, a new payment's authorization and capture, an event's deliveries. Measured on
the 10M bench database (median, in a transaction), ledger rows:

    rows        2       10      50      200     1000
    UNNEST      3.9-4.4 7.8-8.7 25-29   90-92   421-504 ms
    VALUES      2.9     7.7-8.6 32-36   141-147 735-791 ms

so below 10 rows the insert is written as plain VALUES rows, from 10 as Django does.
"""

from django.db.backends.postgresql.compiler import (
    SQLAggregateCompiler,
    SQLCompiler,
    SQLDeleteCompiler,
    SQLUpdateCompiler,
)
from django.db.backends.postgresql.compiler import SQLInsertCompiler as UnnestInsertCompiler

__all__ = [
    "SQLAggregateCompiler",
    "SQLCompiler",
    "SQLDeleteCompiler",
    "SQLInsertCompiler",
    "SQLUpdateCompiler",
]

UNNEST_FROM_ROWS = 10


class SQLInsertCompiler(UnnestInsertCompiler):
    def assemble_as_sql(self, fields, value_rows):
        if len(value_rows) < UNNEST_FROM_ROWS:
            # Past the PostgreSQL specialisation: Django's generic VALUES rows.
            return super(UnnestInsertCompiler, self).assemble_as_sql(fields, value_rows)
        return super().assemble_as_sql(fields, value_rows)
