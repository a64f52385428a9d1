from django.db import migrations

from core.operations import PostgreSQLOnly


def concurrent_index(name, definition):
    return PostgreSQLOnly(
        sql=f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON payments_payment {definition}",
        reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
    )


class Migration(migrations.Migration):
    """Indexes of the payments list's search and filters (SPEC 8.1), so that each stays
    an index range scan at 10 million payments:

    - a payment id or an order id by prefix, in any case: lower(...) with
      text_pattern_ops, whose btree serves LIKE 'prefix%' whatever the collation;
    - a currency, newest first (status and a date range, newest first, already have
      payment_status_recent_idx and payment_recent_idx);
    - an amount range in a currency, so that counting its matches reads the range
      rather than every payment in that currency.

    Built CONCURRENTLY (hence not atomic), so the table takes writes meanwhile."""

    atomic = False

    dependencies = [
        ("payments", "0006_unanswered_authorizations"),
    ]

    operations = [
        concurrent_index("payment_id_prefix_idx", "(merchant_id, lower(id) text_pattern_ops)"),
        concurrent_index(
            "payment_order_prefix_idx", "(merchant_id, lower(order_id) text_pattern_ops)"
        ),
        concurrent_index(
            "payment_currency_recent_idx", "(merchant_id, currency, created_at DESC, id DESC)"
        ),
        concurrent_index("payment_amount_idx", "(merchant_id, currency, amount)"),
    ]
