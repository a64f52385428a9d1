from django.db import migrations

from core.operations import PostgreSQLOnly

PREFIX = "(merchant_id, lower(order_id) text_pattern_ops)"


class Migration(migrations.Migration):
    """The order-id prefix index carries the order id itself (INCLUDE), so that asking
    whether more than so many payments have an order id starting with a search's text
    is an index-only walk of that many entries (payments.selectors._order_id_match).
    Without it the planner answered that question by reading the table: an expression
    index serves no index-only scan unless the expression's column is in it.

    Built CONCURRENTLY under a new name, then the old one dropped and the new one given
    its name, so the table takes writes and searches keep an index meanwhile; then the
    table is analyzed, which gives the new index its statistics."""

    atomic = False

    dependencies = [
        ("payments", "0013_merge_disputes_and_approvals"),
    ]

    operations = [
        PostgreSQLOnly(
            sql=(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS payment_order_prefix_new_idx "
                f"ON payments_payment {PREFIX} INCLUDE (order_id)"
            ),
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS payment_order_prefix_new_idx",
        ),
        PostgreSQLOnly(
            sql="DROP INDEX CONCURRENTLY IF EXISTS payment_order_prefix_idx",
            reverse_sql=(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS payment_order_prefix_idx "
                f"ON payments_payment {PREFIX}"
            ),
        ),
        PostgreSQLOnly(
            sql="ALTER INDEX payment_order_prefix_new_idx RENAME TO payment_order_prefix_idx",
            reverse_sql="ALTER INDEX payment_order_prefix_idx RENAME TO payment_order_prefix_new_idx",
        ),
        # A new expression index has no statistics until the table is analyzed: the
        # planner would guess how many order ids start so (badly: 40,000 for one).
        PostgreSQLOnly(sql="ANALYZE payments_payment", reverse_sql=migrations.RunSQL.noop),
    ]
