from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

from core.operations import PostgreSQLOnly


def concurrent_index(name, definition, using=""):
    return PostgreSQLOnly(
        sql=f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON customers_customer {using}{definition}",
        reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
    )


class Migration(migrations.Migration):
    """Indexes of the customer search (SPEC 8.1), also used by the payments list's
    search to find the customers it means:

    - an email or a customer id by prefix, in any case: lower(...) with
      text_pattern_ops, per merchant;
    - a name by any part: a pg_trgm GIN index on upper(name), the expression Django's
      `icontains` compares (UPPER(name::text) LIKE UPPER('%part%')).

    CreateExtension does nothing on SQLite; the indexes are PostgreSQL only. Built
    CONCURRENTLY (hence not atomic), so the table takes writes meanwhile."""

    atomic = False

    dependencies = [
        ("customers", "0005_blacklist_emails_in_canonical_form"),
    ]

    operations = [
        TrigramExtension(),
        concurrent_index(
            "customer_email_prefix_idx", "(merchant_id, lower(email) text_pattern_ops)"
        ),
        concurrent_index("customer_id_prefix_idx", "(merchant_id, lower(id) text_pattern_ops)"),
        concurrent_index("customer_name_trgm_idx", "(upper(name) gin_trgm_ops)", using="USING gin "),
    ]
