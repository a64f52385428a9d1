"""Counter rows kept in the transaction of the change they count: the daily totals
(payments.rollup) and the monthly totals (payments.dispute_ratio)."""

from __future__ import annotations

from typing import Any

from django.db import connection, models, transaction


def add_counts(
    model: type[models.Model], *, key: dict[str, object], counts: dict[str, int]
) -> None:
    """Add `counts` to the row of `model` that `key` names (its unique columns and their
    values), creating it: one INSERT ... ON CONFLICT DO UPDATE (PostgreSQL and SQLite),
    so concurrent writers never lose an increment. `model.COUNTERS` names the counters."""
    counters = model.COUNTERS
    changed = [name for name in counters if counts.get(name)]
    if not changed:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = [*key, *counters]
    values = [*key.values(), *(counts.get(name, 0) for name in counters)]
    updates = ", ".join(f"{quote(c)} = {table}.{quote(c)} + EXCLUDED.{quote(c)}" for c in changed)
    # Only our own table and column names are formatted in; the values are parameters.
    sql = (
        f"INSERT INTO {table} ({', '.join(map(quote, columns))}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(map(quote, key))}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)


def replace_rows(model: Any, rows: list, *, merchant_id=None) -> None:
    """Replace the counter rows of `model` (of one merchant, or all) with `rows`, in one
    transaction: rebuilding counters from what they count. `model` may be a migration's
    historical model."""
    with transaction.atomic():
        existing = model.objects.all()
        if merchant_id is not None:
            existing = existing.filter(merchant_id=merchant_id)
        existing.delete()
        model.objects.bulk_create(rows, batch_size=1000)
